#!/bin/sh
# The GoDaddy provider over real TLS against the stateful fake of the Domains
# API v1: dry run -> apply -> in sync -> apply with no write; the SPF, both
# verification TXT values and the parked records at the apex survive; the
# 401-character DKIM value round-trips; a CNAME clash refused; bad
# credentials, an account without API access, a domain not in the account;
# a TTL under 600; a validation failure (422 with fields); 409, 429 and 500
# answers; a malformed answer; connections lost during apply (the report
# says exactly what is in place, a re-run completes it); 30 domains under
# the fake's per-key rate limit, timed against the limit's floor, and two
# runs sharing one key. API calls are counted by the fake.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"
. "$TOP/tests/lib/fakes.sh"

KEY="gdkey$$Zq7"
SECRET="gdsecret$$Wv3"
DKEY="deniedkey$$"
DSECRET="deniedsecret$$"
export GD_TEST_KEY="$KEY" GD_TEST_SECRET="$SECRET"
export GD_DENIED_KEY="$DKEY" GD_DENIED_SECRET="$DSECRET"
unset PROVISION_GODADDY_RATE_LIMIT
make_test_ca || { not_ok "test CA"; finish; exit 1; }
fake_start godaddy godaddy.py --state "$TOP/tests/data/godaddy/state.json" \
	--credentials "$KEY:$SECRET" --credentials "$DKEY:$DSECRET" --no-api-access "$DKEY" ||
	{ not_ok "fake starts"; finish; exit 1; }
GD_PORT=$FAKE_PORT
URL=https://127.0.0.1:$GD_PORT
CA=$T/ca/ca.pem
# a 4096-bit DKIM key: its record (~740 characters) is longer than GoDaddy's 512
DKIM4096=$(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 2>/dev/null |
	openssl pkey -pubout -outform DER 2>/dev/null | base64 -w0)
sed -e "s|@URL@|$URL|" -e "s|@CA@|$CA|" -e "s|@DKIM4096@|$DKIM4096|" \
	"$TOP/tests/data/godaddy/provision.cfg.in" >"$T/p.cfg"
cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }
P() { "$PROVISION" -c "$T/p.cfg" --resolver "$KNOT_ADDR" "$@"; }
ctl() { fake_ctl "$GD_PORT" "$@"; }
calls() { ctl GET /__fake/calls | python3 -c "import json,sys; c=json.load(sys.stdin); print(c.get(sys.argv[1], 0))" "$1"; }
writes() { ctl GET /__fake/calls | python3 -c "import json,sys; c=json.load(sys.stdin); print(sum(v for k,v in c.items() if k.split()[0] in ('PUT','PATCH','DELETE','POST')))"; }
reset() { ctl POST /__fake/reset-calls >/dev/null; }
fault() { ctl POST /__fake/faults "$1" >/dev/null || echo "# fault refused: $1"; }
# values of one type at one relative name in the fake, one per line
state() {
	ctl GET /__fake/state | python3 -c '
import json, sys
dom, typ, name = sys.argv[1:4]
for d in json.load(sys.stdin)["domains"]:
    if d["domain"] == dom:
        for r in d["records"]:
            if r["type"] == typ and r["name"] == name:
                print(r["data"])' "$@"
}
# the domain's JSON report from $T/out (--format json) -> messages
report() {
	python3 - "$T/out" "$1" <<'PY'
import json, sys
for d in json.load(open(sys.argv[1]))["domains"]:
    if d["domain"] == sys.argv[2]:
        print(d["status"])
        for g in d["diagnostics"]:
            print(g["message"])
PY
}

