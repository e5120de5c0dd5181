# Start and drive the fake provider APIs (tests/fakes/*.py) from the
# end-to-end tests. POSIX sh; source it after tests/lib/common.sh:
#   . "$TOP/tests/lib/fakes.sh"
#
#   make_test_ca            a throw-away CA and a server certificate for
#                           127.0.0.1/localhost: $T/ca/ca.pem,
#                           $T/ca/server.pem, $T/ca/server.key (made once)
#   fake_start NAME SCRIPT [args]
#                           start tests/fakes/SCRIPT with TLS on a free port
#                           (plain HTTP with FAKE_PLAIN=1: the IMDS fake);
#                           sets FAKE_PORT; stopped on exit; 1 on failure
#                           (the fake's log is printed as "#" lines)
#   fake_ctl PORT METHOD PATH [JSON]
#                           call a control endpoint /__fake/...; prints the
#                           JSON answer; 1 unless HTTP 200
#   cf_fake_start STATEFILE [extra fake args]
#                           the Cloudflare fake; always accepts the token
#                           $CF_TOKEN (default "cf-test-token"); exports
#                           CF_PORT, CF_URL (…/client/v4), CF_CA, CF_TOKEN
#   cf_fake_calls           print GET /__fake/calls (JSON)
#   cf_fake_fault JSON      queue faults (POST /__fake/faults); silent
#                           unless the fake refuses them (then 1)
#   cf_fake_state           print GET /__fake/state (JSON)
#   cf_fake_requests        print GET /__fake/requests (JSON)
#   cf_fake_reset_calls     zero the call counters and request log
#   cf_fake_log             print the fake's stderr log as "#" lines
#   cf_seed_spf PREFIX N    a seed of N zones PREFIX0.example ..., one SPF each

: "${PYTHON:=python3}"
: "${OPENSSL:=openssl}"

make_test_ca() {
	[ -f "$T/ca/ca.pem" ] && [ -f "$T/ca/server.pem" ] && [ -f "$T/ca/server.key" ] && return 0
	mkdir -p "$T/ca" || return 1
	(
		cd "$T/ca" || exit 1
		"$OPENSSL" req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			-nodes -keyout ca.key -out ca.pem -days 2 -subj "/CN=provision test CA" \
			-addext "basicConstraints=critical,CA:TRUE" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" \
			-addext "subjectKeyIdentifier=hash" &&
		"$OPENSSL" req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			-nodes -keyout server.key -out server.csr -subj "/CN=127.0.0.1" &&
		printf '%s\n' \
			"basicConstraints=critical,CA:FALSE" \
			"keyUsage=critical,digitalSignature,keyEncipherment" \
			"extendedKeyUsage=serverAuth" \
			"subjectAltName=IP:127.0.0.1,DNS:localhost" \
			"subjectKeyIdentifier=hash" \
			"authorityKeyIdentifier=keyid" >server.ext &&
		"$OPENSSL" x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
			-CAcreateserial -out server.pem -days 2 -sha256 \
			-extfile server.ext
	) >"$T/ca/openssl.log" 2>&1 || {
		sed 's/^/#   openssl: /' "$T/ca/openssl.log"
		return 1
	}
}

