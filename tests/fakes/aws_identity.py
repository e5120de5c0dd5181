#!/usr/bin/env python3
"""Fakes of the two AWS services a client gets temporary credentials from.

  --service sts    STS AssumeRoleWithWebIdentity (Query API, version
                   2011-06-15) over HTTPS: checks the web identity token and
                   the role, answers AWS's XML with an Expiration, or AWS's
                   XML errors (InvalidIdentityToken, ExpiredTokenException,
                   AccessDenied, ValidationError).
  --service imds   the EC2 instance metadata service, IMDSv2 only, over plain
                   HTTP: PUT /latest/api/token (needs
                   X-aws-ec2-metadata-token-ttl-seconds), then
                   /latest/meta-data/iam/security-credentials/[ROLE] with
                   X-aws-ec2-metadata-token (401 without a valid one).

Every key pair issued is appended to --issued FILE (one JSON object a line:
akid, secret, token, expires, revoked), which tests/fakes/route53.py reads
with --issued-credentials FILE, so Route 53 accepts what these issue.  The
state (GET/POST /__fake/state) holds what may change during a test:
  {"lifetime": 3600,      seconds the next credentials last (may be < 0)
   "revoke_next": 0,      the next N key pairs are refused by route53.py as
                          expired although their Expiration is later
   "refuse_token": false, (imds) PUT /latest/api/token answers 403
   "issued": n}           (read only) key pairs issued so far
The log line per request never holds a token or key (tests check that).

  aws_identity.py --service sts --cert C --key K --issued F \\
      --role arn:aws:iam::123456789012:role/ci --web-token TOKEN
  aws_identity.py --service imds --plain --issued F --role-name web
"""

import argparse
import base64
import datetime
import json
import os
import re
import secrets
import sys
import threading
import time
import uuid
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import FakeHandler, Reply, add_server_args, serve  # noqa: E402

STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"
ACCOUNT = "123456789012"
CREDS = "/latest/meta-data/iam/security-credentials/"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


class Issuer:
    """Temporary key pairs, written to the shared file."""

    def __init__(self, opts):
        self.o = opts
        self.lock = threading.Lock()
        self.lifetime = opts.lifetime
        self.revoke_next = 0
        self.refuse_token = False
        self.issued = 0

    def issue(self, who):
        with self.lock:
            akid = "ASIA" + "".join(secrets.choice(ALNUM) for _ in range(16))
            cred = {"akid": akid,
                    "secret": base64.b64encode(secrets.token_bytes(30)).decode(),
                    "token": "IQoJb3JpZ2luX2Vj" + base64.b64encode(
                        secrets.token_bytes(96)).decode(),
                    "expires": int(time.time()) + self.lifetime,
                    "revoked": self.revoke_next > 0}
            self.revoke_next = max(0, self.revoke_next - 1)
            self.issued += 1
            if self.o.issued:
                with open(self.o.issued, "a") as f:
                    f.write(json.dumps(cred) + "\n")
            sys.stderr.write("%s issued %s to %s, expires in %d s%s\n" % (
                time.strftime("%H:%M:%S"), akid, who, self.lifetime,
                " (revoked)" if cred["revoked"] else ""))
            sys.stderr.flush()
            return cred

    def dump_state(self):
        return {"lifetime": self.lifetime, "revoke_next": self.revoke_next,
                "refuse_token": self.refuse_token, "issued": self.issued}

    def load_state(self, obj):
        if not isinstance(obj, dict):
            raise ValueError("state must be an object")
        with self.lock:
            if "lifetime" in obj:
                self.lifetime = int(obj["lifetime"])
            if "revoke_next" in obj:
                self.revoke_next = int(obj["revoke_next"])
            if "refuse_token" in obj:
                self.refuse_token = bool(obj["refuse_token"])

    # common.py hooks shared by both services
    def rate_key(self, headers):
        return "all"

    def rate_headers(self, limiter, remaining, reset):
        return {}