# ---- the fake itself: GoDaddy's semantics and error shapes ----
gd() { # METHOD PATH [BODY] -> "STATUS BODY" on one line
	if [ $# -ge 3 ]; then
		curl -s --cacert "$CA" -X "$1" -H "Authorization: sso-key $KEY:$SECRET" \
			-H 'Content-Type: application/json' --data-binary "$3" \
			-w ' %{http_code}' "$URL$2"
	else
		curl -s --cacert "$CA" -X "$1" -H "Authorization: sso-key $KEY:$SECRET" \
			-w ' %{http_code}' "$URL$2"
	fi
}
out=$(gd PUT /v1/domains/other.example/records/TXT/probe '[{"data":"a","ttl":600},{"data":"b","ttl":600}]')
check "fake: PUT type/name answers 200, empty body" test "$out" = " 200"
gd PUT /v1/domains/other.example/records/TXT/probe '[{"data":"c","ttl":600}]' >/dev/null
check "fake: PUT replaces the whole set" test "$(state other.example TXT probe)" = "c"
gd PATCH /v1/domains/other.example/records '[{"type":"TXT","name":"probe","data":"d","ttl":600}]' >/dev/null
check "fake: PATCH appends" test "$(state other.example TXT probe | tr '\n' ' ')" = "c d "
out=$(gd PATCH /v1/domains/other.example/records '[{"type":"TXT","name":"probe","data":"d","ttl":600}]')
case $out in *'"DUPLICATE_RECORD"'*' 422') ok "fake: an identical record refused (422)";;
	*) not_ok "fake: identical record: $out";; esac
out=$(gd PUT /v1/domains/other.example/records/TXT/probe '[{"data":"e","ttl":300}]')
case $out in *'"INVALID_BODY"'*'"UNKNOWN_RESTRICTION"'*'minimum value of 600'*'"records[0].ttl"'*' 422')
	ok "fake: TTL under 600 refused with INVALID_BODY/UNKNOWN_RESTRICTION";;
	*) not_ok "fake: TTL 300: $out";; esac
out=$(gd PUT /v1/domains/other.example/records/TXT/probe '{"data":"e","ttl":600}')
case $out in *'"UNEXPECTED_TYPE"'*'is not a array'*' 422') ok "fake: body must be an array";;
	*) not_ok "fake: object body: $out";; esac
out=$(gd PATCH /v1/domains/other.example/records '[{"type":"CNAME","name":"probe","data":"x.example.net","ttl":600}]')
case $out in *'"INVALID_RECORDS"'*'CNAME'*' 422') ok "fake: CNAME beside other data refused";;
	*) not_ok "fake: CNAME clash: $out";; esac
out=$(gd PUT /v1/domains/other.example/records/TXT/probe '[{"data":"'"$(printf '%0513d' 0)"'","ttl":600}]')
case $out in *'maximum length of 512'*' 422') ok "fake: TXT longer than 512 refused";;
	*) not_ok "fake: long TXT: $out";; esac
out=$(gd DELETE /v1/domains/other.example/records/TXT/probe)
check "fake: DELETE type/name answers 204" test "$out" = " 204"
check "fake: the set is gone" test "$(gd GET /v1/domains/other.example/records/TXT/probe)" = "[] 200"
out=$(curl -s --cacert "$CA" -H "Authorization: sso-key $KEY:nope" -w ' %{http_code}' "$URL/v1/domains/example.com/records")
case $out in *'"UNABLE_TO_AUTHENTICATE"'*' 401') ok "fake: wrong secret is 401";;
	*) not_ok "fake: wrong secret: $out";; esac
out=$(curl -s --cacert "$CA" -H "Authorization: sso-key $DKEY:$DSECRET" -w ' %{http_code}' "$URL/v1/domains/example.com/records")
case $out in *'"ACCESS_DENIED"'*'Authenticated user is not allowed access'*' 403') ok "fake: account without API access is 403";;
	*) not_ok "fake: no access: $out";; esac

