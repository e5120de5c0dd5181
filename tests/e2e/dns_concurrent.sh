#!/bin/sh
# DNS questions many at once (issue 12, part 3): `check` asks for -j (32)
# domains at a time, never more, each distinct question once per server;
# the main job's SPF walk asks each distinct question once however many
# domains want it at the same moment. A proxy in front of Knot answers
# 15 ms late and records the most questions it held at once.
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/tests/lib/common.sh"
. "$TOP/tests/lib/knot.sh"

N=40
mkdir -p "$T/dns" "$T/zones"
cp "$TOP/tests/data/e2e/dns/"*.zone "$T/dns/"
python3 - "$T" "$N" <<'PY'
import sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):  # served: each domain a zone of its own
    with open("%s/dns/c%d.conc.test.zone" % (d, i), "w") as z:
        z.write("$ORIGIN c%d.conc.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 7200 3600 "
                "1209600 300\n  IN NS ns1\n  IN TXT \"v=spf1 include:mailgun.org ~all\"\n"
                "ns1 IN A 192.0.2.53\n" % i)
with open(d + "/p.cfg", "w") as f:
    f.write('providers: { local = { type = "zonefile"; directory = "zones"; }; };\ndomains = (\n')
    f.write(",\n".join('{ name = "c%d.conc.test"; provider = "local"; }' % i for i in range(n)))
    f.write(");\n")
for i in range(n):
    with open("%s/zones/c%d.conc.test.zone" % (d, i), "w") as z:
        z.write("$ORIGIN c%d.conc.test.\n$TTL 300\n@ IN SOA ns1 hostmaster 1 7200 3600 "
                "1209600 300\n  IN NS ns1\nns1 IN A 192.0.2.53\n" % i)
PY
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }

python3 "$TOP/tests/fakes/dns_delay.py" "$T/proxy.port" "$KNOT_PORT" 0.015 >"$T/proxy.err" 2>&1 &
_pp=$!
on_exit "kill $_pp 2>/dev/null; wait $_pp 2>/dev/null"
_i=0
while [ ! -s "$T/proxy.port" ] && [ "$_i" -lt 100 ]; do _i=$((_i + 1)); sleep 0.05; done
PX=127.0.0.1:$(cat "$T/proxy.port")
check "the delaying proxy listens" test -s "$T/proxy.port"

reset() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(5); s.sendto(b"reset",("127.0.0.1",int(sys.argv[1]))); s.recv(10)' "${PX#*:}"; }
held() { cat "$T/proxy.port.max"; }
dups() { sort "$T/proxy.port.log" | uniq -d | wc -l; }
asked() { wc -l <"$T/proxy.port.log"; }
CK() { "$PROVISION" check -c "$T/p.cfg" --resolver "$KNOT_ADDR" --nameserver "$PX" --format json "$@"; }

# check: every domain's questions go to the proxy (its only server)
reset
expect_exit 3 "check -j 1: records are missing (exit 3)" CK -j 1
cp "$T/out" "$T/one.json"
one_max=$(held) one_asked=$(asked)
check "check -j 1: one question at a time ($one_max)" test "$one_max" -eq 1
check "check -j 1: each question once ($(dups) asked twice)" test "$(dups)" -eq 0

reset
expect_exit 3 "check, default: the same exit" CK
cp "$T/out" "$T/all.json"
all_max=$(held)
check "check: many questions at once ($all_max held; -j 1: 1)" test "$all_max" -ge 8
check "check: never more than 32 at once ($all_max)" test "$all_max" -le 32
check "check: each question once across the workers ($(dups) asked twice)" test "$(dups)" -eq 0
check "check: as many questions as with -j 1 ($(asked) vs $one_asked)" test "$(asked)" -eq "$one_asked"
# the same report but for which domain sent a question the others then
# found in the cache ("sent"): whichever asked first, and only the sum holds
same_check() {
	python3 - "$1" "$2" <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
sa, sb = (sum(d["dns"].pop("sent") for d in x["domains"]) for x in (a, b))
for x in (a, b):
    x.pop("generated_at", None)
assert a == b, "reports differ"
assert sa == sb, "sent %d vs %d" % (sa, sb)
PY
}
check "check: the same report, in the same order (questions sent: the same sum)" \
	same_check "$T/one.json" "$T/all.json"
python3 -c 'import json,sys; print([d["domain"] for d in json.load(open(sys.argv[1]))["domains"]])' \
	"$T/all.json" >"$T/order" 2>&1
grep_file "^\['c0.conc.test.', 'c1.conc.test.', 'c2.conc.test.', 'c3.conc.test." "$T/order" \
	"check: the report in configuration order"

reset
CK -j 4 >"$T/four.json" 2>"$T/four.err"
four_max=$(held)
check "check -j 4: at most 4 at once ($four_max)" test "$four_max" -le 4
check "check -j 4: more than one at once ($four_max)" test "$four_max" -ge 2
check "check -j 4: the same report" same_check "$T/one.json" "$T/four.json"

# the main job: every domain's SPF walk wants mailgun.org's tree at once
P() { "$PROVISION" -c "$T/p.cfg" --resolver "$PX" --dry-run --format json -q "$@"; }
reset
expect_exit 0 "dry run -j 1" P -j 1
cp "$T/out" "$T/plan1.json"
plan_asked=$(asked)
check "dry run -j 1: each question once" test "$(dups)" -eq 0
reset
expect_exit 0 "dry run with 40 domains at once" P
cp "$T/out" "$T/plan.json"
check "dry run at once: each question once, none sent twice while in flight ($(dups) twice)" \
	test "$(dups)" -eq 0
check "dry run at once: as many questions as -j 1 ($(asked) vs $plan_asked)" \
	test "$(asked)" -eq "$plan_asked"
python3 - "$T/plan1.json" "$T/plan.json" >"$T/cmp" 2>&1 <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
for x in (a, b):
    x.pop("generated_at", None)
assert a == b, "differ"
print([d["domain"] for d in b["domains"]][:3])
PY
check "dry run at once: the same plans in the same order as -j 1" test $? -eq 0
grep_file "c0.conc.test.', 'c1.conc.test.', 'c2.conc.test." "$T/cmp" "dry run: configuration order"

finish
