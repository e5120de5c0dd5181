#!/bin/sh
# The Route 53 provider over real TLS against the stateful fake, which
# verifies every request's SigV4 signature: dry run -> apply -> in sync ->
# apply with no ChangeBatch; the apex TXT set keeps its verification values;
# the DKIM value goes out as two strings and reads back whole; a concurrent
# edit makes the batch fail without losing anything; bad, unknown, expired
# and temporary credentials, profiles; Throttling and
# PriorRequestNotComplete retried; lost connections; pagination at a small
# MaxItems; public and private zones of one name; malformed answers; waiting
# for INSYNC; the API calls of each case counted by the fake.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"
. "$TOP/tests/lib/fakes.sh"

AKID=AKIAIOSFODNN7EXAMPLE
SECRET="r53-test-secret/$$/K7MDENG+bPxRfiCYEXAMPLEKEY"
TEMP_AKID=ASIAEXAMPLETEMP00001
TEMP_SECRET="r53-temp-secret/$$/bPxRfiCYzzTEMPKEY"
TOKEN="FwoGZXIvYXdzEr53-session-token-$$-IQoJb3JpZ2luX2VjEOr"
EXP_AKID=ASIAEXPIRED000000001
EXP_TOKEN="FwoGZXIvYXdzEr53-expired-token-$$"
RO_AKID=AKIAREADONLY00000001
RO_SECRET="r53-readonly-secret-$$"

selftest() { "$PYTHON" "$TOP/tests/fakes/route53.py" --self-test >"$T/selftest" 2>&1 ||
	{ sed 's/^/#   /' "$T/selftest"; return 1; }; }
check "the fake's SigV4 verifier passes AWS's test vectors" selftest
fake_start route53 route53.py --state "$TOP/tests/data/route53/state.json" \
	--credentials "$AKID:$SECRET" --credentials "$TEMP_AKID:$TEMP_SECRET:$TOKEN" \
	--credentials "$EXP_AKID:expired-secret-$$:$EXP_TOKEN" --expired "$EXP_AKID" \
	--credentials "$RO_AKID:$RO_SECRET" --deny "$RO_AKID=ChangeResourceRecordSets" ||
	{ not_ok "fake starts"; finish; exit 1; }
PORT=$FAKE_PORT
fake_start paged route53.py --state "$TOP/tests/data/route53/big.json" --max-items 2 \
	--credentials "$AKID:$SECRET" || { not_ok "second fake starts"; finish; exit 1; }
PORT2=$FAKE_PORT
CA=$T/ca/ca.pem
sed -e "s|@URL@|https://127.0.0.1:$PORT|" -e "s|@URL2@|https://127.0.0.1:$PORT2|" \
	-e "s|@CA@|$CA|" "$TOP/tests/data/route53/provision.cfg.in" >"$T/p.cfg"
cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }

