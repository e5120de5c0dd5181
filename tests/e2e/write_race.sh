#!/bin/sh
# Every apply, saved plan or not, checks the before-state right before the
# write where the provider cannot make its write conditional (Cloudflare,
# GoDaddy): an edit made between the listing the plan came from and the
# write (a person in the web page, while the planner walked the SPF tree)
# refuses the domain as drifted, nothing written, the edit kept. The edit is
# made by the fake itself right after it answered the first listing (fault
# "concurrent_edit"), so it lands exactly in that window. Route 53 (exact DELETE),
# RFC 2136 (prerequisites) and the zone file (its lock) refuse such a write
# themselves: route53.sh, rfc2136.sh and locking.sh.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"
. "$TOP/tests/lib/fakes.sh"

cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }
unset PROVISION_GODADDY_RATE_LIMIT

# ---- Cloudflare: a dashboard edit of the SPF record in the window ----
cat >"$T/cf-seed.json" <<'JSON'
{"zones": [{"name": "cfrace.example", "records": [
  {"type": "TXT", "name": "cfrace.example", "content": "\"v=spf1 ip4:192.0.2.1 -all\"", "ttl": 300},
  {"type": "TXT", "name": "cfrace.example", "content": "\"MS=ms12345\"", "ttl": 1800}]}]}
