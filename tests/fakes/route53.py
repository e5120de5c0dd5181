#!/usr/bin/env python3
"""A stateful fake of the Amazon Route 53 API (REST/XML, version 2013-04-01).

Behaviour follows /work/shared/docs/provider-apis.md section 3: hosted zones
(public and private, several of one name), ListHostedZonesByName,
ListHostedZones, GetHostedZone, ListResourceRecordSets with Route 53's
start-position semantics and order (labels reversed, then type) at a
configurable MaxItems, ChangeResourceRecordSets validated as a whole on a
working copy and applied all or nothing, GetChange (PENDING then INSYNC),
and AWS's XML error documents.  Every request's AWS Signature Version 4 is
verified with this file's own implementation (hmac/hashlib) against the
credentials given on the command line; a bad one is refused the way AWS
refuses it (403 SignatureDoesNotMatch, InvalidClientTokenId, ExpiredToken,
...).  Faults, call counters and the state live under /__fake/ (see
tests/fakes/common.py and README.md); this fake adds the fault kinds
prior_request, edit, malformed_xml and error.

  route53.py --cert C --key K --state seed.json \\
      --credentials AKID:SECRET[:SESSION_TOKEN] [--port 0]
  route53.py --self-test      check the signer against AWS's test vectors
"""

import argparse
import copy
import datetime
import hashlib
import hmac
import ipaddress
import json
import os
import re
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape

sys.dont_write_bytecode = True     # keep tests/fakes/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import FakeHandler, FaultInjector, Reply, add_server_args, \
    serve  # noqa: E402

VERSION = "/2013-04-01"
NS = "https://route53.amazonaws.com/doc/2013-04-01/"
REGION, SERVICE = "us-east-1", "route53"
ACCOUNT = "123456789012"
SKEW = 15 * 60                     # seconds AWS accepts between the clocks
MAX_RRSETS, MAX_ZONES = 300, 100   # page caps of the two listings
BATCH_RECORDS, BATCH_CHARS = 1000, 32000
VALUE_MAX, VALUES_PER_SET = 4000, 400
TYPES = ("SOA", "A", "TXT", "NS", "CNAME", "MX", "NAPTR", "PTR", "SRV", "SPF",
         "AAAA", "CAA", "DS", "TLSA", "SSHFP", "SVCB", "HTTPS")
HOST_TYPES = ("CNAME", "NS", "PTR")
SET_FIELDS = ("Name", "Type", "SetIdentifier", "Weight", "Region",
              "GeoLocation", "Failover", "MultiValueAnswer", "TTL",
              "ResourceRecords", "AliasTarget", "HealthCheckId",
              "TrafficPolicyInstanceId", "CidrRoutingConfig",
              "GeoProximityLocation")

# The raw request (bytes of the body, target with query) of the request this
# worker thread is handling: common.py hands handle() a JSON-decoded body,
# and XML is not JSON.
_tls = threading.local()


class R53Error(Exception):
    """An AWS error: HTTP status, code, message (or InvalidChangeBatch's
    message list)."""

    def __init__(self, status, code, message, messages=None, kind="Sender"):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.messages = messages
        self.kind = kind


def request_id():
    return str(uuid.uuid4())


def error_doc(e, form="error"):
    """The XML of an error.  InvalidChangeBatch comes in two shapes
    (provider-apis.md 3.7): an ErrorResponse with the messages in brackets
    (form "error"), or its own root element with <Messages> (form "list")."""
    rid = request_id()
    if e.code == "InvalidChangeBatch" and e.messages and form == "list":
        body = "".join("<Message>%s</Message>" % escape(m) for m in e.messages)
        return ('<?xml version="1.0" encoding="UTF-8"?>\n<InvalidChangeBatch '
                'xmlns="%s"><Messages>%s</Messages><RequestId>%s</RequestId>'
                '</InvalidChangeBatch>' % (NS, body, rid)).encode()
    msg = e.message
    if e.code == "InvalidChangeBatch" and e.messages:
        msg = "[" + ", ".join(e.messages) + "]"
    return ('<?xml version="1.0"?>\n<ErrorResponse xmlns="%s"><Error><Type>%s'
            '</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s'
            '</RequestId></ErrorResponse>' % (NS, e.kind, e.code, escape(msg),
                                               rid)).encode()


def xml_reply(status, root, headers=None):
    data = b'<?xml version="1.0" encoding="UTF-8"?>\n' + \
        ET.tostring(root, encoding="utf-8")
    h = {"x-amzn-RequestId": request_id()}
    h.update(headers or {})
    return Reply(status, None, h, raw=data, content_type="text/xml")


def sub(parent, tag, text=None):
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = str(text)
    return el


def local(tag):
    return tag.rsplit("}", 1)[-1]


# ------------------------------------------------------------ SigV4 -------