# the credentials as AWS users give them; no ~/.aws of the machine is read
export AWS_ACCESS_KEY_ID="$AKID" AWS_SECRET_ACCESS_KEY="$SECRET"
export AWS_SHARED_CREDENTIALS_FILE="$T/no-such-credentials" AWS_CONFIG_FILE="$T/no-such-config"
export AWS_EC2_METADATA_DISABLED=true
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN
P() { "$PROVISION" -c "$T/p.cfg" --resolver "$KNOT_ADDR" "$@"; }
calls() { # calls KEY [PORT]: the fake's counter
	fake_ctl "${2:-$PORT}" GET /__fake/calls |
		"$PYTHON" -c "import json,sys; print(json.load(sys.stdin).get(sys.argv[1], 0))" "$1"
}
reset() { fake_ctl "${1:-$PORT}" POST /__fake/reset-calls >/dev/null; }
fault() { # fault JSON [PORT]
	_o=$(fake_ctl "${2:-$PORT}" POST /__fake/faults "$1" 2>&1) && return 0
	printf '%s\n' "$_o" | sed 's/^/#   fault: /'
	return 1
}
# values NAME TYPE [ZONEID] [PORT]: the set's values as stored, one a line
values() {
	fake_ctl "${4:-$PORT}" GET /__fake/state | "$PYTHON" -c '
import json, sys
name, typ, zid = sys.argv[1], sys.argv[2], sys.argv[3]
for z in json.load(sys.stdin)["zones"]:
    if zid and z["id"] != zid or not zid and z["private"]:
        continue
    for r in z["records"]:
        if r["name"] == name and r["type"] == typ:
            print("\n".join(r.get("values", [])))' "$1" "$2" "${3:-}"
}
# logical VALUE: the character-strings of a stored TXT value joined
logical() {
	"$PYTHON" -c '
import re, sys
parts = re.findall(r"\"((?:[^\"\\\\]|\\\\.)*)\"", sys.argv[1])
print("".join(re.sub(r"\\\\([0-7]{3}|.)", lambda m: chr(int(m.group(1), 8))
      if len(m.group(1)) == 3 else m.group(1), p) for p in parts))' "$1"
}
nofaults() { fake_ctl "$PORT" DELETE /__fake/faults >/dev/null; }
batch_bodies() { # the ChangeBatch bodies the fake received, one a line
	fake_ctl "${1:-$PORT}" GET /__fake/requests | "$PYTHON" -c '
import json, sys
for r in json.load(sys.stdin):
    if r["method"] == "POST":
        print(str(r["body"]).replace("\n", " "))'
}

# --- dry run -> apply -> in sync -> apply again -----------------------------
reset
expect_exit 2 "dry run: changes pending" P --dry-run --detailed-exitcode example.com
grep_file '~ example.com. TXT 3600 (spf)' "$T/out" "SPF update planned"
grep_file '+ email.mg3.example.com. CNAME 3600 (tracking)' "$T/out" "tracking CNAME planned"
check "dry run: 2 calls (zone look-up, one listing)" test "$(calls total)" = 2

reset
expect_exit 0 "apply example.com" P example.com
grep_file 'applied 4 changes' "$T/out" "four changes applied"
check "apply: 3 calls (look-up, listing, one ChangeBatch; confirmed from the batch)" \
	test "$(calls total)" = 3
check "apply: one ChangeBatch" test "$(calls 'POST /hostedzone/:id/rrset')" = 1
check "apply: one listing" test "$(calls 'GET /hostedzone/:id/rrset')" = 1
batch_bodies >"$T/batch"
grep_file '<Action>DELETE</Action><ResourceRecordSet><Name>example.com.</Name><Type>TXT</Type><TTL>3600</TTL>' \
	"$T/batch" "the apex TXT set is deleted with the TTL read"
grep_file '<Value>"MS=ms12345678"</Value>' "$T/batch" "... and its exact values"
nogrep_file 'UPSERT' "$T/batch" "no UPSERT in the batch"
check "a DELETE and four CREATEs" test "$(grep -o '<Action>[A-Z]*</Action>' "$T/batch" | sort | uniq -c |
	tr -s ' ' | tr '\n' ,)" = " 4 <Action>CREATE</Action>, 1 <Action>DELETE</Action>,"
values example.com. TXT >"$T/apex"
check "the apex TXT set holds three values" test "$(wc -l <"$T/apex")" = 3
grep_file '^"v=spf1 ip4:192.0.2.0/24 include:mailgun.org -all"$' "$T/apex" "SPF merged"
grep_file '^"google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ"$' "$T/apex" \
	"verification value kept byte for byte"
grep_file '^"MS=ms12345678"$' "$T/apex" "second verification value kept"
values pic._domainkey.example.com. TXT >"$T/dkim"
check "DKIM written as two strings (255 + 146)" grep -Eq '^"[^"]{255}" "[^"]{146}"$' "$T/dkim"
check "DKIM joins back to 401 characters" test "$(logical "$(cat "$T/dkim")" | awk '{ print length($0) }')" = 401
check "tracking CNAME created" test "$(values email.mg3.example.com. CNAME)" = "mailgun.org."
check "the private zone of the same name is untouched" \
	test "$(values example.com. TXT ZEXAMPLEPRIVATE1)" = '"v=spf1 -all"'

