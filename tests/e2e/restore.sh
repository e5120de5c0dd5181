#!/bin/sh
# Backups before every write, and `provision restore`: an apply first keeps
# the record sets it will change (backup_dir, one JSON file per domain and
# run, mode 0600, written atomically); restore --dry-run shows the way back
# as a plan; restore puts the sets back (zone file: byte-identical but for
# the SOA serial, which moves forward, its .bak kept; Cloudflare's fake: the same records, ids aside);
# a set edited since the apply is refused (drifted), nothing written; a run
# that cannot write its backup writes nothing.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"
. "$TOP/tests/lib/fakes.sh"

cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }
mkdir -p "$T/zones"
cat >"$T/zones/bk.test.zone" <<'ZONE'
$ORIGIN bk.test.
$TTL 3600
@	IN SOA	ns1 hostmaster 1 7200 3600 1209600 300
	IN NS	ns1
ns1	IN A	127.0.0.1
@	600	IN TXT	"v=spf1 ip4:192.0.2.1 -all"
@	600	IN TXT	"MS=ms12345"
_dmarc	IN TXT	"v=DMARC1; p=none"
www	IN A	192.0.2.80
ZONE
cp "$T/zones/bk.test.zone" "$T/orig.zone"
cat >"$T/p.cfg" <<'CFG'
providers: { local = { type = "zonefile"; directory = "zones"; }; };
domains = ( { name = "bk.test"; provider = "local"; } );
CFG
P() { "$PROVISION" -c "$T/p.cfg" --resolver "$KNOT_ADDR" "$@"; }
# records FILE: the zone's records in canonical form, SOA aside
records() { named-checkzone -q -D -o - bk.test "$1" 2>/dev/null | grep -v -w SOA | sort; }
records "$T/orig.zone" >"$T/orig.records"

expect_exit 0 "apply" P -v
grep_file "backup of the record sets to change: .*provision-backups/bk.test-[0-9T]*Z-[0-9]*.json" "$T/err" "-v names the backup"
BK=$(ls "$T"/provision-backups/bk.test-*.json)
check "one backup file" [ "$(ls "$T/provision-backups" | wc -l)" -eq 1 ]
check "the backup is 0600 in a 0700 directory" sh -c \
	"[ \"\$(stat -c %a '$BK')\" = 600 ] && [ \"\$(stat -c %a '$T/provision-backups')\" = 700 ]"
check "it holds each changed set, before and after" python3 - "$BK" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
assert b["version"] == 1 and b["domain"] == "bk.test." and b["provider"] == "local", b
sets = {(s["name"], s["type"]): s for s in b["sets"]}
apex = sets[("bk.test.", "TXT")]
assert sorted(v["value"] for v in apex["before"]) == ["MS=ms12345", "v=spf1 ip4:192.0.2.1 -all"], apex
assert all(v["ttl"] == 600 for v in apex["before"]), apex
assert sorted(v["value"] for v in apex["after"]) == ["MS=ms12345", "v=spf1 ip4:192.0.2.1 include:mailgun.org -all"], apex
assert [v["value"] for v in sets[("_dmarc.bk.test.", "TXT")]["before"]] == ["v=DMARC1; p=none"]
assert sets[("email.mg3.bk.test.", "CNAME")]["before"] == []        # created: absent before
assert len(sets) == 4, sorted(sets)
PY
cp "$T/zones/bk.test.zone" "$T/applied.zone"

expect_exit 0 "restore --dry-run" P restore --dry-run "$BK"
grep_file '~ bk.test. TXT\|- bk.test. TXT' "$T/out" "dry run: the SPF goes back"
grep_file '^  - email.mg3.bk.test. CNAME' "$T/out" "dry run: the created CNAME is deleted"
expect_same_file "$T/applied.zone" "$T/zones/bk.test.zone" "dry run: nothing written"
expect_exit 0 "restore" P restore "$BK"
records "$T/zones/bk.test.zone" >"$T/restored.records"
expect_same_file "$T/orig.records" "$T/restored.records" "the zone holds its records of before the apply (SOA aside)"
grep -v -w SOA "$T/orig.zone" >"$T/orig.nosoa"
grep -v -w SOA "$T/zones/bk.test.zone" >"$T/restored.nosoa"
expect_same_file "$T/orig.nosoa" "$T/restored.nosoa" "byte-identical to the file before the apply, but for the SOA line"
check "the SOA serial still moves forward (secondaries take no lower serial)" sh -c \
	"grep -w SOA '$T/zones/bk.test.zone' | awk '{ exit !(\$5 > 1) }'"