# ---- dry run, apply, in sync, apply again ----
reset
expect_exit 2 "dry run: changes pending" P --dry-run --detailed-exitcode example.com
grep_file '~ example.com. TXT 3600 (spf)' "$T/out" "SPF update planned"
check "dry run: 1 call (the zone's records)" test "$(calls total)" = 1
reset
expect_exit 0 "apply example.com" P example.com
grep_file 'applied 4 changes' "$T/out" "four changes applied"
check "apply: 5 calls (listing, the listing again right before the write, one PATCH, the apex TXT set read and PUT)" test "$(calls total)" = 5
check "apply: the set read right before its PUT" test "$(calls 'GET /v1/domains/:domain/records/:type/:name')" = 1
check "apply: the three new records in one PATCH" test "$(calls 'PATCH /v1/domains/:domain/records')" = 1
check "apply: the apex TXT set rewritten by one PUT" test "$(calls 'PUT /v1/domains/:domain/records/:type/:name')" = 1
check "apply: nothing deleted" test "$(calls 'DELETE /v1/domains/:domain/records/:type/:name')" = 0
state example.com TXT @ >"$T/apex"
grep_file '^v=spf1 ip4:192.0.2.0/24 include:mailgun.org -all$' "$T/apex" "SPF merged"
grep_file '^google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ$' "$T/apex" "first verification value kept"
grep_file '^MS=ms12345678$' "$T/apex" "second verification value kept"
check "three TXT values at the apex" test "$(wc -l <"$T/apex")" = 3
check "the parked A record untouched" test "$(state example.com A @)" = "Parked"
check "www CNAME to @ untouched" test "$(state example.com CNAME www)" = "@"
check "MX untouched" test "$(state example.com MX @)" = "mail.example.com"
check "names sent relative (DKIM at pic._domainkey)" test -n "$(state example.com TXT pic._domainkey)"
check "DKIM stored whole (401 characters)" test "$(state example.com TXT pic._domainkey | awk '{ print length($0) }')" = 401
check "tracking CNAME stored without the dot" test "$(state example.com CNAME email.mg3)" = "mailgun.org"
check "TTL 3600 sent" test "$(ctl GET /__fake/state | python3 -c '
import json,sys
print(sorted({r["ttl"] for d in json.load(sys.stdin)["domains"] if d["domain"]=="example.com" for r in d["records"] if r["type"]=="TXT"}))')" = "[3600]"
reset
expect_exit 0 "dry run after apply: in sync" P --dry-run --detailed-exitcode example.com
grep_file 'in sync' "$T/out" "reported in sync"
expect_exit 0 "apply again" P example.com
check "second apply: no write call (1 read each)" test "$(calls total)" = 2 -a "$(writes)" = 0

reset
expect_exit 0 "a zone with nothing yet" P fresh.example
check "fresh zone: 3 calls (listing, again right before the write, one PATCH of 4 records)" test "$(calls total)" = 3
grep_file 'applied 4 changes' "$T/out" "four records created"

# SPF flattening: the chained records go in (PATCH) before the apex record
# that includes them is rewritten; leftover chain records are removed last,
# a set that keeps another value by a PUT, an emptied set by a DELETE
reset
expect_exit 0 "flattening with chained records" P flat.test
grep_file 'applied 8 changes' "$T/out" "eight changes applied"
ctl GET /__fake/requests | python3 -c '
import json, sys
print(" ".join("%s %s" % (e["method"], e["path"].split("/records")[1] or "/") for e in json.load(sys.stdin)))' >"$T/order"
sed 's/^/# calls: /' "$T/order"
grep_file '^GET / GET / PATCH / GET /TXT/@ PUT /TXT/@ GET /TXT/_spf3 PUT /TXT/_spf3 GET /TXT/_spf4 DELETE /TXT/_spf4$' "$T/order" "additions, then the apex, then removals"
check "the other value at _spf3 kept" test "$(state flat.test TXT _spf3)" = "other-text"
check "_spf4 deleted" test -z "$(state flat.test TXT _spf4)"
expect_exit 0 "flat.test in sync" P --dry-run --detailed-exitcode flat.test

# ---- refusals and errors ----
reset
expect_exit 3 "CNAME clash refused" P clash.example
grep_file 'email.mg3.clash.example. already holds A data' "$T/out" "clash named"
check "no write for a refused plan" test "$(writes)" = 0

GD_TEST_SECRET="wrong$SECRET" expect_exit 1 "bad credentials" P -v --dry-run other.example
grep_file 'godaddy: other.example: listing records: authentication failed: .*(HTTP 401, UNABLE_TO_AUTHENTICATE' "$T/out" "refusal explained with GoDaddy's code"
grep_file 'refused the key in GD_TEST_KEY with the secret in GD_TEST_SECRET' "$T/out" "names the variables to check"
cat "$T/out" "$T/err" >"$T/all"
nogrep_file "$KEY" "$T/all" "key neither in the output nor in the -v trace"
nogrep_file "$SECRET" "$T/all" "secret neither in the output nor in the -v trace"
grep_file 'Authorization: \[redacted\]' "$T/err" "trace shows the header redacted"
expect_exit 0 "a -v apply" P -v --dry-run example.com
cat "$T/out" "$T/err" >"$T/all"
nogrep_file "$SECRET" "$T/all" "secret not in a successful -v trace"
nogrep_file "$KEY" "$T/all" "key not in a successful -v trace"
env -u GD_TEST_SECRET "$PROVISION" -c "$T/p.cfg" --resolver "$KNOT_ADDR" --dry-run other.example >"$T/out" 2>&1
grep_file 'no credentials: set GD_TEST_KEY and GD_TEST_SECRET' "$T/out" "missing secret explained"

