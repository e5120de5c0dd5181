#!/bin/sh
# The rfc2136 provider against the real servers: a Knot primary (with a
# Knot secondary for --wait) and a BIND primary, each with a TSIG key and an
# update policy allowing exactly the four managed names and types. Per
# server: a fresh zone gets the four records in one UPDATE (DKIM in two
# character-strings); an SPF beside verification TXT is merged and the
# others stay byte for byte, TTL included; a re-run sends no UPDATE; an edit
# landing between read and write is refused by the prerequisite with
# nothing written; a wrong secret, an unknown key, the wrong algorithm, a
# zone the key may not update, a skewed clock, a server down or silent each
# give one line on stderr naming server, zone and cause, never the secret.
# Results are read back with kdig from the server itself; BIND's zone with
# its journal passes named-checkzone.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/knot.sh"
. "$TOP/tests/lib/rfc2136.sh"

SECRET=$(tsig_secret)
OTHER=$(tsig_secret)
export PROVISION_TSIG_SECRET="$SECRET" WRONG_TSIG_SECRET="$OTHER"
MERGE_TXT='@	TXT	"v=spf1 ip4:192.0.2.10 ~all"
@	1800	TXT	"MS=ms12345678"
@	600	TXT	"google-site-verification=abcdefghijklmnopqrstuvwxyz0123456789"
www	A	192.0.2.80'

# The service's SPF tree, for the lookup count (a read-only Knot).
mkdir -p "$T/dns"
cp "$TOP/tests/data/e2e/dns/mailgun.org.zone" "$T/dns/"
knot_start "$T/dns" || { not_ok "knot (resolver) starts"; finish; exit 1; }

KP=$(free_port)
mkdir -p "$T/kp" "$T/ks"
for z in k-fresh.test k-edit.test k-wait.test deniedk.test; do dyn_zone "$T/kp" "$z"; done
dyn_zone "$T/kp" k-merge.test "$MERGE_TXT"
dyn_zone "$T/kp" k-edit.test '@	TXT	"v=spf1 ip4:192.0.2.10 ~all"'
dyn_zone "$T/kp" k-wait.test 'ns2	A	127.0.0.2
@	NS	ns2'
knotp_start "$T/kp" "$KP" "$SECRET" k-fresh.test k-merge.test k-edit.test k-wait.test deniedk.test ||
	{ not_ok "knot primary starts"; finish; exit 1; }
ok "knot primary on 127.0.0.1:$KP"
knots_start "$T/ks" "$KP" "$KP" k-wait.test || { not_ok "knot secondary starts"; finish; exit 1; }
ok "knot secondary on 127.0.0.2:$KP"

BP=$(free_port)
mkdir -p "$T/bp"
for z in b-fresh.test b-edit.test deniedb.test; do dyn_zone "$T/bp" "$z"; done
dyn_zone "$T/bp" b-merge.test "$MERGE_TXT"
dyn_zone "$T/bp" b-edit.test '@	TXT	"v=spf1 ip4:192.0.2.10 ~all"'
printf 'key "provision-key" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' "$SECRET" >"$T/bind.key"
chmod 600 "$T/bind.key"
bind_start "$T/bp" "$BP" "$T/bind.key" b-fresh.test b-merge.test b-edit.test deniedb.test ||
	{ not_ok "named starts"; finish; exit 1; }
ok "named on 127.0.0.1:$BP"

# The concurrent editor: a proxy in front of each primary.
proxy_start() { # NAME SERVERPORT SCRIPT: port in $T/NAME.port
	python3 "$TOP/tests/fakes/update_proxy.py" "$T/$1.port" "$2" "$3" >"$T/$1.log" 2>&1 &
	_pp=$!
	on_exit "kill $_pp 2>/dev/null; wait $_pp 2>/dev/null"
	_i=0
	while [ ! -s "$T/$1.port" ] && [ "$_i" -lt 50 ]; do _i=$((_i + 1)); sleep 0.1; done
}
for s in k:$KP b:$BP; do
	cat >"$T/${s%%:*}-edit.nsupdate" <<EOF
