#!/bin/sh
# bench/run.sh - figures for the SPF engine and for the DNS a dry run asks.
# Not a test: it prints numbers and fails only when it cannot measure.
#
#   sh bench/run.sh        (from anywhere; builds with plain `make` first)
#
# 1. check_host() and spf_cost() calls per second on the RFC 7208 suite's
#    records (tests/helpers/bench_spf.c), with a fresh resolver per call and
#    with one shared cache per scenario.
# 2. A dry run of BENCH_DOMAINS (1000) zone-file domains that all get
#    include:mailgun.org, against Knot on 127.0.0.1 serving the test copy
#    of the mailgun.org tree: DNS questions asked and sent (the cache should
#    send one per distinct name: 5), wall time, domains/s, peak memory.
#
# Environment: SPF_SUITE (rfc7208-tests.yml), BENCH_SECONDS (2),
# BENCH_DOMAINS (1000), NO_BUILD=1 to use the binaries as they are.
TOP=$(cd "$(dirname "$0")/.." && pwd)
export TOP
. "$TOP/tests/lib/common.sh"
. "$TOP/tests/lib/knot.sh"
: "${BENCH_SECONDS:=2}"
: "${BENCH_DOMAINS:=1000}"
BUILD=$TOP/build
MAILGUN_NAMES=5 # mailgun.org, _spf, _spf.eu, _spf1, _spf2

die() { echo "bench: $*" >&2; exit 1; }

if [ -z "${NO_BUILD:-}" ]; then
	(cd "$TOP" && make -s all build/tests/bench_spf build/tests/dnsq) \
		>"$T/make.log" 2>&1 || { cat "$T/make.log" >&2; die "make failed"; }
fi

echo "# provision benchmarks: $(uname -m), $(nproc) cores, $(date +%Y-%m-%d)"

# ---- 1. the SPF engine on the conformance suite --------------------------
if [ -n "${SPF_SUITE:-}" ]; then SUITE=$SPF_SUITE
elif [ -f "$TOP/tests/conformance/rfc7208-tests.yml" ]; then
	SUITE=$TOP/tests/conformance/rfc7208-tests.yml
else SUITE=$TOP/../shared/conformance/spf/rfc7208-tests.yml; fi
[ -f "$SUITE" ] || die "no rfc7208-tests.yml (set SPF_SUITE)"
python3 "$TOP/tests/conformance/yaml2json.py" "$SUITE" >"$T/suite.json" ||
	die "yaml2json failed on $SUITE"
echo
echo "## SPF engine: RFC 7208 suite, in-memory DNS"
"$BUILD/tests/bench_spf" -t "$BENCH_SECONDS" "$T/suite.json" ||
	die "bench_spf failed"

# ---- 2. a dry run of many domains sharing the mailgun.org tree -----------
mkdir -p "$T/many/zones"
{
	echo 'providers: { local = { type = "zonefile"; directory = "zones"; }; };'
	echo 'domains = ('
	i=0
	while [ "$i" -lt "$BENCH_DOMAINS" ]; do
		[ "$i" -gt 0 ] && echo ','
		printf '{ name = "d%d.bench.test"; provider = "local"; }' "$i"
		i=$((i + 1))
	done
	echo ');'
} >"$T/many/bench.cfg"
i=0
while [ "$i" -lt "$BENCH_DOMAINS" ]; do
	cat >"$T/many/zones/d$i.bench.test.zone" <<EOF
\$ORIGIN d$i.bench.test.
\$TTL 3600
@   IN SOA ns1 hostmaster 1 7200 3600 1209600 3600
    IN NS  ns1
ns1 IN A   192.0.2.53
@   IN TXT "v=spf1 ip4:192.0.2.0/24 -all"
@   IN TXT "google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ"
EOF
	i=$((i + 1))
done
cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" >"$T/knot.start" 2>&1 ||
	{ cat "$T/knot.start" >&2; die "knot does not start"; }

# dry_run FORMAT: one row of the table.
dry_run() {
	fmt=$1
	set -- "$PROVISION" --dry-run -v --format "$fmt" \
		-c "$T/many/bench.cfg" --resolver "$KNOT_ADDR"
	rss="-"
	t0=$(date +%s.%N)
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f '%M' -o "$T/time" "$@" >"$T/out" 2>"$T/err"
		rc=$?
		rss="$(($(tail -1 "$T/time") / 1024)) MB"
	else
		"$@" >"$T/out" 2>"$T/err"
		rc=$?
	fi
	wall=$(echo "$t0 $(date +%s.%N)" | awk '{ printf "%.3f", $2 - $1 }')
	if [ "$rc" -ne 0 ]; then
		sed 's/^/#   /' "$T/err" | tail -5 >&2
		die "dry run ($fmt) exit $rc"
	fi
	set -- $(sed -n 's/^provision: dns: \([0-9]*\) questions, \([0-9]*\) sent.*/\1 \2/p' "$T/err")
	[ $# -eq 2 ] || die "no 'provision: dns:' line with -v ($fmt)"
	asked=$1 sent=$2
	outkb=$(($(wc -c <"$T/out") / 1024))
	verdict="ok"
	[ "$sent" -eq "$MAILGUN_NAMES" ] || verdict="want $MAILGUN_NAMES"
	awk -v f="$fmt" -v n="$BENCH_DOMAINS" -v q="$asked" -v s="$sent" \
	    -v v="$verdict" -v w="$wall" -v m="$rss" -v o="$outkb" 'BEGIN {
		printf "%-6s  %7d  %9d  %4d %-7s  %7.3f  %9.0f  %8s  %8d\n",
		       f, n, q, s, "(" v ")", w, (w > 0 ? n / w : 0), m, o }'
}

echo
echo "## Dry run: $BENCH_DOMAINS domains + include:mailgun.org, Knot on $KNOT_ADDR"
printf '%-6s  %7s  %9s  %-12s  %7s  %9s  %8s  %8s\n' format domains \
	questions "sent" "wall s" domains/s "peak RSS" "out KB"
dry_run text
dry_run json
