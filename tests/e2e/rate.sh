#!/bin/sh
# The rate setting: a provider block's requests stay under the limit it
# gives ("10/2s"), so a fake enforcing exactly that limit answers no 429,
# also when two provider blocks use the same token (one account, one
# limiter);
# without it, the default burst of the Cloudflare limiter (20) overruns the
# same fake, which shows the setting is what keeps the run under. Malformed
# rates are configuration errors naming FILE:LINE. Counts, not times.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"
. "$TOP/tests/lib/fakes.sh"

cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }

cf_seed_spf r 6 >"$T/seed.json"
export CF_TEST_TOKEN="cf-rate-secret-$$"
cf_fake_start "$T/seed.json" --token "$CF_TEST_TOKEN" --rate-limit 10/2 ||
	{ not_ok "cloudflare fake starts"; finish; exit 1; }
cfg() { # cfg FILE [RATE]
	{
		printf 'providers: { cf = { type = "cloudflare"; token_env = "CF_TEST_TOKEN"; endpoint = "%s"; ca_file = "%s";%s }; };\n' \
			"$CF_URL" "$CF_CA" "${2:+ rate = \"$2\";}"
		echo 'domains = ('
		for i in 0 1 2 3 4 5; do
			[ $i -gt 0 ] && echo ','
			echo "{ name = \"r$i.example\"; provider = \"cf\"; }"
		done
		echo ');'
	} >"$1"
}
count429() { cf_fake_requests | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r["status"] == 429))'; }
total() { cf_fake_requests | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

cfg "$T/limited.cfg" "10/2s"
expect_exit 0 "dry run of 6 domains with rate = \"10/2s\"" "$PROVISION" -c "$T/limited.cfg" --resolver "$KNOT_ADDR" --dry-run
n=$(total); r=$(count429)
check "rate = \"10/2s\": $n requests, none answered 429 ($r)" test "$r" -eq 0 -a "$n" -ge 12
cf_fake_reset_calls >/dev/null
expect_exit 0 "apply of 6 domains with rate = \"10/2s\"" "$PROVISION" -c "$T/limited.cfg" --resolver "$KNOT_ADDR"
n=$(total); r=$(count429)
check "apply under rate = \"10/2s\": $n requests, none answered 429 ($r)" test "$r" -eq 0 -a "$n" -ge 18

# two provider blocks with the same token are one account: one limiter
cf_fake_reset_calls >/dev/null
{
	printf 'providers: {\n'
	for b in cfa cfb; do
		printf '  %s = { type = "cloudflare"; token_env = "CF_TEST_TOKEN"; endpoint = "%s"; ca_file = "%s"; rate = "10/2s"; };\n' \
			"$b" "$CF_URL" "$CF_CA"
	done
	printf '};\ndomains = (\n'
	for i in 0 1 2 3 4 5; do
		[ $i -gt 0 ] && echo ','
		echo "{ name = \"r$i.example\"; provider = \"$([ $((i % 2)) -eq 0 ] && echo cfa || echo cfb)\"; }"
	done
	echo ');'
} >"$T/two.cfg"
expect_exit 0 "dry run of 6 domains over two blocks with one token" \
	"$PROVISION" -c "$T/two.cfg" --resolver "$KNOT_ADDR" --dry-run
n=$(total); r=$(count429)
check "two blocks, one token, one limiter: $n requests, none answered 429 ($r)" test "$r" -eq 0 -a "$n" -ge 12

# the same fake without the setting: the default burst of 20 runs into it
cf_fake_reset_calls >/dev/null
cfg "$T/default.cfg"
expect_exit 0 "dry run without a rate setting (429s retried)" \
	"$PROVISION" -c "$T/default.cfg" --resolver "$KNOT_ADDR" --dry-run
check "without the setting the same run is answered 429 ($(count429) times)" test "$(count429)" -gt 0

for bad in "0/s" "fast" "4/" "4/x" "4/0s" "-1/s" "4/2d"; do
	cfg "$T/bad.cfg" "$bad"
	expect_exit 78 "rate = \"$bad\" refused" "$PROVISION" -c "$T/bad.cfg" --dry-run
	grep_file "bad.cfg:1: .*rate must be REQUESTS/PERIOD such as \"4/s\", \"60/m\" or \"1200/5m\", not \"$bad\"" \
		"$T/err" "rate = \"$bad\": FILE:LINE and what it takes"
done
# the accepted forms, against a fake without a limit (no waiting here)
fake_start cfopen cloudflare.py --state "$T/seed.json" --token "$CF_TEST_TOKEN" ||
	{ not_ok "unlimited cloudflare fake starts"; finish; exit 1; }
CF_URL=https://127.0.0.1:$FAKE_PORT/client/v4
for good in "4/s" "60/m" "1200/5m" "5000/h" "2.5/s"; do
	cfg "$T/good.cfg" "$good"
	expect_exit 0 "rate = \"$good\" accepted" "$PROVISION" -c "$T/good.cfg" --resolver "$KNOT_ADDR" --dry-run r0.example
done
cat >"$T/gd.cfg" <<CFG
providers: { gd = { type = "godaddy"; endpoint = "https://127.0.0.1:1"; rate = "fast"; }; };
domains = ( { name = "g.example"; provider = "gd"; } );
CFG
GODADDY_API_KEY=k GODADDY_API_SECRET=s expect_exit 78 "godaddy: rate = \"fast\" refused" "$PROVISION" -c "$T/gd.cfg" --dry-run
grep_file "gd.cfg:1: .*rate must be REQUESTS/PERIOD" "$T/err" "godaddy: the rate error names FILE:LINE"
cat >"$T/r53.cfg" <<CFG
providers: { aws = { type = "route53"; endpoint = "https://127.0.0.1:1"; rate = "5/fortnight"; }; };
domains = ( { name = "a.example"; provider = "aws"; } );
CFG
AWS_ACCESS_KEY_ID=AKIAEXAMPLE AWS_SECRET_ACCESS_KEY=x expect_exit 78 "route53: rate = \"5/fortnight\" refused" \
	"$PROVISION" -c "$T/r53.cfg" --dry-run
grep_file "r53.cfg:1: .*rate must be REQUESTS/PERIOD" "$T/err" "route53: the rate error names FILE:LINE"
# accepted: then the endpoint (the Cloudflare fake) answers what Route 53 never would
sed -i "s|rate = \"5/fortnight\"|rate = \"20/s\"; ca_file = \"$CF_CA\"|; s|https://127.0.0.1:1|https://127.0.0.1:$FAKE_PORT|" "$T/r53.cfg"
AWS_ACCESS_KEY_ID=AKIAEXAMPLE AWS_SECRET_ACCESS_KEY=x AWS_EC2_METADATA_DISABLED=true \
	expect_exit 1 "route53: rate = \"20/s\" accepted (then the endpoint is not Route 53)" "$PROVISION" -c "$T/r53.cfg" --dry-run
nogrep_file "rate" "$T/err" "route53: rate = \"20/s\" raises no configuration error"
finish
