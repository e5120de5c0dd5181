#!/bin/sh
# bench/scale.sh - a run over many domains against the providers' fakes,
# with a real API's latency and the rate limits scaled down (issue 12).
# Not a test: it prints figures and fails only when it cannot measure.
#
#   sh bench/scale.sh            (builds with plain `make` first)
#
# Per HTTP provider: SCALE_DOMAINS (1000) fresh domains applied, then the
# same again (in sync), the fake answering every request SCALE_LATENCY
# (0.05) s late and enforcing its scaled limit (Cloudflare 40/s, GoDaddy
# 10/s, Route 53 20/s), provision told the same limit with `rate`. Printed:
# calls per domain, wall time, the floor (calls / rate), wall / floor,
# 429s received, writes, peak RSS. Then zone files: SCALE_ZONES (10000)
# domains, dry run and apply, CPU per domain; and check of SCALE_CHECK
# (10000) domains on two Knot servers: DNS queries and wall time.
# SCALE_PROVIDERS (cloudflare godaddy route53 zonefile check) picks parts.
# Each is measured twice in the same run: sequential (-j 1, one domain
# after another) and concurrent (the default: each block's concurrency, 8;
# check 32 domains at once); the fakes' state is seeded again in between.
TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP
. "$TOP/tests/lib/common.sh"
. "$TOP/tests/lib/knot.sh"
. "$TOP/tests/lib/fakes.sh"
: "${SCALE_DOMAINS:=1000}" "${SCALE_LATENCY:=0.05}" "${SCALE_ZONES:=10000}"
: "${SCALE_CHECK:=10000}" "${SCALE_PROVIDERS:=cloudflare godaddy route53 zonefile check}"
die() { echo "bench: $*" >&2; exit 1; }
if [ -z "${NO_BUILD:-}" ]; then
	(cd "$TOP" && make -s all) >"$T/make.log" 2>&1 || { cat "$T/make.log" >&2; die "make failed"; }
fi
PROVISION=$TOP/build/provision
[ -x /usr/bin/time ] || die "needs /usr/bin/time (Debian package time)"
cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" >"$T/knot.start" 2>&1 || { cat "$T/knot.start" >&2; die "knot does not start"; }
echo "# provision scale benchmark: $(uname -m), $(nproc) cores, $(date +%Y-%m-%d)"
echo "# latency ${SCALE_LATENCY}s per request, $SCALE_DOMAINS domains per provider"

# run LABEL CFG [OPTION...]: one timed run; sets WALL, RSS_MB, RC
run() {
	_l=$1 _c=$2
	shift 2
	t0=$(date +%s.%N)
	/usr/bin/time -f '%M %U %S' -o "$T/time" "$PROVISION" -c "$_c" --resolver "$KNOT_ADDR" \
		--format json "$@" >"$T/out.$_l" 2>"$T/err.$_l"
	RC=$?
	WALL=$(echo "$t0 $(date +%s.%N)" | awk '{ printf "%.2f", $2 - $1 }')
	set -- $(tail -1 "$T/time")
	RSS_MB=$(($1 / 1024)) CPU=$(echo "$2 $3" | awk '{ printf "%.2f", $1 + $2 }')
}

# requests PORT: "total 429s writes" of the fake's request log, then reset
requests() {
	fake_ctl "$1" GET /__fake/requests | python3 -c '
import json, sys
r = json.load(sys.stdin)
print(len(r), sum(1 for x in r if x["status"] == 429),
      sum(1 for x in r if x["method"] != "GET" and x["status"] != 429))'
	fake_ctl "$1" POST /__fake/reset-calls >/dev/null
}

row() { # provider run rate port
	[ -n "${ROW_HEAD:-}" ] || printf '\n%-10s %-12s %6s %8s %8s %8s %6s %5s %6s %6s\n' provider run \
		calls calls/dom "wall s" "floor s" ratio 429s writes "RSS MB"
	ROW_HEAD=1
	set -- "$1" "$2" "$3" "$4" $(requests "$4")
	awk -v p="$1" -v r="$2" -v rate="$3" -v n="$SCALE_DOMAINS" -v c="$5" -v q="$6" -v wr="$7" \
	    -v w="$WALL" -v m="$RSS_MB" 'BEGIN {
		f = c / rate
		printf "%-10s %-12s %6d %8.2f %8.2f %8.2f %6.2f %5d %6d %6d\n",
		       p, r, c, c / n, w, f, (f > 0 ? w / f : 0), q, wr, m }'
}

# two_runs PROVIDER RATE PORT CFG SEED: apply fresh, then again in sync,
# sequential (-j 1) and then concurrent (the fake seeded again); a row each
two_runs() {
	for mode in seq conc; do
		fake_ctl "$3" POST /__fake/state "@$5" >/dev/null || die "$1: cannot seed the fake"
		fake_ctl "$3" POST /__fake/reset-calls >/dev/null
		for r in fresh in-sync; do
			if [ "$mode" = seq ]; then run "$1-$r-$mode" "$4" -j 1; else run "$1-$r-$mode" "$4"; fi
			[ "$RC" -eq 0 ] || { tail -3 "$T/err.$1-$r-$mode" >&2; die "$1 $r $mode: exit $RC"; }
			row "$1" "$r $mode" "$2" "$3"
		done
	done
}

