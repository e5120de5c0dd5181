#!/bin/sh
# provision smtp-test against real mail servers on 127.0.0.1 (tests/lib/
# mail.sh): aiosmtpd with STARTTLS, implicit TLS, a port without STARTTLS
# and one with a rogue CA's certificate, delivering into a Maildir that a
# real Dovecot serves over IMAPS; all certificates from a test CA made here.
# Sent and confirmed on the STARTTLS and the implicit-TLS port; wrong
# password (never shown, even with -v); wrong port; untrusted CA; no
# STARTTLS; 465/587 mismatch; sender and recipient refused; not delivered.
. "$(dirname "$0")/../lib/common.sh"
. "$TOP/tests/lib/mail.sh"

if [ "$(id -u)" -ne 0 ]; then
	ok "smtp e2e skipped: Dovecot's test instance needs root"; finish; exit
fi
mail_have_servers || { not_ok "mail servers installed (python3-aiosmtpd, dovecot-imapd: scripts/install-deps.sh)"; finish; exit 1; }
mail_certs || { not_ok "test CA and certificates"; finish; exit 1; }
mail_start_smtp || { not_ok "aiosmtpd starts"; finish; exit 1; }
mail_start_imap || { not_ok "dovecot starts"; finish; exit 1; }

# cfg SMTP-KEYS: a configuration with one domain and these smtp keys
# (IMAP on $iport).
iport=$IMAP_PORT
cfg() {
	cat >"$T/provision.cfg" <<EOF
providers: { local = { type = "zonefile"; directory = "zones"; }; };
domains = ({ name = "mail.test"; provider = "local";
  smtp = { host = "127.0.0.1"; user = "$MAIL_USER"; ca_file = "pki/ca.pem";
           imap = { host = "127.0.0.1"; port = $iport; }; $1 }; });
EOF
}
# From another directory: ca_file is taken from the configuration's.
P() { (cd / && "$PROVISION" -c "$T/provision.cfg" smtp-test "$@"); }
export SMTP_PASSWORD="$MAIL_PASSWORD"
both() { cat "$T/out" "$T/err" >"$T/all"; }
json() { "$MAIL_PYTHON" -c "import json,sys; d=json.load(open('$T/out')); print($1)"; }

# --- 587-style STARTTLS, sent and found over IMAP; JSON
cfg "port = $SMTP_STARTTLS_PORT;"
expect_exit 0 "STARTTLS: sent and confirmed" P --to "$MAIL_USER" --confirm --wait 20s --format json
check "json: every step ok" test "$(json '",".join(s["step"]+"="+s["status"] for s in d["steps"])')" = \
	"connect=ok,tls=ok,auth=ok,send=ok,imap=ok,confirm=ok"
check "json: security derived from the port" test "$(json 'd["smtp"]["security"]')" = starttls
id=$(json 'd["message_id"]')
echo "$id" >"$T/id"
grep_file '^<[0-9a-f]\{32\}@mail\.test>$' "$T/id" "json: a Message-ID at the sender's domain"
grep -rl "^Message-ID: $id" "$MAILDIR" >"$T/found" 2>/dev/null
check "the message is in the Maildir with its Message-ID" test -s "$T/found"
f=$(head -1 "$T/found")
[ -n "$f" ] || f=/dev/null
grep_file "^Subject: provision smtp-test" "$f" "Subject header"
grep_file "^From: <$MAIL_USER>" "$f" "From header"
grep_file "^Date: " "$f" "Date header"
grep_file "DATA .* tls=True" "$T/smtpd.log" "the server saw the message over TLS"

# --- implicit TLS, text output; a second message has another Message-ID
cfg "port = $SMTP_TLS_PORT; security = \"tls\";"
expect_exit 0 "implicit TLS: sent and confirmed" P --to "$MAIL_USER" --confirm --wait 20s
grep_file "ok *tls *implicit TLS, certificate verified" "$T/out" "text: implicit TLS step"
grep_file "ok *confirm *found in INBOX" "$T/out" "text: confirm step"
grep_file "waiting for the message in INBOX" "$T/err" "confirm progress on stderr"
check "two messages, two Message-IDs" test "$(grep -rh '^Message-ID:' "$MAILDIR" | sort -u | wc -l)" -eq 2

# --- wrong password: refused (3), a hint, no password anywhere, even with -v
cfg "port = $SMTP_STARTTLS_PORT;"
bad='Wr0ng-Secret#42'
SMTP_PASSWORD=$bad expect_exit 3 "wrong password refused" P --to "$MAIL_USER" -v
both
grep_file "failed *auth *authentication refused for $MAIL_USER: 535" "$T/out" "auth step failed with the server's reply"
grep_file "hint: .*app password" "$T/out" "app password hint"
grep_file "AUTH PLAIN \[redacted\]" "$T/err" "verbose trace redacts AUTH"
nogrep_file "$bad" "$T/all" "the password is not in the output"
b64=$(printf '\0%s\0%s' "$MAIL_USER" "$bad" | base64 -w0)
nogrep_file "$b64" "$T/all" "nor its AUTH PLAIN base64"
nogrep_file "$(printf '%s' "$bad" | base64 -w0)" "$T/all" "nor its base64"
SMTP_PASSWORD=$bad expect_exit 3 "wrong password, JSON" P --to "$MAIL_USER" --format json
check "json: auth failed, send skipped" test "$(json 'd["status"]+" "+d["steps"][2]["status"]+" "+d["steps"][3]["status"]')" = "failed failed skipped"
check "json: the IMAP login is refused too" test "$(json 'd["steps"][4]["status"]')" = failed
nogrep_file "$bad" "$T/out" "no password in JSON"

