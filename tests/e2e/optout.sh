#!/bin/sh
# Records a domain leaves out (`tracking = false;`, `dkim = false;` ...):
# not planned, not listed, not touched, not checked. A zone file whose own
# tracking CNAME and DKIM key stay byte for byte and whose `check` passes;
# Cloudflare and Route 53 fakes that never see the left-out names asked for
# or written; a domain that brings a record back over the defaults; a wrong
# type named with file and line.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"
. "$TOP/tests/lib/fakes.sh"

cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }
mkdir -p "$T/zones"
cat >"$T/zones/optout.test.zone" <<'ZONE'
$ORIGIN optout.test.
$TTL 3600
@	IN SOA	ns1 hostmaster 1 7200 3600 1209600 300
	IN NS	ns1
ns1	IN A	127.0.0.1
; the customer's own tracking domain and DKIM key, managed elsewhere
email.mg3	300 IN CNAME	track.own-esp.example.
pic._domainkey	IN TXT	"v=DKIM1; k=rsa; p=THEIROWNKEY"
ZONE
cp "$T/zones/optout.test.zone" "$T/zones/back.test.zone.in"
sed 's/optout\.test\./back.test./' "$T/zones/back.test.zone.in" >"$T/zones/back.test.zone"
rm "$T/zones/back.test.zone.in"
cp "$T/zones/optout.test.zone" "$T/optout.orig"
cat >"$T/z.cfg" <<CFG
defaults: { tracking = false; };
providers: { local = { type = "zonefile"; directory = "$T/zones"; }; };
domains = (
  { name = "optout.test"; provider = "local"; dkim = false; },
  { name = "back.test"; provider = "local"; tracking = { target = "mailgun.org"; }; dkim = false; }
);
CFG
Z() { "$PROVISION" -c "$T/z.cfg" --resolver "$KNOT_ADDR" "$@"; }

expect_exit 0 "dry run with tracking and dkim left out" Z --dry-run --format json optout.test
names() { "$PYTHON" -c 'import json,sys; print(" ".join(sorted(c["name"] for d in json.load(open(sys.argv[1]))["domains"] for c in d["changes"])))' "$1"; }
check "only SPF and DMARC planned" test "$(names "$T/out")" = "_dmarc.optout.test. optout.test."
nogrep_file 'cname-conflict' "$T/out" "their CNAME is no conflict: tracking is not ours"
expect_exit 0 "apply" Z optout.test
grep_file 'applied 2 changes' "$T/out" "two changes applied"
grep_file '^email.mg3	300 IN CNAME	track.own-esp.example.$' "$T/zones/optout.test.zone" "their tracking CNAME kept byte for byte"
grep_file '^pic._domainkey	IN TXT	"v=DKIM1; k=rsa; p=THEIROWNKEY"$' "$T/zones/optout.test.zone" "their DKIM key kept byte for byte"
check "nothing else at those names" test "$(grep -c 'email.mg3\|_domainkey' "$T/zones/optout.test.zone")" = 2
expect_exit 0 "a second apply" Z optout.test
grep_file 'in sync' "$T/out" "in sync"
named-checkzone -q optout.test "$T/zones/optout.test.zone"
check "the zone passes named-checkzone" test $? = 0

expect_exit 0 "a domain brings tracking back over the defaults" Z --dry-run --format json back.test
check "SPF, DMARC and the tracking CNAME planned for it" \
	test "$(names "$T/out")" = "_dmarc.back.test. back.test. email.mg3.back.test."

# check: the left-out records are not checked
cp "$T/zones/optout.test.zone" "$T/dns/"
knot_reload || not_ok "knot reloads"
expect_exit 0 "check passes with tracking and dkim left out" \
	Z check --nameserver "$KNOT_ADDR" optout.test
grep_file 'tracking .*tracking = false in the configuration' "$T/out" "check says tracking is not managed"
grep_file 'dkim .*dkim = false in the configuration' "$T/out" "and DKIM"
expect_exit 0 "check, JSON" Z check --nameserver "$KNOT_ADDR" --format json optout.test
check "JSON: only spf and dmarc checked" test "$("$PYTHON" -c 'import json,sys; print(" ".join(c["record"] for d in json.load(open(sys.argv[1]))["domains"] for c in d["checks"]))' "$T/out")" = "spf dmarc"