reset
expect_exit 0 "dry run after apply: in sync" P --dry-run --detailed-exitcode example.com
grep_file 'in sync' "$T/out" "reported in sync (the two-string DKIM value read back whole)"
reset
expect_exit 0 "apply again" P example.com
check "second apply: no ChangeBatch (2 reads)" test "$(calls total)/$(calls 'POST /hostedzone/:id/rrset')" = 2/0

# --- zone_id: no look-up; a private zone chosen by zone_id ------------------
reset
expect_exit 2 "zone_id: dry run" P --dry-run --detailed-exitcode example.net
check "zone_id: 1 call, no look-up" test "$(calls total)/$(calls 'GET /hostedzonesbyname')" = 1/0
reset
expect_exit 0 "zone_id: apply" P example.net
check "zone_id: apply in 2 calls" test "$(calls total)" = 2
sed -e 's|{ name = "example.com"; provider = "aws"; }|{ name = "example.com"; provider = "aws"; zone_id = "ZEXAMPLEPRIVATE1"; }|' \
	"$T/p.cfg" >"$T/private.cfg"
expect_exit 2 "zone_id picks the private zone of the same name" \
	"$PROVISION" -c "$T/private.cfg" --resolver "$KNOT_ADDR" --dry-run --detailed-exitcode example.com
grep_file '- "v=spf1 -all"' "$T/out" "the private zone's SPF is read"
expect_exit 1 "two public zones of one name" P --dry-run dup.example
grep_file '2 public hosted zones have this name: ZDUPEXAMPLEAAAA1 (public), ZDUPEXAMPLEBBBB2 (public), ZDUPEXAMPLECCCC3 (private)' \
	"$T/out" "ambiguity lists the candidates"
expect_exit 1 "only a private zone" P --dry-run private.example
grep_file 'only private hosted zones have this name: ZPRIVATEONLY0001 (private); set zone_id' "$T/out" \
	"private-only zone explained"
expect_exit 1 "no zone of that name" P --dry-run nozone.example
grep_file 'route53: zone nozone.example: no hosted zone of this name' "$T/out" "missing zone explained"
expect_exit 1 "zone_id of another zone" P --dry-run wrongid.example
grep_file 'has no SOA record at wrongid.example.: the domain.s zone_id names another zone' "$T/out" \
	"a zone_id of another zone is caught"
expect_exit 1 "unknown zone_id" P --dry-run missing.example
grep_file 'HTTP 404 NoSuchHostedZone: No hosted zone found with ID: ZDOESNOTEXIST001 (check the domain.s zone_id)' \
	"$T/out" "NoSuchHostedZone explained"

# --- a concurrent edit between the listing and the batch --------------------
fault '{"edit": {"path_contains": "ZRACEEXAMPLE0001", "name": "@", "type": "TXT", "ttl": 3600, "values": ["\"v=spf1 ip4:198.51.100.0/24 -all\"", "\"apple-domain-verification=AbCdEf123\"", "\"someone-else=added-this\""]}}'
reset
expect_exit 1 "a concurrent edit makes the batch fail" P race.example
grep_file 'the change batch was refused and nothing was applied: race.example. TXT changed since it was read' \
	"$T/out" "the drift is named"
grep_file "Tried to delete resource record set \[name='race.example.', type='TXT'\] but the values provided do not match" \
	"$T/out" "Route 53's reason is shown"