# --- wrong port: connection refused (1)
cfg "port = $(free_port);"
expect_exit 1 "wrong port: not reached" P --to "$MAIL_USER"
grep_file "failed *connect *cannot connect to 127.0.0.1 port [0-9]*: connection refused" "$T/out" "connect step failed"
grep_file "hint: wrong host or port" "$T/out" "host/port hint"

# --- certificate from an untrusted CA: refused, nothing sent
cfg "port = $SMTP_ROGUE_PORT;"
expect_exit 1 "untrusted CA refused" P --to "$MAIL_USER"
grep_file "failed *tls *the certificate of 127.0.0.1 is not trusted" "$T/out" "tls step: not trusted"
grep_file "hint: .*ca_file" "$T/out" "ca_file hint"
nogrep_file "^$SMTP_ROGUE_PORT MAIL" "$T/smtpd.log" "nothing sent to the rogue server"
cat >"$T/provision.cfg" <<EOF
providers: { local = { type = "zonefile"; directory = "zones"; }; };
domains = ({ name = "mail.test"; provider = "local";
  smtp = { host = "127.0.0.1"; port = $SMTP_STARTTLS_PORT; user = "$MAIL_USER"; }; });
EOF
expect_exit 1 "no ca_file: the test CA is not trusted by default" P --to "$MAIL_USER"
grep_file "not trusted" "$T/out" "system CAs do not know the test CA"

# --- STARTTLS not offered: refused rather than sent in clear
cfg "port = $SMTP_PLAIN_PORT;"
expect_exit 3 "no STARTTLS: refused" P --to "$MAIL_USER" -v
grep_file "failed *tls *127.0.0.1 port [0-9]* does not offer STARTTLS" "$T/out" "tls step: no STARTTLS"
nogrep_file "^$SMTP_PLAIN_PORT MAIL" "$T/smtpd.log" "nothing sent in clear"
nogrep_file "smtp > AUTH" "$T/err" "no AUTH in clear"

# --- implicit TLS on the STARTTLS port
cfg "port = $SMTP_STARTTLS_PORT; security = \"tls\";"
expect_exit 1 "implicit TLS on a STARTTLS port" P --to "$MAIL_USER"
grep_file "failed *tls *TLS handshake" "$T/out" "tls step: handshake failed"
grep_file 'hint: .*set security = "starttls"' "$T/out" "hint: use STARTTLS"

# --- sender and recipient refused (3), with the server's reply
cfg "port = $SMTP_STARTTLS_PORT;"
expect_exit 3 "recipient refused" P --to nobody@mail.test
grep_file "failed *send *recipient <nobody@mail.test> refused: 550 5.1.1" "$T/out" "send step: recipient and reply"
cfg "port = $SMTP_STARTTLS_PORT; from = \"refused@mail.test\";"
expect_exit 3 "sender refused" P --to "$MAIL_USER"
grep_file "failed *send *sender <refused@mail.test> refused: 550 5.7.1" "$T/out" "send step: sender and reply"
grep_file "hint: .*smtp.from" "$T/out" "smtp.from hint"

# --- delivered 2 s late: found by a later search on the same connection
cfg "port = $SMTP_STARTTLS_PORT;"
expect_exit 0 "delivered late, found by polling" P --to late@mail.test --confirm --wait 20s -v
grep_file "ok *confirm *found in INBOX after [2-9]s" "$T/out" "found after 2s or more"
check "several searches" test "$(grep -c 'imap > A[0-9]* UID SEARCH HEADER Message-ID' "$T/err")" -ge 2
check "after one IMAP login" test "$(grep -c 'imap > A[0-9]* AUTHENTICATE' "$T/err")" -eq 1
grep_file "imap > A[0-9]* AUTHENTICATE PLAIN \[redacted\]" "$T/err" "IMAP trace redacts AUTHENTICATE"

# --- accepted but never delivered: the search keeps failing, then 3
cfg "port = $SMTP_STARTTLS_PORT;"
expect_exit 3 "accepted, not delivered" P --to blackhole@mail.test --confirm --wait 2s
grep_file "failed *confirm *the message did not arrive in INBOX within 2s" "$T/out" "confirm step failed"
grep_file "ok *send" "$T/out" "send step ok"

# --- IMAP on a wrong port: SMTP passes, imap fails (1)
iport=$(free_port)
cfg "port = $SMTP_STARTTLS_PORT;"
expect_exit 1 "IMAP port wrong" P --to "$MAIL_USER"
grep_file "ok *send" "$T/out" "send ok"
grep_file "failed *imap *cannot connect" "$T/out" "imap step failed"
grep_file "hint: .*smtp.imap.port" "$T/out" "imap hint"

finish