# a wrong type: configuration error with file and line
cat >"$T/bad.cfg" <<CFG
providers: { local = { type = "zonefile"; directory = "$T/zones"; }; };
domains = (
  { name = "optout.test"; provider = "local";
    tracking = "no"; }
);
CFG
expect_exit 78 "tracking = \"no\" is a configuration error" "$PROVISION" -c "$T/bad.cfg" --dry-run
grep_file "bad.cfg:4: 'tracking' must be a group, or false to leave the record out" "$T/err" "named with file and line"

# ---- Cloudflare: the left-out names are never written ----------------------
make_test_ca || { not_ok "test CA"; finish; exit 1; }
cat >"$T/cf-seed.json" <<'JSON'
{"zones": [{"name": "optout.example", "records": [
  {"type": "CNAME", "name": "email.mg3.optout.example", "content": "track.own-esp.example",
   "ttl": 300, "proxied": false, "comment": "our own tracking", "tags": ["owner:marketing"]},
  {"type": "TXT", "name": "pic._domainkey.optout.example", "content": "\"v=DKIM1; k=rsa; p=THEIROWNKEY\"", "ttl": 600}
]}]}
JSON
export CF_TEST_TOKEN="cf-optout-$$"
cf_fake_start "$T/cf-seed.json" --token "$CF_TEST_TOKEN" || { not_ok "cloudflare fake starts"; finish; exit 1; }
cat >"$T/cf.cfg" <<CFG
providers: { cf = { type = "cloudflare"; token_env = "CF_TEST_TOKEN"; endpoint = "$CF_URL"; ca_file = "$CF_CA"; }; };
domains = ( { name = "optout.example"; provider = "cf"; tracking = false; dkim = false; } );
CFG
theirs() { cf_fake_state | "$PYTHON" -c '
import json, sys
for z in json.load(sys.stdin)["zones"]:
    for r in z["records"]:
        if r["name"].startswith(("email.mg3.", "pic._domainkey.")):
            print(json.dumps(r, sort_keys=True))'; }
theirs >"$T/cf-before"
expect_exit 0 "Cloudflare: apply with tracking and dkim left out" \
	"$PROVISION" -c "$T/cf.cfg" --resolver "$KNOT_ADDR" optout.example
grep_file 'applied 2 changes' "$T/out" "Cloudflare: SPF and DMARC applied"
theirs >"$T/cf-after"
expect_same_file "$T/cf-before" "$T/cf-after" "Cloudflare: their CNAME and DKIM records identical (ttl, comment, tags, ids)"
cf_fake_requests >"$T/cf-req"
nogrep_file 'email.mg3\|_domainkey' "$T/cf-req" "Cloudflare: no request names a left-out record"

# ---- Route 53: the left-out names are never even asked for ------------------
AKID=AKIAIOSFODNN7EXAMPLE SECRET="r53-optout-secret-$$"
cat >"$T/r53-seed.json" <<'JSON'
{"zones": [{"name": "optout.example", "records": [
  {"name": "email.mg3", "type": "CNAME", "ttl": 300, "values": ["track.own-esp.example."]}]}]}
JSON
fake_start route53 route53.py --state "$T/r53-seed.json" --credentials "$AKID:$SECRET" ||
	{ not_ok "route53 fake starts"; finish; exit 1; }
R53=$FAKE_PORT
export AWS_ACCESS_KEY_ID="$AKID" AWS_SECRET_ACCESS_KEY="$SECRET"
export AWS_SHARED_CREDENTIALS_FILE="$T/no-such-credentials"
unset AWS_SESSION_TOKEN AWS_PROFILE
cat >"$T/r53.cfg" <<CFG
providers: { aws = { type = "route53"; endpoint = "https://127.0.0.1:$R53"; ca_file = "$T/ca/ca.pem"; }; };
domains = ( { name = "optout.example"; provider = "aws"; tracking = false; } );
CFG
expect_exit 0 "Route 53: apply with tracking left out" \
	"$PROVISION" -c "$T/r53.cfg" --resolver "$KNOT_ADDR" optout.example
grep_file 'applied 3 changes' "$T/out" "Route 53: SPF, DKIM and DMARC applied"
fake_ctl "$R53" GET /__fake/requests >"$T/r53-req"
nogrep_file 'email.mg3' "$T/r53-req" "Route 53: the tracking name never asked for nor written"
fake_ctl "$R53" GET /__fake/state | grep -q 'track.own-esp.example'
check "Route 53: their CNAME still there" test $? = 0
finish