grep_file '0 of 4 changes were applied' "$T/out" "nothing applied"
check "the other editor's value is not lost" test -n "$(values race.example. TXT | grep someone-else)"
check "the batch created nothing" test -z "$(values _dmarc.race.example. TXT)"
check "re-read once after the refusal" test "$(calls 'GET /hostedzone/:id/rrset')" = 2
expect_exit 0 "the re-run plans from the new records" P race.example
values race.example. TXT >"$T/race"
check "re-run: SPF merged and both other values kept" test "$(wc -l <"$T/race")" = 3
grep_file '^"v=spf1 ip4:198.51.100.0/24 include:mailgun.org -all"$' "$T/race" "merged into the edited record"
grep_file '^"someone-else=added-this"$' "$T/race" "the concurrent value survives"

nofaults
# the other shape of InvalidChangeBatch (its own root element, <Messages>)
fault '{"batch_form": {"form": "list", "path_contains": "ZFORMEXAMPLE0001"}, "edit": {"path_contains": "ZFORMEXAMPLE0001", "name": "_dmarc", "type": "TXT", "values": ["\"v=DMARC1; p=reject\""]}}'
expect_exit 1 "InvalidChangeBatch as <InvalidChangeBatch><Messages>" P form.example
grep_file "_dmarc.form.example. TXT changed since it was read.*Tried to create resource record set \[name='_dmarc.form.example.', type='TXT'\] but it already exists" \
	"$T/out" "both error shapes are read"

nofaults
# --- throttling, PriorRequestNotComplete ------------------------------------
reset
fault '{"throttling": {"count": 2}, "prior_request": 2}'
expect_exit 0 "Throttling and PriorRequestNotComplete are retried" P -v other.example
grep_file 'applied 4 changes' "$T/out" "applied after retries"
grep_file 'Throttling, retrying in' "$T/err" "the retries show with -v"
check "7 calls: 2 throttled + look-up + listing + 2 refused batches + the batch" \
	test "$(calls total)/$(calls 'POST /hostedzone/:id/rrset')" = 7/3

nofaults
# --- credentials -------------------------------------------------------------
AWS_SECRET_ACCESS_KEY="wrong-$SECRET" expect_exit 1 "a wrong secret key" P -v --dry-run example.com
grep_file 'route53: zone example.com: finding the hosted zone (ListHostedZonesByName): HTTP 403 SignatureDoesNotMatch' \
	"$T/out" "refusal explained"
grep_file 'check the secret access key: credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY' "$T/out" \
	"the message says where the key came from"
nogrep_file "$SECRET" "$T/out" "secret not on stdout"
nogrep_file "$SECRET" "$T/err" "secret not in the -v trace"
grep_file 'Authorization: \[redacted\]' "$T/err" "trace shows the Authorization header redacted"
nogrep_file 'Signature=' "$T/err" "no signature in the trace"
AWS_ACCESS_KEY_ID=AKIAUNKNOWNKEY000001 expect_exit 1 "an unknown access key id" P --dry-run example.com
grep_file 'HTTP 403 InvalidClientTokenId: The security token included in the request is invalid.' "$T/out" \
	"unknown key explained"
AWS_ACCESS_KEY_ID=$TEMP_AKID AWS_SECRET_ACCESS_KEY=$TEMP_SECRET AWS_SESSION_TOKEN=$TOKEN \
	expect_exit 0 "temporary credentials (session token)" P -v temp.example
grep_file 'applied 4 changes' "$T/out" "applied with a session token"
grep_file 'X-Amz-Security-Token: \[redacted\]' "$T/err" "the token header is redacted in the trace"
nogrep_file "$TOKEN" "$T/err" "token not in the trace"
nogrep_file "$TEMP_SECRET" "$T/err" "temporary secret not in the trace"
AWS_ACCESS_KEY_ID=$TEMP_AKID AWS_SECRET_ACCESS_KEY="x$TEMP_SECRET" AWS_SESSION_TOKEN=$TOKEN \
	expect_exit 1 "a wrong secret with a session token" P --dry-run temp.example
