#!/bin/sh
# The source layout keeps its rules (tests/layout.py): no circle among the
# modules or the headers, the core below the commands, main.c only parsing
# and dispatching. Reads the objects of $BUILD, which the binary came from.
. "$(dirname "$0")/../lib/common.sh"

: "${BUILD:?set BUILD to the build directory of the binary under test}"
python3 "$TOP/tests/layout.py" "$BUILD" "$TOP" >"$T/layout" 2>&1
cat "$T/layout"
_pass=$((_pass + $(grep -c '^ok ' "$T/layout")))
_fail=$((_fail + $(grep -c '^not ok ' "$T/layout")))
[ -s "$T/layout" ] || not_ok "tests/layout.py ran"
finish