class STSError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class STS(Issuer):
    def template(self, method, path):
        return "%s %s" % (method, path)

    def error(self, e):
        kind = "Receiver" if e.status >= 500 else "Sender"
        body = ('<ErrorResponse xmlns="%s">\n  <Error>\n    <Type>%s</Type>\n'
                '    <Code>%s</Code>\n    <Message>%s</Message>\n  </Error>\n'
                '  <RequestId>%s</RequestId>\n</ErrorResponse>\n' % (
                    STS_NS, kind, e.code, escape(e.message), uuid.uuid4()))
        return Reply(e.status, None, {"x-amzn-RequestId": str(uuid.uuid4())},
                     raw=body.encode(), content_type="text/xml")

    def rate_limit_reply(self, retry_after):
        return self.error(STSError(400, "Throttling", "Rate exceeded"))

    def error_reply(self, status):
        return self.error(STSError(status, "InternalFailure",
                                   "An internal error occurred (injected fault)"))

    def handle(self, method, path, query, body, headers):
        try:
            return self.assume(method, path, query, headers)
        except STSError as e:
            return self.error(e)

    def assume(self, method, path, query, headers):
        if path != "/" or method not in ("GET", "POST"):
            raise STSError(404, "UnknownOperationException", "unknown path")
        params = dict(query)
        if method == "POST":
            ctype = headers.get("Content-Type", "")
            if not ctype.startswith("application/x-www-form-urlencoded"):
                raise STSError(400, "InvalidParameterValue", "the body must be "
                               "application/x-www-form-urlencoded")
            params.update(parse_qsl(getattr(_tls, "raw", b"").decode(),
                                    keep_blank_values=True))
        if params.get("Action") != "AssumeRoleWithWebIdentity":
            raise STSError(400, "InvalidAction", "Could not find operation %s "
                           "for version %s" % (params.get("Action"),
                                               params.get("Version")))
        if params.get("Version") != "2011-06-15":
            raise STSError(400, "InvalidAction", "Could not find operation "
                           "AssumeRoleWithWebIdentity for version %s"
                           % params.get("Version"))
        if "Authorization" in headers:
            raise STSError(400, "InvalidParameterValue", "AssumeRoleWithWeb"
                           "Identity is not signed (unexpected Authorization)")
        role = params.get("RoleArn", "")
        session = params.get("RoleSessionName", "")
        token = params.get("WebIdentityToken", "")
        if not re.match(r"^[\w+=,.@-]{2,64}$", session):
            raise STSError(400, "ValidationError", "1 validation error "
                           "detected: Value at 'roleSessionName' failed to "
                           "satisfy constraint: Member must satisfy regular "
                           "expression pattern: [\\w+=,.@-]*")
        if len(token) < 4:
            raise STSError(400, "ValidationError", "1 validation error "
                           "detected: Value at 'webIdentityToken' failed to "
                           "satisfy constraint: Member must have length "
                           "greater than or equal to 4")
        if token in self.o.expired_token:
            now = time.time()
            raise STSError(400, "ExpiredTokenException", "Token expired: "
                           "current date/time %d must be before the "
                           "expiration date/time %d" % (now, now - 600))
        if token not in self.o.web_token:
            raise STSError(400, "InvalidIdentityToken", "Couldn't retrieve "
                           "verification key from your identity provider,  "
                           "please reference AssumeRoleWithWebIdentity "
                           "documentation for requirements")
        if role not in self.o.role:
            raise STSError(403, "AccessDenied", "Not authorized to perform "
                           "sts:AssumeRoleWithWebIdentity")
        c = self.issue("%s (session %s)" % (role, session))
        name = role.rsplit("/", 1)[-1]
        body = """<AssumeRoleWithWebIdentityResponse xmlns="%s">
  <AssumeRoleWithWebIdentityResult>
    <Audience>sts.amazonaws.com</Audience>
    <AssumedRoleUser>
      <AssumedRoleId>AROA3XFRBF535PLBIFPI4:%s</AssumedRoleId>
      <Arn>arn:aws:sts::%s:assumed-role/%s/%s</Arn>
    </AssumedRoleUser>
    <Provider>arn:aws:iam::%s:oidc-provider/token.actions.example</Provider>
    <Credentials>
      <AccessKeyId>%s</AccessKeyId>
      <SecretAccessKey>%s</SecretAccessKey>
      <SessionToken>%s</SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
    <SubjectFromWebIdentityToken>repo:example/provision:ref:main</SubjectFromWebIdentityToken>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>%s</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>
""" % (STS_NS, escape(session), ACCOUNT, escape(name), escape(session),
            ACCOUNT, c["akid"], c["secret"], c["token"], iso(c["expires"]),
            uuid.uuid4())
        return Reply(200, None, {"x-amzn-RequestId": str(uuid.uuid4())},
                     raw=body.encode(), content_type="text/xml")