grep_file 'SignatureDoesNotMatch' "$T/out" "refused"
nogrep_file "$TOKEN" "$T/out" "the token quoted in AWS's message is not printed"
nogrep_file "$TOKEN" "$T/err" "nor on stderr"
AWS_ACCESS_KEY_ID=$TEMP_AKID AWS_SECRET_ACCESS_KEY=$TEMP_SECRET \
	expect_exit 1 "temporary key without its session token" P --dry-run temp.example
grep_file 'InvalidClientTokenId' "$T/out" "missing token explained"
AWS_ACCESS_KEY_ID=$EXP_AKID AWS_SECRET_ACCESS_KEY="expired-secret-$$" AWS_SESSION_TOKEN=$EXP_TOKEN \
	expect_exit 1 "expired credentials" P --dry-run temp.example
grep_file 'HTTP 403 ExpiredToken: The security token included in the request is expired (the session token has expired' \
	"$T/out" "expiry explained"
AWS_ACCESS_KEY_ID=$RO_AKID AWS_SECRET_ACCESS_KEY=$RO_SECRET \
	expect_exit 1 "a key that may not write" P before.example
grep_file 'ChangeResourceRecordSets (before.example. TXT, pic._domainkey.before.example. TXT, _dmarc.before.example. TXT, email.mg3.before.example. CNAME): HTTP 403 AccessDenied' \
	"$T/out" "AccessDenied names the record sets"
grep_file '0 of 4 changes were applied' "$T/out" "nothing applied"

# the shared credentials file, AWS_PROFILE and the profile setting
cat >"$T/credentials" <<EOF
# test credentials
[default]
aws_access_key_id = $AKID
aws_secret_access_key = $SECRET

[ci-temp]
aws_access_key_id=$TEMP_AKID
aws_secret_access_key=$TEMP_SECRET
aws_session_token=$TOKEN

[broken]
region = us-east-1
EOF
# F: provision with the credentials file only (no AWS_* keys in the environment)
F() { env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_SHARED_CREDENTIALS_FILE="$T/credentials" \
	"$PROVISION" -c "$T/p.cfg" --resolver "$KNOT_ADDR" "$@"; }
reset
expect_exit 0 "profile setting (temporary credentials from the file)" F -v prof.example
grep_file 'applied 4 changes' "$T/out" "applied with profile ci-temp"
grep_file 'X-Amz-Security-Token: \[redacted\]' "$T/err" "the file's session token is sent"
nogrep_file "$TOKEN" "$T/err" "and never traced"
expect_exit 2 "the default profile" F --dry-run --detailed-exitcode form.example
AWS_PROFILE=ci-temp expect_exit 2 "AWS_PROFILE" F --dry-run --detailed-exitcode form.example
AWS_PROFILE=nosuch expect_exit 1 "an unknown profile" F --dry-run form.example
grep_file "profile 'nosuch' is not in $T/credentials" "$T/out" "unknown profile explained"
AWS_PROFILE=broken expect_exit 1 "a profile without keys" F --dry-run form.example
grep_file "profile 'broken' in $T/credentials has no aws_access_key_id" "$T/out" "keyless profile explained"
expect_exit 1 "no credentials at all" env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
	"$PROVISION" -c "$T/p.cfg" --resolver "$KNOT_ADDR" --dry-run form.example
grep_file "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" "$T/out" "missing credentials explained"
expect_exit 1 "a key id without its secret" env -u AWS_SECRET_ACCESS_KEY \
	"$PROVISION" -c "$T/p.cfg" --resolver "$KNOT_ADDR" --dry-run form.example
grep_file "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not" "$T/out" "half-set credentials explained"

# --- lost connections ---------------------------------------------------------
fault '{"drop": {"count": 1, "when": "after", "method": "POST"}}'
reset
expect_exit 0 "answer lost after the batch was applied: re-read, not resent" P after.example
grep_file 'applied 4 changes' "$T/out" "the applied batch is recognised"
check "one batch sent, then one re-read" \
	test "$(calls 'POST /hostedzone/:id/rrset')/$(calls 'GET /hostedzone/:id/rrset')" = 1/2