def _hmac(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(secret, date, region, service):
    k = _hmac(("AWS4" + secret).encode(), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def aws_quote(s):
    return quote(s, safe="-_.~")


def canonical_query(raw):
    """Decode every name and value (RFC 3986: '+' is a plus), encode them
    again, sort by name then value."""
    pairs = []
    for part in raw.split("&") if raw else []:
        k, _, v = part.partition("=")
        pairs.append((aws_quote(unquote(k)), aws_quote(unquote(v))))
    pairs.sort()
    return "&".join("%s=%s" % p for p in pairs)


def canonical_uri(raw_path):
    """Every service but S3 encodes the (already encoded) path once more."""
    return quote(raw_path or "/", safe="/-_.~")


def canonical_request(method, raw_path, raw_query, header_values, signed,
                      payload):
    """header_values: lower-case name -> list of values as received."""
    lines = []
    for name in signed:
        vals = [re.sub(r"\s+", " ", v.strip())
                for v in header_values.get(name, [])]
        lines.append("%s:%s\n" % (name, ",".join(vals)))
    return "\n".join([method, canonical_uri(raw_path),
                      canonical_query(raw_query), "".join(lines),
                      ";".join(signed),
                      hashlib.sha256(payload).hexdigest()])


def string_to_sign(amz_date, scope, creq):
    return "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (
        amz_date, scope, hashlib.sha256(creq.encode()).hexdigest())


def self_test():
    """AWS's SigV4 test suite: get-vanilla, get-vanilla-query-order-key-case."""
    secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    hv = {"host": ["example.amazonaws.com"], "x-amz-date": ["20150830T123600Z"]}
    ok = True
    for query, want in (
            ("", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
            ("Param2=value2&Param1=value1",
             "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")):
        creq = canonical_request("GET", "/", query, hv, ["host", "x-amz-date"],
                                 b"")
        sts = string_to_sign("20150830T123600Z",
                             "20150830/us-east-1/service/aws4_request", creq)
        sig = hmac.new(signing_key(secret, "20150830", "us-east-1", "service"),
                       sts.encode(), hashlib.sha256).hexdigest()
        print("%s - SigV4 test vector %s" % ("ok" if sig == want else "not ok",
                                             query or "get-vanilla"))
        ok &= sig == want
    return ok


class Credential:
    def __init__(self, akid, secret, token=None):
        self.akid, self.secret, self.token = akid, secret, token
        self.expired = False
        self.denied = set()     # actions refused with AccessDenied


def parse_authorization(value):
    m = re.match(r"^AWS4-HMAC-SHA256\s+(.*)$", value.strip())
    if not m:
        raise R53Error(400, "IncompleteSignature", "Authorization header "
                       "requires 'AWS4-HMAC-SHA256' as the algorithm.")
    parts = {}
    for item in m.group(1).split(","):
        k, _, v = item.strip().partition("=")
        parts[k] = v
    for k in ("Credential", "SignedHeaders", "Signature"):
        if not parts.get(k):
            raise R53Error(400, "IncompleteSignature", "Authorization header "
                           "requires '%s' parameter. Authorization=%s"
                           % (k, "AWS4-HMAC-SHA256"))
    cred = parts["Credential"].split("/")
    if len(cred) != 5 or cred[4] != "aws4_request":
        raise R53Error(400, "IncompleteSignature", "Credential must have "
                       "exactly 5 slash-delimited elements, e.g. keyid/date/"
                       "region/service/term")
    return cred, parts["SignedHeaders"].split(";"), parts["Signature"]


# ------------------------------------------------------------ names -------

def canon_name(name):
    """Route 53's stored form: lower case, trailing dot, bytes other than
    a-z 0-9 - _ as \\DDD octal escapes (escapes given on input kept)."""
    if not isinstance(name, str) or not name.strip():
        raise R53Error(400, "InvalidInput", "Invalid request: name is empty")
    s = name.strip()
    if not s.endswith(".") or s.endswith("\\."):
        s += "."
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            if re.match(r"^[0-7]{3}$", s[i + 1:i + 4]):
                out.append(s[i:i + 4])
                i += 4
                continue
            if i + 1 < len(s):
                out.append("\\%03o" % ord(s[i + 1].lower()))
                i += 2
                continue
        c = c.lower()
        if re.match(r"[a-z0-9_.-]", c):
            out.append(c)
        else:
            for b in c.encode():
                out.append("\\%03o" % b)
        i += 1
    n = "".join(out)
    if n != "." and (".." in n or n.startswith(".")):
        raise R53Error(400, "InvalidInput", "Invalid request: %s is not a "
                       "valid domain name" % name)
    return n


def labels(name):
    return [lb for lb in name.rstrip(".").split(".") if lb] if name != "." \
        else []


def sort_key(name):
    """The order of ListResourceRecordSets and ListHostedZonesByName: the
    labels reversed, with the trailing dot, compared as ASCII."""
    return ".".join(reversed(labels(name))) + "."


def in_zone(name, zone):
    return name == zone or name.endswith("." + zone)


# ------------------------------------------------------------ values ------

def parse_txt(value):
    """A TXT/SPF value: one or more quoted strings; list of bytes."""
    if any(not (0x20 <= ord(c) <= 0x7e) for c in value):
        raise ValueError("InvalidCharacterString (Value contains characters "
                         "that must be written as \\DDD octal escapes)")
    strings, i, n = [], 0, len(value)
    while i < n:
        if value[i] in " \t":
            i += 1
            continue
        if value[i] != '"':
            raise ValueError("InvalidCharacterString (Value should be "
                             "enclosed in quotation marks)")
        i += 1
        cur = bytearray()
        while True:
            if i >= n:
                raise ValueError("InvalidCharacterString (Value should be "
                                 "enclosed in quotation marks)")
            c = value[i]
            if c == '"':
                i += 1
                break
            if c == "\\":
                if re.match(r"^[0-7]{3}$", value[i + 1:i + 4]):
                    v = int(value[i + 1:i + 4], 8)
                    if v > 255:
                        raise ValueError("InvalidCharacterString (Value has "
                                         "a bad escape)")
                    cur.append(v)
                    i += 4
                    continue
                if i + 1 >= n:
                    raise ValueError("InvalidCharacterString (Value should be"
                                     " enclosed in quotation marks)")
                cur += value[i + 1].encode()
                i += 2
                continue
            cur += c.encode()
            i += 1
        if len(cur) > 255:
            raise ValueError("CharacterStringTooLong (Value is too long)")
        if i < n and value[i] not in " \t":
            raise ValueError("InvalidCharacterString (Value should be "
                             "enclosed in quotation marks)")
        strings.append(bytes(cur))
    if not strings:
        raise ValueError("InvalidCharacterString (Value should be enclosed "
                         "in quotation marks)")
    return tuple(strings)


def host_ok(h):
    h = h.lower().rstrip(".")
    return h == "" or all(re.match(r"^(\*|[a-z0-9_]([a-z0-9_-]{0,61}"
                                   r"[a-z0-9_])?)$", lb)
                          for lb in h.split("."))


def value_key(typ, value):
    """Check a value of a set of type typ; return what compares equal.
    Raises ValueError with the FATAL problem text."""
    if len(value) > VALUE_MAX:
        raise ValueError("CharacterStringTooLong (Value is too long)")
    if typ in ("TXT", "SPF"):
        return parse_txt(value)
    v = value.strip()
    if typ in ("A", "AAAA"):
        try:
            ip = ipaddress.ip_address(v)
        except ValueError:
            ip = None
        if ip is None or ip.version != (4 if typ == "A" else 6):
            raise ValueError("%s (Value is not a valid IPv%s address)" % (
                "ARRDATAIllegalIPv4Address" if typ == "A"
                else "AAAARRDATAIllegalIPv6Address", 4 if typ == "A" else 6))
        return str(ip)
    if typ in HOST_TYPES:
        if not v or " " in v or not host_ok(v):
            raise ValueError("DomainLabelEmpty (Domain label is empty)")
        return v.lower().rstrip(".")
    if typ == "MX":
        m = re.match(r"^(\d+)\s+(\S+)$", v)
        if not m or int(m.group(1)) > 65535 or not host_ok(m.group(2)):
            raise ValueError("MXRRDATANotTwoFields (MX RRDATA must have "
                             "exactly two fields)")
        return (int(m.group(1)), m.group(2).lower().rstrip("."))
    if not v:
        raise ValueError("RRDATA is empty")
    return v


# ------------------------------------------------------------ the fake ----

class Route53:
    def __init__(self, opts):
        self.o = opts
        self.lock = threading.RLock()
        self.seq = 0
        self.zones = {}            # id -> zone
        self.changes = {}          # id -> change
        self.creds = {}
        for spec in opts.credentials:
            akid, secret, token = (spec.split(":", 2) + [None])[:3]
            self.creds[akid] = Credential(akid, secret, token or None)
        for akid in opts.expired:
            self.cred_opt(akid).expired = True
        for spec in opts.deny:
            akid, _, acts = spec.partition("=")
            self.cred_opt(akid).denied |= set(
                a.strip() for a in acts.split(",") if a.strip())
        self.extra = R53Faults()
        if opts.state:
            with open(opts.state) as f:
                self.load_state(json.load(f))

    def cred_opt(self, akid):
        if akid not in self.creds:
            sys.exit("route53 fake: %s is not a --credentials key" % akid)
        return self.creds[akid]

    def new_id(self, prefix, seed):
        self.seq += 1
        h = hashlib.sha256(("%s:%d:%s" % (prefix, self.seq, seed)).encode())
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        n = int.from_bytes(h.digest(), "big")
        out = []
        for _ in range(20):
            n, r = divmod(n, len(alphabet))
            out.append(alphabet[r])
        return prefix + "".join(out)

    # --- seed / dump ---
    def load_state(self, obj):
        if isinstance(obj, list):
            obj = {"zones": obj}
        if not isinstance(obj, dict) or not isinstance(obj.get("zones"), list):
            raise ValueError('state must be {"zones": [...]}')
        with self.lock:
            zones = {}
            for z in obj["zones"]:
                try:
                    name = canon_name(z.get("name", ""))
                except R53Error as e:
                    raise ValueError("zone %r: %s" % (z.get("name"), e.message))
                zid = z.get("id") or self.new_id("Z", name)
                zid = zid.rsplit("/", 1)[-1]
                if not re.match(r"^[A-Z0-9]{1,32}$", zid) or zid in zones:
                    raise ValueError("zone id %r: want 1-32 of A-Z0-9, unique"
                                     % zid)
                zone = {"id": zid, "name": name,
                        "private": bool(z.get("private", False)),
                        "comment": z.get("comment"),
                        "caller_ref": z.get("caller_reference",
                                            "provision-fake-" + zid),
                        "sets": {}}
                sets = zone["sets"]
                apex_types = {(r.get("type") or "").upper()
                              for r in z.get("records", [])
                              if canon_name(self.abs_name(r.get("name", "@"),
                                                          name)) == name}
                seed = []
                if "SOA" not in apex_types:
                    seed.append({"name": name, "type": "SOA", "ttl": 900,
                                 "values": ["ns-1.awsdns-01.org. awsdns-host"
                                            "master.amazon.com. 1 7200 900 "
                                            "1209600 86400"]})
                if "NS" not in apex_types:
                    seed.append({"name": name, "type": "NS", "ttl": 172800,
                                 "values": ["ns-1.awsdns-01.org.",
                                            "ns-2.awsdns-02.co.uk.",
                                            "ns-3.awsdns-03.com.",
                                            "ns-4.awsdns-04.net."]})
                for r in seed + list(z.get("records", [])):
                    rs = self.seed_set(zone, r)
                    key = (rs["name"], rs["type"], rs.get("setid") or "")
                    if key in sets:
                        raise ValueError("zone %s: two seed sets %s %s" % (
                            name, rs["name"], rs["type"]))
                    if r.get("validate", True):
                        errs = []
                        self.check_set(zone, sets, rs, errs)
                        if errs:
                            raise ValueError("zone %s: seed set %s: %s" % (
                                name, json.dumps(r), errs[0]))
                    sets[key] = rs
                zones[zid] = zone
            self.zones = zones
            self.changes = {}

    @staticmethod
    def abs_name(n, zone):
        n = str(n).strip()
        if n in ("@", ""):
            return zone
        if n.endswith("."):
            return n
        return n + "." + zone

    def seed_set(self, zone, r):
        try:
            name = canon_name(self.abs_name(r.get("name", "@"), zone["name"]))
        except R53Error as e:
            raise ValueError("seed name %r: %s" % (r.get("name"), e.message))
        typ = str(r.get("type", "")).upper()
        if typ not in TYPES:
            raise ValueError("seed type %r unknown" % r.get("type"))
        rs = {"name": name, "type": typ}
        if r.get("set_identifier"):
            rs["setid"] = str(r["set_identifier"])
            rs["weight"] = int(r.get("weight", 1))
        if r.get("alias"):
            a = r["alias"]
            rs["alias"] = {"zone": a.get("hosted_zone_id", "Z2FDTNDATAQYW2"),
                           "dns": canon_name(a.get("dns_name",
                                                   "d1.cloudfront.net")),
                           "eth": bool(a.get("evaluate_target_health"))}
            return rs
        rs["ttl"] = int(r.get("ttl", 300))
        vals = r.get("values", [r["value"]] if "value" in r else [])
        if not isinstance(vals, list) or not vals:
            raise ValueError("seed set %s %s has no values" % (name, typ))
        rs["values"] = [str(v) for v in vals]
        return rs

    def dump_state(self):
        with self.lock:
            zs = []
            for z in self.zones.values():
                recs = []
                for k in sorted(z["sets"], key=lambda k: (sort_key(k[0]),
                                                          k[1], k[2])):
                    s = z["sets"][k]
                    d = {"name": s["name"], "type": s["type"]}
                    if "setid" in s:
                        d["set_identifier"] = s["setid"]
                        d["weight"] = s["weight"]
                    if "alias" in s:
                        d["alias"] = {"hosted_zone_id": s["alias"]["zone"],
                                      "dns_name": s["alias"]["dns"],
                                      "evaluate_target_health":
                                      s["alias"]["eth"]}
                    else:
                        d["ttl"] = s["ttl"]
                        d["values"] = list(s["values"])
                    recs.append(d)
                zs.append({"id": z["id"], "name": z["name"],
                           "private": z["private"], "comment": z["comment"],
                           "records": recs})
            return {"zones": zs,
                    "changes": [dict(c) for c in self.changes.values()]}

    # --- common.py hooks ---
    def template(self, method, path):
        p = path[len(VERSION):] if path.startswith(VERSION + "/") else path
        segs = p.strip("/").split("/")
        if len(segs) >= 2 and segs[0] in ("hostedzone", "change"):
            segs[1] = ":id"
        return "%s /%s" % (method, "/".join(segs))

    def rate_key(self, headers):
        m = re.search(r"Credential=([^/,\s]+)/", headers.get("Authorization")
                      or "")
        return m.group(1) if m else "anonymous"

    def rate_headers(self, limiter, remaining, reset):
        return {}

    def rate_limit_reply(self, retry_after):
        # Route 53 throttles with HTTP 400 and no Retry-After (3.7, 3.8)
        e = R53Error(400, "Throttling", "Rate exceeded")
        return Reply(400, None, {"x-amzn-RequestId": request_id()},
                     raw=error_doc(e), content_type="text/xml")

    def error_reply(self, status):
        code = "ServiceUnavailable" if status == 503 else "InternalFailure"
        e = R53Error(status, code, "The service is unavailable (injected "
                     "fault)" if status == 503 else "An internal error "
                     "occurred (injected fault)", kind="Receiver")
        return Reply(status, None, {"x-amzn-RequestId": request_id()},
                     raw=error_doc(e), content_type="text/xml")

    # --- auth ---
    def authenticate(self, method, headers):
        raw_target = getattr(_tls, "target", "/")
        raw_body = getattr(_tls, "raw", b"")
        path, _, query = raw_target.partition("?")
        auth = headers.get("Authorization")
        if not auth:
            raise R53Error(403, "MissingAuthenticationToken",
                           "Missing Authentication Token")
        (akid, date, region, service, _), signed, sig = \
            parse_authorization(auth)
        cred = self.creds.get(akid) or self.issued(akid)
        if cred is None:
            raise R53Error(403, "InvalidClientTokenId", "The security token "
                           "included in the request is invalid.")
        amz_date = headers.get("X-Amz-Date")
        if not amz_date or not re.match(r"^\d{8}T\d{6}Z$", amz_date):
            raise R53Error(400, "IncompleteSignature", "Authorization header "
                           "requires existence of either a 'X-Amz-Date' or a "
                           "'Date' header.")
        if signed != sorted(signed) or "host" not in signed or \
                "x-amz-date" not in signed:
            raise R53Error(403, "SignatureDoesNotMatch", "'Host' and "
                           "'X-Amz-Date' must be signed, and SignedHeaders "
                           "sorted.")
        if region != REGION:
            raise R53Error(403, "SignatureDoesNotMatch", "Credential should "
                           "be scoped to a valid region. ")
        if service != SERVICE:
            raise R53Error(403, "SignatureDoesNotMatch", "Credential should "
                           "be scoped to correct service: '%s'. " % SERVICE)
        if date != amz_date[:8]:
            raise R53Error(403, "SignatureDoesNotMatch", "Date in Credential "
                           "scope does not match YYYYMMDD from ISO-8601 "
                           "version of date from HTTP: '%s' != '%s', from "
                           "ISO-8601 string: '%s'." % (date, amz_date[:8],
                                                       amz_date))
        t = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        now = time.time()
        if abs(now - t) > SKEW:
            fmt = lambda x: time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(x))
            raise R53Error(403, "SignatureDoesNotMatch", "Signature expired: "
                           "%s is now earlier than %s (%s - 15 min.)" % (
                               amz_date, fmt(now - SKEW), fmt(now))
                           if t < now else "Signature not yet current: %s is "
                           "still later than %s (%s + 15 min.)" % (
                               amz_date, fmt(now + SKEW), fmt(now)))
        hv = {}
        for k in headers.keys():
            hv.setdefault(k.lower(), headers.get_all(k))
        creq = canonical_request(method, path, query, hv, signed, raw_body)
        sts = string_to_sign(amz_date, "/".join([date, region, service,
                                                 "aws4_request"]), creq)
        want = hmac.new(signing_key(cred.secret, date, region, service),
                        sts.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, sig):
            # like AWS, the message shows what was expected: the canonical
            # request carries every signed header, a session token too
            raise R53Error(403, "SignatureDoesNotMatch", "The request "
                           "signature we calculated does not match the "
                           "signature you provided. Check your AWS Secret "
                           "Access Key and signing method. Consult the service"
                           " documentation for details.\n\nThe Canonical "
                           "String for this request should have been\n'%s'\n\n"
                           "The String-to-Sign should have been\n'%s'\n" % (
                               creq, sts))
        token = headers.get("X-Amz-Security-Token")
        if cred.token is not None or token is not None:
            if token != cred.token:
                raise R53Error(403, "InvalidClientTokenId", "The security "
                               "token included in the request is invalid.")
            if "x-amz-security-token" not in signed and \
                    not self.o.unsigned_token_ok:
                raise R53Error(403, "SignatureDoesNotMatch", "The session "
                               "token must be signed (X-Amz-Security-Token "
                               "is not in SignedHeaders).")
        if cred.expired:
            raise R53Error(403, "ExpiredToken", "The security token included"
                           " in the request is expired")
        return cred

    def issued(self, akid):
        """A key pair issued by aws_identity.py (--issued-credentials): its
        session token is required; past its Expiration, or revoked, it is
        refused as expired."""
        if not self.o.issued_credentials:
            return None
        try:
            with open(self.o.issued_credentials) as f:
                lines = f.read().splitlines()
        except OSError:
            return None
        for line in lines:
            try:
                d = json.loads(line)
            except ValueError:
                continue
            if d.get("akid") == akid:
                c = Credential(akid, d["secret"], d.get("token"))
                c.expired = bool(d.get("revoked")) or \
                    d.get("expires", 0) <= time.time()
                return c
        return None

    def authorize(self, cred, action, zid=None):
        if action in cred.denied or "*" in cred.denied:
            res = "arn:aws:route53:::hostedzone/%s" % zid if zid else "*"
            if action == "GetChange":
                res = "arn:aws:route53:::change/*"
            raise R53Error(403, "AccessDenied", "User: arn:aws:iam::%s:user/"
                           "provision-test is not authorized to perform: "
                           "route53:%s on resource: %s because no "
                           "identity-based policy allows the route53:%s "
                           "action" % (ACCOUNT, action, res, action))

    # --- request handling ---
    def handle(self, method, path, query, body, headers):
        form = "error"
        try:
            cred = self.authenticate(method, headers)
            f = self.extra.take("malformed_xml", method, path)
            if f:
                return Reply(200, None, {"x-amzn-RequestId": request_id()},
                             raw=b'<?xml version="1.0" encoding="UTF-8"?>\n'
                             b'<ListResourceRecordSetsResponse xmlns="' +
                             NS.encode() + b'"><ResourceRecordSets><Resource'
                             b'RecordSet><Name>broken.', content_type="text/xml")
            f = self.extra.take("error", method, path)
            if f:
                raise R53Error(int(f.get("status", 400)),
                               f.get("code", "InvalidInput"),
                               f.get("message", "injected error"))
            f = self.extra.take("batch_form", method, path)
            if f:
                form = f.get("form", "list")
            with self.lock:
                return self.route(method, path, query, cred)
        except R53Error as e:
            if e.code == "InvalidChangeBatch" and self.o.invalid_batch_form:
                form = self.o.invalid_batch_form if form == "error" else form
            return Reply(e.status, None, {"x-amzn-RequestId": request_id()},
                         raw=error_doc(e, form), content_type="text/xml")

    def route(self, method, path, query, cred):
        q = {}
        for k, v in query:
            q.setdefault(k, v)
        if not path.startswith(VERSION + "/"):
            raise R53Error(404, "UnknownOperationException", "")
        segs = path[len(VERSION) + 1:].split("/")
        if segs[-1] == "" and len(segs) > 1:
            segs = segs[:-1]
        if segs == ["hostedzonesbyname"] and method == "GET":
            self.authorize(cred, "ListHostedZonesByName")
            return self.list_by_name(q)
        if segs == ["hostedzone"] and method == "GET":
            self.authorize(cred, "ListHostedZones")
            return self.list_zones(q)
        if len(segs) >= 2 and segs[0] == "hostedzone":
            zid = segs[1]
            if len(segs) == 2 and method == "GET":
                self.authorize(cred, "GetHostedZone", zid)
                return self.get_zone(self.zone(zid))
            if len(segs) == 3 and segs[2] == "rrset":
                if method == "GET":
                    self.authorize(cred, "ListResourceRecordSets", zid)
                    return self.list_sets(self.zone(zid), q)
                if method == "POST":
                    self.authorize(cred, "ChangeResourceRecordSets", zid)
                    return self.change(self.zone(zid), path)
        if len(segs) == 2 and segs[0] == "change" and method == "GET":
            self.authorize(cred, "GetChange")
            return self.get_change(segs[1])
        raise R53Error(404, "UnknownOperationException", "")

    def zone(self, zid):
        z = self.zones.get(zid)
        if z is None:
            raise R53Error(404, "NoSuchHostedZone", "No hosted zone found "
                           "with ID: %s" % zid)
        return z

    @staticmethod
    def max_items(q, cap, default):
        v = q.get("maxitems")
        if v is None or v == "":
            return min(cap, default)
        if not re.match(r"^\d+$", v) or int(v) < 1:
            raise R53Error(400, "InvalidInput", "Invalid request: maxitems "
                           "must be a positive integer")
        return min(int(v), cap)

    def zone_xml(self, parent, z):
        hz = sub(parent, "HostedZone")
        sub(hz, "Id", "/hostedzone/" + z["id"])
        sub(hz, "Name", z["name"])
        sub(hz, "CallerReference", z["caller_ref"])
        cfg = sub(hz, "Config")
        if z["comment"]:
            sub(cfg, "Comment", z["comment"])
        sub(cfg, "PrivateZone", "true" if z["private"] else "false")
        sub(hz, "ResourceRecordSetCount", len(z["sets"]))
        return hz

    def sorted_zones(self):
        return sorted(self.zones.values(),
                      key=lambda z: (sort_key(z["name"]), z["id"]))

    def list_by_name(self, q):
        dns, zid = q.get("dnsname"), q.get("hostedzoneid")
        if zid and not dns:
            raise R53Error(400, "InvalidInput", "Invalid request: "
                           "hostedzoneid requires dnsname")
        n = self.max_items(q, min(MAX_ZONES, self.o.max_items), 100)
        zs = self.sorted_zones()
        if dns:
            try:
                start = sort_key(canon_name(dns))
            except R53Error:
                raise R53Error(400, "InvalidDomainName", "%s is not a valid "
                               "DNS name." % dns)
            zs = [z for z in zs if (sort_key(z["name"]), z["id"]) >=
                  (start, zid or "")]
        root = ET.Element("ListHostedZonesByNameResponse", xmlns=NS)
        hz = sub(root, "HostedZones")
        for z in zs[:n]:
            self.zone_xml(hz, z)
        if dns:
            sub(root, "DNSName", dns)
        if zid:
            sub(root, "HostedZoneId", zid)
        sub(root, "IsTruncated", "true" if len(zs) > n else "false")
        if len(zs) > n:
            sub(root, "NextDNSName", zs[n]["name"])
            sub(root, "NextHostedZoneId", zs[n]["id"])
        sub(root, "MaxItems", n)
        return xml_reply(200, root)

    def list_zones(self, q):
        n = self.max_items(q, min(MAX_ZONES, self.o.max_items), 100)
        zs = sorted(self.zones.values(), key=lambda z: z["id"])
        marker = q.get("marker")
        if marker:
            zs = [z for z in zs if z["id"] >= marker]
        root = ET.Element("ListHostedZonesResponse", xmlns=NS)
        hz = sub(root, "HostedZones")
        for z in zs[:n]:
            self.zone_xml(hz, z)
        if marker:
            sub(root, "Marker", marker)
        sub(root, "IsTruncated", "true" if len(zs) > n else "false")
        if len(zs) > n:
            sub(root, "NextMarker", zs[n]["id"])
        sub(root, "MaxItems", n)
        return xml_reply(200, root)

    def get_zone(self, z):
        root = ET.Element("GetHostedZoneResponse", xmlns=NS)
        self.zone_xml(root, z)
        ds = sub(root, "DelegationSet")
        ns = sub(ds, "NameServers")
        for s in z["sets"].get((z["name"], "NS", ""), {}).get("values", []):
            sub(ns, "NameServer", s.rstrip("."))
        return xml_reply(200, root)

    @staticmethod
    def set_xml(parent, s):
        e = sub(parent, "ResourceRecordSet")
        sub(e, "Name", s["name"])
        sub(e, "Type", s["type"])
        if "setid" in s:
            sub(e, "SetIdentifier", s["setid"])
            sub(e, "Weight", s["weight"])
        if "alias" in s:
            a = sub(e, "AliasTarget")
            sub(a, "HostedZoneId", s["alias"]["zone"])
            sub(a, "DNSName", s["alias"]["dns"])
            sub(a, "EvaluateTargetHealth",
                "true" if s["alias"]["eth"] else "false")
            return
        sub(e, "TTL", s["ttl"])
        rr = sub(e, "ResourceRecords")
        for v in s["values"]:
            sub(sub(rr, "ResourceRecord"), "Value", v)

    def list_sets(self, z, q):
        name, typ, ident = q.get("name"), q.get("type"), q.get("identifier")
        if typ and not name:
            raise R53Error(400, "InvalidInput", "Invalid request: type "
                           "requires name")
        if typ and typ.upper() not in TYPES:
            raise R53Error(400, "InvalidInput", "Invalid request: unknown "
                           "type %s" % typ)
        if ident and not typ:
            raise R53Error(400, "InvalidInput", "Invalid request: "
                           "identifier requires name and type")
        n = self.max_items(q, min(MAX_RRSETS, self.o.max_items), 300)
        keys = sorted(z["sets"], key=lambda k: (sort_key(k[0]), k[1], k[2]))
        if name:
            start = (sort_key(canon_name(name)), (typ or "").upper(),
                     ident or "")
            keys = [k for k in keys if (sort_key(k[0]), k[1], k[2]) >= start]
        root = ET.Element("ListResourceRecordSetsResponse", xmlns=NS)
        rs = sub(root, "ResourceRecordSets")
        for k in keys[:n]:
            self.set_xml(rs, z["sets"][k])
        sub(root, "IsTruncated", "true" if len(keys) > n else "false")
        if len(keys) > n:
            nk = keys[n]
            sub(root, "NextRecordName", nk[0])
            sub(root, "NextRecordType", nk[1])
            if nk[2]:
                sub(root, "NextRecordIdentifier", nk[2])
        sub(root, "MaxItems", n)
        return xml_reply(200, root)

    def get_change(self, cid):
        c = self.changes.get(cid)
        if c is None:
            raise R53Error(404, "NoSuchChange", "A change with the specified"
                           " change ID does not exist: %s" % cid)
        c["polls"] += 1
        if c["polls"] >= self.o.insync_after:
            c["status"] = "INSYNC"
        return xml_reply(200, self.change_info(
            ET.Element("GetChangeResponse", xmlns=NS), c))

    @staticmethod
    def change_info(root, c):
        ci = sub(root, "ChangeInfo")
        sub(ci, "Id", "/change/" + c["id"])
        sub(ci, "Status", c["status"])
        sub(ci, "SubmittedAt", c["submitted"])
        if c.get("comment"):
            sub(ci, "Comment", c["comment"])
        return root

    # --- ChangeResourceRecordSets ---
    def parse_batch(self, z):
        raw = getattr(_tls, "raw", b"")
        try:
            root = ET.fromstring(raw)
        except ET.ParseError as e:
            raise R53Error(400, "MalformedInput", "Invalid XML ; %s" % e)
        if root.tag != "{%s}ChangeResourceRecordSetsRequest" % NS:
            raise R53Error(400, "MalformedInput", "ChangeBatch is not valid, "
                           "expected ChangeResourceRecordSetsRequest")
        kids = list(root)
        if len(kids) != 1 or kids[0].tag != "{%s}ChangeBatch" % NS:
            raise R53Error(400, "InvalidInput", "Invalid request: Expected "
                           "exactly one ChangeBatch")
        # the model (and the SDKs) put Changes first, the API reference's
        # examples Comment first: both are taken
        comment, changes = None, None
        for el in kids[0]:
            t = local(el.tag)
            if t == "Comment" and comment is None:
                comment = el.text or ""
            elif t == "Changes" and changes is None:
                changes = list(el)
            else:
                raise R53Error(400, "InvalidInput", "Invalid XML ; cvc-"
                               "complex-type.2.4.a: Invalid content was found"
                               " starting with element '%s'." % t)
        if comment is not None and len(comment) > 256:
            raise R53Error(400, "InvalidInput", "1 validation error detected:"
                           " Value at 'changeBatch.comment' failed to satisfy"
                           " constraint: Member must have length less than or"
                           " equal to 256")
        if not changes:
            raise R53Error(400, "InvalidInput", "1 validation error detected:"
                           " Value at 'changeBatch.changes' failed to satisfy"
                           " constraint: Member must have length greater than"
                           " or equal to 1")
        out = []
        for ch in changes:
            if local(ch.tag) != "Change":
                raise R53Error(400, "InvalidInput", "Invalid XML ; unexpected"
                               " element '%s' in Changes" % local(ch.tag))
            parts = {local(e.tag): e for e in ch}
            if [local(e.tag) for e in ch] != ["Action", "ResourceRecordSet"]:
                raise R53Error(400, "InvalidInput", "Invalid XML ; a Change "
                               "is Action then ResourceRecordSet")
            action = (parts["Action"].text or "").strip()
            if action not in ("CREATE", "DELETE", "UPSERT"):
                raise R53Error(400, "InvalidInput", "1 validation error "
                               "detected: Value '%s' at 'changeBatch.changes."
                               "1.member.action' failed to satisfy constraint:"
                               " Member must satisfy enum value set: [CREATE, "
                               "DELETE, UPSERT]" % action)
            out.append((action, self.parse_set(parts["ResourceRecordSet"],
                                               action)))
        return comment, out

    def parse_set(self, el, action):
        order = [local(e.tag) for e in el]
        pos = [SET_FIELDS.index(t) if t in SET_FIELDS else -1 for t in order]
        if -1 in pos or pos != sorted(pos) or len(set(order)) != len(order):
            bad = order[pos.index(-1)] if -1 in pos else order[-1]
            raise R53Error(400, "InvalidInput", "Invalid XML ; cvc-complex-"
                           "type.2.4.a: Invalid content was found starting "
                           "with element '%s'." % bad)
        f = {local(e.tag): e for e in el}
        if "Name" not in f or "Type" not in f:
            raise R53Error(400, "InvalidInput", "Invalid XML ; a "
                           "ResourceRecordSet needs Name and Type")
        typ = (f["Type"].text or "").strip()
        if typ not in TYPES:
            raise R53Error(400, "InvalidInput", "1 validation error detected:"
                           " Value '%s' at 'changeBatch.changes.1.member."
                           "resourceRecordSet.type' failed to satisfy "
                           "constraint: Member must satisfy enum value set: "
                           "[%s]" % (typ, ", ".join(TYPES)))
        name = canon_name(f["Name"].text or "")
        rs = {"name": name, "type": typ}
        if "SetIdentifier" in f:
            rs["setid"] = f["SetIdentifier"].text or ""
            rs["weight"] = int((f["Weight"].text if "Weight" in f else "0")
                               or 0)
        has_ttl, has_rr = "TTL" in f, "ResourceRecords" in f
        if "AliasTarget" in f:
            a = {local(e.tag): (e.text or "") for e in f["AliasTarget"]}
            rs["alias"] = {"zone": a.get("HostedZoneId", ""),
                           "dns": canon_name(a.get("DNSName", "")),
                           "eth": a.get("EvaluateTargetHealth") == "true"}
        if ("alias" in rs) == (has_ttl and has_rr) or \
                ("alias" in rs and (has_ttl or has_rr)):
            raise R53Error(400, "InvalidInput", "Invalid request: Expected "
                           "exactly one of [AliasTarget, all of [TTL, and "
                           "ResourceRecords], or TrafficPolicyInstanceId], but"
                           " found none in Change with [Action=%s, Name=%s, "
                           "Type=%s, SetIdentifier=%s]" % (
                               action, name, typ, rs.get("setid", "null")))
        if "alias" not in rs:
            t = (f["TTL"].text or "").strip()
            if not re.match(r"^\d+$", t) or int(t) > 2147483647:
                raise R53Error(400, "InvalidInput", "1 validation error "
                               "detected: Value '%s' at 'changeBatch.changes."
                               "1.member.resourceRecordSet.TTL' failed to "
                               "satisfy constraint: Member must have value "
                               "less than or equal to 2147483647" % t)
            rs["ttl"] = int(t)
            vals = []
            for rr in f["ResourceRecords"]:
                v = [e for e in rr if local(e.tag) == "Value"]
                if local(rr.tag) != "ResourceRecord" or len(v) != 1:
                    raise R53Error(400, "InvalidInput", "Invalid XML ; a "
                                   "ResourceRecord holds one Value")
                vals.append(v[0].text or "")
            if not vals:
                raise R53Error(400, "InvalidInput", "1 validation error "
                               "detected: Value at 'changeBatch.changes.1."
                               "member.resourceRecordSet.resourceRecords' "
                               "failed to satisfy constraint: Member must have"
                               " length greater than or equal to 1")
            rs["values"] = vals
        return rs

    def check_set(self, z, sets, rs, errs):
        """Rules a set must satisfy to be stored (CREATE/UPSERT, seeds)."""
        name, typ, zn = rs["name"], rs["type"], z["name"]
        if not in_zone(name, zn):
            errs.append("RRSet with DNS name %s is not permitted in zone %s"
                        % (name, zn))
            return
        if "values" in rs:
            seen = set()
            for v in rs["values"]:
                try:
                    k = value_key(typ, v)
                except ValueError as e:
                    errs.append("Invalid Resource Record: FATAL problem: %s "
                                "encountered with '%s'" % (e, v))
                    return
                if k in seen:
                    errs.append("Duplicate Resource Record: '%s'" % v)
                    return
                seen.add(k)
            if typ in ("CNAME", "SOA") and len(rs["values"]) > 1:
                errs.append("RRSet of type %s with DNS name %s is not "
                            "permitted because it contains multiple records"
                            % (typ, name))
                return
            if len(rs["values"]) > VALUES_PER_SET:
                errs.append("The RRSet %s %s has more than %d values" % (
                    name, typ, VALUES_PER_SET))
                return
        others = [k for k in sets if k[0] == name and k[1] != typ]
        if typ == "CNAME":
            if name == zn:
                errs.append("RRSet of type CNAME with DNS name %s is not "
                            "permitted at apex in zone %s" % (name, zn))
            elif others:
                errs.append("RRSet of type CNAME with DNS name %s is not "
                            "permitted as it conflicts with other records "
                            "with the same DNS name in zone %s" % (name, zn))
        elif any(k[1] == "CNAME" for k in others):
            errs.append("RRSet of type %s with DNS name %s is not permitted "
                        "because a conflicting RRSet of type  CNAME with the "
                        "same DNS name already exists in zone %s" % (
                            typ, name, zn))

    @staticmethod
    def same_set(a, b):
        if ("alias" in a) != ("alias" in b) or a.get("weight") != \
                b.get("weight"):
            return False
        if "alias" in a:
            return a["alias"] == b["alias"]
        if a["ttl"] != b["ttl"]:
            return False
        try:
            ka = sorted(map(repr, (value_key(a["type"], v)
                                   for v in a["values"])))
            kb = sorted(map(repr, (value_key(b["type"], v)
                                   for v in b["values"])))
        except ValueError:
            return False
        return ka == kb

    def change(self, z, path):
        f = self.extra.take("prior_request", "POST", path)
        if f:
            raise R53Error(400, "PriorRequestNotComplete", "The request was "
                           "rejected because Route 53 was still processing a "
                           "prior request.")
        comment, changes = self.parse_batch(z)
        # someone else's edit lands just before this batch is processed
        f = self.extra.take("edit", "POST", path)
        if f:
            self.concurrent_edit(z, f)
        nrec = nchar = 0
        for action, rs in changes:
            k = 2 if action == "UPSERT" else 1
            nrec += k * len(rs.get("values", [])) or k
            nchar += k * sum(len(v) for v in rs.get("values", []))
        if nrec > BATCH_RECORDS:
            raise R53Error(400, "InvalidChangeBatch", "Number of records "
                           "limit of %d exceeded." % BATCH_RECORDS,
                           ["Number of records limit of %d exceeded."
                            % BATCH_RECORDS])
        if nchar > BATCH_CHARS:
            raise R53Error(400, "InvalidChangeBatch", "Number of characters "
                           "limit of %d exceeded." % BATCH_CHARS,
                           ["Number of characters limit of %d exceeded."
                            % BATCH_CHARS])
        work = copy.deepcopy(z["sets"])
        errs = []
        for action, rs in changes:
            key = (rs["name"], rs["type"], rs.get("setid") or "")
            what = "[name='%s', type='%s'%s]" % (
                rs["name"], rs["type"], ", set-identifier='%s'" % rs["setid"]
                if "setid" in rs else "")
            cur = work.get(key)
            if action == "DELETE":
                if cur is None:
                    errs.append("Tried to delete resource record set %s but "
                                "it was not found" % what)
                elif not self.same_set(cur, rs):
                    errs.append("Tried to delete resource record set %s but "
                                "the values provided do not match the current "
                                "values" % what)
                else:
                    del work[key]
                continue
            if action == "CREATE" and cur is not None:
                errs.append("Tried to create resource record set %s but it "
                            "already exists" % what)
                continue
            n = len(errs)
            rest = {k: v for k, v in work.items() if k != key}
            self.check_set(z, rest, rs, errs)
            if len(errs) == n:
                work[key] = rs
        if not errs:
            for t in ("SOA", "NS"):
                if (z["name"], t, "") not in work:
                    errs.append("A HostedZone must contain at least one %s "
                                "record for the zone itself." % t)
        if errs:
            raise R53Error(400, "InvalidChangeBatch", errs[0], errs)
        z["sets"] = work
        cid = self.new_id("C", z["id"])
        c = {"id": cid, "status": "PENDING" if self.o.insync_after else
             "INSYNC", "polls": 0, "comment": comment,
             "submitted": time.strftime("%Y-%m-%dT%H:%M:%S.000Z",
                                        time.gmtime())}
        self.changes[cid] = c
        return xml_reply(200, self.change_info(
            ET.Element("ChangeResourceRecordSetsResponse", xmlns=NS), c))

    def concurrent_edit(self, z, f):
        name = canon_name(self.abs_name(f.get("name", "@"), z["name"]))
        typ = str(f.get("type", "TXT")).upper()
        key = (name, typ, "")
        if f.get("delete"):
            z["sets"].pop(key, None)
            return
        z["sets"][key] = {"name": name, "type": typ,
                          "ttl": int(f.get("ttl", 300)),
                          "values": [str(v) for v in f.get("values", [])]}


class R53Faults(FaultInjector):
    """The fault kinds of this fake, on top of common.py's:
      {"prior_request": N}   next N ChangeResourceRecordSets: 400
            PriorRequestNotComplete (not applied)
      {"edit": {"name": "@", "type": "TXT", "ttl": 300, "values": [...]}}
            someone else replaces (or with "delete": true removes) that set
            right before the next ChangeResourceRecordSets is processed
      {"malformed_xml": N}   next N requests: 200 with truncated XML
      {"error": {"status": 403, "code": "AccessDenied", "message": "..."}}
            next request answers that error
      {"batch_form": {"form": "list"}}   the next InvalidChangeBatch comes
            as its own <InvalidChangeBatch> root element
    ("throttling" is common.py's rate_limit: 400 Throttling "Rate exceeded")
    """
    KINDS = ("prior_request", "edit", "malformed_xml", "error", "batch_form")


class R53Handler(FakeHandler):
    def _read_body(self):
        raw = super()._read_body()
        _tls.raw, _tls.target = raw, self.path
        return raw

    def _control(self, method, path, raw, logpath):
        if path != "/__fake/faults":
            return super()._control(method, path, raw, logpath)
        srv, extra = self.server, self.server.fake.extra
        if method == "DELETE":
            srv.faults.clear()
            extra.clear()
        if method == "POST":
            try:
                obj = json.loads(raw) if raw else None
                objs = obj if isinstance(obj, list) else [obj]
                split = []
                for obj in objs:
                    if not isinstance(obj, dict):
                        raise ValueError("fault spec must be a JSON object")
                    mine = {k: v for k, v in obj.items()
                            if k in R53Faults.KINDS}
                    rest = {k: v for k, v in obj.items() if k not in mine}
                    if "throttling" in rest:
                        rest["rate_limit"] = rest.pop("throttling")
                    # validate both before queueing either
                    FaultInjector().add(rest)
                    R53Faults().add(mine)
                    split.append((rest, mine))
                added = []
                for rest, mine in split:
                    added += srv.faults.add(rest) + extra.add(mine)
            except ValueError as e:
                return self._send(Reply(400, {"error": str(e)}), logpath)
            return self._send(Reply(200, {
                "added": added,
                "pending": srv.faults.pending() + extra.pending()}), logpath)
        if method in ("GET", "DELETE"):
            return self._send(Reply(200, {
                "pending": srv.faults.pending() + extra.pending()}), logpath)
        return super()._control(method, path, raw, logpath)


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    add_server_args(p)
    p.add_argument("--state", help="JSON seed (see README.md)")
    p.add_argument("--credentials", action="append", default=[],
                   metavar="AKID:SECRET[:TOKEN]",
                   help="accepted key pair (repeatable); with TOKEN, "
                   "requests must carry X-Amz-Security-Token: TOKEN")
    p.add_argument("--issued-credentials", metavar="FILE",
                   help="also accept the temporary key pairs that "
                   "aws_identity.py appends to FILE (read at each request)")
    p.add_argument("--expired", action="append", default=[], metavar="AKID",
                   help="this key's session token has expired (403 "
                   "ExpiredToken)")
    p.add_argument("--deny", action="append", default=[],
                   metavar="AKID=ACTION[,ACTION]",
                   help="403 AccessDenied for these actions (* = all)")
    p.add_argument("--max-items", type=int, default=MAX_RRSETS,
                   help="cap of MaxItems on both listings (default 300; "
                   "zones are capped at 100 anyway)")
    p.add_argument("--insync-after", type=int, default=2,
                   help="GetChange reports INSYNC from the Nth poll on "
                   "(default 2; 0: INSYNC at once)")
    p.add_argument("--invalid-batch-form", choices=("error", "list"),
                   help="shape of InvalidChangeBatch errors (default "
                   "error: an ErrorResponse with [msg, ...])")
    p.add_argument("--unsigned-token-ok", action="store_true",
                   help="accept an X-Amz-Security-Token that is not signed")
    p.add_argument("--self-test", action="store_true",
                   help="check the SigV4 code against AWS's test vectors")
    args = p.parse_args()
    if args.self_test:
        sys.exit(0 if self_test() else 1)
    if args.max_items < 1:
        p.error("--max-items must be >= 1")
    for spec in args.credentials:
        if spec.count(":") < 1 or not spec.split(":")[0]:
            p.error("--credentials wants AKID:SECRET[:TOKEN]")
    try:
        fake = Route53(args)
    except (OSError, ValueError) as e:
        sys.exit("route53 fake: bad --state: %s" % e)
    serve(args, fake, R53Handler)


if __name__ == "__main__":
    main()