domains_cfg() { # provider-block-text > config
	echo "providers: { p = { $1 }; };"
	echo 'domains = ('
	i=0
	while [ "$i" -lt "$SCALE_DOMAINS" ]; do
		[ "$i" -gt 0 ] && echo ','
		printf '{ name = "d%d.scale.test"; provider = "p"; }' "$i"
		i=$((i + 1))
	done
	echo ');'
}

for part in $SCALE_PROVIDERS; do
case $part in
cloudflare)
	python3 - "$SCALE_DOMAINS" >"$T/cf.json" <<'PY'
import json, sys
print(json.dumps({"zones": [{"name": "d%d.scale.test" % i, "records": [
    {"type": "TXT", "name": "d%d.scale.test" % i, "content": "\"v=spf1 ip4:192.0.2.0/24 -all\"",
     "ttl": 3600}]} for i in range(int(sys.argv[1]))]}))
PY
	export CF_TEST_TOKEN="scale-token-$$"
	cf_fake_start "$T/cf.json" --token "$CF_TEST_TOKEN" --latency "$SCALE_LATENCY" \
		--rate-limit 40/1 >"$T/fake.start" 2>&1 || { cat "$T/fake.start" >&2; die "cloudflare fake"; }
	domains_cfg "type = \"cloudflare\"; token_env = \"CF_TEST_TOKEN\"; endpoint = \"$CF_URL\"; ca_file = \"$CF_CA\"; rate = \"40/s\";" >"$T/cf.cfg"
	two_runs cloudflare 40 "$CF_PORT" "$T/cf.cfg" "$T/cf.json"
	;;
godaddy)
	python3 - "$SCALE_DOMAINS" >"$T/gd.json" <<'PY'
import json, sys
print(json.dumps({"domains": [{"domain": "d%d.scale.test" % i, "records": [
    {"type": "TXT", "name": "@", "data": "v=spf1 ip4:192.0.2.0/24 -all", "ttl": 3600}]}
    for i in range(int(sys.argv[1]))]}))
PY
	export GD_TEST_KEY="scale-key" GD_TEST_SECRET="scale-secret-$$"
	make_test_ca >/dev/null 2>&1
	fake_start godaddy godaddy.py --state "$T/gd.json" --credentials "$GD_TEST_KEY:$GD_TEST_SECRET" \
		--latency "$SCALE_LATENCY" --rate-limit 10/1 >"$T/fake.start" 2>&1 ||
		{ cat "$T/fake.start" >&2; die "godaddy fake"; }
	GP=$FAKE_PORT
	domains_cfg "type = \"godaddy\"; key_env = \"GD_TEST_KEY\"; secret_env = \"GD_TEST_SECRET\"; endpoint = \"https://127.0.0.1:$GP\"; ca_file = \"$T/ca/ca.pem\"; rate = \"10/s\";" >"$T/gd.cfg"
	two_runs godaddy 10 "$GP" "$T/gd.cfg" "$T/gd.json"
	;;
route53)
	python3 - "$SCALE_DOMAINS" >"$T/r53.json" <<'PY'
import json, sys
print(json.dumps({"zones": [{"name": "d%d.scale.test" % i, "records": [
    {"name": "@", "type": "TXT", "ttl": 3600, "values": ["\"v=spf1 ip4:192.0.2.0/24 -all\""]}]}
    for i in range(int(sys.argv[1]))]}))
PY
	AKID=AKIAIOSFODNN7EXAMPLE SECRET="scale-secret-$$"
	make_test_ca >/dev/null 2>&1
	fake_start route53 route53.py --state "$T/r53.json" --credentials "$AKID:$SECRET" \
		--latency "$SCALE_LATENCY" --rate-limit 20/1 >"$T/fake.start" 2>&1 ||
		{ cat "$T/fake.start" >&2; die "route53 fake"; }
	RP=$FAKE_PORT
	export AWS_ACCESS_KEY_ID="$AKID" AWS_SECRET_ACCESS_KEY="$SECRET"
	export AWS_SHARED_CREDENTIALS_FILE="$T/none" AWS_CONFIG_FILE="$T/none" AWS_EC2_METADATA_DISABLED=true
	unset AWS_SESSION_TOKEN AWS_PROFILE
	domains_cfg "type = \"route53\"; endpoint = \"https://127.0.0.1:$RP\"; ca_file = \"$T/ca/ca.pem\"; rate = \"20/s\";" >"$T/r53.cfg"
	two_runs route53 20 "$RP" "$T/r53.cfg" "$T/r53.json"
	;;
