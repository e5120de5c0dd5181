#!/bin/sh
# The AWS credential chain of the Route 53 provider, against the Route 53
# fake (which verifies every SigV4 signature and accepts the temporary key
# pairs the identity fakes issue), an STS fake (AssumeRoleWithWebIdentity,
# HTTPS with the test CA) and an IMDSv2 fake (plain HTTP), all on loopback:
# each source (environment, profile static keys in the credentials and the
# config file, credential_process, web identity from a profile and from the
# environment, the instance metadata service), their order, the failures
# of each explained in one line, credentials renewed before each request
# when they expire within five minutes (and once more on ExpiredToken),
# --verbose naming the source, and no secret anywhere in the output or the
# fakes' logs.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"
. "$TOP/tests/lib/fakes.sh"

AKID=AKIAIOSFODNN7EXAMPLE
SECRET="chain-test-secret/$$/K7MDENG+bPxRfiCYEXAMPLEKEY"
PROC_AKID=AKIAPROCESS000000001
PROC_SECRET="process-secret-$$-wJalrXUtnFEMI"
ROLE=arn:aws:iam::123456789012:role/provision-ci
JWT="eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmV4YW1wbGUifQ.sig-$$-web-identity"
OLD_JWT="eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9.sig-$$-expired"
ISSUED=$T/issued.jsonl
: >"$ISSUED"

fake_start route53 route53.py --state "$TOP/tests/data/route53/state.json" \
	--credentials "$AKID:$SECRET" --credentials "$PROC_AKID:$PROC_SECRET" \
	--issued-credentials "$ISSUED" || { not_ok "route53 fake starts"; finish; exit 1; }
R53_PORT=$FAKE_PORT
fake_start sts aws_identity.py --service sts --issued "$ISSUED" --role "$ROLE" \
	--web-token "$JWT" --expired-token "$OLD_JWT" || { not_ok "STS fake starts"; finish; exit 1; }
STS_PORT=$FAKE_PORT
FAKE_PLAIN=1
fake_start imds aws_identity.py --service imds --issued "$ISSUED" \
	--role-name provision-instance-role || { not_ok "IMDS fake starts"; finish; exit 1; }
unset FAKE_PLAIN
IMDS_PORT=$FAKE_PORT
CA=$T/ca/ca.pem
sed -e "s|@URL@|https://127.0.0.1:$R53_PORT|" -e "s|@URL2@|https://127.0.0.1:$R53_PORT|" \
	-e "s|@CA@|$CA|" "$TOP/tests/data/route53/provision.cfg.in" >"$T/p.cfg"
cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }

# Nothing of the machine's own AWS set-up is read; each case adds its own.
for v in $(env | sed -n 's/^\(AWS_[A-Z0-9_]*\)=.*/\1/p'); do unset "$v"; done
export AWS_SHARED_CREDENTIALS_FILE="$T/credentials" AWS_CONFIG_FILE="$T/config"
export AWS_ENDPOINT_URL_STS="https://127.0.0.1:$STS_PORT"
export AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$IMDS_PORT"
export AWS_EC2_METADATA_DISABLED=true
: >"$T/credentials"
: >"$T/config"
printf '%s\n' "$JWT" >"$T/jwt"
printf '%s\n' "$OLD_JWT" >"$T/old-jwt"

: >"$T/all-output"
# R EXIT "description" PATTERN [VAR=value...]: a -v dry run of example.com
# (two Route 53 requests) with these variables must exit EXIT and say
# PATTERN (a grep pattern, "" for none) on stdout or stderr; its output
# is kept for the secret checks at the end.
R() {
	_want=$1; _d=$2; _pat=$3; shift 3
	env "$@" "$PROVISION" -c "$T/p.cfg" --resolver "$KNOT_ADDR" -v --dry-run \
		--detailed-exitcode example.com >"$T/out" 2>"$T/err"
	_got=$?
	cat "$T/out" "$T/err" >>"$T/all-output"
	if [ "$_got" -eq "$_want" ] && { [ -z "$_pat" ] || cat "$T/out" "$T/err" | grep -q -- "$_pat"; }; then
		ok "$_d (exit $_got)"
	else
		not_ok "$_d: exit $_got, want $_want${_pat:+, and '$_pat'}"
		grep -v '^[<>*]' "$T/err" | head -5 | sed 's/^/#   err: /'
	fi
}
calls() { # calls PORT KEY: the fake's counter
	fake_ctl "$1" GET /__fake/calls |
		"$PYTHON" -c "import json,sys; print(json.load(sys.stdin).get(sys.argv[1], 0))" "$2"
}
reset() { for p in "$R53_PORT" "$STS_PORT" "$IMDS_PORT"; do
	fake_ctl "$p" POST /__fake/reset-calls >/dev/null; done; }
