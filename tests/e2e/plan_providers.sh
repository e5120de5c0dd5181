#!/bin/sh
# Saved plans, drift and restore on the GoDaddy and Route 53 fakes (zone
# files and Cloudflare: saved_plan.sh, restore.sh): the zone edited between
# `--dry-run --out` and `apply PLAN.json` is refused as drifted with nothing
# written; a fresh plan is applied exactly; `restore BACKUP.json` gives back
# the provider's record sets identical to what they were before the apply
# (values, TTLs, the records provision does not manage); restoring again is
# in sync.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"
. "$TOP/tests/lib/fakes.sh"

cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }
unset PROVISION_GODADDY_RATE_LIMIT AWS_SESSION_TOKEN AWS_PROFILE
make_test_ca || { not_ok "test CA"; finish; exit 1; }

# zone KIND PORT DOMAIN: that domain's records from the fake, sorted, as JSON
zone() {
	fake_ctl "$2" GET /__fake/state | python3 -c '
import json, sys
kind, dom = sys.argv[1:3]
st = json.load(sys.stdin)
if kind == "godaddy":
    recs = [d["records"] for d in st["domains"] if d["domain"] == dom][0]
else:
    recs = [z["records"] for z in st["zones"] if z["name"].rstrip(".") == dom][0]
print(json.dumps(sorted(recs, key=lambda r: json.dumps(r, sort_keys=True)), sort_keys=True))' "$1" "$3"
}
# edit_spf KIND PORT DOMAIN NEW: someone replaces the SPF record in the web page
edit_spf() {
	fake_ctl "$2" GET /__fake/state | python3 -c '
import json, sys
kind, dom, new = sys.argv[1:4]
st = json.load(sys.stdin)
if kind == "godaddy":
    for d in st["domains"]:
        for r in d["records"]:
            if d["domain"] == dom and r["type"] == "TXT" and r["data"].startswith("v=spf1"):
                r["data"] = new
else:
    for z in st["zones"]:
        for r in z["records"]:
            if z["name"].rstrip(".") == dom and r["type"] == "TXT":
                r["values"] = ["\"%s\"" % new if v.startswith("\"v=spf1") else v for v in r["values"]]
print(json.dumps(st))' "$1" "$3" "$4" >"$T/edited-state.json"
	fake_ctl "$2" POST /__fake/state "$(cat "$T/edited-state.json")" >/dev/null
}
writes() {
	fake_ctl "$1" GET /__fake/calls | python3 -c 'import json,sys; c=json.load(sys.stdin); print(sum(v for k,v in c.items() if k.split()[0] in ("PUT","PATCH","DELETE") or k == "POST /hostedzone/:id/rrset"))'
}

# one_provider KIND PORT DOMAIN CFG
one_provider() {
	K=$1 PT=$2 D=$3 CFG=$4
	R() { "$PROVISION" -c "$CFG" --resolver "$KNOT_ADDR" "$@"; }
	fake_ctl "$PT" GET /__fake/state >"$T/$K-s0.json"
	zone "$K" "$PT" "$D" >"$T/$K-before"
	expect_exit 0 "$K: dry run --out" R --dry-run --out "$T/$K-plan.json"
	edit_spf "$K" "$PT" "$D" "v=spf1 ip4:198.51.100.9 -all"
	zone "$K" "$PT" "$D" >"$T/$K-edited"
	fake_ctl "$PT" POST /__fake/reset-calls >/dev/null
	expect_exit 1 "$K: apply PLAN.json after an edit in the web page" R apply "$T/$K-plan.json"
	grep_file "drifted: $D. TXT was" "$T/err" "$K: drift said on stderr"
	grep_file "198.51.100.9" "$T/out" "$K: the difference shown"
	check "$K: nothing written" test "$(writes "$PT")" = 0
	zone "$K" "$PT" "$D" >"$T/$K-after-drift"
	expect_same_file "$T/$K-edited" "$T/$K-after-drift" "$K: the edit kept"

	fake_ctl "$PT" POST /__fake/state "$(cat "$T/$K-s0.json")" >/dev/null
	expect_exit 0 "$K: plan again" R --dry-run --out "$T/$K-plan2.json"
	fake_ctl "$PT" POST /__fake/reset-calls >/dev/null
	expect_exit 0 "$K: apply the reviewed plan" R apply "$T/$K-plan2.json"
	check "$K: the write calls are counted (so 'nothing written' above means it)" test "$(writes "$PT")" -ge 1
	grep_file "$D. (provider .*): applied 4 changes" "$T/out" "$K: the four changes applied"
	expect_exit 0 "$K: in sync after" R --dry-run --detailed-exitcode
	BK=$(ls -t "$T/$K-backups/$D"-*.json | head -1)
	check "$K: a backup was kept" test -f "$BK"
	expect_exit 0 "$K: restore" R restore "$BK"
	zone "$K" "$PT" "$D" >"$T/$K-restored"
	expect_same_file "$T/$K-before" "$T/$K-restored" "$K: the record sets as before the apply (values, TTLs, others)"
	expect_exit 0 "$K: restore again: nothing to do" R restore --dry-run --detailed-exitcode "$BK"
}

