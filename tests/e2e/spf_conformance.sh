#!/bin/sh
# The openspf RFC 7208 conformance suite (203 tests) through the SPF engine:
# yaml2json.py turns the YAML stream into JSON, the spf_conformance helper
# serves its zone data from memory (no network) and checks every result.
. "$(dirname "$0")/../lib/common.sh"
: "${BUILD:=$TOP/build}"
# The suite as shipped (unedited, with its licence) beside the repository,
# or a copy in tests/conformance/, or wherever SPF_SUITE says.
if [ -n "${SPF_SUITE:-}" ]; then SUITE=$SPF_SUITE
elif [ -f "$TOP/tests/conformance/rfc7208-tests.yml" ]; then
	SUITE=$TOP/tests/conformance/rfc7208-tests.yml
else SUITE=$TOP/../shared/conformance/spf/rfc7208-tests.yml; fi
HELPER=$BUILD/tests/spf_conformance

[ -f "$SUITE" ] || { not_ok "no rfc7208-tests.yml (set SPF_SUITE)"; finish; exit 1; }
if python3 "$TOP/tests/conformance/yaml2json.py" "$SUITE" >"$T/suite.json"
then ok "yaml2json converts $(basename "$SUITE")"
else not_ok "yaml2json failed on $SUITE"; fi
expect_exit 0 "every conformance test passes" \
	timeout 60 "$HELPER" "$T/suite.json"
sed -n '/^FAIL\|^SKIP/p' "$T/out" | head -40 | sed 's/^/#   /'
grep_file '^203 passed, 0 failed$' "$T/out" "all 203 tests counted and passed"
finish