expect_exit 1 "account without API access" P --dry-run denied.example
grep_file 'HTTP 403, ACCESS_DENIED: Authenticated user is not allowed access' "$T/out" "GoDaddy's refusal shown"
grep_file "the account is not allowed to use GoDaddy's production API" "$T/out" "said plainly"
grep_file 'environment = "ote"' "$T/out" "points to the OTE setting"
expect_exit 1 "the same refusal on OTE" P --dry-run ote.example
nogrep_file 'production API' "$T/out" "no production advice on OTE"

expect_exit 1 "domain not in the account" P --dry-run missing.example
grep_file 'HTTP 404, UNKNOWN_DOMAIN' "$T/out" "GoDaddy's code shown"
grep_file 'not in this GoDaddy account' "$T/out" "explained"

reset
expect_exit 78 "TTL under 600: a configuration error" P ttl.example
grep_file "p.cfg:[0-9]*: domain 'ttl.example': ttl 300 is below the minimum of 600 that godaddy accepts (provider 'gd')" "$T/err" "says so, with file and line"
check "TTL under 600: no call at all" test "$(calls total)" = 0
expect_exit 78 "TTL under 600: the dry run says so too" P --dry-run ttl.example

reset
expect_exit 1 "a record GoDaddy refuses (422)" P --format json long.example
report long.example. >"$T/rep"
grep_file 'HTTP 422, INVALID_BODY' "$T/rep" "GoDaddy's code shown"
grep_file 'records\[1\]\.data (TXT pic._domainkey): must have a maximum length of 512 (UNKNOWN_RESTRICTION)' "$T/rep" "the field, its message and code shown"
grep_file '0 of 4 changes were applied' "$T/rep" "nothing applied, said so"

sed 's|gd = { type = "godaddy";|gd = { type = "godaddy"; environment = "staging";|' "$T/p.cfg" >"$T/bad.cfg"
expect_exit 78 "environment must be production or ote" "$PROVISION" -c "$T/bad.cfg" --dry-run example.com
grep_file "bad.cfg:[0-9]*: provider 'gd': environment must be \"production\" or \"ote\"" "$T/err" "names file, line, provider and the choices"
sed 's|endpoint = "https://|endpoint = "http://|' "$T/p.cfg" >"$T/bad.cfg"
expect_exit 78 "a plain-http endpoint" "$PROVISION" -c "$T/bad.cfg" --dry-run example.com
grep_file "bad.cfg:[0-9]*: provider 'gd': endpoint must be an https:// URL" "$T/err" "https required"
PROVISION_GODADDY_RATE_LIMIT=fast expect_exit 78 "a malformed rate limit" P --dry-run example.com

# ---- answers to wait out, lost answers, malformed answers ----
reset
fault '{"rate_limit": {"count": 2, "retry_after": 1}}'
expect_exit 0 "429s (Retry-After) waited out" P --dry-run example.com
check "two 429s then the answer" test "$(calls total)" = 3
reset
fault '{"status_500": {"count": 1, "status": 409, "method": "PUT"}}'
expect_exit 0 "409 right after a write: waited out and resent" P busy.example
grep_file 'applied 4 changes' "$T/out" "applied after the 409"
check "the PUT sent twice" test "$(calls 'PUT /v1/domains/:domain/records/:type/:name')" = 2
reset
fault '{"status_500": {"count": 1, "method": "PATCH"}}'
expect_exit 0 "a 500 on the PATCH: read back, then sent again" P other.example
grep_file 'applied 4 changes' "$T/out" "applied after the 500"
check "PATCH twice, with a read in between" test "$(calls 'PATCH /v1/domains/:domain/records')" = 2 -a "$(calls 'GET /v1/domains/:domain/records')" = 3
reset
fault '{"malformed": 1}'
expect_exit 1 "malformed answer" P --dry-run example.com
grep_file "the answer is not GoDaddy's JSON (HTTP 200)" "$T/out" "malformed answer explained"

