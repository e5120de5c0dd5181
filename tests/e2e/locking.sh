#!/bin/sh
# Two applies on one zone file never lose an update: the zonefile provider
# holds <zone>.zone.lock (flock) from the read to the end of the write.
# 20 runs at once, each adding its own tracking CNAME, leave all 20 in the
# zone, which passes named-checkzone, with no temporary file left; a lock
# held elsewhere makes a run wait, and past --lock-timeout fail naming the
# holder's pid; released during the wait, the run goes on. A dry run of a
# zone in a directory it may not write still works.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"

cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }
mkdir -p "$T/zones"
cat >"$T/zones/lock.test.zone" <<'ZONE'
$ORIGIN lock.test.
$TTL 3600
@	IN SOA	ns1 hostmaster 1 7200 3600 1209600 300
	IN NS	ns1
ns1	IN A	127.0.0.1
ZONE
N=20
i=1
while [ "$i" -le "$N" ]; do
	cat >"$T/c$i.cfg" <<EOF
providers: { local = { type = "zonefile"; directory = "zones"; }; };
domains = ( { name = "lock.test"; provider = "local"; tracking = { name = "email.t$i"; }; } );
EOF
	i=$((i + 1))
done

# ---- 20 at once ----
i=1
pids=""
while [ "$i" -le "$N" ]; do
	"$PROVISION" -c "$T/c$i.cfg" --resolver "$KNOT_ADDR" >"$T/run$i.out" 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
done
fails=0
for p in $pids; do wait "$p" || fails=$((fails + 1)); done
check "all $N runs succeed" [ "$fails" -eq 0 ]
[ "$fails" -eq 0 ] || cat "$T"/run*.out | grep -v '^ ' | head -5 | sed 's/^/#   /'
check "the zone holds all $N tracking CNAMEs" [ "$(grep -c '^email\.t[0-9]*\.lock\.test\.	3600	IN	CNAME	mailgun\.org\.$' "$T/zones/lock.test.zone")" -eq "$N" ]
check "one SPF, one DKIM, one DMARC record" [ "$(grep -c -e 'v=spf1' -e '^pic._domainkey' -e '^_dmarc' "$T/zones/lock.test.zone")" -eq 3 ]
check "named-checkzone accepts it" named-checkzone -q lock.test "$T/zones/lock.test.zone"
check "no temporary file left (zone, .bak, .lock only)" sh -c \
	"[ \"\$(ls -A '$T/zones' | grep -v -e '^lock.test.zone\$' -e '^lock.test.zone.bak\$' -e '^lock.test.zone.lock\$')\" = '' ]"
i=1
while [ "$i" -le "$N" ]; do
	"$PROVISION" -c "$T/c$i.cfg" --resolver "$KNOT_ADDR" --dry-run --detailed-exitcode >/dev/null 2>&1 || break
	i=$((i + 1))
done
check "every run's records are in place (each in sync)" [ "$i" -gt "$N" ]

# ---- a lock held elsewhere ----
LOCK=$T/zones/lock.test.zone.lock
mkfifo "$T/release" "$T/held"
# flock(1) holds the lock and writes its pid as provision does; it lets go
# when something is written to $T/release.
flock "$LOCK" sh -c 'echo $$ >"$1"; echo held >"$2"; read x <"$3"' sh "$LOCK" "$T/held" "$T/release" &
HOLDER=$!
read x <"$T/held"
holder_pid=$(cat "$LOCK")
expect_exit 1 "a held lock past --lock-timeout" "$PROVISION" -c "$T/c1.cfg" --resolver "$KNOT_ADDR" \
	--dry-run --lock-timeout 1s
grep_file "^provision: lock.test: zonefile: zones/lock.test.zone is locked by process $holder_pid (another run on this zone); waited 1 s (--lock-timeout)" \
	"$T/err" "the holder's pid is named, on stderr"
# released during the wait: the run goes on
"$PROVISION" -c "$T/c1.cfg" --resolver "$KNOT_ADDR" --dry-run --lock-timeout 30s >"$T/wait.out" 2>&1 &
WAITER=$!
# the waiter is blocked in flock(): /proc shows it waiting on the lock
i=0
until grep -q -- "-> FLOCK" /proc/locks || [ "$i" -ge 100 ]; do
	i=$((i + 1))
	sleep 0.05
done
echo go >"$T/release"
wait "$HOLDER"
wait "$WAITER"
check "released during the wait, the run goes on" [ $? -eq 0 ]
grep_file "in sync" "$T/wait.out" "the waiting run planned on the zone"

# ---- kill -9 at random points of an apply, 50 times: old or new, never a mix ----
cat >"$T/zones/kill.test.zone" <<'ZONE'
$ORIGIN kill.test.
$TTL 3600
@	IN SOA	ns1 hostmaster 1 7200 3600 1209600 300
	IN NS	ns1