zonefile)
	mkdir -p "$T/zf/zones"
	{
		echo 'providers: { local = { type = "zonefile"; directory = "zones"; }; };'
		echo 'domains = ('
		i=0
		while [ "$i" -lt "$SCALE_ZONES" ]; do
			[ "$i" -gt 0 ] && echo ','
			printf '{ name = "z%d.scale.test"; provider = "local"; }' "$i"
			i=$((i + 1))
		done
		echo ');'
	} >"$T/zf/zf.cfg"
	python3 - "$T/zf/zones" "$SCALE_ZONES" <<'PY'
import sys
for i in range(int(sys.argv[2])):
    with open("%s/z%d.scale.test.zone" % (sys.argv[1], i), "w") as f:
        f.write("$ORIGIN z%d.scale.test.\n$TTL 3600\n@ IN SOA ns1 hostmaster 1 7200 3600 1209600 3600\n"
                "  IN NS ns1\nns1 IN A 192.0.2.53\n@ IN TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n" % i)
PY
	printf '\n%-22s %7s %8s %8s %12s %6s\n' "zone files" domains "wall s" "CPU s" "CPU ms/dom" "RSS MB"
	cp -r "$T/zf/zones" "$T/zf/zones.orig"
	for mode in "dry-run seq" "dry-run conc" "apply seq" "apply conc"; do
		rm -rf "$T/zf/zones" "$T/zf/provision-backups"
		cp -r "$T/zf/zones.orig" "$T/zf/zones"
		set --
		case $mode in dry-run*) set -- --dry-run ;; esac
		case $mode in *seq) set -- "$@" -j 1 ;; esac
		t0=$(date +%s.%N)
		/usr/bin/time -f '%M %U %S' -o "$T/time" "$PROVISION" -c "$T/zf/zf.cfg" --resolver "$KNOT_ADDR" \
			"$@" >/dev/null 2>"$T/err.zf" || { tail -3 "$T/err.zf" >&2; die "zonefile $mode failed"; }
		w=$(echo "$t0 $(date +%s.%N)" | awk '{ printf "%.2f", $2 - $1 }')
		set -- $(tail -1 "$T/time")
		awk -v m="$mode" -v n="$SCALE_ZONES" -v w="$w" -v r="$1" -v u="$2" -v s="$3" 'BEGIN {
			printf "%-22s %7d %8.2f %8.2f %12.3f %6d\n", m, n, w, u + s, (u + s) * 1000 / n, r / 1024 }'
	done
	;;
check)
	mkdir -p "$T/ck/a" "$T/ck/b"
	python3 - "$T/ck" "$SCALE_CHECK" <<'PY'
import sys
d, n = sys.argv[1], int(sys.argv[2])
with open(d + "/check.cfg", "w") as f:
    f.write('providers: { local = { type = "zonefile"; directory = "zones"; }; };\ndomains = (\n')
    f.write(",\n".join('{ name = "c%d.scale.test"; provider = "local"; }' % i for i in range(n)))
    f.write(");\n")
with open(d + "/a/scale.test.zone", "w") as z:
    z.write("$ORIGIN scale.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
            "  IN NS ns1\nns1 IN A 192.0.2.53\n")
    for i in range(n):
        z.write("c%d IN TXT \"v=spf1 include:mailgun.org ~all\"\n" % i)
PY
	cp "$T/ck/a/scale.test.zone" "$T/ck/b/"
	cp "$T/dns/"*.zone "$T/ck/a/"
	cp "$T/dns/"*.zone "$T/ck/b/"
	printf '\n%-22s %7s %9s %8s %6s\n' "check, two Knot" domains "queries" "wall s" "RSS MB"
	# knot.sh keeps one server under $T/knot: each of the two gets its own $T
	TT=$T
	for s in a b; do
		T=$TT/ck/run-$s; mkdir -p "$T"
		knot_start "$TT/ck/$s" >"$TT/k-$s" 2>&1 || { cat "$TT/k-$s" >&2; T=$TT; die "knot $s"; }
		eval "K_$s=\$KNOT_ADDR"
	done
	T=$TT A1=$K_a A2=$K_b
	for mode in seq conc; do
		if [ "$mode" = seq ]; then set -- -j 1; else set --; fi
		t0=$(date +%s.%N)
		/usr/bin/time -f '%M' -o "$T/time" "$PROVISION" check -v -c "$T/ck/check.cfg" --resolver "$A1" \
			--nameserver "$A1" --nameserver "$A2" --format json "$@" >"$T/out.ck" 2>"$T/err.ck"
		w=$(echo "$t0 $(date +%s.%N)" | awk '{ printf "%.2f", $2 - $1 }')
		# the run's own line (recursive resolver) plus every domain's line
		# (its authoritative servers)
		q=$(awk '/^provision: dns: [0-9]+ questions/ { s += $5 }
			/^provision: dns: [^ ]+ [0-9]+ questions/ { s += $6 } END { print s + 0 }' "$T/err.ck")
		awk -v n="$SCALE_CHECK" -v q="$q" -v w="$w" -v r="$(tail -1 "$T/time")" -v m="$mode" 'BEGIN {
			printf "%-22s %7d %9d %8.2f %6d\n", m, n, q, w, r / 1024 }'
	done
	;;
*) die "unknown part $part" ;;
esac
done
