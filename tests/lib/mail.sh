# Mail servers for tests/e2e/smtp*.sh (POSIX sh; source after common.sh).
# All listen on 127.0.0.1 only and live under $T; on_exit stops them.
#   mail_certs            test CA ($T/pki/ca.pem), a server certificate for
#                         127.0.0.1 and localhost, and a rogue CA's one
#   mail_start_smtp       aiosmtpd (tests/data/smtp/smtpd.py): sets
#                         SMTP_STARTTLS_PORT, SMTP_TLS_PORT, SMTP_PLAIN_PORT,
#                         SMTP_ROGUE_PORT; log in $T/smtpd.log
#   mail_start_imap       Dovecot (dovecot-imapd) over implicit TLS on
#                         IMAP_PORT, serving $MAILDIR as INBOX
#   mail_have_servers     0 when python3-aiosmtpd and dovecot are installed
# User $MAIL_USER, password $MAIL_PASSWORD, mail in $MAILDIR.
MAIL_USER=tester@mail.test
MAIL_PASSWORD='s3cret-Pa55word!'
MAILDIR=$T/Maildir
# Debian's interpreter, where python3-aiosmtpd is installed (not a pyenv).
MAIL_PYTHON=${MAIL_PYTHON:-/usr/bin/python3}
DOVECOT=${DOVECOT:-/usr/sbin/dovecot}

mail_have_servers() {
	"$MAIL_PYTHON" -c 'import aiosmtpd' 2>/dev/null && [ -x "$DOVECOT" ]
}

# _cert NAME CA: key and certificate $T/pki/NAME.{key,pem} signed by CA.
_cert() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -keyout "$T/pki/$1.key" -subj "/CN=$1" \
		-out "$T/pki/$1.csr" 2>/dev/null &&
	printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$T/pki/$1.ext" &&
	openssl x509 -req -in "$T/pki/$1.csr" -CA "$T/pki/$2.pem" \
		-CAkey "$T/pki/$2.key" -CAcreateserial -days 2 \
		-extfile "$T/pki/$1.ext" -out "$T/pki/$1.pem" 2>/dev/null
}

_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		-nodes -keyout "$T/pki/$1.key" -out "$T/pki/$1.pem" -days 2 \
		-subj "/CN=$1" -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

mail_certs() {
	mkdir -p "$T/pki" && _ca ca && _cert server ca && _ca rogue-ca &&
		_cert rogue rogue-ca
}

# The Maildir both servers share: Dovecot reads it as nobody (it refuses
# to give mail to root), the SMTP server writes world-readable files.
_maildir() {
	[ -d "$MAILDIR/new" ] && return 0
	chmod 711 "$T"
	mkdir -p "$MAILDIR/cur" "$MAILDIR/new" "$MAILDIR/tmp"
	chown -R nobody: "$MAILDIR"
}

# _wait_port PORT: until something listens (5 s at most).
_wait_port() {
	"$MAIL_PYTHON" - "$1" <<'PY'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

mail_start_smtp() {
	SMTP_STARTTLS_PORT=$(free_port); SMTP_TLS_PORT=$(free_port)
	SMTP_PLAIN_PORT=$(free_port); SMTP_ROGUE_PORT=$(free_port)
	_maildir
	"$MAIL_PYTHON" "$TOP/tests/data/smtp/smtpd.py" --maildir "$MAILDIR" \
		--cert "$T/pki/server.pem" --key "$T/pki/server.key" \
		--rogue-cert "$T/pki/rogue.pem" --rogue-key "$T/pki/rogue.key" \
		--user "$MAIL_USER" --password "$MAIL_PASSWORD" \
		--log "$T/smtpd.log" --ready "$T/smtpd.ready" \
		--starttls-port "$SMTP_STARTTLS_PORT" --tls-port "$SMTP_TLS_PORT" \
		--plain-port "$SMTP_PLAIN_PORT" --rogue-port "$SMTP_ROGUE_PORT" \
		>"$T/smtpd.out" 2>&1 &
	_smtpd_pid=$!
	on_exit 'kill $_smtpd_pid 2>/dev/null; wait $_smtpd_pid 2>/dev/null'
	i=0
	while [ ! -f "$T/smtpd.ready" ] && [ $i -lt 100 ]; do
		kill -0 $_smtpd_pid 2>/dev/null || break
		sleep 0.1; i=$((i + 1))
	done
	[ -f "$T/smtpd.ready" ] || { sed 's/^/# smtpd: /' "$T/smtpd.out"; return 1; }
}

mail_start_imap() {
	IMAP_PORT=$(free_port)
	d=$T/dovecot
	mkdir -p "$d/base" "$d/state" "$d/index" "$d/home"
	_maildir
	chown -R nobody: "$d/index" "$d/home"
	printf '%s:{PLAIN}%s::::::\n' "$MAIL_USER" "$MAIL_PASSWORD" >"$d/passwd"
	cat >"$d/dovecot.conf" <<EOF
protocols = imap
listen = 127.0.0.1
base_dir = $d/base
state_dir = $d/state
log_path = $d/dovecot.log
info_log_path = $d/dovecot.log
ssl = required
ssl_cert = <$T/pki/server.pem
ssl_key = <$T/pki/server.key
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain login
# No delay after a wrong password, no penalty for the next logins.
auth_failure_delay = 0
default_internal_user = dovecot
default_login_user = dovenull
mail_location = maildir:$MAILDIR:INDEX=$d/index
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $d/passwd
}
userdb {
  driver = static
  args = uid=$(id -u nobody) gid=$(id -g nobody) home=$d/home
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAP_PORT
    ssl = yes
  }
}
service auth {
  user = root
}
service auth-worker {
  user = root
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0600
  }
  unix_listener stats-writer {
    mode = 0600
  }
}
EOF
	"$DOVECOT" -F -c "$d/dovecot.conf" >"$d/dovecot.out" 2>&1 &
	_dovecot_pid=$!
	on_exit 'kill $_dovecot_pid 2>/dev/null; wait $_dovecot_pid 2>/dev/null'
	_wait_port "$IMAP_PORT" || {
		sed 's/^/# dovecot: /' "$d/dovecot.out" "$d/dovecot.log" 2>/dev/null
		return 1
	}
}