# fake_start NAME SCRIPT [args]: the fake's log is $T/fake-NAME.log.
fake_start() {
	_fn=$1; _fs=$2; shift 2
	make_test_ca || return 1
	_fpf=$T/fake-$_fn.port
	rm -f "$_fpf"
	if [ "${FAKE_PLAIN:-}" = 1 ]; then
		PYTHONDONTWRITEBYTECODE=1 "$PYTHON" "$TOP/tests/fakes/$_fs" --port 0 --port-file "$_fpf" \
			--plain "$@" >/dev/null 2>"$T/fake-$_fn.log" &
	else
		PYTHONDONTWRITEBYTECODE=1 "$PYTHON" "$TOP/tests/fakes/$_fs" --port 0 --port-file "$_fpf" \
			--cert "$T/ca/server.pem" --key "$T/ca/server.key" "$@" \
			>/dev/null 2>"$T/fake-$_fn.log" &
	fi
	_fpid=$!
	on_exit "kill $_fpid 2>/dev/null; wait $_fpid 2>/dev/null"
	_fi=0
	while [ ! -s "$_fpf" ]; do
		if ! kill -0 "$_fpid" 2>/dev/null || [ "$_fi" -ge 100 ]; then
			echo "# fake $_fn did not start:"
			sed 's/^/#   /' "$T/fake-$_fn.log"
			return 1
		fi
		sleep 0.1; _fi=$((_fi + 1))
	done
	FAKE_PORT=$(cat "$_fpf")
	[ "${FAKE_PLAIN:-}" = 1 ] && : >"$T/fake-plain-$FAKE_PORT"
	# wait until it answers (over TLS unless plain)
	_fi=0
	until fake_ctl "$FAKE_PORT" GET /__fake/calls >/dev/null 2>&1; do
		if [ "$_fi" -ge 50 ]; then
			echo "# fake $_fn does not answer on port $FAKE_PORT:"
			sed 's/^/#   /' "$T/fake-$_fn.log"
			return 1
		fi
		sleep 0.1; _fi=$((_fi + 1))
	done
}

fake_ctl() {
	_cp=$1; _cm=$2; _cpath=$3; _cs=https
	[ -f "$T/fake-plain-$_cp" ] && _cs=http
	if [ $# -ge 4 ]; then
		curl -sS --fail-with-body --max-time 20 --cacert "$T/ca/ca.pem" \
			-X "$_cm" -H 'Content-Type: application/json' --data-binary "$4" \
			"$_cs://127.0.0.1:$_cp$_cpath"
	else
		curl -sS --fail-with-body --max-time 20 --cacert "$T/ca/ca.pem" \
			-X "$_cm" "$_cs://127.0.0.1:$_cp$_cpath"
	fi
	_crc=$?
	echo
	return $_crc
}

cf_fake_start() {
	_cfstate=$1; shift
	: "${CF_TOKEN:=cf-test-token}"
	fake_start cloudflare cloudflare.py --state "$_cfstate" --token "$CF_TOKEN" "$@" || return 1
	CF_PORT=$FAKE_PORT
	CF_URL=https://127.0.0.1:$CF_PORT/client/v4
	CF_CA=$T/ca/ca.pem
	export CF_PORT CF_URL CF_CA CF_TOKEN
}

cf_fake_calls() { fake_ctl "$CF_PORT" GET /__fake/calls; }
# quiet on success; the fake's complaint as "#" lines and 1 on failure
cf_fake_fault() {
	_ffo=$(fake_ctl "$CF_PORT" POST /__fake/faults "$1" 2>&1) && return 0
	printf '%s\n' "$_ffo" | sed 's/^/#   fault: /'
	return 1
}
cf_fake_state() { fake_ctl "$CF_PORT" GET /__fake/state; }
cf_fake_requests() { fake_ctl "$CF_PORT" GET /__fake/requests; }
cf_fake_reset_calls() { fake_ctl "$CF_PORT" POST /__fake/reset-calls; }
cf_fake_log() { sed 's/^/#   fake: /' "$T/fake-cloudflare.log"; }

# cf_seed_spf PREFIX N: a Cloudflare seed of N zones PREFIX0.example ...,
# each with one SPF record of its own (ip4:192.0.2.<i+1>), on stdout.
cf_seed_spf() {
	python3 - "$1" "$2" <<'PY'
import json, sys
p, n = sys.argv[1], int(sys.argv[2])
print(json.dumps({"zones": [{"name": "%s%d.example" % (p, i), "records": [
    {"type": "TXT", "name": "%s%d.example" % (p, i),
     "content": "\"v=spf1 ip4:192.0.2.%d -all\"" % (i + 1), "ttl": 300}]}
    for i in range(n)]}))
PY
}
