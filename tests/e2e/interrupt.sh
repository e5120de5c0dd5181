#!/bin/sh
# SIGINT and SIGTERM stop a run cleanly: no new domain is started, the one
# in flight finishes its write and its read-back, the report holds the
# domains done, stderr names those not started, exit 1; a second signal
# stops at once. The signal is sent while the fake holds one domain's write
# (fault "hold"), so it lands exactly mid-apply, with no sleep. Also the
# progress line: on a terminal, with --progress, never with --quiet.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"
. "$TOP/tests/lib/fakes.sh"

cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }

cf_seed_spf s 8 >"$T/seed.json"
export CF_TEST_TOKEN="cf-stop-secret-$$"
cf_fake_start "$T/seed.json" --token "$CF_TEST_TOKEN" || { not_ok "cloudflare fake starts"; finish; exit 1; }
# one domain at a time: which domains are done when the signal comes is
# then exact (concurrent.sh stops a run with several in flight)
{
	echo "providers: { cf = { type = \"cloudflare\"; token_env = \"CF_TEST_TOKEN\"; endpoint = \"$CF_URL\"; ca_file = \"$CF_CA\"; concurrency = 1; }; };"
	echo "backup_dir = \"$T/backups\";"
	echo 'domains = ('
	for i in 0 1 2 3 4 5 6 7; do
		[ $i -gt 0 ] && echo ','
		echo "{ name = \"s$i.example\"; provider = \"cf\"; }"
	done
	echo ');'
} >"$T/p.cfg"
C() { "$PROVISION" -c "$T/p.cfg" --resolver "$KNOT_ADDR" "$@"; }
zid() { cf_fake_state | python3 -c 'import json,sys; print([z["id"] for z in json.load(sys.stdin)["zones"] if z["name"] == sys.argv[1]][0])' "$1"; }
merged() { cf_fake_state | python3 -c '
import json, sys
for z in json.load(sys.stdin)["zones"]:
    if any("include:mailgun.org" in r["content"] for r in z["records"]):
        print(z["name"])' | sort | tr '\n' ' '; }
held() { fake_ctl "$CF_PORT" GET /__fake/held | python3 -c 'import json,sys; print(json.load(sys.stdin)["held"])'; }
# (provision itself is started in the background, never a function or a
# subshell: $! must be its pid)
# wait (no fixed sleep: until the fake holds the write, at most 30 s)
wait_held() {
	_w=0
	while [ "$(held)" -lt 1 ]; do
		[ $_w -ge 300 ] && return 1
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.1; _w=$((_w + 1))
	done
}

# start_held ZONE [ARGS]: hold ZONE's batch write, start provision in the
# background with ARGS (pid in $pid) and check the write is held in flight
start_held() {
	_z=$1; shift
	cf_fake_fault "{\"hold\": {\"method\": \"POST\", \"path_contains\": \"zones/$(zid "$_z")/dns_records/batch\"}}" ||
		not_ok "hold fault queued"
	"$PROVISION" -c "$T/p.cfg" --resolver "$KNOT_ADDR" "$@" >"$T/out" 2>"$T/err" &
	pid=$!
	check "the write of $_z is held in flight" wait_held $pid
}
# stop_held SIGNAL: send it, let the held write go, wait; exit status in $rc
stop_held() {
	kill -"$1" $pid
	fake_ctl "$CF_PORT" POST /__fake/release >/dev/null
	wait $pid; rc=$?
}

# ---- SIGINT while s2's batch is in flight ----
start_held s2.example --format json
stop_held INT
check "stopped by SIGINT: exit 1 (got $rc)" test "$rc" -eq 1
grep_file "^provision: stopped by SIGINT: 3 of 8 domains done (in the report), 5 not started: s3.example, s4.example, s5.example, s6.example, s7.example$" \
	"$T/err" "stderr says what was done and names what was not started"
check "stdout is one JSON document" python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$T/out"
check "the report holds the 3 domains done, all applied, and says stopped" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d.get("stopped") == "SIGINT", d.get("stopped")
got = [(x["domain"], x["status"]) for x in d["domains"]]
assert got == [("s0.example.", "applied"), ("s1.example.", "applied"), ("s2.example.", "applied")], got' "$T/out"
check "the domain in flight finished: s0, s1 and s2 merged, no other" test "$(merged)" = "s0.example s1.example s2.example "
for i in 3 4 5 6 7; do
	z=$(zid s$i.example)
	nogrep_file "$z" "$T/fake-cloudflare.log" "s$i.example: never asked"
done
check "backups only of the domains written" test "$(ls "$T/backups" | grep -c .)" -eq 3
nogrep_file "$CF_TEST_TOKEN" "$T/err" "no secret on stderr"

# ---- SIGTERM, text output: the run goes on where it stopped ----
start_held s5.example
stop_held TERM
check "stopped by SIGTERM: exit 1 (got $rc)" test "$rc" -eq 1
grep_file "^provision: stopped by SIGTERM: 6 of 8 domains done (in the report), 2 not started: s6.example, s7.example$" \
	"$T/err" "SIGTERM: what was done, what was not"
grep_file "^s5.example. (provider cf): applied" "$T/out" "the text report shows s5 applied"
check "s0 to s5 merged, s6 and s7 untouched" test "$(merged)" = "s0.example s1.example s2.example s3.example s4.example s5.example "

# ---- a second signal stops at once ----
start_held s6.example
kill -INT $pid
# the second only once the first was taken (two pending SIGINTs are one)
_w=0
int_pending() {
	for _m in $(sed -n 's/^\(SigPnd\|ShdPnd\):[[:space:]]*//p' "/proc/$1/status" 2>/dev/null); do
		[ $((0x$_m & 2)) -ne 0 ] && return 0
	done
	return 1
}
while [ $_w -lt 500 ] && int_pending $pid; do
	sleep 0.01; _w=$((_w + 1))
done
kill -INT $pid
wait $pid; rc=$?
fake_ctl "$CF_PORT" POST /__fake/release >/dev/null
check "a second SIGINT ends the process by the signal (exit $rc)" test "$rc" -eq 130
expect_exit 0 "a run after the stops completes the rest" C
check "every domain merged" test "$(merged)" = "s0.example s1.example s2.example s3.example s4.example s5.example s6.example s7.example "

# ---- progress ----
expect_exit 0 "--progress when stderr is not a terminal" C --dry-run --progress
grep_file "^provision: 8/8 domains, 0 changes pending, 0 errors, [0-9.]* requests/s, took [0-9]*s$" \
	"$T/err" "--progress: a last plain line with the totals"
expect_exit 0 "no progress without --progress when stderr is not a terminal" C --dry-run
nogrep_file "domains, " "$T/err" "no progress line by default into a file"
expect_exit 64 "--quiet and --progress refused" C --dry-run --quiet --progress
if command -v script >/dev/null; then
	cf_fake_fault '{"slow": {"count": 1, "seconds": 1.2, "method": "GET", "path_contains": "dns_records"}}' ||
		not_ok "slow fault queued"
	run="'$PROVISION' -c '$T/p.cfg' --resolver '$KNOT_ADDR' --dry-run"
	CF_TEST_TOKEN=$CF_TEST_TOKEN TERM=xterm script -qec "$run" /dev/null >"$T/tty" 2>&1
	check "on a terminal, a run over a second draws the progress line" \
		grep -q "provision: [0-9]/8 domains, 0 changes pending, 0 errors, [0-9.]* requests/s" "$T/tty"
	check "the line is redrawn in place (CR, erase line)" grep -q "$(printf '\r\033')\[K" "$T/tty"
	cf_fake_fault '{"slow": {"count": 1, "seconds": 1.2, "method": "GET", "path_contains": "dns_records"}}' ||
		not_ok "slow fault queued"
	TERM=xterm script -qec "$run --quiet" /dev/null >"$T/tty" 2>&1
	nogrep_file "domains, " "$T/tty" "--quiet: no progress line on a terminal"
	grep_file "s7.example.*(provider cf): in sync" "$T/tty" "--quiet keeps the report"
else
	ok "progress on a terminal: skipped (no script(1))"
fi
finish
