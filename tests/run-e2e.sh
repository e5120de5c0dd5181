#!/bin/sh
# Run every end-to-end script in tests/e2e/ against $PROVISION; each prints
# "ok - ..." / "not ok - ..." lines and exits non-zero on a failure.
set -u
: "${PROVISION:?set PROVISION to the binary under test}"
export PROVISION
top=$(cd "$(dirname "$0")/.." && pwd)
fail=0; pass=0
for t in "$top"/tests/e2e/*.sh; do
	[ -f "$t" ] || continue
	echo "# $(basename "$t")"
	if sh "$t"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $t"; fi
done
echo "e2e scripts: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
