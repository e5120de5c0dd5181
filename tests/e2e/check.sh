#!/bin/sh
# provision check against two Knot DNS servers on 127.0.0.1, both
# authoritative for the test zones of tests/data/check/zones (plus the
# service's SPF tree and spf.test): every record passes on both; one server
# lags (older serial: reported with both serials, exit 3) and --wait
# succeeds once it is reloaded; a wrong DKIM key; two DMARC records; an
# external rua with and without authorisation; a tracking name holding other
# data; a server that never answers (exit 1); a domain before provisioning
# (and one whose SPF would overflow once merged); servers found through NS.
# Server 1 also acts as the --resolver. No other DNS server is asked.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"
DATA=$TOP/tests/data/check

# ---- two Knot instances (tests/lib/knot.sh runs one per test) ----------
# ck_conf DIR ZONEDIR PORT: DIR/knot.conf serving ZONEDIR/*.zone.
ck_conf() {
	{
		echo "server:"
		echo "    rundir: \"$1/run\""
		echo "    listen: 127.0.0.1@$3"
		echo "    udp-workers: 1"
		echo "    tcp-workers: 1"
		echo "    background-workers: 1"
		echo "control:"
		echo "    listen: \"$1/knot.sock\""
		echo "log:"
		echo "  - target: \"$1/knot.log\""
		echo "    any: info"
		echo "database:"
		echo "    storage: \"$1/db\""
		echo "template:"
		echo "  - id: default"
		echo "    storage: \"$2\""
		echo "    zonefile-sync: -1"
		echo "    zonefile-load: whole"
		echo "    journal-content: none"
		echo "    semantic-checks: on"
		echo "zone:"
		for _f in "$2"/*.zone; do
			echo "  - domain: \"$(basename "$_f" .zone).\""
			echo "    file: \"$_f\""
		done
	} >"$1/knot.conf"
}
# ck_serial PORT ZONE: the SOA serial the server gives (empty: none).
ck_serial() {
	kdig @127.0.0.1 -p "$1" +norec +short +timeout=1 +retry=0 "$2" SOA 2>/dev/null |
		awk '{ print $3 }'
}
# ck_start DIR ZONEDIR: start knotd; its port goes to DIR/port.
ck_start() {
	mkdir -p "$1/run" "$1/db" || return 1
	_p=$(free_port)
	echo "$_p" >"$1/port"
	ck_conf "$1" "$2" "$_p"
	"$KNOTD" -c "$1/knot.conf" >>"$1/knot.log" 2>&1 &
	_pid=$!
	on_exit "kill $_pid 2>/dev/null; wait $_pid 2>/dev/null"
	for _f in "$2"/*.zone; do
		_i=0
		until [ -n "$(ck_serial "$_p" "$(basename "$_f" .zone)")" ]; do
			_i=$((_i + 1))
			if [ "$_i" -ge 50 ]; then
				echo "# knot in $1: $(basename "$_f") does not load" >&2
				sed 's/^/#   /' "$1/knot.log" >&2
				return 1
			fi
			sleep 0.2
		done
	done
}
# ck_reload DIR: re-read every zone, blocking until done.
ck_reload() {
	for _f in $(awk '/domain:/ { gsub(/"/, "", $3); print $3 }' "$1/knot.conf"); do
		"$KNOTC" -c "$1/knot.conf" -s "$1/knot.sock" -b zone-reload "$_f" \
			>>"$1/reload.log" 2>&1 || return 1
	done
}

mkdir -p "$T/z1" "$T/z2" "$T/k1" "$T/k2"
for z in "$T/z1" "$T/z2"; do
	cp "$DATA"/zones/*.zone "$TOP"/tests/data/e2e/dns/*.zone \
		"$TOP/tests/data/e2e/zones/example.com.zone" "$z/"
done
cp "$DATA/old/lag.test.zone" "$T/z2/lag.test.zone"
cp "$DATA/resolver-only/keys.test.zone" "$T/z1/"
ck_start "$T/k1" "$T/z1" || { not_ok "first knot starts"; finish; exit 1; }
ck_start "$T/k2" "$T/z2" || { not_ok "second knot starts"; finish; exit 1; }
A1=127.0.0.1:$(cat "$T/k1/port")
A2=127.0.0.1:$(cat "$T/k2/port")
ok "two knot servers on $A1 and $A2"
sed -e "s/@NS1@/$A1/" -e "s/@NS2@/$A2/" "$DATA/check.cfg.in" >"$T/check.cfg"

P() { "$PROVISION" check -c "$T/check.cfg" --resolver "$A1" "$@"; }
PN() { P --nameserver "$A1" --nameserver "$A2" "$@"; }
# js FILE 'python condition on d (the first domain) and doc': asserts it.
js() {
	_file=$1; _d=$2; shift 2
	check "$_d" python3 - "$_file" "$@" <<PY
import json, sys
doc = json.load(open(sys.argv[1]))
d = doc["domains"][0]
c = {x["record"]: x for x in d["checks"]}
$(cat)
PY
}

# ---- everything passes on both servers (servers from the configuration)
expect_exit 0 "good.test passes on both servers" P good.test
grep_file "good.test. (check, 2 servers): pass" "$T/out" "domain line says pass"
grep_file "server 2: $A2 serial 2024010102" "$T/out" "each server with its serial"
grep_file "^  spf       pass     + +  v=spf1 include:mailgun.org ~all" "$T/out" \
	"one line per record, a mark per server"
grep_file "^  tracking  pass     + +  email.mg3.good.test. CNAME mailgun.org." "$T/out" \
	"tracking line"
expect_exit 0 "good.test as JSON" P --format json -v good.test
cp "$T/out" "$T/good.json"
cp "$T/err" "$T/good.err"
js "$T/good.json" "JSON: envelope, 4 checks passing on 2 servers, serials, SPF cost and verdict" <<'PY'
assert doc["version"] == 1 and doc["dry_run"] is False, doc
assert d["domain"] == "good.test." and d["status"] == "pass" and d["provider"] == "local", d
assert [x["record"] for x in d["checks"]] == ["spf", "dkim", "dmarc", "tracking"]
for x in d["checks"]:
    assert x["status"] == "pass" and x["message"], x
    assert [s["status"] for s in x["servers"]] == ["pass", "pass"], x
    assert all(s["serial"] == 2024010102 for s in x["servers"]), x
assert "changes" not in d
assert c["spf"]["value"] == "v=spf1 include:mailgun.org ~all"
assert c["spf"]["lookups"] == 5 and c["spf"]["void_lookups"] == 0, c["spf"]
assert c["spf"]["verdict"] == {"ip": "198.61.254.0", "result": "pass"}, c["spf"]["verdict"]
assert c["dkim"]["name"] == "pic._domainkey.good.test." and "2048 bits" in c["dkim"]["message"]
assert c["tracking"]["value"] == "mailgun.org."
assert d["diagnostics"] == []
PY
# 5 questions per server (SOA, TXT apex, TXT DKIM, TXT _dmarc, CNAME) and
# the service's SPF tree once (5 TXT) through the resolver.
# The SPF engine asks the tree again for the cost, the sample address and
# the verdict on each server: those are cache hits ("questions"), not sent.
grep_file "provision: dns: good.test. [0-9]* questions, 15 sent, 2 servers" "$T/good.err" \
	"DNS: each name asked once per server, the SPF tree once"
grep_file "provision: dns: [0-9]* questions, 15 sent$" "$T/good.err" "DNS total"

# ---- one server lags behind: propagation incomplete ---------------------
expect_exit 3 "lag.test: the second server serves an older zone" PN lag.test
grep_file "server 2: $A2 serial 2024010101" "$T/out" "old serial shown"
grep_file "the servers disagree: $A1 (serial 2024010102) pass, $A2 (serial 2024010101) missing; propagation is incomplete" \
	"$T/out" "dkim: which server has what, with both serials"
grep_file "^  dkim      fail     + -" "$T/out" "marks per server"
expect_exit 3 "lag.test as JSON" PN --format json lag.test
js "$T/out" "JSON: fail, per-server status and serial" <<'PY'
assert d["status"] == "fail", d["status"]
k = c["dkim"]
assert k["status"] == "fail", k
assert [(s["status"], s["serial"]) for s in k["servers"]] == [("pass", 2024010102), ("missing", 2024010101)], k
assert c["spf"]["status"] == "fail" and [s["status"] for s in c["spf"]["servers"]] == ["pass", "fail"]
assert "does not include mailgun.org" in c["spf"]["servers"][1]["message"]
assert c["tracking"]["status"] == "pass"
PY

# ---- --wait: the lagging server is reloaded during the wait ------------
( sleep 2; cp "$DATA/zones/lag.test.zone" "$T/z2/lag.test.zone"; ck_reload "$T/k2" ) &
bg=$!
start=$(date +%s)
expect_exit 0 "--wait 20s succeeds once the second server catches up" PN --wait 20s lag.test
took=$(( $(date +%s) - start ))
wait $bg
check "it waited (${took}s) but less than the limit" test "$took" -ge 2 -a "$took" -lt 20
grep_file "provision: waiting: [0-9]* of 4 records not passing" "$T/err" "progress on stderr"
grep_file "next check in 2s" "$T/err" "back-off starts at 2s"
grep_file "lag.test. (check, 2 servers): pass" "$T/out" "final report passes"
check "second server now at the new serial" test "$(ck_serial "$(cat "$T/k2/port")" lag.test)" = 2024010102

expect_exit 3 "--wait 3s runs out on a record that never passes" PN --wait 3s badkey.test
grep_file "ran out before every record passed" "$T/err" "says the time ran out"

# ---- single-record problems --------------------------------------------
expect_exit 3 "badkey.test: a wrong DKIM key" PN badkey.test
grep_file "is not the configured key: run provision to publish it" "$T/out" "wrong key explained"
grep_file "^  dkim      fail     x x" "$T/out" "fails on both servers"
grep_file "^  spf       pass" "$T/out" "the other records still pass"

expect_exit 3 "twodmarc.test: two DMARC records" PN --format json twodmarc.test
js "$T/out" "JSON: dmarc fail naming the two records" <<'PY'
x = c["dmarc"]
assert x["status"] == "fail" and "holds 2 DMARC records" in x["message"], x
assert "remove all but one" in x["message"]
assert all(c[r]["status"] == "pass" for r in ("spf", "dkim", "tracking"))
PY

expect_exit 0 "extrua.test: external rua without authorisation is a warning" PN extrua.test
grep_file "warning: rua: reports.other.test is in another organisation and has not authorised reports for extrua.test (no \"v=DMARC1\" TXT at extrua.test._report._dmarc.reports.other.test" \
	"$T/out" "warning names the missing authorisation record"
expect_exit 0 "extok.test: external rua with authorisation" PN --format json extok.test
js "$T/out" "JSON: authorised, no warning; stricter policy passes with a note" <<'PY'
x = c["dmarc"]
assert x["status"] == "pass", x
notes = [(n["severity"], n["message"]) for n in x["notes"]]
assert not [n for n in notes if n[0] == "warning"], notes
assert any("reports.other.test accepts reports for extok.test" in m for _, m in notes), notes
assert any("p=reject is stricter than the configured p=quarantine" in m for _, m in notes), notes
PY

expect_exit 3 "tracka.test: the tracking name holds other data" PN tracka.test
grep_file "email.mg3.tracka.test. holds A, TXT data instead of a CNAME" "$T/out" \
	"names the data in the way"

expect_exit 0 "dkimcname.test: a DKIM selector that is a CNAME into another zone" \
	PN --format json dkimcname.test
js "$T/out" "JSON: the key is read through the alias on both servers" <<'PY'
x = c["dkim"]
assert x["status"] == "pass" and [s["status"] for s in x["servers"]] == ["pass", "pass"], x
assert any("is a CNAME to pic.keys.test., read through the resolver" in n["message"] for n in x["notes"]), x
PY

# ---- a server that does not answer -------------------------------------
silent_udp_start || { not_ok "silent server starts"; finish; exit 1; }
expect_exit 1 "a server that never answers: exit 1" \
	P --dns-timeout 1s --nameserver "$A1" --nameserver "$SILENT_ADDR" good.test
grep_file "server $SILENT_ADDR could not be asked: no answer from $SILENT_ADDR (timeout)" \
	"$T/out" "clear message naming the server"
grep_file "good.test. (check, 2 servers): error" "$T/out" "domain is in error"
expect_exit 1 "the same as JSON" \
	P --format json --dns-timeout 1s --nameserver "$A1" --nameserver "$SILENT_ADDR" good.test
js "$T/out" "JSON: status error, the server's diagnostic, the other server still judged" <<'PY'
assert d["status"] == "error", d["status"]
assert d["servers"][1]["status"] == "error" and d["servers"][1]["serial"] is None
assert [g["code"] for g in d["diagnostics"]] == ["server-unreachable"], d["diagnostics"]
assert [s["status"] for s in c["spf"]["servers"]] == ["pass", "error"], c["spf"]
PY

# ---- before provisioning ------------------------------------------------
expect_exit 3 "example.com before provisioning" PN --format json example.com
js "$T/out" "JSON: SPF without the include fails with what the merge would cost; others missing" <<'PY'
x = c["spf"]
assert x["status"] == "fail", x
assert x["value"] == "v=spf1 ip4:192.0.2.0/24 include:two.spf.test -all"
assert "does not include mailgun.org: run provision to merge it in; merged, it costs 7 of 10 DNS lookups" in x["message"], x["message"]
assert x["lookups"] == 2, x
assert [c[r]["status"] for r in ("dkim", "dmarc", "tracking")] == ["missing"] * 3
assert "run provision" in c["dmarc"]["message"]
PY
expect_exit 3 "overflow.test: an SPF that would overflow once merged" PN overflow.test
grep_file "merging it would need 14 DNS lookups and 0 void lookups, over the limits of 10 and 2" \
	"$T/out" "overflow reported with the merged cost"
grep_file "include:wide.spf.test=5" "$T/out" "cost of each term"

# ---- several domains: the worst exit code, every domain reported -------
expect_exit 3 "good.test and badkey.test together" PN --format json good.test badkey.test
js "$T/out" "JSON: both domains" <<'PY'
assert [(x["domain"], x["status"]) for x in doc["domains"]] == [("good.test.", "pass"), ("badkey.test.", "fail")]
PY

# ---- servers found through the zone's NS records -----------------------
expect_exit 1 "nsfound.test: servers from NS + A through the resolver" P --format json nsfound.test
js "$T/out" "JSON: the NS host's address was asked on port 53" <<'PY'
assert [s["server"] for s in d["servers"]] == ["127.0.0.254:53"], d["servers"]
PY
finish
