# A throw-away Knot DNS server (and a server that never answers) for the
# end-to-end tests. POSIX sh; source it after tests/lib/common.sh:
#   . "$TOP/tests/lib/knot.sh"
#
#   knot_start ZONEDIR   serve every ZONEDIR/NAME.zone as zone NAME on
#                        127.0.0.1@$KNOT_PORT (exports KNOT_PORT, KNOT_ADDR);
#                        stopped on exit. 1 (with knotd's log) on failure.
#   knot_reload          re-read ZONEDIR (new, changed or removed zone
#                        files) after the test changed it; 1 on failure.
#   knot_log             print knotd's log (for a failing test).
#   silent_udp_start     a UDP+TCP port on 127.0.0.1 that never answers
#                        (exports SILENT_ADDR, SILENT_PORT); killed on exit.
#
# Knot runs as the current user, in the foreground, with everything under
# $T/knot: no systemd, no DNSSEC, zone files never written back.

: "${KNOTD:=/usr/sbin/knotd}"
: "${KNOTC:=/usr/sbin/knotc}"
: "${BUILD:=$TOP/build}"

# _knot_conf ZONEDIR: write $T/knot/knot.conf for the zones in ZONEDIR.
_knot_conf() {
	_kd=$T/knot
	{
		echo "server:"
		echo "    rundir: \"$_kd/run\""
		echo "    listen: 127.0.0.1@$KNOT_PORT"
		echo "    udp-workers: 1"
		echo "    tcp-workers: 1"
		echo "    background-workers: 1"
		echo "control:"
		echo "    listen: \"$_kd/knot.sock\""
		echo "log:"
		echo "  - target: \"$_kd/knot.log\""
		echo "    any: info"
		echo "database:"
		echo "    storage: \"$_kd/db\""
		echo "template:"
		echo "  - id: default"
		echo "    storage: \"$1\""
		echo "    zonefile-sync: -1"
		echo "    zonefile-load: whole"
		echo "    journal-content: none"
		echo "    semantic-checks: on"
		echo "zone:"
		for _kf in "$1"/*.zone; do
			[ -f "$_kf" ] || continue
			_kz=$(basename "$_kf" .zone)
			echo "  - domain: \"$_kz.\""
			echo "    file: \"$_kf\""
		done
	} >"$_kd/knot.conf.new" && mv "$_kd/knot.conf.new" "$_kd/knot.conf"
}

knot_log() { [ -f "$T/knot/knot.log" ] && sed 's/^/#   knot: /' "$T/knot/knot.log"; }

_knotc() { "$KNOTC" -c "$T/knot/knot.conf" -s "$T/knot/knot.sock" "$@"; }

# _knot_answers ZONE: 0 when the server answers SOA ZONE with NOERROR.
_knot_answers() {
	if command -v kdig >/dev/null 2>&1; then
		kdig -p "$KNOT_PORT" @127.0.0.1 +norec +timeout=1 +retry=0 \
			"$1" SOA 2>/dev/null | grep -q 'status: NOERROR'
	else
		"$BUILD/tests/dnsq" -t 500 "$KNOT_ADDR" "$1" SOA >/dev/null 2>&1
	fi
}

# _knot_wait_zones: every zone of ZONEDIR answers (at most ~10 s).
_knot_wait_zones() {
	for _kf in "$KNOT_ZONEDIR"/*.zone; do
		[ -f "$_kf" ] || continue
		_kz=$(basename "$_kf" .zone)
		_ki=0
		until _knot_answers "$_kz."; do
			_ki=$((_ki + 1))
			if [ "$_ki" -ge 50 ] || ! kill -0 "$KNOT_PID" 2>/dev/null
			then
				echo "# knot: zone $_kz. does not answer" >&2
				return 1
			fi
			sleep 0.2
		done
	done
}

knot_start() {
	KNOT_ZONEDIR=$(cd "$1" && pwd) || return 1
	mkdir -p "$T/knot/run" "$T/knot/db" || return 1
	KNOT_PORT=$(free_port)
	KNOT_ADDR=127.0.0.1:$KNOT_PORT
	export KNOT_PORT KNOT_ADDR KNOT_ZONEDIR
	_knot_conf "$KNOT_ZONEDIR" || return 1
	if ! "$KNOTC" -c "$T/knot/knot.conf" conf-check >"$T/knot/check.log" 2>&1
	then
		echo "# knot: bad configuration" >&2
		sed 's/^/#   /' "$T/knot/check.log" "$T/knot/knot.conf" >&2
		return 1
	fi
	"$KNOTD" -c "$T/knot/knot.conf" >>"$T/knot/knot.log" 2>&1 &
	KNOT_PID=$!
	on_exit "kill $KNOT_PID 2>/dev/null; wait $KNOT_PID 2>/dev/null"
	if ! _knot_wait_zones; then
		echo "# knot: knotd did not start" >&2
		knot_log >&2
		return 1
	fi
}

knot_reload() {
	_knot_conf "$KNOT_ZONEDIR" || return 1
	if ! _knotc reload >"$T/knot/reload.log" 2>&1; then
		sed 's/^/#   knotc: /' "$T/knot/reload.log" >&2
		knot_log >&2
		return 1
	fi
	# reload only schedules the loads: ask for each, blocking until done.
	for _kf in "$KNOT_ZONEDIR"/*.zone; do
		[ -f "$_kf" ] || continue
		_knotc -b zone-reload "$(basename "$_kf" .zone)." \
			>>"$T/knot/reload.log" 2>&1
	done
	return 0
}

silent_udp_start() {
	_sf=$T/silent.port
	rm -f "$_sf"
	python3 - "$_sf" <<'PY' &
import os, socket, sys, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
for _ in range(50):
    u.bind(("127.0.0.1", 0))
    port = u.getsockname()[1]
    try:
        t.bind(("127.0.0.1", port))
        break
    except OSError:
        u.close()
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t.listen(16)  # connections complete in the kernel, never read
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % port)
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    time.sleep(3600)
PY
	SILENT_PID=$!
	on_exit "kill $SILENT_PID 2>/dev/null; wait $SILENT_PID 2>/dev/null"
	_si=0
	while [ ! -s "$_sf" ]; do
		_si=$((_si + 1))
		if [ "$_si" -ge 50 ]; then
			echo "# silent server did not start" >&2
			return 1
		fi
		sleep 0.1
	done
	SILENT_PORT=$(cat "$_sf")
	SILENT_ADDR=127.0.0.1:$SILENT_PORT
	export SILENT_PORT SILENT_ADDR
}
