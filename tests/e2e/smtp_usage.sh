#!/bin/sh
# provision smtp-test before any mail server: usage errors (64), missing or
# bad settings (78), the DOMAIN choice, ca_file relative to the
# configuration. Only 127.0.0.1 on a closed port is ever dialled.
. "$(dirname "$0")/../lib/common.sh"

closed=$(free_port)
cat >"$T/one.cfg" <<EOF
providers: { local = { type = "zonefile"; directory = "zones"; }; };
domains = ({ name = "one.test"; provider = "local";
  smtp = { host = "127.0.0.1"; port = $closed; user = "me@one.test"; }; });
EOF
cat >"$T/two.cfg" <<EOF
providers: { local = { type = "zonefile"; directory = "zones"; }; };
defaults: { smtp = { host = "127.0.0.1"; port = $closed; user = "me@{domain}";
  password_env = "TWO_PW"; }; };
domains = (
  { name = "a.test"; provider = "local"; },
  { name = "b.test"; provider = "local"; smtp = { from = "other@b.test"; }; },
  { name = "c.test"; provider = "local"; smtp = { host = "127.0.0.2"; user = "x"; }; }
);
EOF
export SMTP_PASSWORD=pw TWO_PW=pw2
P1() { "$PROVISION" -c "$T/one.cfg" smtp-test "$@"; }
P2() { "$PROVISION" -c "$T/two.cfg" smtp-test "$@"; }

# --- usage errors
expect_exit 64 "--to is required" P1
grep_file "smtp-test needs --to ADDRESS" "$T/err" "says --to is missing"
expect_exit 64 "--to must be one address" P1 --to "a@b.test, c@d.test"
expect_exit 64 "--to without a domain" P1 --to "root"
expect_exit 64 "--to with a line break" P1 --to "$(printf 'a@b.test\r\nBcc: x@y.test')"
expect_exit 64 "several domains need a DOMAIN" P2 --to x@y.test
grep_file "needs a DOMAIN" "$T/err" "says a DOMAIN is needed"
expect_exit 64 "one DOMAIN only" P2 --to x@y.test a.test b.test
expect_exit 64 "an unknown DOMAIN" P2 --to x@y.test nope.test
expect_exit 64 "--confirm without IMAP" P1 --to x@y.test --confirm
grep_file "--confirm needs IMAP settings" "$T/err" "says IMAP is missing"
expect_exit 64 "--wait takes a duration" P1 --to x@y.test --wait soon
expect_exit 64 "--to goes with smtp-test" "$PROVISION" -c "$T/one.cfg" --dry-run --to x@y.test

# --- the DOMAIN chosen, merged with the defaults
expect_exit 1 "the only domain is used without DOMAIN" P1 --to x@y.test
grep_file "^smtp-test one.test: 127.0.0.1 port $closed (starttls), from me@one.test" "$T/out" "one.test's settings"
grep_file "failed *connect *cannot connect to 127.0.0.1 port $closed" "$T/out" "closed port: connect failed"
expect_exit 1 "DOMAIN picks the domain" P2 --to x@y.test b.test --format json
grep_file '"domain":"b.test"' "$T/out" "json names b.test"
grep_file '"from":"other@b.test"' "$T/out" "b.test's own from"
grep_file '"user":"me@b.test"' "$T/out" "{domain} in the defaults' user"
grep_file '"status":"error"' "$T/out" "json status error"
grep_file '"step":"connect","status":"failed"' "$T/out" "json connect failed"
grep_file '"step":"tls","status":"skipped"' "$T/out" "json tls skipped"
grep_file '"imap":null' "$T/out" "json: no IMAP"

# --- settings that are missing or wrong
expect_exit 78 "smtp.user that is no address needs smtp.from" P2 --to x@y.test c.test
grep_file "two.cfg:7: domain 'c.test' needs smtp.from" "$T/err" "names file, line and key"
unset TWO_PW
expect_exit 78 "password variable not set" P2 --to x@y.test a.test
grep_file '\$TWO_PW is empty or not set' "$T/err" "names the variable"
cat >"$T/none.cfg" <<EOF
providers: { local = { type = "zonefile"; directory = "zones"; }; };
domains = ({ name = "none.test"; provider = "local"; });
EOF
expect_exit 78 "no smtp settings" "$PROVISION" -c "$T/none.cfg" smtp-test --to x@y.test
grep_file "none.cfg:2: domain 'none.test' has no SMTP settings" "$T/err" "says where"
for bad in 'security = "ssl";' 'port = 70000;' 'from = "me at example";' \
	'host = "smtp example.com";' 'password_env = "MY-PW";' 'preset = "yahoo";' \
	'imap = { port = "993"; };'; do
	cat >"$T/bad.cfg" <<EOF
providers: { local = { type = "zonefile"; directory = "zones"; }; };
domains = ({ name = "bad.test"; provider = "local";
  smtp = { host = "127.0.0.1";
    $bad }; });
EOF
	expect_exit 78 "bad value: $bad" "$PROVISION" -c "$T/bad.cfg" smtp-test --to x@y.test
	grep_file "bad.cfg:4: " "$T/err" "file and line for $bad"
done

# --- ca_file: relative to the configuration's directory, must be readable
mkdir -p "$T/sub"
cat >"$T/sub/ca.cfg" <<EOF
providers: { local = { type = "zonefile"; directory = "zones"; }; };
domains = ({ name = "one.test"; provider = "local";
  smtp = { host = "127.0.0.1"; port = $closed; user = "me@one.test"; ca_file = "ca.pem"; }; });
EOF
expect_exit 1 "a missing ca_file" "$PROVISION" -c "$T/sub/ca.cfg" smtp-test --to x@y.test
grep_file "cannot read smtp.ca_file '$T/sub/ca.pem'" "$T/err" "the path is the configuration's directory + ca_file"
finish
