#!/bin/sh
# Reviewed plans applied exactly: `provision --dry-run --out PLAN.json`
# saves the plan with the before-state it was made from (and no secret);
# `provision apply PLAN.json` applies those changes; a domain whose record
# sets were edited in between is refused (drifted, the difference shown,
# nothing written) while the others are applied; a plan too old, or made
# with another configuration, is refused. On zone files and on the
# Cloudflare fake.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"
. "$TOP/tests/lib/fakes.sh"

cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }
mkdir -p "$T/zones"
for z in pa.test pb.test; do
	cat >"$T/zones/$z.zone" <<ZONE
\$ORIGIN $z.
\$TTL 3600
@	IN SOA	ns1 hostmaster 1 7200 3600 1209600 300
	IN NS	ns1
ns1	IN A	127.0.0.1
@	IN TXT	"v=spf1 ip4:192.0.2.1 -all"
ZONE
	cp "$T/zones/$z.zone" "$T/$z.orig"
done
cat >"$T/p.cfg" <<'CFG'
providers: { local = { type = "zonefile"; directory = "zones"; }; };
domains = ( { name = "pa.test"; provider = "local"; }, { name = "pb.test"; provider = "local"; } );
CFG
P() { "$PROVISION" -c "$T/p.cfg" --resolver "$KNOT_ADDR" "$@"; }

# ---- saved, reviewed, applied exactly ----
expect_exit 0 "dry run --out" P --dry-run --out "$T/plan.json"
check "the plan file: version 1, saved, digest, before-state" python3 - "$T/plan.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["version"] == 1 and d["saved_plan"] == 1 and len(d["config_digest"]) == 64, d.keys()
doms = {x["domain"]: x for x in d["domains"]}
assert sorted(doms) == ["pa.test.", "pb.test."], sorted(doms)
for x in doms.values():
    assert x["status"] == "changes" and len(x["changes"]) == 4, x["status"]
    bs = {(s["name"], s["type"]): s["values"] for s in x["before_state"]}
    assert bs[(x["domain"], "TXT")] == [{"value": "v=spf1 ip4:192.0.2.1 -all", "ttl": 3600}], bs
PY
expect_same_file "$T/pa.test.orig" "$T/zones/pa.test.zone" "the dry run wrote nothing"
expect_exit 0 "apply PLAN.json" P apply "$T/plan.json"
grep_file "pa.test. (provider local): applied 4 changes" "$T/out" "pa.test applied"
grep_file "pb.test. (provider local): applied 4 changes" "$T/out" "pb.test applied"
expect_exit 0 "in sync afterwards" P --dry-run --detailed-exitcode
check "the backups of the apply are there" [ "$(ls "$T"/provision-backups/*.json | wc -l)" -eq 2 ]

# ---- drift: a managed record that is not what provision last wrote ----
sed -i 's/p=quarantine;/p=none;/' "$T/zones/pb.test.zone"
expect_exit 0 "dry run after a hand edit of pb.test's DMARC" P --dry-run --format json
check "drift: pb.test's _dmarc, with what was written and what is there; pa.test none" python3 - "$T/out" <<'PY'
import json, sys
d = {x["domain"]: x for x in json.load(open(sys.argv[1]))["domains"]}
assert d["pa.test."]["drift"] == [], d["pa.test."]["drift"]
dr = d["pb.test."]["drift"]
assert len(dr) == 1 and dr[0]["name"] == "_dmarc.pb.test." and dr[0]["type"] == "TXT", dr
assert dr[0]["was"][0].startswith("v=DMARC1; p=quarantine;") and dr[0]["now"][0].startswith("v=DMARC1; p=none;"), dr
assert any(g["code"] == "drift" and g["severity"] == "warning" for g in d["pb.test."]["diagnostics"])
PY
P --dry-run >"$T/out" 2>&1
grep_file "warning: drift: _dmarc.pb.test. TXT is not what provision wrote on" "$T/out" "text: the drift warning"
# an older backup that matches the edit, and one of another run in the same
# second with a smaller pid: only the newest counts
BKB=$(ls "$T"/provision-backups/pb.test-*.json)
STAMP=$(basename "$BKB" | sed 's/^pb\.test-\([0-9T]*Z\)-.*/\1/')
sed 's/p=quarantine;/p=none;/' "$BKB" >"$T/provision-backups/pb.test-20000101T000000Z-1.json"
sed 's/p=quarantine;/p=none;/' "$BKB" >"$T/provision-backups/pb.test-$STAMP-0.json"
P --dry-run >"$T/out" 2>&1
grep_file "warning: drift: _dmarc.pb.test. TXT is not what provision wrote on" "$T/out" "the newest backup counts, not an older one"
grep_file "(backup .*$(basename "$BKB"))" "$T/out" "the warning names that backup"
rm -f "$T/provision-backups/pb.test-20000101T000000Z-1.json" "$T/provision-backups/pb.test-$STAMP-0.json"

