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

# It checks the fake against the official client and runs no code of
# provision's: once, in the plain pass, is enough.
if [ -n "${SANITIZED:-}" ]; then
	ok "cloudflare contract test skipped in the sanitized pass (it runs no provision code)"
	finish; exit $?
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	ok "cloudflare contract test skipped (node/npm not installed)"
	finish; exit $?
fi

C=$TOP/tests/contract
if [ -d "$C/node_modules/cloudflare" ]; then
	RUN=$C
else
	RUN=$T/contract
	mkdir -p "$RUN"
	cp "$C/package.json" "$C/package-lock.json" "$C/cloudflare.mjs" "$RUN/"
	if ! (cd "$RUN" && npm ci --no-audit --no-fund --prefer-offline) >"$T/npm.log" 2>&1; then
		sed 's/^/#   npm: /' "$T/npm.log" | tail -15
		if [ "${CONTRACT_REQUIRED:-0}" = 1 ]; then
			not_ok "npm ci for the contract test"
		else
			ok "cloudflare contract test skipped (npm ci failed; set CONTRACT_REQUIRED=1 to fail instead)"
		fi
		finish; exit $?
	fi
fi

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
grep -E '^(ok|not ok) ' "$T/contract.out" >"$T/contract.lines"
_pass=$((_pass + $(grep -c '^ok ' "$T/contract.lines")))
_fail=$((_fail + $(grep -c '^not ok ' "$T/contract.lines")))
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