# the connection drops on every PUT: the PATCH went in, the PUT did not
reset
fault '{"drop": {"count": 3, "when": "before", "method": "PUT"}}'
expect_exit 1 "connection lost on every PUT" P --format json drop.example
report drop.example. >"$T/rep"
grep_file '^error$' "$T/rep" "status error"
grep_file '3 of 4 changes were applied' "$T/rep" "count of what was applied"
grep_file 'read back: in place: dkim (TXT pic._domainkey), dmarc (TXT _dmarc), tracking (CNAME email.mg3); not applied: spf (TXT @)' "$T/rep" "exactly what is in place and what is not"
check "PUT tried 3 times, each after reading back" test "$(calls 'PUT /v1/domains/:domain/records/:type/:name')" = 3
check "the old SPF still there" test "$(state drop.example TXT @ | grep -c '^v=spf1 ip4:198.51.100.0/24 -all$')" = 1
expect_exit 0 "the re-run completes it" P drop.example
grep_file 'applied 1 change$' "$T/out" "only the SPF was left"
state drop.example TXT @ >"$T/apex"
grep_file '^v=spf1 ip4:198.51.100.0/24 include:mailgun.org -all$' "$T/apex" "SPF merged on the re-run"
grep_file '^apple-domain-verification=Xy12Ab34Cd56$' "$T/apex" "verification value kept through it all"
expect_exit 0 "drop.example in sync" P --dry-run --detailed-exitcode drop.example

# the PATCH is applied but its answer is lost: read back, not resent
reset
fault '{"drop": {"count": 1, "when": "after", "method": "PATCH"}}'
expect_exit 0 "answer lost after the PATCH was applied" P after.example
grep_file 'applied 4 changes' "$T/out" "the applied PATCH is recognised"
check "one PATCH, no blind resend" test "$(calls 'PATCH /v1/domains/:domain/records')" = 1
check "no duplicate records" test "$(state after.example TXT _dmarc | wc -l)" = 1
expect_exit 0 "after.example in sync" P --dry-run --detailed-exitcode after.example

# someone edits the zone between the listing and the PUT (while the PATCH
# is slow): a value they add is kept; a managed value they change stops the
# run before it is overwritten
until_patch() { # wait until the (slow) PATCH has reached the fake
	_i=0
	until ctl GET /__fake/requests | grep -q '"method": "PATCH"'; do
		[ $_i -ge 100 ] && return 1
		sleep 0.1; _i=$((_i + 1))
	done
}
reset
fault '{"slow": {"count": 1, "seconds": 2, "method": "PATCH"}}'
P race.example >"$T/out" 2>&1 &
pid=$!
until_patch
gd PATCH /v1/domains/race.example/records '[{"type":"TXT","name":"@","data":"late-verification=42","ttl":3600}]' >/dev/null
wait $pid
check "edited meanwhile: applied" test $? = 0
state race.example TXT @ >"$T/apex"
grep_file '^late-verification=42$' "$T/apex" "a value added after the listing survives the PUT"
grep_file '^v=spf1 include:mailgun.org -all$' "$T/apex" "SPF merged"
fault '{"slow": {"count": 1, "seconds": 2, "method": "PATCH"}}'
reset
P --format json race2.example >"$T/out" 2>"$T/err" &
pid=$!
until_patch
gd PUT /v1/domains/race2.example/records/TXT/@ '[{"data":"v=spf1 a -all","ttl":3600}]' >/dev/null
wait $pid
check "managed value changed meanwhile: exit 1" test $? = 1
report race2.example. >"$T/rep"
grep_file 'TXT @: the spf value to replace changed since it was read; nothing more was written: run provision again' "$T/rep" "the run stops and says why"
grep_file '3 of 4 changes were applied' "$T/rep" "what went in is counted"
check "their SPF not overwritten" test "$(state race2.example TXT @)" = "v=spf1 a -all"

# ---- 30 domains under a per-key rate limit ----
# The fake allows 60 requests per 4 s per key (GoDaddy: 60 per minute; the
# window is shortened to keep the test short; everything scales with it).
# PROVISION_GODADDY_RATE_LIMIT tells the provider the limit (tests only).
N=30 LIM=60 WIN=4
python3 - "$T/rate-state.json" "$N" <<'PY'
import json, sys
n = int(sys.argv[2])
json.dump({"domains": [{"domain": "d%02d.example" % i, "records": [
    {"type": "TXT", "name": "@", "data": "v=spf1 ip4:198.51.100.0/24 -all", "ttl": 3600},
    {"type": "TXT", "name": "@", "data": "verify-%d" % i, "ttl": 3600}]}
    for i in range(1, n + 1)]}, open(sys.argv[1], "w"))
