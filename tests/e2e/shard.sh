#!/bin/sh
# --shard K/N: the union of all shards is the whole list, shards are
# disjoint, a domain always lands in the same shard (FNV-1a of its name, as
# the README documents it, computed here independently), for the main job
# and for check; the usage errors.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"

cp -r "$TOP/tests/data/e2e/zones" "$T/"
cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }

# 60 domains, some written in capitals or with a trailing dot
{
	echo 'providers: { local = { type = "zonefile"; directory = "zones"; }; };'
	echo 'domains = ('
	i=0
	while [ $i -lt 60 ]; do
		sed "s/example\\.com/d$i.test/g" "$T/zones/example.com.zone" >"$T/zones/d$i.test.zone"
		name="d$i.test"
		[ $((i % 7)) -eq 3 ] && name="D$i.Test"
		[ $((i % 11)) -eq 5 ] && name="d$i.test."
		[ $i -gt 0 ] && echo ','
		echo "{ name = \"$name\"; provider = \"local\"; }"
		i=$((i + 1))
	done
	echo ');'
} >"$T/many.cfg"
P() { "$PROVISION" -c "$T/many.cfg" --resolver "$KNOT_ADDR" "$@"; }

# the names a JSON report holds, lower case, no trailing dot, sorted
names() { python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
print("\n".join(sorted(d["domain"].lower().rstrip(".") for d in doc["domains"])))' "$1"; }

# the shard of each name as the README defines it
python3 - "$T/many.cfg" 4 >"$T/expected" <<'PY'
import re, sys
n = int(sys.argv[2])
def fnv1a(s):
    h = 2166136261
    for c in s.encode():
        h = ((h ^ c) * 16777619) & 0xffffffff
    return h
for name in re.findall(r'name = "([^"]+)"', open(sys.argv[1]).read()):
    key = name.lower().rstrip(".")
    print(fnv1a(key) % n + 1, key)
PY

expect_exit 0 "the whole list" P --dry-run --format json
names "$T/out" >"$T/all"
check "the whole list has 60 domains" test "$(wc -l <"$T/all")" -eq 60
: >"$T/union"
for k in 1 2 3 4; do
	expect_exit 0 "dry run of shard $k/4" P --dry-run --format json --shard "$k/4"
	names "$T/out" >"$T/shard$k"
	cat "$T/shard$k" >>"$T/union"
	awk -v k="$k" '$1 == k { print $2 }' "$T/expected" | sort >"$T/want$k"
	expect_same_file "$T/shard$k" "$T/want$k" "shard $k/4 holds exactly the names FNV-1a puts there"
	check "shard $k/4 is not empty" test -s "$T/shard$k"
done
sort "$T/union" >"$T/union.sorted"
expect_same_file "$T/union.sorted" "$T/all" "the union of the 4 shards is the whole list, each domain once"
check "the shards are disjoint" test "$(sort -u "$T/union" | wc -l)" -eq "$(wc -l <"$T/union")"
expect_exit 0 "shard 2/4 again" P --dry-run --format json --shard 2/4
names "$T/out" >"$T/again"
expect_same_file "$T/again" "$T/shard2" "the same domains land in the same shard on every run"
expect_exit 0 "one shard of one" P --dry-run --format json --shard 1/1
names "$T/out" >"$T/one"
expect_same_file "$T/one" "$T/all" "--shard 1/1 is the whole list"

# names given and a shard: the names of that shard
first=$(head -1 "$T/shard1") other=$(head -1 "$T/shard3")
expect_exit 0 "names and a shard" P --dry-run --format json --shard 1/4 "$first" "$other"
names "$T/out" >"$T/both"
check "names and a shard: only the named domain of the shard" test "$(cat "$T/both")" = "$first"

# apply one shard: only its zones are written
expect_exit 0 "apply shard 3/4" P --shard 3/4
written=0 untouched=0
for z in "$T"/zones/d*.test.zone; do
	n=$(basename "$z" .zone)
	if grep -qx "$n" "$T/shard3"; then
		grep -q mailgun.org "$z" && written=$((written + 1))
	else
		grep -q "include:mailgun.org" "$z" || untouched=$((untouched + 1))
	fi
done
check "apply shard 3/4 writes its $(wc -l <"$T/shard3") zones" test "$written" -eq "$(wc -l <"$T/shard3")"
check "apply shard 3/4 writes no other zone" test "$untouched" -eq $((60 - $(wc -l <"$T/shard3")))

# check takes a shard too
expect_exit 1 "check shard 4/4 (the zones are not served: errors)" \
	P check --format json --nameserver "$KNOT_ADDR" --shard 4/4
names "$T/out" >"$T/check4"
expect_same_file "$T/check4" "$T/shard4" "check --shard 4/4 checks exactly shard 4"

expect_exit 0 "verbose says how many domains the shard holds" P --dry-run --shard 2/4 -v
grep_file "provision: shard 2/4: $(wc -l <"$T/shard2") of 60 domains" "$T/err" "the shard's size on stderr"

for bad in 0/4 5/4 1/0 x/4 1/4x 2 -1/4 1/100001; do
	expect_exit 64 "--shard $bad refused" P --dry-run --shard "$bad"
	grep_file "provision: --shard takes K/N with 1 <= K <= N" "$T/err" "--shard $bad: one line says what it takes"
done
expect_exit 64 "--shard with smtp-test refused" P smtp-test --shard 1/2
grep_file "provision: --shard goes with the main job and check, not smtp-test" "$T/err" "--shard with smtp-test: said"
finish
