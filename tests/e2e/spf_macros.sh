#!/bin/sh
# SPF macros (RFC 7208 §7) on real data: records with %{d} %{dr} %{d1}
# %{d1-} %{D} %{h} %{l} %{o} %{i} %{ir} %{v} %{p}, in an exists:, an
# include: and a redirect=, served by Knot. For each domain the verdict of
# `provision --dry-run --format json` and of `provision check` for 10.1.1.1
# must equal what python3-spf (pyspf, a second implementation) says of the
# same published record through the same server, and the d-only macros must
# leave the lookup count known.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"

PY3=/usr/bin/python3 # Debian's, where python3-spf is installed
mkdir -p "$T/dns" "$T/zones"
cp "$TOP/tests/data/e2e/dns/mailgun.org.zone" "$T/dns/"

# name|record|expected verdict for 10.1.1.1 (postmaster@name, HELO name)
cat >"$T/cases" <<'EOF'
percent.test|v=spf1 exists:%{d}.ok.thirdparty2.test include:mailgun.org -all|pass
rev.test|v=spf1 exists:%{dr}.ok.thirdparty2.test include:mailgun.org -all|pass
keep.test|v=spf1 exists:%{d1}.one.thirdparty2.test include:mailgun.org -all|pass
dash-name.test|v=spf1 exists:%{d1-}.dash.thirdparty2.test include:mailgun.org -all|pass
upper.test|v=spf1 exists:%{D}.ok.thirdparty2.test include:mailgun.org -all|pass
helo.test|v=spf1 exists:%{h}.helo.thirdparty2.test include:mailgun.org -all|pass
sender.test|v=spf1 exists:%{l}.%{o}.s.thirdparty2.test include:mailgun.org -all|pass
ip.test|v=spf1 exists:%{i}.%{d}.ip.thirdparty2.test include:mailgun.org -all|pass
ipr.test|v=spf1 exists:%{ir}.%{v}.%{d2}.r.thirdparty2.test include:mailgun.org -all|pass
ptr.test|v=spf1 exists:%{p}.p.thirdparty2.test include:mailgun.org -all|pass
incl.test|v=spf1 include:%{d}.inc.thirdparty2.test include:mailgun.org -all|pass
redir.test|v=spf1 include:mailgun.org redirect=%{d}._spf.thirdparty2.test|pass
miss.test|v=spf1 exists:%{d}.missing.thirdparty2.test include:mailgun.org -all|fail
EOF

# One zone per domain, the same file for provision and for Knot: the dry
# run's planned SPF is the published one, so all three judge one record.
while IFS='|' read -r name rec _; do
	cat >"$T/zones/$name.zone" <<ZONE
\$ORIGIN $name.
\$TTL 3600
@	SOA	ns hostmaster 1 7200 3600 1209600 300
@	NS	ns
ns	A	127.0.0.1
@	TXT	"$rec"
mail	A	10.1.1.1
ZONE
	cp "$T/zones/$name.zone" "$T/dns/"
done <"$T/cases"
cat >"$T/dns/thirdparty2.test.zone" <<'ZONE'
$ORIGIN thirdparty2.test.
$TTL 300
@	SOA	ns hostmaster 1 7200 3600 1209600 300
@	NS	ns
ns	A	127.0.0.1
percent.test.ok			A	127.0.0.2
test.rev.ok			A	127.0.0.2
test.one			A	127.0.0.2
name.test.dash			A	127.0.0.2
upper.test.ok			A	127.0.0.2
helo.test.helo			A	127.0.0.2
postmaster.sender.test.s	A	127.0.0.2
10.1.1.1.ip.test.ip		A	127.0.0.2
1.1.1.10.in-addr.ipr.test.r	A	127.0.0.2
mail.ptr.test.p			A	127.0.0.2
incl.test.inc			TXT	"v=spf1 ip4:10.1.1.1 -all"
redir.test._spf			TXT	"v=spf1 ip4:10.1.1.0/24 -all"
ZONE
cat >"$T/dns/1.1.10.in-addr.arpa.zone" <<'ZONE'
$ORIGIN 1.1.10.in-addr.arpa.
$TTL 300
@	SOA	ns.thirdparty2.test. hostmaster.thirdparty2.test. 1 7200 3600 1209600 300
@	NS	ns.thirdparty2.test.
1	PTR	mail.ptr.test.
ZONE
{
	echo 'providers: { local = { type = "zonefile"; directory = "zones"; }; };'
	echo 'defaults: { spf = { test_ip = "10.1.1.1"; }; };'
	echo 'domains = ('
	sep=""
	while IFS='|' read -r name _ _; do
		printf '%s  { name = "%s"; provider = "local"; }' "$sep" "$name"
		sep=",
"
	done <"$T/cases"
	printf '\n);\n'
} >"$T/macros.cfg"

knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }
P() { "$PROVISION" -c "$T/macros.cfg" --resolver "$KNOT_ADDR" "$@"; }

# pyspf through the same Knot, nothing else asked.
cat >"$T/pyspf.py" <<'PY'
import sys, DNS, spf
DNS.defaults["server"] = ["127.0.0.1"]
DNS.defaults["port"] = int(sys.argv[1])
spf.DNS = DNS
spf.DNSLookup = spf.DNSLookup_pydns
name = sys.argv[2]
print(spf.check2(i="10.1.1.1", s="postmaster@" + name, h=name)[0])
PY

while IFS='|' read -r name rec expect; do
	second=$("$PY3" "$T/pyspf.py" "$KNOT_PORT" "$name" 2>"$T/pyerr")
	check "$name: pyspf says $expect" [ "$second" = "$expect" ]
	[ "$second" = "$expect" ] || sed 's/^/#   pyspf: /' "$T/pyerr"
	expect_exit 0 "$name: dry run" P --dry-run --format json "$name"
	check "$name: the dry run's verdict is pyspf's ($second)" \
		python3 - "$T/out" "$second" "$rec" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["domains"][0]
want, rec = sys.argv[2], sys.argv[3]
apex = d["domain"].rstrip(".")
names = [c["name"].rstrip(".") for c in d["changes"]]
assert "_dmarc." + apex in names, names          # the other records are planned
apex = [c for c in d["changes"] if c["name"].rstrip(".") == apex and c["type"] == "TXT"]
assert not apex, apex                            # the SPF record is kept as it is
v = d["spf"]["verdict"]
assert v == {"ip": "10.1.1.1", "result": want}, (v, want)
codes = [g["code"] for g in d["diagnostics"]]
client = any(m in rec for m in ("%{i}", "%{ir}", "%{p}", "%{l}", "%{h}", "%{v}"))
if client:                          # a client's letter: cost not fully known
    assert "spf-cost-unknown" in codes, codes
else:                               # %{d} alone: expanded, cost known
    assert "spf-cost-unknown" not in codes, codes
    assert d["spf"]["lookups"] == 6, d["spf"]
PY
	# exit 3: DKIM, DMARC and tracking are not published yet
	expect_exit 3 "$name: check" \
		P check --nameserver "$KNOT_ADDR" --format json "$name"
	check "$name: check's verdict is pyspf's ($second)" \
		python3 - "$T/out" "$second" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["domains"][0]
c = {x["record"]: x for x in d["checks"]}
v = c["spf"]["verdict"]
assert v == {"ip": "10.1.1.1", "result": sys.argv[2]}, v
PY
done <"$T/cases"
finish