state() { fake_ctl "$1" POST /__fake/state "$2" >/dev/null; }
STS_CALL='POST /'
# both A OP B PATTERN: test A OP B, and PATTERN in $T/out or $T/err (a
# count alone would hold for a binary that never asks the source)
both() { test "$1" "$2" "$3" && cat "$T/out" "$T/err" | grep -q -- "$4"; }
IMDS_CALL='GET /latest/meta-data/iam/security-credentials/:role'

# --- 1. the environment's static keys ------------------------------------------
reset
R 2 "environment keys: --verbose names the environment as the source" \
	"provision: route53: provider 'aws': credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY$" AWS_ACCESS_KEY_ID="$AKID" AWS_SECRET_ACCESS_KEY="$SECRET"

# --- 2. a profile: static keys, credential_process, web identity ----------------------
cat >"$T/config" <<EOF
[default]
region = us-east-1

[profile cfgkeys]
aws_access_key_id = $AKID
aws_secret_access_key = $SECRET

[profile proc]
credential_process = $T/cred-helper --mode 'ok value'

[profile procsh]
credential_process = $T/cred-helper --mode ok | cat

[profile procfail]
credential_process = $T/cred-helper --mode fail

[profile procjunk]
credential_process = $T/cred-helper --mode junk

[profile procv2]
credential_process = $T/cred-helper --mode v2

[profile procexp]
credential_process = $T/cred-helper --mode soon

[profile webp]
web_identity_token_file = $T/jwt
role_arn = $ROLE
role_session_name = profile-session

[profile sso]
sso_session = corp
EOF
# the helper: its arguments as the AWS CLI would give them; each run counted
cat >"$T/cred-helper" <<EOF
#!/bin/sh
echo run >>"$T/helper-runs"
[ "\$1" = --mode ] || { echo "cred-helper: bad arguments: \$*" >&2; exit 9; }
case \$2 in
'ok value'|ok) printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", "Expiration": "%s"}\n' \\
	"$PROC_AKID" "$PROC_SECRET" "\$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)" ;;
soon) printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", "Expiration": "%s"}\n' \\
	"$PROC_AKID" "$PROC_SECRET" "\$(date -u -d '+60 seconds' +%Y-%m-%dT%H:%M:%SZ)" ;;
fail) echo "{\"SecretAccessKey\": \"$PROC_SECRET\"}"; exit 3 ;;
junk) printf '{"Version": 1, "SecretAccessKey": "%s", "AccessKeyId": ' "$PROC_SECRET" ;;
v2) printf '{"Version": 2, "AccessKeyId": "%s", "SecretAccessKey": "%s"}\n' "$PROC_AKID" "$PROC_SECRET" ;;
*) echo "cred-helper: mode '\$2'?" >&2; exit 8 ;;
esac
EOF
chmod +x "$T/cred-helper"

R 2 "static keys of a [profile NAME] in the config file: named with --verbose" \
	"credentials of profile 'cfgkeys' in $T/config" AWS_PROFILE=cfgkeys
R 2 "credential_process (split into words, no shell), named with --verbose" \
	"credentials from credential_process of profile 'proc' in $T/config" AWS_PROFILE=proc
R 2 "credential_process with a pipe (run by /bin/sh -c)" \
	"credentials from credential_process of profile 'procsh'" AWS_PROFILE=procsh
R 1 "credential_process exits 3: the failure is one line naming the profile" \
	"route53: provider 'aws': credential_process of profile 'procfail' in $T/config exited with status 3$" AWS_PROFILE=procfail
R 1 "credential_process prints broken JSON: explained" \
	"credential_process of profile 'procjunk' in $T/config gave no JSON object" AWS_PROFILE=procjunk
R 1 "credential_process prints Version 2: the version is checked" \
	"gave no \"Version\": 1" AWS_PROFILE=procv2
R 2 "web_identity_token_file and role_arn in a profile, named with --verbose" \
	"credentials from web identity (role $ROLE) via STS, profile 'webp' in $T/config" AWS_PROFILE=webp
grep_file "to $ROLE (session profile-session)" "$T/fake-sts.log" "the profile's role_session_name is sent"
R 1 "an SSO profile is refused with a way out: SSO explained" \
	"profile 'sso' in $T/config has no aws_access_key_id and aws_secret_access_key, credential_process or web_identity_token_file with role_arn (SSO is not read" AWS_PROFILE=sso
R 1 "a named profile in neither file: both files named" \
	"profile 'nosuch' is not in $T/credentials nor in $T/config" AWS_PROFILE=nosuch