PY
{
	echo "providers: { gd = { type = \"godaddy\"; key_env = \"GD_TEST_KEY\"; secret_env = \"GD_TEST_SECRET\";"
	echo "  endpoint = \"URL\"; ca_file = \"$CA\"; }; };"
	echo "domains = ("
	i=1; while [ $i -le $N ]; do
		printf '  { name = "d%02d.example"; provider = "gd"; }%s\n' $i "$([ $i -lt $N ] && echo ,)"
		i=$((i + 1))
	done
	echo ");"
} >"$T/rate.cfg.in"
fake_start gdrate godaddy.py --state "$T/rate-state.json" --credentials "$KEY:$SECRET" \
	--rate-limit "$LIM/$WIN" --no-retry-after-header || { not_ok "rate-limited fake starts"; finish; exit 1; }
RP=$FAKE_PORT
sed "s|URL|https://127.0.0.1:$RP|" "$T/rate.cfg.in" >"$T/rate.cfg"
t0=$(date +%s.%N)
PROVISION_GODADDY_RATE_LIMIT=$LIM/$WIN expect_exit 0 "$N domains under $LIM requests / $WIN s" \
	"$PROVISION" -c "$T/rate.cfg" --resolver "$KNOT_ADDR" --format json
t1=$(date +%s.%N)
fake_ctl "$RP" GET /__fake/requests >"$T/req.json"
python3 - "$T/out" "$T/req.json" "$N" "$LIM" "$WIN" "$t0" "$t1" >"$T/rate.txt" <<'PY'
import json, math, sys
out, req, n, lim, win, t0, t1 = sys.argv[1:]
n, lim, win = int(n), int(lim), float(win)
doms = json.load(open(out))["domains"]
applied = sum(d["status"] == "applied" for d in doms)
log = json.load(open(req))
per = {}
for e in log:
    p = e["path"].split("/")
    per.setdefault(p[3], 0)
    per[p[3]] += 1
c = len(log)
s429 = sum(e["status"] == 429 for e in log)
floor = (math.ceil(c / lim) - 1) * win
wall = float(t1) - float(t0)
print("applied %d of %d" % (applied, n))
print("429 %d" % s429)
print("calls %d per-domain %s" % (c, sorted(set(per.values()))))
print("wall %.1f floor %.1f ratio %.2f" % (wall, floor, wall / floor if floor else 0))
PY
sed 's/^/# /' "$T/rate.txt"
grep_file "^applied $N of $N" "$T/rate.txt" "every domain applied"
grep_file '^429 0$' "$T/rate.txt" "the limiter kept under the limit: no 429 at all"
grep_file '^calls 150 per-domain \[5\]$' "$T/rate.txt" "5 calls per domain (listing, again before the write, PATCH, GET and PUT of the apex)"

# two runs at once with the same key, told a limit ten times too high (as
# when another client uses the key): the fake answers 429 with
# retryAfterSec in the body and no Retry-After; waited out, and every
# domain is applied
fake_ctl "$RP" POST /__fake/state "$(cat "$T/rate-state.json")" >/dev/null
fake_ctl "$RP" POST /__fake/reset-calls >/dev/null
RUN() { PROVISION_GODADDY_RATE_LIMIT=$((LIM * 10))/$WIN "$PROVISION" -c "$T/rate.cfg" --resolver "$KNOT_ADDR" "$@"; }
RUN d01.example d02.example d03.example d04.example d05.example d06.example d07.example d08.example >"$T/r1" 2>&1 &
p1=$!
RUN d11.example d12.example d13.example d14.example d15.example d16.example d17.example d18.example >"$T/r2" 2>&1
rc2=$?
wait $p1
rc1=$?
check "two runs sharing a key both succeed" test "$rc1" = 0 -a "$rc2" = 0
check "all 16 domains applied" test "$(cat "$T/r1" "$T/r2" | grep -c 'applied 4 changes')" = 16
n429=$(fake_ctl "$RP" GET /__fake/requests | python3 -c "import json,sys; print(sum(e['status'] == 429 for e in json.load(sys.stdin)))")
echo "# two runs sharing a key: $n429 answers were 429"
check "the fake did refuse some (429), and they were waited out" test "$n429" -gt 0
finish