ns1	IN A	127.0.0.1
@	IN TXT	"v=spf1 ip4:192.0.2.1 -all"
ZONE
cp "$T/zones/kill.test.zone" "$T/kill.old"
printf '%s\n' 'providers: { local = { type = "zonefile"; directory = "zones"; }; };' \
	'domains = ( { name = "kill.test"; provider = "local"; } );' >"$T/kill.cfg"
# kill_ok FILE: the old zone, or a complete new one (its serial may differ)
kill_ok() {
	cmp -s "$1" "$T/kill.old" && { old=$((old + 1)); return 0; }
	named-checkzone -q kill.test "$1" &&
		[ "$(grep -c -e 'v=spf1 ip4:192.0.2.1 include:mailgun.org' -e '^pic._domainkey' -e '^_dmarc' -e '^email.mg3' "$1")" -eq 4 ] &&
		{ new=$((new + 1)); return 0; }
	return 1
}
mixed=0 old=0 new=0 k=0
while [ "$k" -lt 50 ]; do
	cp "$T/kill.old" "$T/zones/kill.test.zone"
	"$PROVISION" -c "$T/kill.cfg" --resolver "$KNOT_ADDR" >/dev/null 2>&1 &
	victim=$!
	# a random point of the run, 0 to 59 ms: the timer is the point here
	sleep "0.0$(( $(od -An -N1 -tu1 /dev/urandom) % 60 ))"
	kill -9 "$victim" 2>/dev/null
	wait "$victim" 2>/dev/null
	kill_ok "$T/zones/kill.test.zone" || { mixed=$((mixed + 1)); cp "$T/zones/kill.test.zone" "$T/kill.mixed$k"; }
	k=$((k + 1))
done
check "50 kills: always the old or the new zone ($old old, $new new, $mixed other)" [ "$mixed" -eq 0 ]
left=$(ls -A "$T/zones" | grep -c '^\.kill\.test\.zone\.\(bak\.\)\{0,1\}[A-Za-z0-9]\{6\}$')
echo "# temporary files left by the kills: $left"
echo 999999 >"$T/zones/kill.test.zone.lock"   # a holder killed holding the lock
: >"$T/zones/.kill.test.zone.AbC123"         # stale, as a SIGKILL leaves them
: >"$T/zones/.kill.test.zone.bak.XyZ789"
: >"$T/zones/.kill.test.zone.keepme1"        # not our pattern: kept
: >"$T/zones/.other.zone.QwE456"             # another zone's: kept
expect_exit 0 "the next run, after the kills" "$PROVISION" -c "$T/kill.cfg" --resolver "$KNOT_ADDR"
grep_file "zonefile: zones/kill.test.zone: removed .kill.test.zone.AbC123, a temporary file left by a run that was stopped" "$T/err" "a stale temporary removed, with a note"
check "no temporary of the zone left (the kills' $left and the two planted)" sh -c \
	"! ls -A '$T/zones' | grep -q '^\.kill\.test\.zone\.\(bak\.\)\{0,1\}[A-Za-z0-9]\{6\}\$'"
check "files not of our pattern, or of another zone, kept" test -f "$T/zones/.kill.test.zone.keepme1" -a -f "$T/zones/.other.zone.QwE456"
check "the zone after the kills and the sweep passes named-checkzone" named-checkzone -q kill.test "$T/zones/kill.test.zone"
check "a run that ends empties the lock file (nothing to sweep next time)" test ! -s "$T/zones/kill.test.zone.lock"
: >"$T/zones/.kill.test.zone.ZzZ999"
expect_exit 0 "a run after a clean one" "$PROVISION" -c "$T/kill.cfg" --resolver "$KNOT_ADDR" --dry-run
check "after a clean run the directory is not swept" test -f "$T/zones/.kill.test.zone.ZzZ999"
rm -f "$T/zones/.kill.test.zone.keepme1" "$T/zones/.other.zone.QwE456" "$T/zones/.kill.test.zone.ZzZ999"

# ---- a directory this run may not write: a dry run still works ----
chmod 755 "$T"
rm -f "$LOCK"
chmod 555 "$T/zones"
if [ "$(id -u)" -eq 0 ]; then
	chmod 644 "$T"/c1.cfg
	expect_exit 0 "dry run as a user who may not write the directory" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$PROVISION" -c "$T/c1.cfg" \
		--resolver "$KNOT_ADDR" --dry-run
else
	expect_exit 0 "dry run in a directory this user may not write" \
		"$PROVISION" -c "$T/c1.cfg" --resolver "$KNOT_ADDR" --dry-run
fi
chmod 755 "$T/zones"
finish
