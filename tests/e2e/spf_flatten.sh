#!/bin/sh
# Opt-in flattening against Knot: a record over the limit fits once the
# named include is flattened into chained records the tool owns; the
# written zone loads in Knot, serves the chain, and the next run is in sync.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"

cp -r "$TOP/tests/data/e2e/zones" "$TOP/tests/data/e2e/flatten.cfg" "$T/"
cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }
P() { "$PROVISION" -c "$T/flatten.cfg" --resolver "$KNOT_ADDR" "$@"; }

expect_exit 3 "without flatten: 12 lookups refused" P --dry-run noflat.test
grep_file 'needs 12 DNS lookups' "$T/out" "cost shown"
grep_file 'spf.flatten can replace' "$T/out" "hint to flatten"

expect_exit 0 "with flatten: the plan fits" P --dry-run --format json flat.test
check "flattened into a chain, within the limits, verdict pass" python3 - "$T/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["domains"][0]
assert d["status"] == "changes", d
ch = {c["name"]: c for c in d["changes"]}
apex = ch["flat.test."]["after"][0]
assert apex == "v=spf1 include:_spf1.flat.test include:two.spf.test include:mailgun.org -all", apex
chain = [ch[n]["after"][0] for n in sorted(ch) if n.startswith("_spf")]
assert 1 <= len(chain) <= 3, chain
assert chain[0].startswith("v=spf1 flattened=wide.spf.test ip4:198.51.100.1 "), chain[0]
assert all(len(c) <= 450 for c in chain)
terms = " ".join(chain).split()
assert "ip4:192.0.2.1" in terms            # the a: term, resolved
assert sum(t.startswith("ip4:") for t in terms) == 43
assert d["spf"]["lookups"] <= 10, d["spf"]["lookups"]
assert d["spf"]["verdict"] == {"ip": "203.0.113.140", "result": "pass"}, d["spf"]["verdict"]
assert any(g["code"] == "spf-flattened" and g["severity"] == "warning" for g in d["diagnostics"])
PY

expect_exit 0 "apply the flattened plan" P flat.test
check "named-checkzone accepts it" named-checkzone -q flat.test "$T/zones/flat.test.zone"
cp "$T/zones/flat.test.zone" "$T/dns/flat.test.zone"
check "Knot loads the written zone" knot_reload
host=${KNOT_ADDR%:*}; port=${KNOT_ADDR##*:}
kdig @"$host" -p "$port" +short TXT _spf1.flat.test >"$T/chain" 2>&1
grep_file 'flattened=wide.spf.test' "$T/chain" "Knot serves the chain"
expect_exit 0 "the next run is in sync" P --dry-run --detailed-exitcode flat.test
grep_file 'flat.test. (provider local): in sync' "$T/out" "in sync after apply"
grep_file 'spf verdict for 203.0.113.140: pass' "$T/out" "verdict shown"
finish