class IMDS(Issuer):
    def __init__(self, opts):
        super().__init__(opts)
        self.tokens = {}    # token -> expiry (time)

    def template(self, method, path):
        if path.startswith(CREDS) and path != CREDS:
            return "%s %s:role" % (method, CREDS)
        return "%s %s" % (method, path)

    @staticmethod
    def text(status, s):
        return Reply(status, None, raw=s.encode(), content_type="text/plain")

    def rate_limit_reply(self, retry_after):
        return self.text(429, "Too Many Requests")

    def error_reply(self, status):
        return self.text(status, "Internal Server Error")

    def handle(self, method, path, query, body, headers):
        if path == "/latest/api/token":
            if method != "PUT":
                return self.text(405, "Method Not Allowed")
            if headers.get("X-Forwarded-For") or self.refuse_token:
                return self.text(403, "Forbidden")
            ttl = headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
            if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
                return self.text(400, "Bad Request")
            tok = base64.urlsafe_b64encode(secrets.token_bytes(42)).decode()
            with self.lock:
                self.tokens[tok] = time.time() + int(ttl)
            return Reply(200, None, {"X-aws-ec2-metadata-token-ttl-seconds":
                                     ttl}, raw=tok.encode(),
                         content_type="text/plain")
        tok = headers.get("X-aws-ec2-metadata-token")
        with self.lock:
            valid = tok in self.tokens and self.tokens[tok] > time.time()
        if not valid:
            return self.text(401, "Unauthorized")
        if method != "GET":
            return self.text(405, "Method Not Allowed")
        if path == CREDS:
            if not self.o.role_name:
                return self.text(404, "Not Found")
            return self.text(200, self.o.role_name)
        if path.startswith(CREDS) and path[len(CREDS):] == self.o.role_name:
            c = self.issue("instance role %s" % self.o.role_name)
            doc = {"Code": "Success", "LastUpdated": iso(time.time()),
                   "Type": "AWS-HMAC", "AccessKeyId": c["akid"],
                   "SecretAccessKey": c["secret"], "Token": c["token"],
                   "Expiration": iso(c["expires"])}
            return Reply(200, None, raw=json.dumps(doc, indent=2).encode(),
                         content_type="text/plain")
        return self.text(404, "Not Found")


_tls = threading.local()


class Handler(FakeHandler):
    def _read_body(self):
        raw = super()._read_body()
        _tls.raw = raw
        return raw

    def _dispatch(self):
        # the request log would otherwise keep the web identity token
        super()._dispatch()
        for e in self.server.calls.log[-1:]:
            if isinstance(e.get("body"), str) and "WebIdentityToken" in e["body"]:
                e["body"] = re.sub(r"WebIdentityToken=[^&]*",
                                   "WebIdentityToken=[redacted]", e["body"])


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    add_server_args(p)
    p.add_argument("--service", choices=("sts", "imds"), required=True)
    p.add_argument("--issued", help="append the key pairs issued to this "
                   "file (JSON lines, read by route53.py)")
    p.add_argument("--lifetime", type=int, default=3600,
                   help="seconds the credentials last (default 3600)")
    p.add_argument("--role", action="append", default=[],
                   help="(sts) a role ARN that may be assumed (repeatable)")
    p.add_argument("--web-token", action="append", default=[],
                   help="(sts) a web identity token STS accepts")
    p.add_argument("--expired-token", action="append", default=[],
                   help="(sts) a token that has expired")
    p.add_argument("--role-name", default="provision-instance-role",
                   help="(imds) the instance profile's role ('' for none)")
    args = p.parse_args()
    fake = STS(args) if args.service == "sts" else IMDS(args)
    serve(args, fake, Handler)


if __name__ == "__main__":
    main()