server 127.0.0.1 ${s#*:}
zone ${s%%:*}-edit.test.
update delete ${s%%:*}-edit.test. TXT "v=spf1 ip4:192.0.2.10 ~all"
update add ${s%%:*}-edit.test. 3600 TXT "v=spf1 ip4:192.0.2.99 ~all"
send
EOF
done
export EDIT_KEY="hmac-sha256:provision-key:$SECRET"
proxy_start kedit "$KP" "$T/k-edit.nsupdate"
proxy_start bedit "$BP" "$T/b-edit.nsupdate"
KEDIT=$(cat "$T/kedit.port") BEDIT=$(cat "$T/bedit.port")
SILENT_PORT=""
silent_udp_start || not_ok "silent server starts"
CLOSED=$(free_port)

cat >"$T/r.cfg" <<EOF
providers: {
  knot = { type = "rfc2136"; server = "127.0.0.1:$KP"; tsig_name = "provision-key";
           tsig_algorithm = "hmac-sha256"; tsig_secret_env = "PROVISION_TSIG_SECRET"; };
  bind = { type = "rfc2136"; server = "127.0.0.1:$BP"; tsig_keyfile = "bind.key"; };
  kedit = { type = "rfc2136"; server = "127.0.0.1:$KEDIT"; tsig_name = "provision-key";
            tsig_secret_env = "PROVISION_TSIG_SECRET"; };
  bedit = { type = "rfc2136"; server = "127.0.0.1:$BEDIT"; tsig_keyfile = "bind.key"; };
};
domains = (
  { name = "k-fresh.test"; provider = "knot"; },
  { name = "k-merge.test"; provider = "knot"; },
  { name = "k-edit.test"; provider = "kedit"; },
  { name = "k-wait.test"; provider = "knot"; },
  { name = "deniedk.test"; provider = "knot"; },
  { name = "b-fresh.test"; provider = "bind"; },
  { name = "b-merge.test"; provider = "bind"; },
  { name = "b-edit.test"; provider = "bedit"; },
  { name = "deniedb.test"; provider = "bind"; }
);
EOF
P() { "$PROVISION" -c "$T/r.cfg" --resolver "$KNOT_ADDR" "$@"; }
# kd PORT [ADDR] ARGS...: the server's own answer, +short
kd() { _p=$1; shift; kdig @127.0.0.1 -p "$_p" +tcp +norec +short "$@"; }
updates() { grep -c 'UPDATE to' "$T/err"; }
# server_updates k|b: the UPDATE messages the server logged for X-fresh.test
server_updates() {
	if [ "$1" = k ]; then grep -c '\[k-fresh.test.\] DDNS, processing' "$T/kp/knot.log"
	else grep -c "updating zone 'b-fresh.test/IN'" "$T/bp/named.log"; fi
}
no_secret() { # the secrets never appear, whatever the outcome
	check "$1: no secret on stdout or stderr" sh -c \
		'! grep -qF -e "$0" -e "$1" "$2" "$3"' "$SECRET" "$OTHER" "$T/out" "$T/err"
}

for s in k:$KP b:$BP; do
	x=${s%%:*} port=${s#*:}
	srv=$([ "$x" = k ] && echo knot || echo bind)

	# ---- a fresh zone: four records, one UPDATE ----
	expect_exit 0 "$srv: fresh zone applied" P -v $x-fresh.test
	check "$srv: one UPDATE" [ "$(updates)" -eq 1 ]
	grep_file "zone $x-fresh.test.: 5 queries to 127.0.0.1:$port over TCP" "$T/err" \
		"$srv: read with 5 queries (the apex SOA, TXT at each managed name)"
	no_secret "$srv fresh, -v"
	kd "$port" TXT $x-fresh.test >"$T/spf"
	grep_file '^"v=spf1 include:mailgun.org ~all"$' "$T/spf" "$srv: SPF published"
	kd "$port" TXT pic._domainkey.$x-fresh.test >"$T/dkim"
	check "$srv: DKIM in two character-strings, the first 255 bytes" python3 - "$T/dkim" <<'PY'
import re, sys
line = open(sys.argv[1]).read().strip()
parts = re.findall(r'"((?:[^"\\]|\\.)*)"', line)
assert len(parts) == 2, parts
assert len(parts[0]) == 255 and parts[0].startswith("k=rsa; p="), len(parts[0])
assert len("".join(parts)) > 255
PY
	kd "$port" TXT _dmarc.$x-fresh.test >"$T/dmarc"
	grep_file '"v=DMARC1; p=quarantine; rua=mailto:postmaster@'$x'-fresh.test' "$T/dmarc" "$srv: DMARC published"
	kd "$port" CNAME email.mg3.$x-fresh.test >"$T/cname"
	grep_file '^mailgun.org.$' "$T/cname" "$srv: tracking CNAME published"

	# ---- a re-run: in sync, no UPDATE ----
	seen=$(server_updates "$x")
	expect_exit 0 "$srv: re-run" P -v $x-fresh.test
	check "$srv: no UPDATE on the re-run" [ "$(updates)" -eq 0 ]
	check "$srv: the server saw none either ($seen before, $(server_updates "$x") after)" \
		[ "$(server_updates "$x")" -eq "$seen" ]
	check "$srv: the server saw the first one" [ "$seen" -ge 1 ]
	grep_file 'in sync' "$T/out" "$srv: in sync"

	# ---- merge beside verification TXT ----
	kdig @127.0.0.1 -p "$port" +tcp +norec +noall +answer TXT $x-merge.test | grep -v 'v=spf1' | sort >"$T/others.before"
	expect_exit 0 "$srv: merge applied" P $x-merge.test
	kd "$port" TXT $x-merge.test >"$T/spf"
	grep_file '^"v=spf1 ip4:192.0.2.10 include:mailgun.org ~all"$' "$T/spf" "$srv: SPF merged"
	check "$srv: one SPF record" [ "$(grep -c 'v=spf1' "$T/spf")" -eq 1 ]
	kdig @127.0.0.1 -p "$port" +tcp +norec +noall +answer TXT $x-merge.test | grep -v 'v=spf1' | sort >"$T/others.after"
	check "$srv: verification TXT kept ($(wc -l <"$T/others.before") records)" [ -s "$T/others.before" ]
	expect_same_file "$T/others.before" "$T/others.after" "$srv: the others byte for byte, TTLs too"
	kd "$port" A www.$x-merge.test >"$T/a"
	grep_file '^192.0.2.80$' "$T/a" "$srv: unmanaged A untouched"

	# ---- an edit between read and write: refused, nothing written ----
	expect_exit 1 "$srv: concurrent edit" P $x-edit.test
	grep_file "rfc2136: zone $x-edit.test. on 127.0.0.1:[0-9]*: the zone changed since it was read (NXRRSET" \
		"$T/err" "$srv: the prerequisite refused it, said on stderr"
	check "$srv: the proxy made the edit" grep -q edited "$T/${x}edit.port.log"
	kd "$port" TXT $x-edit.test >"$T/spf"
	grep_file '^"v=spf1 ip4:192.0.2.99 ~all"$' "$T/spf" "$srv: the other editor's SPF stands"
	check "$srv: no DMARC written either" [ -z "$(kd "$port" TXT _dmarc.$x-edit.test)" ]

	# ---- a zone the key may not update ----
	expect_exit 1 "$srv: zone without update rights" P denied$x.test
	# Knot refuses every signed message of a key not in the zone's acl
	# (BADKEY, at the first read); BIND reads, then refuses the update.
	if [ "$x" = k ]; then
		want="rfc2136: zone deniedk.test. on 127.0.0.1:$port: the server rejected the TSIG key 'provision-key' with hmac-sha256 (NOTAUTH, BADKEY): it does not know that key, or (Knot) the key is not in this zone's acl"
	else
		want="rfc2136: zone deniedb.test. on 127.0.0.1:$port: the server refused the update (REFUSED): it does not serve the zone, or the key 'provision-key' is not allowed to update these names and types there"
	fi
	grep_file "$want" "$T/err" "$srv: not allowed, said"
	check "$srv: nothing written" [ -z "$(kd "$port" TXT _dmarc.denied$x.test)" ]
done

# ---- the key, the algorithm, the clock ----
ONE=k-merge.test
one_cfg() { # PROVIDER-SETTINGS -> $T/one.cfg for $ONE
	cat >"$T/one.cfg" <<EOF
providers: { p = { type = "rfc2136"; $1 }; };
domains = ( { name = "$ONE"; provider = "p"; } );
EOF
}
O() { "$PROVISION" -c "$T/one.cfg" --resolver "$KNOT_ADDR" "$@"; }
KS="server = \"127.0.0.1:$KP\";"
# fails CODE WHAT SETTINGS PATTERN [ENV...]: a dry run of k-merge.test through
# a provider with SETTINGS exits CODE with PATTERN as its one line on stderr.
fails() {
	_c=$1 _w=$2 _s=$3 _p=$4
	shift 4
	one_cfg "$_s"
	expect_exit "$_c" "$_w" env "$@" "$PROVISION" -c "$T/one.cfg" --resolver "$KNOT_ADDR" --dry-run
	grep_file "$_p" "$T/err" "$_w: said"
	check "$_w: one line on stderr" [ "$(wc -l <"$T/err")" -eq 1 ]
	no_secret "$_w"
}
KEY='tsig_name = "provision-key"; tsig_secret_env = "PROVISION_TSIG_SECRET";'
# The key, the algorithm and the clock, on both servers.
for s in knot:$KP:k-merge.test bind:$BP:b-merge.test; do
	srv=${s%%:*} rest=${s#*:}
	ONE=${rest#*:} KS="server = \"127.0.0.1:${rest%%:*}\";"
	one_cfg "$KS tsig_name = \"provision-key\"; tsig_secret_env = \"WRONG_TSIG_SECRET\";"
	expect_exit 1 "$srv: wrong secret" O -v --dry-run
	grep_file "zone $ONE. on 127.0.0.1:${rest%%:*}: .*BADSIG): the secret in WRONG_TSIG_SECRET is not the server's" \
		"$T/err" "$srv: wrong secret: BADSIG, the variable named"
	no_secret "$srv: wrong secret, -v"
	fails 1 "$srv: unknown key" "$KS tsig_name = \"nobody-key\"; tsig_secret_env = \"PROVISION_TSIG_SECRET\";" \
		"zone $ONE. on .*rejected the TSIG key 'nobody-key' with hmac-sha256 (NOTAUTH, BADKEY)"
	fails 1 "$srv: wrong algorithm" "$KS $KEY tsig_algorithm = \"hmac-sha512\";" \
		"rejected the TSIG key 'provision-key' with hmac-sha512 (NOTAUTH, BADKEY)"
	# libfaketime under ASan: tell ASan the preload is wanted
	fails 1 "$srv: clock an hour slow" "$KS $KEY" \
		"BADTIME): this machine's clock is 3[56][0-9][0-9] s behind the server's, more than the 300 s allowed" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" faketime -f -1h
done
ONE=k-merge.test KS="server = \"127.0.0.1:$KP\";"
fails 1 "server down" "server = \"127.0.0.1:$CLOSED\"; $KEY" \
	"^provision: k-merge.test: rfc2136: zone k-merge.test. on 127.0.0.1:$CLOSED: no answer to the query SOA k-merge.test."
fails 1 "server silent" "server = \"127.0.0.1:$SILENT_PORT\"; timeout = 1; $KEY" \
	"on 127.0.0.1:$SILENT_PORT: no answer to the query SOA k-merge.test. over TCP within 1 s"
fails 78 "an algorithm not offered" "$KS $KEY tsig_algorithm = \"hmac-md5\";" \
	"one.cfg:1: provider 'p': TSIG algorithm 'hmac-md5' is not one of hmac-sha256, hmac-sha384, hmac-sha512"
fails 78 "no key at all" "$KS" "one.cfg:1: provider 'p': a TSIG key is required"
fails 78 "a bad server" "server = \"127.0.0.1:99999\"; tsig_keyfile = \"bind.key\";" \
	"server must be HOST, HOST:PORT or \[IPv6\]:PORT"
printf 'key "provision-key" {\n\talgorithm hmac-sha256;\n\tsecret "not base64!";\n};\n' >"$T/bad.key"
fails 78 "a key file with a bad secret" "$KS tsig_keyfile = \"bad.key\";" \
	"one.cfg:1: provider 'p': the secret in bad.key is not base64"
nogrep_file "not base64!" "$T/err" "the bad secret is not echoed"

# A BIND key file with comments and two keys: tsig_name picks one.
cat >"$T/multi.key" <<EOF
# made by tsig-keygen
key "other-key" { algorithm hmac-sha512; secret "$OTHER"; };
/* the one the zone allows */
key "provision-key" {
	algorithm hmac-sha256; // as on the server
	secret "$SECRET";
};
EOF
one_cfg "$KS tsig_keyfile = \"multi.key\"; tsig_name = \"provision-key\";"
expect_exit 0 "a key file of two keys, tsig_name picks one" O --dry-run
one_cfg "$KS tsig_keyfile = \"multi.key\";"
expect_exit 1 "without tsig_name, the file's first key" O --dry-run
grep_file "rejected the TSIG key 'other-key' with hmac-sha512" "$T/err" "the first key was used"

# ---- --wait: the secondary serves the new serial ----
expect_exit 0 "knot: apply with --wait" P -v --wait 30s k-wait.test
grep_file "serial [0-9]* served by the primary and 1 other server" "$T/err" "the secondary caught up"
check "the secondary serves the DMARC record" sh -c \
	"kdig @127.0.0.2 -p $KP +tcp +norec +short TXT _dmarc.k-wait.test | grep -q DMARC1"
kill "$KNOTS_PID"; wait "$KNOTS_PID" 2>/dev/null
cat >"$T/wait.nsupdate" <<EOF
server 127.0.0.1 $KP
zone k-wait.test.
update delete email.mg3.k-wait.test. CNAME
send
EOF
knsupdate -y "$EDIT_KEY" "$T/wait.nsupdate"
expect_exit 1 "knot: --wait with the secondary down" P --wait 2s k-wait.test
grep_file "applied on the primary (serial [0-9]*), but ns2.k-wait.test. still serves no answer after 2 s" \
	"$T/err" "the lagging secondary is named"

# ---- BIND's zone with its journal ----
check "BIND wrote a journal" [ -f "$T/bp/b-merge.test.zone.jnl" ]
check "named-checkzone accepts b-merge.test with its journal" \
	named-checkzone -q -j b-merge.test "$T/bp/b-merge.test.zone"
check "named-checkzone accepts b-fresh.test with its journal" \
	named-checkzone -q -j b-fresh.test "$T/bp/b-fresh.test.zone"
check "named-checkzone accepts Knot's written k-merge.test" \
	named-checkzone -q k-merge.test "$T/kp/k-merge.test.zone"
finish
