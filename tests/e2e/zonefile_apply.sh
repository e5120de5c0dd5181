#!/bin/sh
# End to end through the zone-file provider: dry run -> apply -> dry run
# (in sync) -> apply (no rewrite), with SPF lookups counted against a real
# Knot server on loopback serving a copy of the service's SPF tree; every
# written zone checked with named-checkzone and loaded into Knot.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"

cp -r "$TOP/tests/data/e2e/zones" "$TOP/tests/data/e2e/provision.cfg" "$T/"
cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }
DNS_ADDR=$KNOT_ADDR
cfg="$T/provision.cfg"
zone="$T/zones/example.com.zone"
orig="$T/example.com.zone.orig"
cp "$zone" "$orig"
P() { "$PROVISION" -c "$cfg" --resolver "$DNS_ADDR" "$@"; }

# --- dry run: the plan, and nothing written
expect_exit 0 "dry run of example.com" P --dry-run example.com
grep_file '~ example.com. TXT 3600 (spf)' "$T/out" "SPF shown as an update"
grep_file '+ "v=spf1 ip4:192.0.2.0/24 include:two.spf.test include:mailgun.org -all"' "$T/out" "include merged before -all"
grep_file '+ pic._domainkey.example.com. TXT 3600 (dkim)' "$T/out" "DKIM created"
grep_file '+ _dmarc.example.com. TXT 3600 (dmarc)' "$T/out" "DMARC created"
grep_file '+ email.mg3.example.com. CNAME 3600 (tracking)' "$T/out" "tracking CNAME created"
grep_file 'spf lookups: 7 of 10, void lookups: 0 of 2' "$T/out" "lookups counted through Knot (2 + 5)"
grep_file 'include:mailgun.org .* 5' "$T/out" "tree shows the include's cost"
grep_file '_spf.mailgun.org .* 3' "$T/out" "tree shows nested includes"
nogrep_file 'google-site-verification' "$T/out" "unmanaged TXT values not in the plan"
expect_same_file "$zone" "$orig" "dry run leaves the zone byte-identical"
expect_exit 2 "--detailed-exitcode: changes pending" P --dry-run --detailed-exitcode example.com

# --- JSON
expect_exit 0 "dry run as JSON" P --dry-run --format json example.com
check "JSON document per the contract" python3 - "$T/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["version"] == 1 and d["dry_run"] is True
(dom,) = d["domains"]
assert dom["domain"] == "example.com." and dom["provider"] == "local"
assert dom["status"] == "changes", dom["status"]
ch = {c["name"] + " " + c["type"]: c for c in dom["changes"]}
spf = ch["example.com. TXT"]
assert spf["action"] == "update" and spf["ttl"] == 3600
assert spf["before"] == ["v=spf1 ip4:192.0.2.0/24 include:two.spf.test -all"], spf["before"]
assert spf["after"] == ["v=spf1 ip4:192.0.2.0/24 include:two.spf.test include:mailgun.org -all"]
dkim = ch["pic._domainkey.example.com. TXT"]
assert dkim["before"] is None and len(dkim["after"][0]) == 401
assert ch["email.mg3.example.com. CNAME"]["after"] == ["mailgun.org."]
s = dom["spf"]
assert s["lookups"] == 7 and s["void_lookups"] == 0 and s["limit"] == 10
t = {x["term"]: x for x in s["terms"]}
assert t["include:mailgun.org"]["lookups"] == 5
assert [c["term"] for c in t["include:mailgun.org"]["children"]] == ["include:_spf.mailgun.org", "include:_spf.eu.mailgun.org"]
assert t["include:two.spf.test"]["lookups"] == 2
PY

# --- apply
expect_exit 0 "apply example.com" P example.com
grep_file 'applied 4 changes' "$T/out" "apply reports 4 changes"
expect_same_file "$T/zones/example.com.zone.bak" "$orig" ".bak keeps the previous version"
check "named-checkzone accepts the written zone" named-checkzone -q example.com "$zone"
grep_file 'google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ' "$zone" "verification string survives"
grep_file '"MS=ms12345678"' "$zone" "second verification string survives"
grep_file '; the SPF record in place before provisioning' "$zone" "comments survive"
grep_file '2024010102\|20[0-9]\{8\}' "$zone" "serial present"
check "SOA serial bumped" sh -c "! grep -q '2024010101 ; serial' '$zone'"
check "every other line byte-identical" python3 - "$orig" "$zone" <<'PY'
import sys
a = open(sys.argv[1]).read().splitlines()
b = open(sys.argv[2]).read().splitlines()
gone = [l for l in a if l not in b]
assert gone == ['                2024010101 ; serial', '@       IN TXT  "v=spf1 ip4:192.0.2.0/24 include:two.spf.test -all"'], gone
PY
# load the written zone into a second Knot and read the records back
cp "$zone" "$T/dns/example.com.zone"
check "written zone loads in Knot" knot_reload
check "DKIM key reads back whole from Knot (401 characters, 2 strings)" python3 - "$KNOT_ADDR" <<'PY'
import subprocess, sys
host, port = sys.argv[1].rsplit(":", 1)
out = subprocess.run(["kdig", "@" + host, "-p", port, "+short", "TXT", "pic._domainkey.example.com."],
                     capture_output=True, text=True, check=True).stdout.strip()
parts = out.split('" "')
assert len(parts) == 2, out
val = "".join(p.strip('"') for p in parts)
assert len(val) == 401 and val.startswith("k=rsa; p=MIIB"), (len(val), val[:20])
PY

# --- dry run again: in sync; apply again: the file is not rewritten
expect_exit 0 "dry run after apply: in sync (detailed exit 0)" P --dry-run --detailed-exitcode example.com
grep_file 'example.com. (provider local): in sync' "$T/out" "reported in sync"
before=$(stat -c '%i %Y %s' "$zone"); cp "$zone" "$T/after1"
sleep 1
expect_exit 0 "second apply" P example.com
grep_file 'in sync' "$T/out" "second apply changes nothing"
check "second apply does not rewrite the file" test "$(stat -c '%i %Y %s' "$zone")" = "$before"
expect_same_file "$zone" "$T/after1" "zone unchanged by the second apply"
finish
