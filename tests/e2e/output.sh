#!/bin/sh
# Text output for people: colour only on a terminal and never with NO_COLOR;
# JSON on stdout with logs on stderr; --verbose counts DNS questions.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"

cp -r "$TOP/tests/data/e2e/zones" "$TOP/tests/data/e2e/provision.cfg" "$T/"
cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }
run="'$PROVISION' -c '$T/provision.cfg' --resolver '$KNOT_ADDR' --dry-run example.com"
esc=$(printf '\033')

if command -v script >/dev/null; then
	TERM=xterm script -qec "$run" /dev/null >"$T/tty" 2>&1
	check "colour on a terminal" grep -q "$esc\[" "$T/tty"
	NO_COLOR=1 TERM=xterm script -qec "$run" /dev/null >"$T/tty" 2>&1
	check "no colour with NO_COLOR" sh -c "! grep -q '$esc\[' '$T/tty'"
	grep_file "4 changes" "$T/tty" "plan shown on the terminal"
else
	ok "terminal colour: skipped (no script(1))"
fi
expect_exit 0 "dry run into a pipe" sh -c "$run"
check "no colour into a pipe" sh -c "! grep -q '$esc\[' '$T/out'"

expect_exit 0 "JSON with --verbose" sh -c "$run --format json -v"
check "stdout is exactly one JSON document" python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$T/out"
grep_file "provision: dns: [0-9]* questions, [0-9]* sent" "$T/err" "verbose log on stderr counts DNS questions"

# Many domains that share the service's tree ask for it once.
{
	echo 'providers: { local = { type = "zonefile"; directory = "zones"; }; };'
	echo 'domains = ('
	i=0
	while [ $i -lt 50 ]; do
		sed "s/example\\.com/d$i.test/g" "$T/zones/example.com.zone" >"$T/zones/d$i.test.zone"
		[ $i -gt 0 ] && echo ','
		echo "{ name = \"d$i.test\"; provider = \"local\"; }"
		i=$((i + 1))
	done
	echo ');'
} >"$T/many.cfg"
expect_exit 0 "dry run of 50 domains" "$PROVISION" -c "$T/many.cfg" --resolver "$KNOT_ADDR" --dry-run -v
check "the shared tree is asked once: 7 names for 50 domains" grep -q "provision: dns: [0-9]* questions, 7 sent" "$T/err"
finish
