#!/bin/sh
# Zone files that survive how they are kept: the written zone and its .bak
# keep the file's mode, owner and group (a zone at 0640 root:bind stays so,
# so BIND still reads it); a zone that is a symbolic link is read through the
# link and its target replaced atomically in the target's directory, the
# link left a link; a .bak that is a symbolic link is replaced, never written
# through. (Kills and stale temporaries: locking.sh.)
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"

cp -r "$TOP/tests/data/e2e/dns" "$T/dns"
knot_start "$T/dns" || { not_ok "knot starts"; finish; exit 1; }
mkdir -p "$T/zones" "$T/elsewhere"
zone() {
	cat <<ZONE
\$ORIGIN $1.
\$TTL 3600
@	IN SOA	ns1 hostmaster 1 7200 3600 1209600 300
	IN NS	ns1
ns1	IN A	127.0.0.1
@	IN TXT	"v=spf1 ip4:192.0.2.1 -all"
ZONE
}
cat >"$T/p.cfg" <<'CFG'
providers: { local = { type = "zonefile"; directory = "zones"; }; };
domains = ( { name = "mode.test"; provider = "local"; },
            { name = "link.test"; provider = "local"; },
            { name = "bak.test"; provider = "local"; } );
CFG
P() { "$PROVISION" -c "$T/p.cfg" --resolver "$KNOT_ADDR" "$@"; }
temps() { ls -A "$1" | grep -c '^\..*\.zone\.\(bak\.\)\{0,1\}[A-Za-z0-9]\{6\}$'; }

# mode.test: 0640, owned by another user and group (root may give it away)
zone mode.test >"$T/zones/mode.test.zone"
chmod 0640 "$T/zones/mode.test.zone"
OWNER=
if [ "$(id -u)" -eq 0 ]; then
	chown 4242:4343 "$T/zones/mode.test.zone" && OWNER="4242:4343"
fi
# link.test: zones/link.test.zone -> ../elsewhere/link.test.zone
zone link.test >"$T/elsewhere/link.test.zone"
chmod 0604 "$T/elsewhere/link.test.zone"
ln -s ../elsewhere/link.test.zone "$T/zones/link.test.zone"
# bak.test: a .bak that points at a file that must not be touched
zone bak.test >"$T/zones/bak.test.zone"
echo "precious" >"$T/victim"
ln -s "$T/victim" "$T/zones/bak.test.zone.bak"

expect_exit 0 "apply the three zones" P
check "the zone keeps its mode 0640" test "$(stat -c %a "$T/zones/mode.test.zone")" = 640
check "its .bak has the same mode" test "$(stat -c %a "$T/zones/mode.test.zone.bak")" = 640
if [ -n "$OWNER" ]; then
	check "the zone keeps its owner and group ($OWNER)" test "$(stat -c %u:%g "$T/zones/mode.test.zone")" = "$OWNER"
	check "its .bak has the same owner and group" test "$(stat -c %u:%g "$T/zones/mode.test.zone.bak")" = "$OWNER"
else
	echo "# skipped: owner and group kept (not root: cannot give the file away)"
fi
grep_file "include:mailgun.org" "$T/zones/mode.test.zone" "mode.test written"

check "the symbolic link is still a link" test -L "$T/zones/link.test.zone"
check "to the same target" test "$(readlink "$T/zones/link.test.zone")" = ../elsewhere/link.test.zone
grep_file "include:mailgun.org" "$T/elsewhere/link.test.zone" "the target was written"
check "the target keeps its mode" test "$(stat -c %a "$T/elsewhere/link.test.zone")" = 604
check "named-checkzone accepts the target" named-checkzone -q link.test "$T/elsewhere/link.test.zone"
expect_exit 0 "the link's zone is in sync afterwards" P --dry-run --detailed-exitcode link.test

check "a .bak that was a symbolic link is now a file" test -f "$T/zones/bak.test.zone.bak" -a ! -L "$T/zones/bak.test.zone.bak"
grep_file "v=spf1 ip4:192.0.2.1 -all" "$T/zones/bak.test.zone.bak" "it holds the previous zone"
check "the file it pointed at is untouched" test "$(cat "$T/victim")" = precious
check "no temporary file left beside the zones" test "$(temps "$T/zones")" = 0
check "no temporary file left beside the link's target" test "$(temps "$T/elsewhere")" = 0
finish