# --- 3. web identity from the environment ---------------------------------------------
WEB="AWS_WEB_IDENTITY_TOKEN_FILE=$T/jwt AWS_ROLE_ARN=$ROLE"
reset
R 2 "web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN through STS: --verbose: credentials from web identity (role ...) via STS" \
	"provision: route53: provider 'aws': credentials from web identity (role $ROLE) via STS$" $WEB
check "one AssumeRoleWithWebIdentity, then two signed Route 53 calls with its keys" \
	test "$(calls "$STS_PORT" "$STS_CALL")/$(calls "$R53_PORT" total)" = 1/2
grep_file "session provision-[0-9]*)" "$T/fake-sts.log" "a session name is made up when none is given"
R 2 "AWS_ROLE_SESSION_NAME is sent" "via STS$" $WEB AWS_ROLE_SESSION_NAME=ci-run-42
grep_file "(session ci-run-42)" "$T/fake-sts.log" "... as RoleSessionName"
: >"$T/empty-jwt"
R 1 "an empty token file: empty token file explained" \
	"the web identity token file $T/empty-jwt is empty" AWS_WEB_IDENTITY_TOKEN_FILE="$T/empty-jwt" AWS_ROLE_ARN="$ROLE"
printf 'not-the-token\n' >"$T/bad-jwt"
R 1 "STS refuses a token it does not know: InvalidIdentityToken in one line" \
	"web identity (role $ROLE): STS AssumeRoleWithWebIdentity at https://127.0.0.1:$STS_PORT: HTTP 400 InvalidIdentityToken: " AWS_WEB_IDENTITY_TOKEN_FILE="$T/bad-jwt" AWS_ROLE_ARN="$ROLE"
grep_file "check the identity provider in IAM" "$T/out" "... with what to check"
R 1 "an expired web identity token: ExpiredTokenException explained" \
	"HTTP 400 ExpiredTokenException: Token expired" AWS_WEB_IDENTITY_TOKEN_FILE="$T/old-jwt" AWS_ROLE_ARN="$ROLE"
R 1 "a role the token may not assume: AccessDenied explained" \
	"HTTP 403 AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity (the role's trust policy" $WEB AWS_ROLE_ARN=arn:aws:iam::123456789012:role/other
R 1 "AWS_ROLE_ARN without a token file: half-set web identity explained" \
	"AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not" AWS_ROLE_ARN="$ROLE"
R 1 "a token file that is not there: missing token file explained" \
	"cannot read the web identity token file $T/no-jwt: No such file" AWS_WEB_IDENTITY_TOKEN_FILE="$T/no-jwt" AWS_ROLE_ARN="$ROLE"

# --- 4. the instance metadata service (IMDSv2) ------------------------------------------
reset
R 2 "instance metadata service: --verbose names IMDS and the role" \
	"credentials from the instance metadata service (role provision-instance-role) at http://127.0.0.1:$IMDS_PORT$" AWS_EC2_METADATA_DISABLED=false
check "a session token, the role, its credentials: 3 IMDS calls" \
	test "$(calls "$IMDS_PORT" 'PUT /latest/api/token')/$(calls "$IMDS_PORT" 'GET /latest/meta-data/iam/security-credentials/')/$(calls "$IMDS_PORT" "$IMDS_CALL")" = 1/1/1
# the role that provision read with its session token is refused without
check "... which the fake refuses without the session token (401)" both \
	"$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$IMDS_PORT/latest/meta-data/iam/security-credentials/")" \
	= 401 "(role provision-instance-role) at http"
state "$IMDS_PORT" '{"refuse_token": true}'
R 1 "IMDS refuses the token request: the refusal is in the list of what was tried" \
	"the instance metadata service at http://127.0.0.1:$IMDS_PORT: PUT /latest/api/token: HTTP 403" AWS_EC2_METADATA_DISABLED=false
state "$IMDS_PORT" '{"refuse_token": false}'
reset
R 1 "AWS_EC2_METADATA_DISABLED=true: IMDS is not asked: no credentials: every source tried is listed" \
	"tried the environment, profile 'default' in $T/config (no keys), web identity (AWS_WEB_IDENTITY_TOKEN_FILE not set), the instance metadata service (AWS_EC2_METADATA_DISABLED)" AWS_EC2_METADATA_DISABLED=true
check "... and IMDS got no call" both "$(calls "$IMDS_PORT" total)" = 0 "(AWS_EC2_METADATA_DISABLED)"
CLOSED=$(free_port)
start=$(date +%s)
R 1 "no instance metadata service: fails fast" "instance metadata service at http://127.0.0.1:$CLOSED: " \
	AWS_EC2_METADATA_DISABLED=false \
	AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:$CLOSED"
