#!/bin/sh
# Bad input gives a clear one-line error with the right exit code and
# leaves every zone file byte-identical.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"

cp -r "$TOP/tests/data/e2e/zones" "$TOP/tests/data/e2e/provision.cfg" "$T/"
cp "$T/zones/example.com.zone" "$T/orig.zone"
cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }
P() { "$PROVISION" --resolver "$KNOT_ADDR" "$@"; }

# configuration
printf 'domains = ( { name = "example.com"; provider = "local"; } \n' > "$T/syntax.cfg"
expect_exit 78 "config syntax error" P -c "$T/syntax.cfg" --dry-run
grep_file "syntax.cfg:[0-9]" "$T/err" "syntax error names file and line"
cat > "$T/unknown.cfg" <<'CFG'
providers: { local = { type = "zonefile"; directory = "zones"; }; };
domains = ( { name = "example.com"; provider = "local"; colour = "red"; } );
CFG
expect_exit 78 "unknown key" P -c "$T/unknown.cfg" --dry-run
grep_file "unknown.cfg:2: .*colour" "$T/err" "unknown key named with its line"
cat > "$T/noprov.cfg" <<'CFG'
providers: { local = { type = "zonefile"; directory = "zones"; }; };
domains = ( { name = "example.com"; provider = "cf"; } );
CFG
expect_exit 78 "domain naming a missing provider" P -c "$T/noprov.cfg" --dry-run
grep_file "noprov.cfg:2: .*'cf'" "$T/err" "missing provider named"
cat > "$T/badval.cfg" <<'CFG'
providers: { local = { type = "zonefile"; directory = "zones"; }; };
domains = ( { name = "example.com"; provider = "local";
              dmarc = { policy = "strict"; }; } );
CFG
expect_exit 78 "policy = strict" P -c "$T/badval.cfg" --dry-run
grep_file "badval.cfg:3: " "$T/err" "bad value names its line"
expect_exit 78 "missing configuration file" P -c "$T/nope.cfg" --dry-run
grep_file "nope.cfg" "$T/err" "missing file named"

# command line
expect_exit 64 "unknown option" P -c "$T/provision.cfg" --bogus
expect_exit 64 "bad --format" P -c "$T/provision.cfg" --format yaml
expect_exit 64 "domain not in the configuration" P -c "$T/provision.cfg" --dry-run nosuch.example
grep_file "nosuch.example" "$T/err" "unknown domain named"
expect_exit 64 "--detailed-exitcode without --dry-run" P -c "$T/provision.cfg" --detailed-exitcode
expect_exit 0 "--version" P --version
grep_file "provision [0-9]" "$T/out" "version printed"
expect_exit 0 "--help" P --help
grep_file "usage: provision" "$T/out" "usage printed"

# zone files
cat > "$T/zones/broken.test.zone" <<'ZONE'
$ORIGIN broken.test.
$TTL 3600
@ SOA ns.broken.test. hostmaster.broken.test. 1 3600 600 86400 300
@ NS ns.broken.test.
www A 999.1.2.3
ZONE
cp "$T/zones/broken.test.zone" "$T/broken.orig"
cat > "$T/zones.cfg" <<'CFG'
providers: { local = { type = "zonefile"; directory = "zones"; }; };
domains = ( { name = "broken.test"; provider = "local"; },
            { name = "missing.test"; provider = "local"; },
            { name = "example.com"; provider = "local"; } );
CFG
expect_exit 1 "malformed zone file" P -c "$T/zones.cfg" broken.test
grep_file "broken.test.zone:5" "$T/out" "parse error names file and line"
expect_same_file "$T/zones/broken.test.zone" "$T/broken.orig" "malformed zone untouched"
expect_exit 1 "missing zone file" P -c "$T/zones.cfg" --dry-run missing.test
grep_file "missing.test.zone" "$T/out" "missing zone file named"

# a write that cannot complete: the backup path is taken by a directory
mkdir "$T/zones/example.com.zone.bak"
expect_exit 1 "apply that cannot write leaves the zone intact" P -c "$T/zones.cfg" example.com
expect_same_file "$T/zones/example.com.zone" "$T/orig.zone" "zone byte-identical after a failed write"
check "no temporary files left behind" sh -c "! ls -a '$T/zones' | grep -v -e '^\.\.\?$' -e '\.zone$' -e '\.bak$' -e '\.lock$' -e '\.orig$' | grep -q ."
rmdir "$T/zones/example.com.zone.bak"

# a read-only zone directory, for a user who may not write there
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	mkdir -p "$T/ro/zones" && cp "$T/orig.zone" "$T/ro/zones/example.com.zone"
	# the backups may go somewhere writable: the zone directory is the point
	mkdir -p "$T/ro-backups" && chmod 777 "$T/ro-backups"
	{ echo "backup_dir = \"$T/ro-backups\";"; cat "$T/zones.cfg"; } >"$T/ro/zones.cfg"
	chmod 755 "$T" "$T/ro" && chmod 555 "$T/ro/zones" && chmod 644 "$T/ro/zones/example.com.zone"
	expect_exit 1 "apply into a read-only directory" setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$PROVISION" -c "$T/ro/zones.cfg" --resolver "$KNOT_ADDR" example.com
	grep_file "cannot write zones/example.com.zone: Permission denied" "$T/out" "error names the zone and the cause"
	expect_same_file "$T/ro/zones/example.com.zone" "$T/orig.zone" "zone byte-identical in a read-only directory"
	expect_exit 1 "no backup directory that can be made: nothing written" setpriv --reuid=65534 \
		--regid=65534 --clear-groups "$PROVISION" -c "$T/zones.cfg" --resolver "$KNOT_ADDR" example.com
	grep_file "cannot \(make the backup directory\|write the backup\) .*provision-backups.*: Permission denied" "$T/out" \
		"the backup failure names the directory"
	chmod 755 "$T/ro/zones"
else
	ok "read-only directory: skipped (needs root and setpriv to switch to an unprivileged user)"
fi

# a DNS server that never answers
silent_udp_start
SILENT=$SILENT_ADDR
expect_exit 0 "dry run with silent DNS: cost unknown, a warning" "$PROVISION" -c "$T/zones.cfg" --resolver "$SILENT" --dns-timeout 1s --dry-run --format json example.com
check "lookups null and a warning says why" python3 - "$T/out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["domains"][0]
assert d["spf"]["lookups"] is None, d["spf"]
w = [g for g in d["diagnostics"] if g["code"] == "spf-dns-failed"]
assert w and w[0]["severity"] == "warning", d["diagnostics"]
PY
expect_exit 1 "apply with silent DNS refuses to publish an uncounted SPF" "$PROVISION" -c "$T/zones.cfg" --resolver "$SILENT" --dns-timeout 1s example.com
expect_same_file "$T/zones/example.com.zone" "$T/orig.zone" "zone untouched when DNS failed"
for bad in 0 0s 61s 2m fast; do
	expect_exit 64 "--dns-timeout $bad is a usage error" "$PROVISION" -c "$T/zones.cfg" --dns-timeout "$bad" --dry-run
	grep_file "^provision: --dns-timeout takes a duration from 1s to 60s, not '$bad'" "$T/err" \
		"--dns-timeout $bad: says what it takes"
done
finish