# ---- GoDaddy ----
export GD_TEST_KEY="gdplankey$$" GD_TEST_SECRET="gdplansecret$$"
cat >"$T/gd-state.json" <<'JSON'
{"domains": [{"domain": "gdplan.example", "domainId": 4343, "records": [
  {"type": "TXT", "name": "@", "data": "v=spf1 ip4:192.0.2.1 -all", "ttl": 3600},
  {"type": "TXT", "name": "@", "data": "MS=ms7777", "ttl": 1800},
  {"type": "TXT", "name": "@", "data": "google-site-verification=xyz", "ttl": 600},
  {"type": "TXT", "name": "_dmarc", "data": "v=DMARC1; p=none", "ttl": 3600},
  {"type": "A", "name": "@", "data": "192.0.2.10", "ttl": 600}]}]}
JSON
fake_start godaddy godaddy.py --state "$T/gd-state.json" --credentials "$GD_TEST_KEY:$GD_TEST_SECRET" ||
	{ not_ok "godaddy fake starts"; finish; exit 1; }
GDP=$FAKE_PORT
cat >"$T/gd.cfg" <<CFG
providers: { gd = { type = "godaddy"; key_env = "GD_TEST_KEY"; secret_env = "GD_TEST_SECRET";
                    endpoint = "https://127.0.0.1:$GDP"; ca_file = "$T/ca/ca.pem"; }; };
domains = ( { name = "gdplan.example"; provider = "gd"; } );
backup_dir = "$T/godaddy-backups";
CFG
one_provider godaddy "$GDP" gdplan.example "$T/gd.cfg"

# ---- Route 53 ----
AKID=AKIAPLANTEST00000001
export AWS_ACCESS_KEY_ID="$AKID" AWS_SECRET_ACCESS_KEY="r53-plan-secret-$$"
export AWS_SHARED_CREDENTIALS_FILE="$T/no-such-credentials"
cat >"$T/r53-state.json" <<'JSON'
{"zones": [{"name": "r53plan.example", "id": "ZPLANTEST0001", "records": [
  {"name": "@", "type": "TXT", "ttl": 900, "values": ["\"v=spf1 ip4:192.0.2.1 -all\"", "\"MS=ms8888\""]},
  {"name": "_dmarc", "type": "TXT", "ttl": 3600, "values": ["\"v=DMARC1; p=none\""]},
  {"name": "www", "type": "A", "ttl": 300, "values": ["192.0.2.80"]}]}]}
JSON
fake_start route53 route53.py --state "$T/r53-state.json" --credentials "$AKID:$AWS_SECRET_ACCESS_KEY" ||
	{ not_ok "route53 fake starts"; finish; exit 1; }
R5P=$FAKE_PORT
cat >"$T/r53.cfg" <<CFG
providers: { aws = { type = "route53"; endpoint = "https://127.0.0.1:$R5P"; ca_file = "$T/ca/ca.pem"; }; };
domains = ( { name = "r53plan.example"; provider = "aws"; } );
backup_dir = "$T/route53-backups";
CFG
one_provider route53 "$R5P" r53plan.example "$T/r53.cfg"
finish