check "... within 10 s, saying what was tried" both $(($(date +%s) - start)) -lt 10 \
	"the instance metadata service at http://127.0.0.1:$CLOSED: "

# --- 5. the order: environment, profile, web identity, IMDS ---------------------------------
cat >"$T/credentials" <<EOF
[default]
aws_access_key_id = $PROC_AKID
aws_secret_access_key = $PROC_SECRET
EOF
reset
R 2 "environment keys beat the default profile: the environment is used" \
	"credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY$" AWS_ACCESS_KEY_ID="$AKID" AWS_SECRET_ACCESS_KEY="$SECRET" \
	$WEB AWS_EC2_METADATA_DISABLED=false
R 2 "the default profile beats web identity and IMDS: the profile is used" \
	"credentials of profile 'default' in $T/credentials" $WEB AWS_EC2_METADATA_DISABLED=false
check "... STS and IMDS got no call" both "$(calls "$STS_PORT" total)/$(calls "$IMDS_PORT" total)" = 0/0 \
	"credentials of profile 'default'"
: >"$T/credentials"
R 2 "web identity beats IMDS: web identity is used" \
	"credentials from web identity (role $ROLE) via STS$" $WEB AWS_EC2_METADATA_DISABLED=false
check "... IMDS got no call" both "$(calls "$IMDS_PORT" total)" = 0 "via STS$"

# --- 6. credentials that expire are renewed before each request -----------------------------
state "$STS_PORT" '{"lifetime": 60}'
reset
R 2 "STS credentials with 60 s left" "" $WEB
check "renewed before each request: 2 AssumeRoleWithWebIdentity for 2 Route 53 calls" \
	test "$(calls "$STS_PORT" "$STS_CALL")/$(calls "$R53_PORT" total)" = 2/2
grep_file "via STS refreshed (the old ones expire at 20" "$T/err" "--verbose says they were renewed"
state "$STS_PORT" '{"lifetime": -5}'
R 1 "STS issues credentials that have expired already: refused before use, explained" \
	"the credentials from web identity (role $ROLE) via STS expired at 20[0-9-]*T[0-9:]*Z already" $WEB
check "... never sent to Route 53" test "$(calls "$R53_PORT" total)" = 2
state "$STS_PORT" '{"lifetime": 3600, "revoke_next": 1}'
reset
R 2 "Route 53 says ExpiredToken before the Expiration: fetched again once" "" $WEB
check "2 AssumeRoleWithWebIdentity, 3 Route 53 calls (one refused)" \
	test "$(calls "$STS_PORT" "$STS_CALL")/$(calls "$R53_PORT" total)" = 2/3
grep_file "ExpiredToken, fetching the credentials again" "$T/err" "... shown with --verbose"
state "$IMDS_PORT" '{"lifetime": 60}'
reset
R 2 "IMDS credentials with 60 s left" "" AWS_EC2_METADATA_DISABLED=false
check "renewed before each request: 2 IMDS credential reads for 2 Route 53 calls" \
	test "$(calls "$IMDS_PORT" "$IMDS_CALL")/$(calls "$R53_PORT" total)" = 2/2
rm -f "$T/helper-runs"
R 2 "credential_process credentials with 60 s left" "" AWS_PROFILE=procexp
check "the command ran before each of the 2 requests" test "$(wc -l <"$T/helper-runs")" = 2
rm -f "$T/helper-runs"
R 2 "credential_process credentials with an hour left" "" AWS_PROFILE=proc
check "the command ran once" test "$(wc -l <"$T/helper-runs")" = 1

# --- 7. no secret anywhere ---------------------------------------------------------------------
"$PYTHON" -c '
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    print(d["secret"]); print(d["token"])' "$ISSUED" >"$T/secrets"
printf '%s\n' "$SECRET" "$PROC_SECRET" "$JWT" "$OLD_JWT" >>"$T/secrets"
check "the identity fakes issued credentials ($(wc -l <"$ISSUED") key pairs)" test -s "$ISSUED"
cat "$T"/fake-*.log >"$T/fake-logs"
# no_leak FILE: credentials were issued, and none of the secrets is in FILE
no_leak() {
	grep -F -f "$T/secrets" "$1" | head -3 | sed 's/^/#   leak: /'
	test -s "$ISSUED" && ! grep -qF -f "$T/secrets" "$1"
}
check "no secret key, session token or web identity token in stdout/stderr (--verbose)" \
	no_leak "$T/all-output"
check "none in the fakes' logs" no_leak "$T/fake-logs"
finish
