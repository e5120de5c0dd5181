#!/bin/sh
# Run every end-to-end script in tests/e2e/ against $PROVISION; each prints
# "ok - ..." / "not ok - ..." lines, ends with "# N passed, M failed" and
# exits non-zero on a failure. The last line totals the checks of all.
# E2E_ONLY="a.sh b.sh" runs only those scripts.
set -u
: "${PROVISION:?set PROVISION to the binary under test}"
export PROVISION
top=$(cd "$(dirname "$0")/.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
fail=0; pass=0; bad=0
for t in "$top"/tests/e2e/*.sh; do
	[ -f "$t" ] || continue
	case " ${E2E_ONLY:-$(basename "$t")} " in *" $(basename "$t") "*) ;; *) continue ;; esac
	echo "# $(basename "$t")"
	start=$(date +%s)
	sh "$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	echo "# $(basename "$t"): $(($(date +%s) - start)) s"
	p=$(grep -c '^ok ' "$log"); f=$(grep -c '^not ok ' "$log")
	pass=$((pass + p)); fail=$((fail + f))
	if [ "$rc" -ne 0 ]; then
		bad=$((bad + 1))
		[ "$f" -eq 0 ] && fail=$((fail + 1)) # died without saying why
		echo "FAILED: $(basename "$t") (exit $rc)"
	fi
done
echo "e2e: $pass passed, $fail failed"
[ "$bad" -eq 0 ] && [ "$fail" -eq 0 ]
