#!/bin/sh
# The Cloudflare provider over real TLS against the stateful fake: dry run ->
# apply -> in sync -> apply with no write; verification TXT values survive;
# the 401-character DKIM value round-trips; pagination; a refused token,
# 429 storms and 500s, a malformed answer, a connection lost during the
# batch; the API calls of each case counted by the fake.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"
. "$TOP/tests/lib/fakes.sh"

TOKEN="cf-test-token-$$-s3cr3t"
export CF_TEST_TOKEN="$TOKEN"
make_test_ca
KEY=0123456789abcdef0123456789abcdef01234
export CF_TEST_EMAIL=ops@example.com CF_TEST_KEY=$KEY
cf_fake_start "$TOP/tests/data/cloudflare/state.json" --token "$TOKEN" --max-per-page 100 \
	--auth-email ops@example.com --auth-key "$KEY" ||
	{ not_ok "fake starts"; finish; exit 1; }
sed -e "s|@URL@|$CF_URL|" -e "s|@CA@|$CF_CA|" "$TOP/tests/data/cloudflare/provision.cfg.in" >"$T/p.cfg"
cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }
P() { "$PROVISION" -c "$T/p.cfg" --resolver "$KNOT_ADDR" "$@"; }
calls() { cf_fake_calls | python3 -c "import json,sys; c=json.load(sys.stdin); print(c.get(sys.argv[1], 0))" "$1"; }
reset() { curl -s --cacert "$CF_CA" -X POST "${CF_URL%/client/v4}/__fake/reset-calls" >/dev/null; }
state_txt() { # name -> the TXT contents at that name, joined, one per line
	curl -s --cacert "$CF_CA" "${CF_URL%/client/v4}/__fake/state" | python3 -c '
import json, re, sys
name = sys.argv[1]
for z in json.load(sys.stdin)["zones"]:
    for r in z["records"]:
        if r["type"] == "TXT" and r["name"] == name:
            c = r["content"]
            parts = re.findall(r"\"((?:[^\"\\\\]|\\\\.)*)\"", c) if c.startswith("\"") else [c]
            print("".join(p.replace("\\\\\"", "\"") for p in parts))' "$1"
}

reset
expect_exit 2 "dry run: changes pending" P --dry-run --detailed-exitcode example.com
grep_file '~ example.com. TXT 3600 (spf)' "$T/out" "SPF update planned"
check "dry run: 2 calls (zone look-up, one listing)" test "$(calls total)" = 2

reset
expect_exit 0 "apply example.com" P example.com
grep_file 'applied 4 changes' "$T/out" "four changes applied"
check "apply: 4 calls (zone, listing, the listing again right before the write, one batch; confirmed from the batch's result)" test "$(calls total)" = 4
check "apply: the batch endpoint used once" test "$(calls 'POST /zones/:id/dns_records/batch')" = 1
state_txt example.com >"$T/apex"
grep_file '^v=spf1 ip4:192.0.2.0/24 include:mailgun.org -all$' "$T/apex" "SPF merged"
grep_file '^google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ$' "$T/apex" "verification string kept"
grep_file '^MS=ms12345678$' "$T/apex" "unquoted verification string kept"
check "three TXT values at the apex" test "$(wc -l <"$T/apex")" = 3
state_txt pic._domainkey.example.com >"$T/dkim"
check "DKIM read back whole (401 characters)" test "$(awk '{ print length($0) }' "$T/dkim")" = 401

reset
expect_exit 0 "dry run after apply: in sync" P --dry-run --detailed-exitcode example.com
grep_file 'in sync' "$T/out" "reported in sync"
reset
expect_exit 0 "apply again" P example.com
check "second apply: no write call (2 reads)" test "$(calls total)" = 2
reset
expect_exit 0 "with zone_id: no zone look-up" P --dry-run example.net
check "zone_id: 1 call" test "$(calls total)" = 1

reset
expect_exit 3 "CNAME clash refused" P clash.example
grep_file 'email.mg3.clash.example. already holds A data' "$T/out" "clash named"
check "no write for a refused plan" test "$(calls 'POST /zones/:id/dns_records/batch')" = 0

