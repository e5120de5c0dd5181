# Shared helpers for tests/e2e/*.sh (POSIX sh). Source it first:
#   . "$(dirname "$0")/../lib/common.sh"
# Gives: $TOP (repository), $PROVISION (binary), $T (a fresh temp dir removed
# on exit), ok/not_ok/check/expect_exit/expect_same_file, and finish.
set -u
TOP=${TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
: "${PROVISION:=$TOP/provision}"
T=$(mktemp -d "${TMPDIR:-/tmp}/provision-test.XXXXXX")
_cleanup_hooks=""
on_exit() { _cleanup_hooks="$_cleanup_hooks
$*"; }
_run_cleanup() { eval "$_cleanup_hooks"; rm -rf "$T"; }
trap _run_cleanup EXIT
trap 'exit 130' INT TERM
_pass=0; _fail=0
ok() { _pass=$((_pass + 1)); echo "ok - $*"; }
not_ok() { _fail=$((_fail + 1)); echo "not ok - $*"; }
# check "description" command...: ok when the command succeeds.
check() { d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
# expect_exit CODE "description" command...: runs command, keeps its stdout
# in $T/out and stderr in $T/err.
expect_exit() {
	want=$1; d=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"; got=$?
	if [ "$got" -eq "$want" ]; then ok "$d (exit $got)"
	else not_ok "$d: exit $got, want $want"; sed 's/^/#   err: /' "$T/err" | head -5; sed 's/^/#   out: /' "$T/out" | head -20; fi
}
# grep_out PATTERN FILE "description"
grep_file() { if grep -q -- "$1" "$2"; then ok "$3"; else not_ok "$3: no '$1' in $(basename "$2")"; sed 's/^/#   /' "$2" | head -20; fi; }
nogrep_file() { if grep -q -- "$1" "$2"; then not_ok "$3: '$1' found in $(basename "$2")"; else ok "$3"; fi; }
expect_same_file() { if cmp -s "$1" "$2"; then ok "$3"; else not_ok "$3: $1 differs from $2"; diff "$1" "$2" | head -20 | sed 's/^/#   /'; fi; }
# A free TCP+UDP port on 127.0.0.1.
free_port() { python3 - <<'PY'
import socket
for _ in range(50):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p)); u.close(); print(p); break
    except OSError:
        u.close()
PY
}
finish() { echo "# $_pass passed, $_fail failed"; [ "$_fail" -eq 0 ]; }
