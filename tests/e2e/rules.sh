#!/bin/sh
# The planner's refusals, end to end against Knot: exactly 10 lookups
# accepted, 11 refused with the cost of each term, void lookups, a loop, a
# CNAME clash, two SPF records; refused zones are never written; with
# several domains every one is processed and the worst exit code wins.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"

cp -r "$TOP/tests/data/e2e/zones" "$TOP/tests/data/e2e/provision.cfg" "$T/"
cp -r "$T/zones" "$T/orig"
cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }
P() { "$PROVISION" -c "$T/provision.cfg" --resolver "$KNOT_ADDR" "$@"; }

expect_exit 0 "exactly 10 lookups is allowed" P --dry-run at10.test
grep_file 'spf lookups: 10 of 10' "$T/out" "cost 10 shown"

expect_exit 3 "11 lookups is refused" P --dry-run at11.test
grep_file 'needs 11 DNS lookups, over the limit of 10' "$T/out" "limit named"
grep_file 'include:mailgun.org=5, include:four.spf.test=4, include:two.spf.test=2' "$T/out" "cost of each term, most costly first"
grep_file 'at11.test. (provider local): refused' "$T/out" "status refused"
expect_exit 3 "apply of 11 lookups is refused" P at11.test
expect_same_file "$T/zones/at11.test.zone" "$T/orig/at11.test.zone" "refused zone not written"
check "no backup made for a refused zone" test ! -e "$T/zones/at11.test.zone.bak"

expect_exit 3 "three void lookups refused" P --dry-run void.test
grep_file 'void lookups, over the limit of 2' "$T/out" "void limit named"

expect_exit 3 "include loop refused" P --dry-run loop.test
grep_file 'spf-loop' "$T/out" "loop diagnosed"

expect_exit 3 "tracking CNAME clash refused" P --dry-run clash.test
grep_file 'email.mg3.clash.test. already holds A data' "$T/out" "clash names the record"
expect_exit 3 "apply with a clash refused" P clash.test
expect_same_file "$T/zones/clash.test.zone" "$T/orig/clash.test.zone" "clash zone not written"

expect_exit 3 "two SPF records refused" P --dry-run twospf.test
grep_file 'has 2 SPF records' "$T/out" "two records diagnosed"

expect_exit 3 "all domains: worst code (3) wins, every domain processed" P --dry-run --format json
check "every domain reported with its status" python3 - "$T/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
st = {x["domain"]: x["status"] for x in d["domains"]}
assert st == {"example.com.": "changes", "at10.test.": "changes", "at11.test.": "refused",
              "void.test.": "refused", "loop.test.": "refused", "clash.test.": "refused",
              "twospf.test.": "refused"}, st
codes = {x["domain"]: [g["code"] for g in x["diagnostics"] if g["severity"] == "error"] for x in d["domains"]}
assert "spf-lookup-limit" in codes["at11.test."]
assert "spf-void-limit" in codes["void.test."]
assert "spf-loop" in codes["loop.test."]
assert "cname-conflict" in codes["clash.test."]
assert "spf-multiple" in codes["twospf.test."]
PY
expect_exit 3 "apply all: refused zones untouched, the others applied" P
check "example.com applied" grep -q 'include:mailgun.org' "$T/zones/example.com.zone"
check "at10.test applied" grep -q 'include:mailgun.org' "$T/zones/at10.test.zone"
for z in at11 void loop clash twospf; do
	expect_same_file "$T/zones/$z.test.zone" "$T/orig/$z.test.zone" "$z.test untouched"
done
finish