expect_exit 0 "after.example in sync" P --dry-run --detailed-exitcode after.example
fault '{"drop": {"count": 1, "when": "before", "method": "POST"}}'
reset
expect_exit 0 "connection lost before the batch took effect: re-read, then sent again" P before.example
grep_file 'applied 4 changes' "$T/out" "applied by the second send"
check "two sends, the second after a re-read" \
	test "$(calls 'POST /hostedzone/:id/rrset')/$(calls 'GET /hostedzone/:id/rrset')" = 2/2

nofaults
# --- malformed answers ----------------------------------------------------------
fault '{"malformed_xml": 1}'
expect_exit 1 "truncated XML" P --dry-run example.com
grep_file "route53: zone example.com: finding the hosted zone (ListHostedZonesByName): the answer is not Route 53's XML (HTTP 200)" \
	"$T/out" "malformed XML explained"
fault '{"malformed": {"count": 1, "path_contains": "/rrset"}}'
expect_exit 1 "an HTML page instead of XML" P --dry-run example.com
grep_file 'listing record sets from example.com.: unexpected answer <html>' "$T/out" "foreign answer explained"

nofaults
# --- waiting for INSYNC -----------------------------------------------------------
reset
expect_exit 0 "wait = true: GetChange until INSYNC" P -v wait.example
grep_file 'applied 4 changes' "$T/out" "applied"
grep_file 'INSYNC' "$T/err" "progress shows INSYNC"
check "polled twice (PENDING, then INSYNC)" test "$(calls 'GET /change/:id')" = 2
reset
expect_exit 0 "--wait 60s on the command line waits for INSYNC too" P --wait 60s cliwait.example
check "--wait polled GetChange" test "$(calls 'GET /change/:id')" = 2

# --- pagination at MaxItems 2 ---------------------------------------------------------
reset "$PORT2"
expect_exit 2 "a 49-set zone listed 2 sets a page" P --dry-run --detailed-exitcode big.example
check "4 listing calls, one per managed name (not 25 pages of 2)" test "$(calls 'GET /hostedzone/:id/rrset' "$PORT2")" = 4
expect_exit 0 "apply to the paged zone" P big.example
expect_exit 0 "paged zone in sync" P --dry-run --detailed-exitcode big.example
check "SPF of the paged zone merged" test "$(values big.example. TXT '' "$PORT2")" = \
	'"v=spf1 include:mailgun.org -all"'
expect_exit 1 "three public zones of one name, found across look-up pages" P --dry-run three.example
grep_file '3 public hosted zones have this name: ZTHREEAAAAAAAAA1 (public), ZTHREEBBBBBBBBB2 (public), ZTHREECCCCCCCCC3 (public)' \
	"$T/out" "all candidates listed"

# --- settings the provider refuses (exit 78) ---------------------------------------------
sed 's|endpoint = "https://127.0.0.1:'"$PORT"'"; ca_file|endpoint = "http://127.0.0.1:'"$PORT"'"; ca_file|' \
	"$T/p.cfg" >"$T/bad.cfg"
expect_exit 78 "a plain-http endpoint" "$PROVISION" -c "$T/bad.cfg" --dry-run example.com
grep_file "bad.cfg:[0-9]*: provider 'aws': endpoint must be an https:// URL" "$T/err" "https required"
sed 's|wait = true;|wait = "soon";|' "$T/p.cfg" >"$T/bad.cfg"
expect_exit 78 "wait must be a boolean" "$PROVISION" -c "$T/bad.cfg" --dry-run wait.example
grep_file "provider 'awswait': wait must be true or false" "$T/err" "wait checked"

nogrep_file "$SECRET" "$T/fake-route53.log" "the fake's log holds no secret"
finish