# ---- drift between plan and apply: that domain refused, the other applied ----
for z in pa.test pb.test; do cp "$T/$z.orig" "$T/zones/$z.zone"; done
expect_exit 0 "plan again" P --dry-run --out "$T/plan2.json"
sed -i 's/ip4:192.0.2.1 -all/ip4:192.0.2.99 -all/' "$T/zones/pa.test.zone"
cp "$T/zones/pa.test.zone" "$T/pa.edited"
expect_exit 1 "apply after someone edited pa.test" P apply --format json "$T/plan2.json"
check "pa.test drifted, the difference shown; pb.test applied" python3 - "$T/out" <<'PY'
import json, sys
d = {x["domain"]: x for x in json.load(open(sys.argv[1]))["domains"]}
a, b = d["pa.test."], d["pb.test."]
assert a["status"] == "drifted", a["status"]
m = [g["message"] for g in a["diagnostics"] if g["code"] == "drifted"]
assert len(m) == 1 and '"v=spf1 ip4:192.0.2.1 -all" (ttl 3600)' in m[0] and '"v=spf1 ip4:192.0.2.99 -all"' in m[0], m
assert b["status"] == "applied", b["status"]
PY
grep_file "^provision: pa.test: drifted: pa.test. TXT was" "$T/err" "drift said on stderr"
expect_same_file "$T/pa.edited" "$T/zones/pa.test.zone" "nothing written to the drifted domain"

# ---- stale, or made with another configuration ----
python3 - "$T/plan2.json" "$T/old.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["created"] -= 2 * 86400
json.dump(d, open(sys.argv[2], "w"))
PY
expect_exit 1 "a plan two days old" P apply "$T/old.json"
grep_file "the plan is 17[0-9]* s old, more than --max-age 86400 s" "$T/err" "stale: refused"
expect_exit 1 "with --max-age 72h the two-day plan is not refused for its age (its domains drifted since)" P apply --max-age 72h "$T/old.json"
nogrep_file "s old, more than" "$T/err" "--max-age 72h takes the two-day plan"
grep_file "drifted" "$T/err" "it is judged on its domains instead"
echo '# changed' >>"$T/p.cfg"
expect_exit 1 "another configuration" P apply "$T/plan2.json"
grep_file "the plan was made with another configuration than .*p.cfg" "$T/err" "config changed: refused"
# a change in an @include file changes the configuration too
mkdir -p "$T/inc"
cat >"$T/inc/main.cfg" <<'CFG'
@include "domains.cfg"
providers: { local = { type = "zonefile"; directory = "../zones"; }; };
CFG
echo 'domains = ( { name = "pa.test"; provider = "local"; dmarc = { policy = "none"; }; } );' >"$T/inc/domains.cfg"
I() { "$PROVISION" -c "$T/inc/main.cfg" --resolver "$KNOT_ADDR" "$@"; }
expect_exit 0 "a plan from a configuration with @include" I --dry-run --out "$T/inc-plan.json"
sed -i 's/policy = "none"/policy = "reject"/' "$T/inc/domains.cfg"
cp "$T/zones/pa.test.zone" "$T/pa.before-inc"
expect_exit 1 "the @include file changed: refused" I apply "$T/inc-plan.json"
grep_file "the plan was made with another configuration than .*main.cfg" "$T/err" "@include change: said"
expect_same_file "$T/pa.before-inc" "$T/zones/pa.test.zone" "@include change: nothing written"

# ---- Cloudflare: no secret in the plan; drift refused before any write ----
cat >"$T/cf-seed.json" <<'JSON'
{"zones": [{"name": "cfplan.example", "records": [
  {"type": "TXT", "name": "cfplan.example", "content": "\"v=spf1 ip4:192.0.2.1 -all\"", "ttl": 300}]}]}
JSON
export CF_TEST_TOKEN="cf-plan-secret-$$"
cf_fake_start "$T/cf-seed.json" --token "$CF_TEST_TOKEN" || { not_ok "cloudflare fake starts"; finish; exit 1; }
cat >"$T/cf.cfg" <<CFG
providers: { cf = { type = "cloudflare"; token_env = "CF_TEST_TOKEN"; endpoint = "$CF_URL"; ca_file = "$CF_CA"; }; };
domains = ( { name = "cfplan.example"; provider = "cf"; } );
CFG
C() { "$PROVISION" -c "$T/cf.cfg" --resolver "$KNOT_ADDR" "$@"; }
expect_exit 0 "Cloudflare: dry run --out" C --dry-run --out "$T/cf-plan.json"
nogrep_file "$CF_TEST_TOKEN" "$T/cf-plan.json" "Cloudflare: the token is not in the plan"
RID=$(cf_fake_state | python3 -c 'import json,sys; print([r["id"] for z in json.load(sys.stdin)["zones"] for r in z["records"] if "v=spf1" in r["content"]][0])')
ZID=$(cf_fake_state | python3 -c 'import json,sys; print(json.load(sys.stdin)["zones"][0]["id"])')
curl -s --cacert "$CF_CA" -X PATCH -H "Authorization: Bearer $CF_TEST_TOKEN" -H 'Content-Type: application/json' \
	-d '{"content": "\"v=spf1 ip4:192.0.2.77 -all\""}' "$CF_URL/zones/$ZID/dns_records/$RID" >/dev/null
cf_fake_reset_calls >/dev/null
expect_exit 1 "Cloudflare: apply after an edit in the dashboard" C apply "$T/cf-plan.json"
grep_file "drifted: cfplan.example. TXT was" "$T/err" "Cloudflare: drift said"
check "Cloudflare: no write was sent" python3 -c 'import json,sys; c=json.loads(sys.argv[1]); assert not any(k.startswith(("POST","PATCH","PUT","DELETE")) for k in c if k != "total"), c' "$(cf_fake_calls)"
expect_exit 0 "Cloudflare: plan again" C --dry-run --out "$T/cf-plan2.json"
expect_exit 0 "Cloudflare: apply the fresh plan" C apply "$T/cf-plan2.json"
grep_file "cfplan.example. (provider cf): applied 4 changes" "$T/out" "Cloudflare: applied"
expect_exit 0 "Cloudflare: in sync afterwards" C --dry-run --detailed-exitcode
finish