JSON
export CF_TEST_TOKEN="cf-race-secret-$$"
cf_fake_start "$T/cf-seed.json" --token "$CF_TEST_TOKEN" || { not_ok "cloudflare fake starts"; finish; exit 1; }
cat >"$T/cf.cfg" <<CFG
providers: { cf = { type = "cloudflare"; token_env = "CF_TEST_TOKEN"; endpoint = "$CF_URL"; ca_file = "$CF_CA"; }; };
domains = ( { name = "cfrace.example"; provider = "cf"; } );
backup_dir = "$T/backups";
CFG
C() { "$PROVISION" -c "$T/cf.cfg" --resolver "$KNOT_ADDR" "$@"; }
cfspf() {
	cf_fake_state | python3 -c 'import json,sys; print(" | ".join(sorted(r["content"] for z in json.load(sys.stdin)["zones"] for r in z["records"] if "spf1" in r["content"])))'
}
cfcount() { cf_fake_calls | python3 -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], 0))' "$1"; }
ZID=$(cf_fake_state | python3 -c 'import json,sys; print(json.load(sys.stdin)["zones"][0]["id"])')
RID=$(cf_fake_state | python3 -c 'import json,sys; print([r["id"] for z in json.load(sys.stdin)["zones"] for r in z["records"] if "spf1" in r["content"]][0])')
cf_fake_fault "{\"concurrent_edit\": {\"method\": \"GET\", \"path_contains\": \"dns_records\", \"request\":
	{\"method\": \"PATCH\", \"path\": \"/client/v4/zones/$ZID/dns_records/$RID\",
	 \"body\": {\"content\": \"\\\"v=spf1 ip4:192.0.2.77 -all\\\"\"}}}}" ||
	not_ok "Cloudflare: edit fault queued"
cf_fake_reset_calls >/dev/null
expect_exit 1 "Cloudflare: apply with an edit between the listing and the write" C
grep_file "drifted: cfrace.example. TXT was" "$T/err" "Cloudflare: the drift is said on stderr"
grep_file "192.0.2.77" "$T/out" "Cloudflare: the diff shows the edited value"
grep_file "cfrace.example.*drifted" "$T/out" "Cloudflare: the domain is reported drifted"
check "Cloudflare: no write was sent" python3 -c 'import json,sys; c=json.loads(sys.argv[1]); assert not any(k.startswith(("POST","PATCH","PUT","DELETE")) for k in c if k != "total"), c' "$(cf_fake_calls)"
check "Cloudflare: the listing was read again before the write (2 listings)" test "$(cfcount 'GET /zones/:id/dns_records')" = 2
check "Cloudflare: the dashboard edit is kept" test "$(cfspf)" = '"v=spf1 ip4:192.0.2.77 -all"'
check "Cloudflare: no backup for a write not made" test ! -d "$T/backups" -o -z "$(ls "$T/backups" 2>/dev/null)"

cf_fake_reset_calls >/dev/null
expect_exit 0 "Cloudflare: the next run applies on the edited record" C
check "Cloudflare: the merge keeps the edit" test "$(cfspf)" = '"v=spf1 ip4:192.0.2.77 include:mailgun.org -all"'
check "Cloudflare: the re-read costs one listing (2 listings, 1 batch, 1 zone lookup)" python3 -c '
import json, sys
c = json.loads(sys.argv[1])
assert c.get("GET /zones/:id/dns_records") == 2 and c.get("POST /zones/:id/dns_records/batch") == 1 and c["total"] == 4, c' "$(cf_fake_calls)"
cf_fake_reset_calls >/dev/null
expect_exit 0 "Cloudflare: in sync" C --dry-run --detailed-exitcode
check "Cloudflare: in sync, no second read (1 listing)" test "$(cfcount 'GET /zones/:id/dns_records')" = 1

# ---- GoDaddy: a second SPF record added in the window ----
KEY="gdracekey$$" SECRET="gdracesecret$$"
export GD_TEST_KEY="$KEY" GD_TEST_SECRET="$SECRET"
cat >"$T/gd-state.json" <<'JSON'
{"domains": [{"domain": "gdrace.example", "domainId": 4242, "records": [
  {"type": "TXT", "name": "@", "data": "google-site-verification=abc123", "ttl": 600},
  {"type": "A", "name": "@", "data": "192.0.2.10", "ttl": 600}]}]}
JSON
fake_start godaddy godaddy.py --state "$T/gd-state.json" --credentials "$KEY:$SECRET" ||
	{ not_ok "godaddy fake starts"; finish; exit 1; }
GD_PORT=$FAKE_PORT
cat >"$T/gd.cfg" <<CFG
providers: { gd = { type = "godaddy"; key_env = "GD_TEST_KEY"; secret_env = "GD_TEST_SECRET";
                    endpoint = "https://127.0.0.1:$GD_PORT"; ca_file = "$T/ca/ca.pem"; }; };
domains = ( { name = "gdrace.example"; provider = "gd"; } );
backup_dir = "$T/gd-backups";
CFG
G() { "$PROVISION" -c "$T/gd.cfg" --resolver "$KNOT_ADDR" "$@"; }
gdspf() {
	fake_ctl "$GD_PORT" GET /__fake/state | python3 -c 'import json,sys; print(" | ".join(sorted(r["data"] for d in json.load(sys.stdin)["domains"] for r in d["records"] if r["type"] == "TXT" and r["data"].startswith("v=spf1"))))'
}
gdcalls() { fake_ctl "$GD_PORT" GET /__fake/calls; }
fake_ctl "$GD_PORT" POST /__fake/faults '{"concurrent_edit": {"method": "GET", "path_contains": "/records", "request":
	{"method": "PATCH", "path": "/v1/domains/gdrace.example/records",
	 "body": [{"type": "TXT", "name": "@", "data": "v=spf1 ip4:198.51.100.5 ~all", "ttl": 600}]}}}' >/dev/null ||
	not_ok "GoDaddy: edit fault queued"
fake_ctl "$GD_PORT" POST /__fake/reset-calls >/dev/null
expect_exit 1 "GoDaddy: apply with an SPF record added between the listing and the write" G
grep_file "drifted: gdrace.example. TXT was" "$T/err" "GoDaddy: the drift is said on stderr"
check "GoDaddy: no write was sent" python3 -c 'import json,sys; c=json.loads(sys.argv[1]); assert not any(k.split()[0] in ("POST","PATCH","PUT","DELETE") for k in c if k != "total"), c' "$(gdcalls)"
check "GoDaddy: one SPF record, the one added (never two)" test "$(gdspf)" = 'v=spf1 ip4:198.51.100.5 ~all'

expect_exit 0 "GoDaddy: the next run merges into the added record" G
check "GoDaddy: still one SPF record, merged" test "$(gdspf)" = 'v=spf1 ip4:198.51.100.5 include:mailgun.org ~all'
expect_exit 0 "GoDaddy: in sync" G --dry-run --detailed-exitcode
finish
