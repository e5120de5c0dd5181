#!/bin/sh
# DMARC report destinations outside the domain (RFC 7489 §7.1), against
# Knot: the dry run and check warn (dmarc-rua-unauthorised /
# dmarc-ruf-unauthorised) when <domain>._report._dmarc.<host> holds no
# v=DMARC1, naming the exact record to publish; publishing that very record
# ends the warning; an authorisation by name or by wildcard gives none; a
# destination that cannot be asked is dmarc-rua-unverified; the same
# organisation is never asked; each destination is asked once.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"

mkdir -p "$T/dns" "$T/zones"
cp "$TOP/tests/data/e2e/dns/mailgun.org.zone" "$T/dns/"
for name in authorised.test unauthorised.test wildcard.test unverified.test same.test; do
	cat >"$T/zones/$name.zone" <<ZONE
\$ORIGIN $name.
\$TTL 3600
@	SOA	ns hostmaster 1 7200 3600 1209600 300
@	NS	ns
ns	A	127.0.0.1
ZONE
done
cat >"$T/dns/reports.other.test.zone" <<'ZONE'
$ORIGIN reports.other.test.
$TTL 300
@	SOA	ns hostmaster 1 7200 3600 1209600 300
@	NS	ns
ns	A	127.0.0.1
authorised.test._report._dmarc	TXT	"v=DMARC1"
; a TXT that is not v=DMARC1 authorises nothing
unauthorised.test._report._dmarc	TXT	"hello"
ZONE
cat >"$T/dns/wild.test.zone" <<'ZONE'
$ORIGIN wild.test.
$TTL 300
@	SOA	ns hostmaster 1 7200 3600 1209600 300
@	NS	ns
ns	A	127.0.0.1
*._report._dmarc	TXT	"v=DMARC1"
ZONE
cat >"$T/dmarc.cfg" <<'CFG'
providers: { local = { type = "zonefile"; directory = "zones"; }; };
defaults: { dmarc = { rua = "mailto:postmaster@{domain}"; ruf = "mailto:postmaster@{domain}"; }; };
domains = (
  { name = "authorised.test"; provider = "local";
    dmarc = { rua = "mailto:agg@reports.other.test"; }; },
  { name = "unauthorised.test"; provider = "local";
    dmarc = { rua = "mailto:agg@reports.other.test,mailto:agg2@REPORTS.other.test!10m";
              ruf = "mailto:forensic@reports.other.test"; }; },
  { name = "wildcard.test"; provider = "local";
    dmarc = { rua = "mailto:agg@wild.test"; ruf = "mailto:f@mx.wild.test"; }; },
  { name = "unverified.test"; provider = "local";
    dmarc = { rua = "mailto:agg@not-served.example"; }; },
  { name = "same.test"; provider = "local";
    dmarc = { rua = "mailto:dmarc@reports.same.test"; }; }
);
CFG
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }
P() { "$PROVISION" -c "$T/dmarc.cfg" --resolver "$KNOT_ADDR" "$@"; }

# codes FILE: the dmarc-ru* diagnostic codes of the first domain, sorted.
codes() {
	python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["domains"][0]
print(" ".join(sorted(g["code"] for g in d["diagnostics"] if g["code"].startswith("dmarc-ru"))))
PY
}

expect_exit 0 "unauthorised.test: dry run" P --dry-run --format json unauthorised.test
check "unauthorised.test: rua and ruf warnings" \
	[ "$(codes "$T/out")" = "dmarc-rua-unauthorised dmarc-ruf-unauthorised" ]
check "the warning names the exact record to publish" python3 - "$T/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["domains"][0]
g = [g for g in d["diagnostics"] if g["code"] == "dmarc-rua-unauthorised"][0]
assert g["severity"] == "warning", g
assert 'its owner must publish unauthorised.test._report._dmarc.reports.other.test. IN TXT "v=DMARC1"' in g["message"], g
assert d["status"] == "changes", d["status"]    # a warning: the plan goes on
PY
expect_exit 0 "text dry run" P --dry-run unauthorised.test
grep_file 'warning.*rua: reports.other.test is in another organisation and has not authorised reports for unauthorised.test' \
	"$T/out" "text: the warning is shown"

# Each destination host asked once: rua (twice) and ruf at one host cost
# one question more than the same domain reporting to itself.
P --verbose --dry-run same.test >/dev/null 2>"$T/same.err"
P --verbose --dry-run unauthorised.test >/dev/null 2>"$T/ext.err"
sent() { sed -n 's/^provision: dns: [0-9]* questions, \([0-9]*\) sent$/\1/p' "$1"; }
check "one question for the destination ($(sent "$T/same.err") vs $(sent "$T/ext.err"))" \
	[ "$(($(sent "$T/ext.err") - $(sent "$T/same.err")))" -eq 1 ]

expect_exit 0 "authorised.test: dry run" P --dry-run --format json authorised.test
check "authorised by name: no warning" [ -z "$(codes "$T/out")" ]
expect_exit 0 "wildcard.test: dry run" P --dry-run --format json wildcard.test
check "authorised by *._report._dmarc (rua) and not mx.wild.test (ruf)" \
	[ "$(codes "$T/out")" = "dmarc-ruf-unauthorised" ]
expect_exit 0 "same.test: dry run" P --dry-run --format json same.test
check "the same organisation: nothing asked, no warning" [ -z "$(codes "$T/out")" ]
expect_exit 0 "unverified.test: dry run" P --dry-run --format json unverified.test
check "a destination that cannot be asked: unverified" \
	[ "$(codes "$T/out")" = "dmarc-rua-unverified" ]
grep_file 'could not verify that not-served.example accepts reports' "$T/out" "unverified says why"

# Publish, then check reads the same answer from the live records.
expect_exit 0 "apply all" P
cp "$T"/zones/*.zone "$T/dns/"
check "Knot loads the written zones" knot_reload
notes() {
	python3 - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["domains"][0]
c = {x["record"]: x for x in d["checks"]}
print(" ".join(sorted(n.get("code", "") for n in c["dmarc"]["notes"] if n["severity"] == "warning")))
PY
}
C() { P check --nameserver "$KNOT_ADDR" --format json "$@"; }
expect_exit 0 "check unauthorised.test" C unauthorised.test
check "check: the same codes" \
	[ "$(notes "$T/out")" = "dmarc-rua-unauthorised dmarc-ruf-unauthorised" ]
expect_exit 0 "check authorised.test" C authorised.test
check "check: authorised, no warning" [ -z "$(notes "$T/out")" ]
expect_exit 0 "check wildcard.test" C wildcard.test
check "check: wildcard authorises" [ "$(notes "$T/out")" = "dmarc-ruf-unauthorised" ]

# The owner publishes exactly the record the warning gave: no warning left.
P --dry-run --format json unauthorised.test >"$T/plan.json" 2>/dev/null
python3 - "$T/plan.json" >>"$T/dns/reports.other.test.zone" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))["domains"][0]
for g in d["diagnostics"]:
    if g["code"] == "dmarc-rua-unauthorised":
        print(re.search(r'must publish (\S+ IN TXT "v=DMARC1")', g["message"]).group(1))
PY
sed -i 's/^unauthorised.test._report._dmarc\tTXT\t"hello"$//' "$T/dns/reports.other.test.zone"
check "Knot loads the published authorisation" knot_reload
expect_exit 0 "dry run after publishing" P --dry-run --format json unauthorised.test
check "no warning once published" [ -z "$(codes "$T/out")" ]
expect_exit 0 "check after publishing" C unauthorised.test
check "check: no warning once published" [ -z "$(notes "$T/out")" ]
finish
