#!/bin/sh
# Contract test of the Cloudflare fake (tests/fakes/cloudflare.py): the
# official Cloudflare Node.js client (npm "cloudflare" 4.x, pinned by
# tests/contract/package-lock.json) runs tests/contract/cloudflare.mjs
# against the fake over verified TLS (test CA via NODE_EXTRA_CA_CERTS).
# Skips when node/npm are missing, or when `npm ci` cannot install (no
# registry, no cache) unless CONTRACT_REQUIRED=1.  Installs into $T so the
# tree stays clean; uses tests/contract/node_modules when it exists.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/fakes.sh"

. "$TOP/tests/lib/contract.sh"
contract_prepare cloudflare cloudflare.mjs cloudflare

CF_TOKEN=contract-token
CF_AUTH_EMAIL=contract@example.net
CF_AUTH_KEY=0123456789abcdef0123456789abcdef01234
CF_SCOPED_TOKEN=scoped-contract-token
if ! cf_fake_start "$C/cloudflare-seed.json" \
	--auth-email "$CF_AUTH_EMAIL" --auth-key "$CF_AUTH_KEY" \
	--token "$CF_SCOPED_TOKEN" --token-scope-zone other.test; then
	not_ok "cloudflare fake starts"; finish; exit 1
fi
ok "cloudflare fake answers at $CF_URL"

NODE_EXTRA_CA_CERTS=$CF_CA CF_CTL=https://127.0.0.1:$CF_PORT \
	CF_AUTH_EMAIL=$CF_AUTH_EMAIL CF_AUTH_KEY=$CF_AUTH_KEY \
	CF_SCOPED_TOKEN=$CF_SCOPED_TOKEN \
	node "$RUN/cloudflare.mjs" >"$T/contract.out" 2>"$T/contract.err"
rc=$?
# the node script's own "ok"/"not ok" lines count as this script's checks
contract_count "$T/contract.out"
cat "$T/contract.out"
sed 's/^/#   node: /' "$T/contract.err" | head -20
if [ "$rc" -ne 0 ]; then
	not_ok "contract test exits 0 (exit $rc)"
	cf_fake_log | tail -30
else
	ok "contract test exits 0"
fi
grep_file ' passed, 0 failed' "$T/contract.out" "contract test summary line"
nogrep_file "$CF_TOKEN" "$T/fake-cloudflare.log" "fake log does not contain the token"
nogrep_file "$CF_AUTH_KEY" "$T/fake-cloudflare.log" "fake log does not contain the legacy key"
finish
