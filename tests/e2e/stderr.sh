#!/bin/sh
# Every domain that ends "error" or "refused" (and every failing check) says
# why in one line on stderr, "provision: DOMAIN: reason", in text and JSON
# mode alike, so a pipeline that keeps stdout still sees it: zone files
# missing and malformed, a DNS server that does not answer, and the three
# HTTP providers' refusals and garbage answers from their fakes. No secret
# is ever on stderr, not even with --verbose.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"
. "$TOP/tests/lib/fakes.sh"

# fails DOMAIN PATTERN DESCRIPTION -- COMMAND...: run COMMAND in text and in
# JSON mode; both exit 1, stderr holds exactly one line for DOMAIN, matching
# "^provision: DOMAIN: .*PATTERN", and the JSON on stdout still parses.
fails() {
	_d=$1 _p=$2 _desc=$3; shift 4
	for _fmt in text json; do
		expect_exit 1 "$_desc ($_fmt)" "$@" --format "$_fmt"
		_n=$(grep -c "^provision: $_d: " "$T/err")
		if [ "$_n" = 1 ] && grep -q "^provision: $_d: .*$_p" "$T/err"; then
			ok "$_desc ($_fmt): said on stderr"
		else
			not_ok "$_desc ($_fmt): $_n line(s) for $_d on stderr, want one matching '$_p'"
			sed 's/^/#   err: /' "$T/err" | head -5
		fi
		[ "$_fmt" = json ] && check "$_desc: stdout is still one JSON document" \
			"$PYTHON" -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out"
	done
	return 0
}
# no_secret VALUE DESCRIPTION: VALUE is in neither stdout nor stderr
no_secret() { check "$2" sh -c '! grep -qF -- "$1" "$2" "$3"' - "$1" "$T/out" "$T/err"; }

cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }

# ---- zone files --------------------------------------------------------------
mkdir -p "$T/zones"
cp "$TOP/tests/data/zones/bad.example.zone" "$T/zones/"
cat >"$T/z.cfg" <<CFG
providers: { local = { type = "zonefile"; directory = "$T/zones"; }; };
domains = (
  { name = "gone.example"; provider = "local"; },
  { name = "bad.example"; provider = "local"; }
);
CFG
Z() { "$PROVISION" -c "$T/z.cfg" --resolver "$KNOT_ADDR" "$@"; }
fails gone.example "gone.example.zone" "zone file missing names the file" -- Z --dry-run gone.example
fails bad.example "bad.example.zone:9" "zone file malformed names the file and line" -- Z --dry-run bad.example
expect_exit 1 "both at once" Z --dry-run
check "two failing domains, two lines on stderr" test "$(grep -c '^provision: [a-z.]*: ' "$T/err")" = 2

