#!/usr/bin/python3
"""A real SMTP server for the smtp-test end-to-end tests (aiosmtpd).

Listens on 127.0.0.1 only, on up to four ports:
  --starttls-port  STARTTLS required before anything else, AUTH after TLS
  --tls-port       implicit TLS (RFC 8314), AUTH
  --plain-port     no STARTTLS offered at all (a server to refuse)
  --rogue-port     STARTTLS with --rogue-cert/--rogue-key (an untrusted CA)
AUTH PLAIN and LOGIN accept only --user/--password. MAIL FROM
refused@... gets 550, RCPT TO nobody@... gets 550, blackhole@... is
accepted and dropped, late@... is delivered 2 seconds after it is accepted. Other messages go into the Maildir --maildir (the
INBOX Dovecot serves). Every command that
reaches the server's handlers is logged to --log as "PORT VERB ARG", so the
tests can prove that nothing was sent in clear. --ready is written once all
ports listen. Runs until SIGTERM.
"""
import argparse
import mailbox
import signal
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def parse():
    p = argparse.ArgumentParser()
    for k in ("maildir", "cert", "key", "user", "password", "log", "ready"):
        p.add_argument("--" + k, required=True)
    p.add_argument("--rogue-cert")
    p.add_argument("--rogue-key")
    for k in ("starttls-port", "tls-port", "plain-port", "rogue-port"):
        p.add_argument("--" + k, type=int, default=0)
    return p.parse_args()


class Handler:
    def __init__(self, args, port, lock):
        self.args, self.port, self.lock = args, port, lock

    def log(self, verb, arg):
        with self.lock, open(self.args.log, "a") as f:
            f.write("%d %s %s\n" % (self.port, verb, arg))

    async def handle_MAIL(self, server, session, envelope, address, options):
        self.log("MAIL", address)
        if address.startswith("refused@"):
            return "550 5.7.1 sender address refused"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        self.log("RCPT", address)
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.log("DATA", "%d bytes tls=%s" % (len(envelope.content),
                                              session.ssl is not None))
        if all(r.startswith("blackhole@") for r in envelope.rcpt_tos):
            return "250 2.0.0 dropped"
        content = envelope.original_content or envelope.content
        if any(r.startswith("late@") for r in envelope.rcpt_tos):
            threading.Timer(2.0, self.deliver, (content,)).start()
        else:
            self.deliver(content)
        return "250 2.0.0 queued"

    def deliver(self, content):
        with self.lock:
            mailbox.Maildir(self.args.maildir, create=True).add(content)


def authenticator(args):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login.decode() == args.user
              and auth_data.password.decode() == args.password)
        return AuthResult(success=ok, handled=False)
    return check


def context(cert, key):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    return ctx


def main():
    args = parse()
    lock = threading.Lock()
    ctx = context(args.cert, args.key)
    common = dict(hostname="127.0.0.1", authenticator=authenticator(args),
                  auth_require_tls=True, server_hostname="mail.test")
    specs = []
    if args.starttls_port:
        specs.append((args.starttls_port, dict(tls_context=ctx,
                                               require_starttls=True)))
    if args.tls_port:
        specs.append((args.tls_port, dict(ssl_context=ctx)))
    if args.plain_port:
        specs.append((args.plain_port, {}))
    if args.rogue_port:
        rogue = context(args.rogue_cert, args.rogue_key)
        specs.append((args.rogue_port, dict(tls_context=rogue,
                                            require_starttls=True)))
    controllers = []
    for port, extra in specs:
        c = Controller(Handler(args, port, lock), port=port,
                       **dict(common, **extra))
        c.start()
        controllers.append(c)
    open(args.ready, "w").close()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    signal.signal(signal.SIGINT, lambda *a: done.set())
    while not done.wait(0.5):
        pass
    for c in controllers:
        c.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
