#!/bin/sh
# Contract test of the Route 53 fake (tests/fakes/route53.py): the official
# AWS SDK for JavaScript v3 Route 53 client (npm "@aws-sdk/client-route-53",
# pinned by tests/contract/package-lock.json) runs tests/contract/route53.mjs
# against the fake over verified TLS (test CA via NODE_EXTRA_CA_CERTS); the
# fake checks the SDK's own SigV4 signatures.  Skips when node/npm are
# missing, or when `npm ci` cannot install unless CONTRACT_REQUIRED=1.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/fakes.sh"

. "$TOP/tests/lib/contract.sh"
contract_prepare route53 route53.mjs @aws-sdk/client-route-53
AK=AKIAIOSFODNN7EXAMPLE SK="contract/secret+$$"
TA=ASIACONTRACTTEMP0001 TS="temp-secret-$$" TK="contract-token-$$"
fake_start route53 route53.py --state "$C/route53-seed.json" \
	--credentials "$AK:$SK" --credentials "$TA:$TS:$TK" || { not_ok "route53 fake starts"; finish; exit 1; }
ok "route53 fake answers on port $FAKE_PORT"
NODE_EXTRA_CA_CERTS=$T/ca/ca.pem R53_URL=https://127.0.0.1:$FAKE_PORT R53_AKID=$AK R53_SECRET=$SK \
	R53_TEMP_AKID=$TA R53_TEMP_SECRET=$TS R53_TOKEN=$TK \
	node "$RUN/route53.mjs" >"$T/contract.out" 2>"$T/contract.err"
rc=$?
contract_count "$T/contract.out"
cat "$T/contract.out"
grep -v 'NodeVersionSupportWarning\|node >=22\|^$\|a.co/\|trace-warnings\|versions published\|will require\|To continue' \
	"$T/contract.err" | sed 's/^/#   node: /' | head -20
if [ "$rc" -ne 0 ]; then
	not_ok "contract test exits 0 (exit $rc)"
	sed 's/^/#   fake: /' "$T/fake-route53.log" | tail -30
else
	ok "contract test exits 0"
fi
grep_file ' passed, 0 failed' "$T/contract.out" "contract test summary line"
nogrep_file "$SK" "$T/fake-route53.log" "fake log does not contain the secret"
nogrep_file "$TK" "$T/fake-route53.log" "fake log does not contain the session token"
finish
