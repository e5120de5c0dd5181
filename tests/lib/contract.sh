# Shared steps of the contract tests (tests/e2e/*_contract.sh), which drive
# a fake with a provider's official client. POSIX sh; source it after
# tests/lib/common.sh.
#
#   contract_prepare NAME SCRIPT PROBE   sets RUN to a directory holding
#       SCRIPT (tests/contract/SCRIPT), harness.mjs and node_modules: the
#       tree's own when node_modules/PROBE is there, else a copy in $T
#       installed with `npm ci`. Finishes the test as skipped in the
#       sanitized pass (a contract test runs no provision code), without
#       node/npm, or when npm ci fails (unless CONTRACT_REQUIRED=1).
#   contract_count FILE   adds the ok / not ok lines of the node script's
#       output in FILE to this script's checks.

contract_prepare() {
	_cn=$1 _cs=$2 _cp=$3 C=$TOP/tests/contract
	if [ -n "${SANITIZED:-}" ]; then
		ok "$_cn contract test skipped in the sanitized pass (it runs no provision code)"
		finish; exit $?
	fi
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		ok "$_cn contract test skipped (node/npm not installed)"
		finish; exit $?
	fi
	if [ -d "$C/node_modules/$_cp" ]; then
		RUN=$C
		return 0
	fi
	RUN=$T/contract
	mkdir -p "$RUN"
	cp "$C/package.json" "$C/package-lock.json" "$C/harness.mjs" "$C/$_cs" "$RUN/"
	if ! (cd "$RUN" && npm ci --no-audit --no-fund --prefer-offline) >"$T/npm.log" 2>&1; then
		sed 's/^/#   npm: /' "$T/npm.log" | tail -15
		if [ "${CONTRACT_REQUIRED:-0}" = 1 ]; then
			not_ok "npm ci for the contract test"
		else
			ok "$_cn contract test skipped (npm ci failed; set CONTRACT_REQUIRED=1 to fail instead)"
		fi
		finish; exit $?
	fi
}

contract_count() {
	_pass=$((_pass + $(grep -c '^ok ' "$1")))
	_fail=$((_fail + $(grep -c '^not ok ' "$1")))
}
