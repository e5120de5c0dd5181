#!/bin/sh
# TTLs of records we do not manage stay as they are, on all four providers.
# The apex TXT set holds the customer's verification records at their own
# TTLs beside the SPF record provision merges into.
# - zone file and Route 53 keep one TTL per RRset (RFC 2181 §5.2): the
#   merged SPF keeps the set's TTL, and the plan says so;
# - Cloudflare and GoDaddy keep a TTL per record: the SPF gets the
#   configured TTL and every other record keeps its own, byte for byte
#   (for Cloudflare also proxied, comment and tags).
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"
. "$TOP/tests/lib/fakes.sh"

cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }
MS="MS=ms64738245" GOOG="google-site-verification=Qx7rJ0aQmV2pLs9Tg4Wd1yEo8Uc3Nb6Hk5Zi0Xf"
OLD="v=spf1 include:one.spf.test ~all"

# ---- zone file: one TTL per RRset --------------------------------------------
mkdir -p "$T/zones"
cat >"$T/zones/ttl.test.zone" <<ZONE
\$ORIGIN ttl.test.
\$TTL 3600
@	IN SOA	ns1 hostmaster 1 7200 3600 1209600 300
	IN NS	ns1
ns1	IN A	127.0.0.1
@	600 IN TXT	"$OLD"
@	600 IN TXT	"$GOOG"
@	600 IN TXT	"$MS"
ZONE
cat >"$T/z.cfg" <<CFG
providers: { local = { type = "zonefile"; directory = "$T/zones"; }; };
domains = ( { name = "ttl.test"; provider = "local"; ttl = 3600; } );
CFG
Z() { "$PROVISION" -c "$T/z.cfg" --resolver "$KNOT_ADDR" "$@"; }
expect_exit 0 "zone file: dry run" Z --dry-run ttl.test
grep_file 'keeps TTL 600, the TTL of the record set it shares' "$T/out" "zone file: the plan says the SPF keeps the set's TTL"
grep_file 'not the configured 3600' "$T/out" "zone file: and names the configured TTL"
expect_exit 0 "zone file: dry run, JSON" Z --dry-run --format json ttl.test
spf_ttl() { "$PYTHON" -c '
import json, sys
for d in json.load(open(sys.argv[1]))["domains"]:
    for c in d["changes"]:
        if c["type"] == "TXT" and c["name"] == d["domain"]:
            print(c["ttl"])' "$1"; }
check "zone file: the planned SPF has TTL 600" test "$(spf_ttl "$T/out")" = 600
grep_file '"ttl-shared-set"' "$T/out" "zone file: JSON carries the ttl-shared-set note"
expect_exit 0 "zone file: apply" Z ttl.test
grep_file "^@	600 IN TXT	\"$GOOG\"\$" "$T/zones/ttl.test.zone" "zone file: google verification kept byte for byte"
grep_file "^@	600 IN TXT	\"$MS\"\$" "$T/zones/ttl.test.zone" "zone file: MS verification kept byte for byte"
grep_file '^@	600 IN TXT	"v=spf1 include:one.spf.test include:mailgun.org ~all"$' "$T/zones/ttl.test.zone" \
	"zone file: merged SPF at the set's TTL, in its own line's owner, TTL and class text"
named-checkzone -q ttl.test "$T/zones/ttl.test.zone"
check "zone file: passes named-checkzone (one TTL per RRset)" test $? = 0
expect_exit 0 "zone file: second apply" Z ttl.test
grep_file 'in sync' "$T/out" "zone file: in sync, the TTL not chased"

# ---- Route 53: one TTL per RRset ---------------------------------------------
make_test_ca || { not_ok "test CA"; finish; exit 1; }
AKID=AKIAIOSFODNN7EXAMPLE SECRET="r53-ttl-secret-$$"
cat >"$T/r53-seed.json" <<JSON
{"zones": [{"name": "ttl.example", "records": [
  {"name": "@", "type": "TXT", "ttl": 300,
   "values": ["\"$OLD\"", "\"$GOOG\"", "\"$MS\""]}]}]}
JSON
fake_start route53 route53.py --state "$T/r53-seed.json" --credentials "$AKID:$SECRET" ||
	{ not_ok "route53 fake starts"; finish; exit 1; }
R53=$FAKE_PORT
export AWS_ACCESS_KEY_ID="$AKID" AWS_SECRET_ACCESS_KEY="$SECRET"
export AWS_SHARED_CREDENTIALS_FILE="$T/no-such-credentials"
unset AWS_SESSION_TOKEN AWS_PROFILE
cat >"$T/r53.cfg" <<CFG
providers: { aws = { type = "route53"; endpoint = "https://127.0.0.1:$R53"; ca_file = "$T/ca/ca.pem"; }; };
domains = ( { name = "ttl.example"; provider = "aws"; ttl = 3600; } );
CFG
R() { "$PROVISION" -c "$T/r53.cfg" --resolver "$KNOT_ADDR" "$@"; }
expect_exit 0 "Route 53: dry run" R --dry-run ttl.example
grep_file 'keeps TTL 300, the TTL of the record set it shares' "$T/out" "Route 53: the plan says the SPF keeps the set's TTL"
expect_exit 0 "Route 53: apply" R ttl.example
apex_txt() { fake_ctl "$R53" GET /__fake/state | "$PYTHON" -c '
import json, sys
for z in json.load(sys.stdin)["zones"]:
    for r in z["records"]:
        if r["type"] == "TXT" and r["name"] in ("@", "ttl.example", "ttl.example."):
            print(r["ttl"], " ".join(sorted(r["values"])))'; }
apex_txt >"$T/r53-after"
grep_file "^300 " "$T/r53-after" "Route 53: the apex TXT set keeps TTL 300"
grep_file "\"$GOOG\"" "$T/r53-after" "Route 53: google verification still in the set"
grep_file "\"$MS\"" "$T/r53-after" "Route 53: MS verification still in the set"
grep_file 'include:mailgun.org' "$T/r53-after" "Route 53: SPF merged"
expect_exit 0 "Route 53: second apply" R ttl.example
grep_file 'in sync' "$T/out" "Route 53: in sync"

# ---- Cloudflare: a TTL per record ----------------------------------------------
"$PYTHON" - "$OLD" >"$T/cf-seed.json" <<'PY'
import json, sys
recs = [{"type": "TXT", "name": "ttl.example", "content": '"aws-verify-%03d=tok%03d"' % (i, i),
         "ttl": 300, "proxied": False, "comment": "verification %d" % i,
         "tags": ["team:web", "n:%d" % i]} for i in range(105)]
recs.append({"type": "TXT", "name": "ttl.example", "content": '"%s"' % sys.argv[1], "ttl": 3600,
             "comment": "our SPF", "tags": ["owner:mail"]})
recs.append({"type": "A", "name": "www.ttl.example", "content": "192.0.2.10", "ttl": 1,
             "proxied": True, "comment": "site", "tags": ["team:web"]})
print(json.dumps({"zones": [{"name": "ttl.example", "records": recs}]}))
PY
export CF_TEST_TOKEN="cf-ttl-$$"
cf_fake_start "$T/cf-seed.json" --token "$CF_TEST_TOKEN" || { not_ok "cloudflare fake starts"; finish; exit 1; }
cat >"$T/cf.cfg" <<CFG
providers: { cf = { type = "cloudflare"; token_env = "CF_TEST_TOKEN"; endpoint = "$CF_URL"; ca_file = "$CF_CA"; }; };
domains = ( { name = "ttl.example"; provider = "cf"; ttl = 3600; } );
CFG
C() { "$PROVISION" -c "$T/cf.cfg" --resolver "$KNOT_ADDR" "$@"; }
# every record but the SPF, whole, sorted; and the SPF's TTL
theirs() { cf_fake_state | "$PYTHON" -c '
import json, sys
for z in json.load(sys.stdin)["zones"]:
    for r in z["records"]:
        if "v=spf1" not in r["content"] and not r["name"].startswith(("pic._domainkey.", "_dmarc.", "email.mg3.")):
            print(json.dumps(r, sort_keys=True))' | sort; }
spf() { cf_fake_state | "$PYTHON" -c '
import json, sys
for z in json.load(sys.stdin)["zones"]:
    for r in z["records"]:
        if "v=spf1" in r["content"]:
            print(r["ttl"], r["content"])'; }
theirs >"$T/cf-before"
check "Cloudflare: 106 records not ours in the seed" test "$(wc -l <"$T/cf-before")" = 106
expect_exit 0 "Cloudflare: dry run" C --dry-run ttl.example
nogrep_file 'ttl-shared-set\|keeps TTL' "$T/out" "Cloudflare: no shared-set TTL note (TTLs are per record)"
expect_exit 0 "Cloudflare: apply" C ttl.example
theirs >"$T/cf-after"
expect_same_file "$T/cf-before" "$T/cf-after" "Cloudflare: every other record identical (ttl, proxied, comment, tags, id)"
check "Cloudflare: the merged SPF keeps the configured TTL 3600" \
	test "$(spf)" = '3600 "v=spf1 include:one.spf.test include:mailgun.org ~all"'
cf_fake_requests >"$T/cf-req1"
grep_file '"method": *"\(POST\|PUT\|PATCH\)"' "$T/cf-req1" "Cloudflare: the first run wrote"
cf_fake_reset_calls >/dev/null
expect_exit 0 "Cloudflare: second apply" C ttl.example
grep_file 'in sync' "$T/out" "Cloudflare: in sync"
cf_fake_requests >"$T/cf-req"
nogrep_file '"method": *"\(POST\|PUT\|PATCH\|DELETE\)"' "$T/cf-req" "Cloudflare: the second run writes nothing"

# ---- GoDaddy: a TTL per record, the whole set PUT back -------------------------
GKEY="gdttlkey$$" GSECRET="gdttlsecret$$"
export GD_TEST_KEY="$GKEY" GD_TEST_SECRET="$GSECRET"
unset PROVISION_GODADDY_RATE_LIMIT
cat >"$T/gd-seed.json" <<JSON
{"domains": [{"domain": "ttl.example", "domainId": 4711, "records": [
  {"type": "TXT", "name": "@", "data": "$MS", "ttl": 1800},
  {"type": "TXT", "name": "@", "data": "$GOOG", "ttl": 600},
  {"type": "TXT", "name": "@", "data": "$OLD", "ttl": 3600},
  {"type": "A", "name": "www", "data": "192.0.2.10", "ttl": 900}]}]}
JSON
fake_start godaddy godaddy.py --state "$T/gd-seed.json" --credentials "$GKEY:$GSECRET" ||
	{ not_ok "godaddy fake starts"; finish; exit 1; }
GD=$FAKE_PORT
cat >"$T/gd.cfg" <<CFG
providers: { gd = { type = "godaddy"; key_env = "GD_TEST_KEY"; secret_env = "GD_TEST_SECRET";
                    endpoint = "https://127.0.0.1:$GD"; ca_file = "$T/ca/ca.pem"; }; };
domains = ( { name = "ttl.example"; provider = "gd"; ttl = 3600; } );
CFG
G() { "$PROVISION" -c "$T/gd.cfg" --resolver "$KNOT_ADDR" "$@"; }
gd_state() { fake_ctl "$GD" GET /__fake/state | "$PYTHON" -c '
import json, sys
for d in json.load(sys.stdin)["domains"]:
    for r in d["records"]:
        print(r["type"], r["name"], r["ttl"], r["data"])' | sort; }
expect_exit 0 "GoDaddy: apply" G ttl.example
gd_state >"$T/gd-after"
grep_file "^TXT @ 1800 $MS\$" "$T/gd-after" "GoDaddy: MS verification keeps TTL 1800"
grep_file "^TXT @ 600 $GOOG\$" "$T/gd-after" "GoDaddy: google verification keeps TTL 600"
grep_file "^TXT @ 3600 v=spf1 include:one.spf.test include:mailgun.org ~all\$" "$T/gd-after" \
	"GoDaddy: merged SPF at the configured TTL"
grep_file '^A www 900 192.0.2.10$' "$T/gd-after" "GoDaddy: other records untouched"
nogrep_file 'ttl-shared-set\|keeps TTL' "$T/out" "GoDaddy: no shared-set TTL note (TTLs are per record)"
fake_ctl "$GD" GET /__fake/requests >"$T/gd-req1"
grep_file '"method": *"\(PUT\|PATCH\)"' "$T/gd-req1" "GoDaddy: the first run wrote"
fake_ctl "$GD" POST /__fake/reset-calls >/dev/null
expect_exit 0 "GoDaddy: second apply" G ttl.example
grep_file 'in sync' "$T/out" "GoDaddy: in sync"
gd_state >"$T/gd-again"
expect_same_file "$T/gd-after" "$T/gd-again" "GoDaddy: the second run changes nothing"
fake_ctl "$GD" GET /__fake/requests >"$T/gd-req"
nogrep_file '"method": *"\(PUT\|PATCH\|DELETE\)"' "$T/gd-req" "GoDaddy: the second run writes nothing"
finish
