#!/bin/sh
# tests/fuzz/run.sh BINARY CORPUS RUNS MAX_LEN: one bounded libFuzzer run on
# a copy of the seed corpus in a temp dir (the repository is never written).
# A crash fails; its input is kept in build-fuzz/artifacts/ and printed as a
# C string. Prints the inputs run and the peak memory.
set -u
bin=$1 corpus=$2 runs=$3 maxlen=$4
name=$(basename "$bin")
mkdir -p build-fuzz/artifacts
d=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX") || exit 1
trap 'rm -rf "$d" "$d.log"' EXIT
cp "$corpus"/* "$d/"
# leaks inside libraries we cannot free (see the file)
LSAN_OPTIONS="suppressions=$(dirname "$0")/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
echo "$name: $runs runs on a copy of $corpus"
if ! "$bin" -runs="$runs" -max_len="$maxlen" -len_control=0 -timeout=20 \
	-print_final_stats=1 -artifact_prefix=build-fuzz/artifacts/ "$d" >"$d.log" 2>&1; then
	sed -n '/ERROR: \|runtime error\|^ALARM\|deadly signal/,/^SUMMARY/p' "$d.log" | head -100
	tail -12 "$d.log"
	for a in build-fuzz/artifacts/*; do
		[ -f "$a" ] || continue
		printf '%s: "' "$a"
		python3 -c 'import sys; sys.stdout.write("".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else "\\%03o" % b for b in open(sys.argv[1], "rb").read()))' "$a"
		echo '"'
	done
	echo "$name: FAILED"
	exit 1
fi
grep -E '^stat::(number_of_executed_units|peak_rss_mb)|^Done' "$d.log"
echo "$name: no crash"