# ---- check against a server that does not answer ---------------------------
silent_udp_start || { not_ok "silent server starts"; finish; exit 1; }
cat >"$T/c.cfg" <<CFG
defaults: { dkim = { key = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"; }; };
providers: { local = { type = "zonefile"; directory = "$T/zones"; }; };
domains = ( { name = "quiet.example"; provider = "local"; } );
CFG
fails quiet.example "$SILENT_ADDR" "check: the server does not answer, named" -- \
	"$PROVISION" -c "$T/c.cfg" --resolver "$KNOT_ADDR" check --dns-timeout 1s --nameserver "$SILENT_ADDR"

# ---- Cloudflare --------------------------------------------------------------
make_test_ca || { not_ok "test CA"; finish; exit 1; }
CFTOKEN="cf-good-token-$$-s3cr3t"
WRONG="cf-wrong-token-$$-n0tv4lid"
export CF_TEST_TOKEN="$CFTOKEN"
cf_fake_start "$TOP/tests/data/cloudflare/state.json" --token "$CFTOKEN" ||
	{ not_ok "cloudflare fake starts"; finish; exit 1; }
sed -e "s|@URL@|$CF_URL|" -e "s|@CA@|$CF_CA|" "$TOP/tests/data/cloudflare/provision.cfg.in" >"$T/cf.cfg"
C() { "$PROVISION" -c "$T/cf.cfg" --resolver "$KNOT_ADDR" "$@"; }
CF_TEST_TOKEN="$WRONG" fails example.com "refused the API token in CF_TEST_TOKEN" \
	"Cloudflare: a wrong token, and the variable that held it" -- C --dry-run example.com
CF_TEST_TOKEN="$WRONG" C --dry-run --verbose example.com >"$T/out" 2>"$T/err"
no_secret "$WRONG" "Cloudflare: the refused token is not printed, even with --verbose"
no_secret "$CFTOKEN" "Cloudflare: nor the good one"
cf_fake_fault '{"malformed": 2}' >/dev/null
fails example.com "Cloudflare" "Cloudflare: a malformed body" -- C --dry-run example.com
cf_fake_fault '{"malformed": {"count": 2, "body": "{\"success\": true, \"result\": [{\"id\":", "content_type": "application/json"}}' >/dev/null
fails example.com "Cloudflare" "Cloudflare: a truncated JSON body" -- C --dry-run example.com
cf_fake_fault '{"drop": {"count": 9, "when": "before", "method": "POST"}}' >/dev/null
expect_exit 1 "Cloudflare: the connection dropped on the first write" C example.com
grep_file '^provision: example.com: .*' "$T/err" "Cloudflare: the lost connection said on stderr"
check "Cloudflare: one line for it" test "$(grep -c '^provision: example.com: ' "$T/err")" = 1
fake_ctl "$CF_PORT" DELETE /__fake/faults >/dev/null

# ---- Route 53 ----------------------------------------------------------------
AKID=AKIAIOSFODNN7EXAMPLE
SECRET="r53-stderr-secret/$$/K7MDENGbPxRfiCY"
fake_start route53 route53.py --state "$TOP/tests/data/route53/state.json" \
	--credentials "$AKID:$SECRET" || { not_ok "route53 fake starts"; finish; exit 1; }
R53=$FAKE_PORT
sed -e "s|@URL@|https://127.0.0.1:$R53|" -e "s|@URL2@|https://127.0.0.1:$R53|" \
	-e "s|@CA@|$T/ca/ca.pem|" "$TOP/tests/data/route53/provision.cfg.in" >"$T/r.cfg"
export AWS_ACCESS_KEY_ID="$AKID" AWS_SECRET_ACCESS_KEY="$SECRET"
export AWS_SHARED_CREDENTIALS_FILE="$T/no-such-credentials"
unset AWS_SESSION_TOKEN AWS_PROFILE
R() { "$PROVISION" -c "$T/r.cfg" --resolver "$KNOT_ADDR" "$@"; }
rfault() { fake_ctl "$R53" POST /__fake/faults "$1" >/dev/null; }
rfault '{"malformed": {"count": 2, "path_contains": "hostedzonesbyname", "body": "<?xml version=\"1.0\"?><ListHostedZonesByNameResponse><HostedZones><HostedZone><Id>", "content_type": "text/xml"}}'
fails example.com "ListHostedZonesByName" "Route 53: malformed XML from ListHostedZonesByName" -- R --dry-run example.com
rfault '{"malformed_xml": {"count": 2, "path_contains": "/rrset"}}'
fails example.com "listing record sets" "Route 53: malformed XML from ListResourceRecordSets" -- R --dry-run example.com
R --dry-run --verbose example.com >"$T/out" 2>"$T/err"
no_secret "$SECRET" "Route 53: the secret key is never printed"

# ---- GoDaddy -----------------------------------------------------------------
GKEY="gdkey$$Zq7" GSECRET="gdsecret$$Wv3" DKEY="deniedkey$$" DSECRET="deniedsecret$$"
export GD_TEST_KEY="$GKEY" GD_TEST_SECRET="$GSECRET" GD_DENIED_KEY="$DKEY" GD_DENIED_SECRET="$DSECRET"
unset PROVISION_GODADDY_RATE_LIMIT
fake_start godaddy godaddy.py --state "$TOP/tests/data/godaddy/state.json" \
	--credentials "$GKEY:$GSECRET" --credentials "$DKEY:$DSECRET" --no-api-access "$DKEY" ||
	{ not_ok "godaddy fake starts"; finish; exit 1; }
GD=$FAKE_PORT
sed -e "s|@URL@|https://127.0.0.1:$GD|" -e "s|@CA@|$T/ca/ca.pem|" -e "s|@DKIM4096@|x|" \
	"$TOP/tests/data/godaddy/provision.cfg.in" >"$T/g.cfg"
G() { "$PROVISION" -c "$T/g.cfg" --resolver "$KNOT_ADDR" "$@"; }
gfault() { fake_ctl "$GD" POST /__fake/faults "$1" >/dev/null; }
GD_TEST_SECRET="wrong$$secret" fails example.com "authentication failed.*GD_TEST_KEY.*GD_TEST_SECRET" \
	"GoDaddy: a bad key/secret" -- G --dry-run example.com
GD_TEST_SECRET="wrong$$secret" G --dry-run --verbose example.com >"$T/out" 2>"$T/err"
no_secret "wrong$$secret" "GoDaddy: the refused secret is not printed, even with --verbose"
no_secret "$GKEY" "GoDaddy: nor the key"
fails denied.example "not allowed to use GoDaddy's production API.*api.ote-godaddy.com" \
	"GoDaddy: an account without API access" -- G --dry-run denied.example
G --dry-run --verbose denied.example >"$T/out" 2>"$T/err"
grep_file "^provision: denied.example: .*account size" "$T/err" "GoDaddy: the 403 explained with --verbose too"
fails missing.example "missing.example" "GoDaddy: a domain not in the account, named" -- G --dry-run missing.example
gfault '{"malformed": {"count": 2, "path_contains": "/records", "body": "[{\"type\": \"TXT\", \"name\": \"@\", \"da", "content_type": "application/json"}}'
fails example.com "GoDaddy" "GoDaddy: a truncated records answer" -- G --dry-run example.com
gfault '{"malformed": {"count": 2, "path_contains": "/records", "body": "{\"type\": \"TXT\", \"name\": \"@\", \"data\": \"x\"}", "content_type": "application/json"}}'
fails example.com "godaddy: example.com: .*not an array" "GoDaddy: an object where the records array belongs" -- G --dry-run example.com
gfault '{"malformed": {"count": 2, "path_contains": "/records"}}'
fails example.com "GoDaddy" "GoDaddy: an HTML records answer" -- G --dry-run example.com

# ---- a domain that is refused by a rule: exit 3, and said on stderr too -----
cp "$TOP/tests/data/e2e/zones/twospf.test.zone" "$T/zones/"
cat >"$T/t.cfg" <<CFG
providers: { local = { type = "zonefile"; directory = "$T/zones"; }; };
domains = ( { name = "twospf.test"; provider = "local"; } );
CFG
for fmt in text json; do
	expect_exit 3 "a refused domain ($fmt)" "$PROVISION" -c "$T/t.cfg" --resolver "$KNOT_ADDR" --dry-run --format $fmt
	grep_file '^provision: twospf.test: .*SPF' "$T/err" "the refusal said on stderr ($fmt)"
done
finish
