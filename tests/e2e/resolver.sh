#!/bin/sh
# The real-DNS resolver backend (src/resolver_dns.c) against Knot DNS on
# 127.0.0.1, through the dnsq helper: every record type the tool reads, TXT
# strings joined, CNAME chains followed (also into another zone), NXDOMAIN,
# NODATA, truncation falling back to TCP, SERVFAIL/REFUSED, a zone reload,
# a server that never answers, and server strings that cannot be used.
. "$(dirname "$0")/../lib/common.sh"
: "${BUILD:=$TOP/build}"
. "$TOP/tests/lib/knot.sh"
DNSQ=$BUILD/tests/dnsq
if [ ! -x "$DNSQ" ]; then not_ok "no $DNSQ (build it first)"; finish; exit 1; fi

mkdir -p "$T/zones"
cp "$TOP"/tests/data/knot/*.zone "$T/zones/"
if ! knot_start "$T/zones"; then not_ok "knot starts"; finish; exit 1; fi
ok "knot answers on $KNOT_ADDR"

# q EXIT "description" NAME TYPE [dnsq options]: run dnsq -v, output in $T/out
q() {
	_want=$1; _d=$2; _n=$3; _t=$4; shift 4
	expect_exit "$_want" "$_d" "$DNSQ" -v "$@" "$KNOT_ADDR" "$_n" "$_t"
}
# same "description" LINE...: $T/out is exactly these lines
same() {
	_d=$1; shift
	printf '%s\n' "$@" >"$T/want"
	expect_same_file "$T/want" "$T/out" "$_d"
}

q 0 "A" host.resolver.test A
same "A answer" "status: OK (1 answers)" "A ttl=300 192.0.2.10"
q 0 "AAAA, query name in mixed case" HOST.Resolver.TEST AAAA
same "AAAA answer" "status: OK (1 answers)" "AAAA ttl=300 2001:db8::10"
q 0 "MX" resolver.test. MX
same "MX answers, exchange lower-cased" "status: OK (2 answers)" \
	"MX ttl=300 10 mail.resolver.test." "MX ttl=300 20 mx2.other.test."
q 0 "NS" resolver.test NS
same "NS answer" "status: OK (1 answers)" "NS ttl=300 ns1.resolver.test."
q 0 "PTR" 10.2.0.192.in-addr.arpa PTR
same "PTR answer lower-cased" "status: OK (1 answers)" \
	"PTR ttl=300 host.resolver.test."
q 0 "SOA" resolver.test SOA
same "SOA as presentation text" "status: OK (1 answers)" \
	"SOA ttl=300 ns1.resolver.test. hostmaster.resolver.test. 2024010101 3600 900 604800 300"

# A 401-byte value in two character-strings comes back joined.
long=$(python3 -c "print('v=DKIM1; k=rsa; p=' + ('MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A' * 13)[:383])")
q 0 "TXT of 401 bytes" dkim._domainkey.resolver.test TXT
same "TXT joined, strings=2 len=401" "status: OK (1 answers)" \
	"TXT ttl=300 strings=2 len=401 $long"
q 0 "TXT with two records" multi.resolver.test TXT
sort "$T/out" >"$T/out.sorted" && mv "$T/out.sorted" "$T/out"
same "both TXT records" "TXT ttl=300 strings=1 len=3 one" \
	"TXT ttl=300 strings=1 len=3 two" "status: OK (2 answers)"
q 0 "empty TXT" empty.resolver.test TXT
same "empty TXT is one empty string" "status: OK (1 answers)" \
	"TXT ttl=300 strings=1 len=0 "
q 0 "TXT with escapes" esc.resolver.test TXT
same 'TXT bytes a"b\c and 233 kept' "status: OK (1 answers)" \
	'TXT ttl=300 strings=2 len=6 a"b\092c\233'

# CNAME chains: followed in the reply, and into another zone by a new query.
q 0 "TXT through a CNAME chain" alias.resolver.test TXT
same "chain alias -> alias2 -> spf gives spf's TXT only" \
	"status: OK (1 answers)" \
	"TXT ttl=3600 strings=1 len=28 v=spf1 ip4:192.0.2.0/24 -all"
q 0 "CNAME asked for itself" alias.resolver.test CNAME
same "CNAME not followed when asked" "status: OK (1 answers)" \
	"CNAME ttl=300 alias2.resolver.test."
q 0 "A at the end of a CNAME chain (NODATA)" alias.resolver.test A
same "NODATA at the chain's end" "status: OK (0 answers)"
q 0 "CNAME to another zone" out.resolver.test TXT
same "target in other.test. asked again" "status: OK (1 answers)" \
	"TXT ttl=300 strings=1 len=12 other target"
q 3 "CNAME to a missing name" dangling.resolver.test TXT
same "dangling CNAME is NXDOMAIN" "status: NXDOMAIN"

q 1 "CNAME loop in the zone" loop1.resolver.test TXT
same "loop is TEMPFAIL" "status: TEMPFAIL: a CNAME loop from $KNOT_ADDR"
q 1 "CNAME loop across zones" xloop.resolver.test TXT
same "loop across zones is TEMPFAIL" \
	"status: TEMPFAIL: a CNAME chain too long from $KNOT_ADDR"

q 3 "NXDOMAIN" nothere.resolver.test TXT
same "NXDOMAIN status" "status: NXDOMAIN"
q 0 "NODATA: only an A at the name" only-a.resolver.test TXT
same "NODATA is OK with 0 answers" "status: OK (0 answers)"

# 12 x 200-byte TXT records: more than Knot's 1232-byte UDP limit.
q 0 "truncated over UDP" big.resolver.test TXT
grep_file "status: OK (12 answers)" "$T/out" "TCP fallback gives all 12 records"
grep_file "^TXT ttl=300 strings=1 len=200 11-x" "$T/out" "last big record intact"

q 1 "name outside every zone" www.example.com A
same "REFUSED is TEMPFAIL" "status: TEMPFAIL: REFUSED from $KNOT_ADDR"

# Reload: a new serial and a new record are seen.
sed -e 's/2024010101/2024010102/' "$TOP/tests/data/knot/resolver.test.zone" \
	>"$T/zones/resolver.test.zone"
echo 'new TXT "added"' >>"$T/zones/resolver.test.zone"
check "knot_reload" knot_reload
q 0 "SOA after reload" resolver.test SOA
grep_file " 2024010102 " "$T/out" "new serial served"
q 0 "new record after reload" new.resolver.test TXT
grep_file "^TXT ttl=300 strings=1 len=5 added$" "$T/out" "new TXT served"

# A zone that fails to load is answered with SERVFAIL.
printf '$ORIGIN broken.test.\n@ SOA ns1 host 1 2 3 4 5\n@ BOGUS x\n' \
	>"$T/zones/broken.test.zone"
check "knot_reload with a broken zone" knot_reload
q 1 "zone that did not load" broken.test SOA
same "SERVFAIL is TEMPFAIL" "status: TEMPFAIL: SERVFAIL from $KNOT_ADDR"

# A server that never answers: TEMPFAIL after two tries of 300 ms.
if silent_udp_start; then
	t0=$(date +%s%N)
	expect_exit 1 "silent server" "$DNSQ" -t 300 "$SILENT_ADDR" x.test TXT
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	same "timeout message" \
		"status: TEMPFAIL: no answer from $SILENT_ADDR (timeout)"
	if [ "$ms" -ge 500 ] && [ "$ms" -lt 3000 ]; then
		ok "timeout took ${ms} ms (one retry, bounded)"
	else
		not_ok "timeout took ${ms} ms, want 600 ms or so"
	fi
	expect_exit 1 "[v6]:PORT form" "$DNSQ" -t 200 "[::1]:$SILENT_PORT" x.test A
	grep_file "from \[::1\]:$SILENT_PORT" "$T/out" "IPv6 server named in why"
else
	not_ok "silent server starts"
fi

# Server strings that cannot be used.
for s in "127.0.0.1:99999" "127.0.0.1:" "127.0.0.1:5x" "[::1" "[::1]x" \
	"[]:53" ":53" ""; do
	expect_exit 2 "server '$s' refused" "$DNSQ" "$s" x.test A
	grep_file "resolver '" "$T/err" "error names the server '$s'"
done
expect_exit 64 "unknown type" "$DNSQ" "$KNOT_ADDR" x.test NOSUCHTYPE
# Other accepted forms reach the server.
expect_exit 0 "HOST:PORT in brackets" "$DNSQ" "[127.0.0.1]:$KNOT_PORT" \
	host.resolver.test A

finish