check "named-checkzone accepts it" named-checkzone -q bk.test "$T/zones/bk.test.zone"
check "the zone file's .bak stays" [ -f "$T/zones/bk.test.zone.bak" ]
expect_exit 0 "restore again: nothing to do" P restore --dry-run "$BK"

# ---- a set edited since the apply: refused, nothing written ----
expect_exit 0 "apply again" P
BK2=$(ls -t "$T"/provision-backups/bk.test-*.json | head -1)
sed -i 's/p=quarantine;/p=reject;/' "$T/zones/bk.test.zone"
cp "$T/zones/bk.test.zone" "$T/edited.zone"
expect_exit 1 "restore after a hand edit" P restore "$BK2"
grep_file "^provision: bk.test: restore: _dmarc.bk.test. TXT changed since the apply of" "$T/err" "drift said on stderr"
grep_file 'the apply left "v=DMARC1; p=quarantine' "$T/out" "the difference shown"
expect_same_file "$T/edited.zone" "$T/zones/bk.test.zone" "drifted: nothing written"
expect_exit 1 "restore after a hand edit, as JSON" P --format json restore "$BK2"
check "the domain's status is drifted, as apply PLAN.json says it" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["domains"][0]
assert d["status"] == "drifted", d["status"]
assert any(x["code"] == "drifted" for x in d["diagnostics"]), d["diagnostics"]' "$T/out"

# ---- no backup, no write ----
cp "$T/orig.zone" "$T/zones/bk.test.zone"
cat >"$T/nobk.cfg" <<'CFG'
backup_dir = "/proc/no-such-dir";
providers: { local = { type = "zonefile"; directory = "zones"; }; };
domains = ( { name = "bk.test"; provider = "local"; } );
CFG
expect_exit 1 "a backup that cannot be written" "$PROVISION" -c "$T/nobk.cfg" --resolver "$KNOT_ADDR"
grep_file "^provision: bk.test: cannot make the backup directory /proc/no-such-dir" "$T/err" "said on stderr"
expect_same_file "$T/orig.zone" "$T/zones/bk.test.zone" "nothing written without a backup"

# ---- Cloudflare: the same records back, ids aside ----
cat >"$T/cf-seed.json" <<'JSON'
{"zones": [{"name": "cfbk.example", "records": [
  {"type": "TXT", "name": "cfbk.example", "content": "\"v=spf1 ip4:192.0.2.1 -all\"", "ttl": 300, "comment": "ours"},
  {"type": "TXT", "name": "cfbk.example", "content": "\"google-site-verification=abc\"", "ttl": 600},
  {"type": "TXT", "name": "_dmarc.cfbk.example", "content": "\"v=DMARC1; p=none\"", "ttl": 3600},
  {"type": "A", "name": "www.cfbk.example", "content": "192.0.2.10", "ttl": 1, "proxied": true}]}]}
JSON
export CF_TEST_TOKEN="cf-bk-$$"
cf_fake_start "$T/cf-seed.json" --token "$CF_TEST_TOKEN" || { not_ok "cloudflare fake starts"; finish; exit 1; }
cat >"$T/cf.cfg" <<CFG
backup_dir = "cf-backups";
providers: { cf = { type = "cloudflare"; token_env = "CF_TEST_TOKEN"; endpoint = "$CF_URL"; ca_file = "$CF_CA"; }; };
domains = ( { name = "cfbk.example"; provider = "cf"; } );
CFG
C() { "$PROVISION" -c "$T/cf.cfg" --resolver "$KNOT_ADDR" "$@"; }
cfrecs() { cf_fake_state | python3 -c '
import json, sys
for z in json.load(sys.stdin)["zones"]:
    for r in z["records"]:
        r = {k: v for k, v in r.items() if k in ("type", "name", "content", "ttl", "proxied")}
        print(json.dumps(r, sort_keys=True))' | sort; }
cfrecs >"$T/cf-before"
expect_exit 0 "Cloudflare: apply" C
CBK=$(ls "$T"/cf-backups/cfbk.example-*.json)
check "Cloudflare: the backup in the configured backup_dir" [ -f "$CBK" ]
cfrecs >"$T/cf-applied"
check "Cloudflare: the apply changed something" sh -c "! cmp -s '$T/cf-before' '$T/cf-applied'"
expect_exit 0 "Cloudflare: restore" C restore "$CBK"
cfrecs >"$T/cf-after"
expect_same_file "$T/cf-before" "$T/cf-after" "Cloudflare: the same records as before (type, name, content, ttl, proxied)"
finish