reset
expect_exit 0 "zone of 150 records (pages of 100)" P --dry-run big.example
check "two pages listed" test "$(calls 'GET /zones/:id/dns_records')" = 2

# a wrong token: clear message, the token never printed
CF_TEST_TOKEN="wrong-$TOKEN" expect_exit 1 "wrong token" P -v --dry-run other.example
grep_file 'cloudflare: zone other.example: Cloudflare refused the API token in CF_TEST_TOKEN (HTTP 403, code 10000' "$T/out" "refusal explained"
nogrep_file "$TOKEN" "$T/out" "token not on stdout"
nogrep_file "$TOKEN" "$T/err" "token not in the -v trace"
grep_file 'Authorization: \[redacted\]' "$T/err" "trace shows the header redacted"
env -u CF_TEST_TOKEN "$PROVISION" -c "$T/p.cfg" --resolver "$KNOT_ADDR" --dry-run other.example >"$T/out" 2>&1
grep_file 'no credentials: set CF_TEST_TOKEN' "$T/out" "missing token explained"

# the legacy e-mail + global key, never traced
expect_exit 0 "legacy X-Auth-Email/X-Auth-Key" P -v legacy.example
grep_file 'applied 4 changes' "$T/out" "applied with the global key"
nogrep_file "$KEY" "$T/err" "global key not in the trace"
grep_file 'X-Auth-Key: \[redacted\]' "$T/err" "X-Auth-Key redacted"

# batches no larger than batch_size
reset
expect_exit 0 "batch_size = 2: four changes in two batches" P batch.example
check "two batch calls" test "$(calls 'POST /zones/:id/dns_records/batch')" = 2

# settings the provider refuses are configuration errors (exit 78)
sed 's|batch_size = 2|batch_size = 5000|' "$T/p.cfg" >"$T/bad.cfg"
expect_exit 78 "batch_size over the limit" "$PROVISION" -c "$T/bad.cfg" --dry-run batch.example
grep_file "bad.cfg:[0-9]*: provider 'small': batch_size" "$T/err" "names file, line and provider"
sed 's|endpoint = "https://|endpoint = "http://|' "$T/p.cfg" >"$T/bad.cfg"
expect_exit 78 "a plain-http endpoint" "$PROVISION" -c "$T/bad.cfg" --dry-run example.com
grep_file "must be an https:// URL" "$T/err" "https required"

# 429 storm and transient 500s: retried, and the run succeeds
cf_fake_fault '{"rate_limit": {"count": 3, "retry_after": 1}}'
cf_fake_fault '{"status_500": 2}'
expect_exit 0 "429s and 500s are retried" P other.example
grep_file 'applied 4 changes' "$T/out" "applied after retries"

# a malformed answer: an error, no crash
cf_fake_fault '{"malformed": 1}'
expect_exit 1 "malformed JSON answer" P --dry-run example.com
grep_file "not Cloudflare's JSON" "$T/out" "malformed answer explained"

# the connection drops during the batch, every time: nothing half-done, the
# report says what is in place; a re-run completes it
cf_fake_fault '{"drop": {"count": 3, "when": "before", "method": "POST", "path_contains": "/batch"}}'
expect_exit 1 "connection lost on every try" P clash.example big.example other.example example.com --format json
check "report: what was applied" python3 - "$T/out" <<'PY'
import json, sys
d = {x["domain"]: x for x in json.load(open(sys.argv[1]))["domains"]}
b = d["big.example."]
assert b["status"] == "error", b["status"]
msgs = " ".join(g["message"] for g in b["diagnostics"])
assert "0 of 4 changes were applied" in msgs, msgs
PY
expect_exit 0 "the re-run completes it" P big.example
grep_file 'applied 4 changes' "$T/out" "re-run applied"
cf_fake_fault '{"drop": {"count": 1, "when": "after", "method": "POST", "path_contains": "/batch"}}'
reset
expect_exit 0 "answer lost after the batch was applied: re-read, not resent" P after.example
grep_file 'applied 4 changes' "$T/out" "the applied batch is recognised"
check "one batch sent, then a re-read (no blind resend)" test "$(calls 'POST /zones/:id/dns_records/batch')" = 1
expect_exit 0 "after.example in sync" P --dry-run --detailed-exitcode after.example
finish
