#!/usr/bin/env python3
"""A stateful fake of the GoDaddy Domains API v1 DNS endpoints (base /v1).

Behaviour follows /work/shared/docs/provider-apis.md section 2 (see 2.7):
`Authorization: sso-key KEY:SECRET` (401 UNABLE_TO_AUTHENTICATE /
MALFORMED_CREDENTIALS), accounts without production API access (403
ACCESS_DENIED), domains and their records (no ids: a record is type, name,
data, ttl), GET of the zone / a type / a type+name, PUT replacing the whole
set of a type+name, PATCH appending, DELETE of a type+name (204), bodies
validated with GoDaddy's error shape {code, message, fields[]} (array
required, TTL >= 600, name format, TXT length, CNAME exclusivity), and a
per-key rate limit answering 429 with retryAfterSec.  Faults, call counters
and the state dump live under /__fake/ (see tests/fakes/common.py and
README.md).

  godaddy.py --cert C --key K --state seed.json --credentials KEY:SECRET
"""

import argparse
import ipaddress
import json
import os
import re
import sys
import threading
from urllib.parse import unquote

sys.dont_write_bytecode = True     # keep tests/fakes/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Reply, add_server_args, serve  # noqa: E402

BASE = "/v1"
TYPES = ("A", "AAAA", "CNAME", "MX", "NS", "SOA", "SRV", "TXT", "CAA")
DELETABLE = ("A", "AAAA", "CNAME", "MX", "SRV", "TXT")
# the "domain" format of the spec, for record names
NAME_FORMAT = re.compile(r"^[^.]{1,63}(\.[^.]{1,63})*$")
HOST = re.compile(r"^(@|(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*"
                  r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.?)$", re.I)
TTL_MAX = 604800
DEFAULT_NS = ["ns51.domaincontrol.com", "ns52.domaincontrol.com"]
EXTRA_FIELDS = ("priority", "port", "weight", "protocol", "service")


class GDError(Exception):
    """An API error: HTTP status and GoDaddy's {code, message, fields}."""

    def __init__(self, status, code, message, fields=None, **extra):
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "message": message}
        if fields:
            self.body["fields"] = fields
        self.body.update(extra)


def invalid_body(fields):
    return GDError(422, "INVALID_BODY", "Request body doesn't fulfill "
                   "schema, see details in `fields`", fields)


def field(code, message, path):
    return {"code": code, "message": message, "path": path}


class GoDaddy:
    def __init__(self, opts):
        self.o = opts
        self.lock = threading.RLock()
        self.domains = {}      # name -> domain object (with "records")
        self.next_id = 1000
        self.creds = {}        # key -> secret
        for c in opts.credentials:
            k, s = c.split(":", 1)
            self.creds[k] = s
        self.denied = set(opts.no_api_access or [])
        if opts.state:
            with open(opts.state) as f:
                self.load_state(json.load(f))

    # --- seed / dump ---
    def load_state(self, obj):
        if isinstance(obj, list):
            obj = {"domains": obj}
        if not isinstance(obj, dict) or not isinstance(obj.get("domains"),
                                                       list):
            raise ValueError('state must be {"domains": [...]}')
        with self.lock:
            doms = {}
            for d in obj["domains"]:
                name = str(d.get("domain", "")).lower().rstrip(".")
                if not name:
                    raise ValueError("a domain without a name")
                self.next_id += 1
                dom = {"domain": name,
                       "domainId": d.get("domainId", self.next_id),
                       "status": d.get("status", "ACTIVE"),
                       "nameServers": d.get("nameServers", DEFAULT_NS),
                       "records": []}
                recs = []
                for i, r in enumerate(d.get("records", [])):
                    try:
                        if r.get("validate", True):
                            recs.append(self.check_record(r, i, full=True))
                        else:
                            recs.append({k: v for k, v in r.items()
                                         if k != "validate"})
                    except GDError as e:
                        raise ValueError("seed record %s in %s: %s" % (
                            json.dumps(r), name, json.dumps(e.body)))
                if not any(r["type"] == "NS" and r["name"] == "@"
                           for r in recs):
                    recs = [{"type": "NS", "name": "@", "data": ns,
                             "ttl": 3600} for ns in dom["nameServers"]] + recs
                try:
                    self.check_sets(recs, {r["name"] for r in recs})
                except GDError as e:
                    raise ValueError("seed of %s: %s" % (name,
                                                         json.dumps(e.body)))
                dom["records"] = recs
                doms[name] = dom
            self.domains = doms

    def dump_state(self):
        with self.lock:
            return {"domains": [dict(d, records=[dict(r) for r in
                                                 d["records"]])
                                for d in self.domains.values()]}

    # --- common.py hooks ---
    def template(self, method, path):
        segs = [unquote(s) for s in path.strip("/").split("/")]
        if len(segs) >= 3 and segs[:2] == ["v1", "domains"]:
            segs[2] = ":domain"
            if len(segs) >= 5 and segs[3] == "records":
                segs[4] = ":type"
            if len(segs) >= 6 and segs[3] == "records":
                segs[5] = ":name"
        return "%s /%s" % (method, "/".join(segs))

    @staticmethod
    def parse_auth(headers):
        """(key, secret) from an sso-key header, or None when malformed;
        raises when absent."""
        auth = headers.get("Authorization")
        if auth is None:
            raise GDError(401, "MISSING_CREDENTIALS",
                          "Unauthorized : Credentials must be specified")
        m = re.match(r"^sso-key ([^:\s]+):(\S+)$", auth.strip())
        return (m.group(1), m.group(2)) if m else None

    def rate_key(self, headers):
        try:
            ks = self.parse_auth(headers)
        except GDError:
            return "anonymous"
        return "key:" + ks[0] if ks else "anonymous"

    def rate_headers(self, limiter, remaining, reset):
        return {}   # GoDaddy sends no rate-limit headers on success

    def rate_limit_reply(self, retry_after):
        headers = {} if self.o.no_retry_after_header else {
            "Retry-After": str(retry_after)}
        return Reply(429, {"code": "TOO_MANY_REQUESTS",
                           "message": "Too many requests received within "
                           "interval", "retryAfterSec": retry_after},
                     headers)

    def error_reply(self, status):
        codes = {409: ("CONFLICT", "The domain is being updated; try again "
                       "later (injected fault)"),
                 500: ("INTERNAL_SERVER_ERROR", "Internal server error "
                       "(injected fault)"),
                 502: ("BAD_GATEWAY", "Bad gateway (injected fault)"),
                 503: ("SERVICE_UNAVAILABLE", "Service unavailable "
                       "(injected fault)"),
                 504: ("GATEWAY_TIMEOUT", "Gateway timeout (injected "
                       "fault)")}
        code, msg = codes.get(status, ("ERROR", "Error %d (injected fault)"
                                       % status))
        return Reply(status, {"code": code, "message": msg})

    # --- auth ---
    def authenticate(self, headers):
        ks = self.parse_auth(headers)
        if ks is None:
            raise GDError(401, "MALFORMED_CREDENTIALS",
                          "Unauthorized : API Key-Secret is malformed")
        key, secret = ks
        if self.creds.get(key) != secret:
            raise GDError(401, "UNABLE_TO_AUTHENTICATE", "Unauthorized : "
                          "Could not authenticate API key/secret")
        if key in self.denied:
            raise GDError(403, "ACCESS_DENIED",
                          "Authenticated user is not allowed access")
        return key

    # --- validation ---
    def check_record(self, r, i, full, typ=None, name=None):
        """A record of a request body (full: type and name inside it) or of
        a type/name PUT.  Returns the stored record; raises INVALID_BODY
        listing every field in error."""
        p = "records[%d]" % i
        if not isinstance(r, dict):
            raise invalid_body([field("UNEXPECTED_TYPE", "is not a object",
                                      p)])
        bad = []
        if full:
            typ, name = r.get("type"), r.get("name")
            if not isinstance(typ, str):
                bad.append(field("MISSING_REQUIRED" if typ is None
                                 else "UNEXPECTED_TYPE",
                                 "is required" if typ is None
                                 else "is not a string", p + ".type"))
            elif typ.upper() not in TYPES:
                bad.append(field("MISMATCH_ENUM", "must be one of %s"
                                 % ", ".join(TYPES), p + ".type"))
            if not isinstance(name, str):
                bad.append(field("MISSING_REQUIRED" if name is None
                                 else "UNEXPECTED_TYPE",
                                 "is required" if name is None
                                 else "is not a string", p + ".name"))
            elif not NAME_FORMAT.match(name):
                bad.append(field("MISMATCH_FORMAT", "must match the `domain`"
                                 " format", p + ".name"))
        data, ttl = r.get("data"), r.get("ttl")
        if not isinstance(data, str):
            bad.append(field("MISSING_REQUIRED" if data is None
                             else "UNEXPECTED_TYPE", "is required"
                             if data is None else "is not a string",
                             p + ".data"))
        if ttl is None:
            bad.append(field("MISSING_REQUIRED", "is required", p + ".ttl"))
        elif isinstance(ttl, bool) or not isinstance(ttl, int):
            bad.append(field("UNEXPECTED_TYPE", "is not a integer",
                             p + ".ttl"))
        elif ttl < self.o.min_ttl:
            bad.append(field("UNKNOWN_RESTRICTION", "must have a minimum "
                             "value of %d" % self.o.min_ttl, p + ".ttl"))
        elif ttl > TTL_MAX:
            bad.append(field("UNKNOWN_RESTRICTION", "must have a maximum "
                             "value of %d" % TTL_MAX, p + ".ttl"))
        for k in EXTRA_FIELDS:
            v = r.get(k)
            if v is not None and k != "protocol" and k != "service" and (
                    isinstance(v, bool) or not isinstance(v, int) or
                    not 0 <= v <= 65535):
                bad.append(field("UNEXPECTED_TYPE", "must be an integer "
                                 "0-65535", p + "." + k))
        if bad:
            raise invalid_body(bad)
        typ = typ.upper()
        bad = self.check_data(typ, data, r, p)
        if bad:
            raise invalid_body(bad)
        rec = {"type": typ, "name": name.lower(), "data": data, "ttl": ttl}
        for k in EXTRA_FIELDS:
            if r.get(k) is not None:
                rec[k] = r[k]
        return rec

    def check_data(self, typ, data, r, p):
        bad = []
        pd = p + ".data"
        if data == "":
            return [field("MISMATCH_FORMAT", "must not be empty", pd)]
        if typ == "TXT":
            if len(data) > self.o.txt_max:
                bad.append(field("UNKNOWN_RESTRICTION", "must have a maximum "
                                 "length of %d" % self.o.txt_max, pd))
            if any(ord(c) < 0x20 or ord(c) == 0x7f for c in data):
                bad.append(field("MISMATCH_FORMAT", "must not contain "
                                 "control characters", pd))
        elif typ in ("A", "AAAA"):
            try:
                ok = ipaddress.ip_address(data).version == (
                    4 if typ == "A" else 6)
            except ValueError:
                ok = False
            if not ok:
                bad.append(field("MISMATCH_FORMAT", "must be an IPv%s "
                                 "address" % ("4" if typ == "A" else "6"),
                                 pd))
        elif typ in ("CNAME", "NS", "MX"):
            if len(data) > 255 or not HOST.match(data):
                bad.append(field("MISMATCH_FORMAT", "must match the "
                                 "`host-name` format", pd))
            if typ == "MX" and r.get("priority") is None:
                bad.append(field("MISSING_REQUIRED", "is required for MX",
                                 p + ".priority"))
        return bad

    @staticmethod
    def same(a, b):
        if a["type"] != b["type"] or a["name"] != b["name"]:
            return False
        if a["type"] == "TXT":
            return a["data"] == b["data"]
        return a["data"].lower().rstrip(".") == b["data"].lower().rstrip(".")

    def check_sets(self, recs, names):
        """CNAME exclusivity and duplicates at the names written."""
        for n in names:
            here = [r for r in recs if r["name"] == n]
            cn = [r for r in here if r["type"] == "CNAME"]
            if cn and (len(here) > len(cn) or len(cn) > 1):
                raise GDError(
                    422, "INVALID_RECORDS", "One or more of the given "
                    "records is invalid",
                    [field("DUPLICATE_RECORD", "A CNAME record cannot share "
                           "its name (%s) with other records" % n,
                           "records")],
                    errors=["CNAME at %s conflicts with the %s record(s) "
                            "there" % (n, ", ".join(sorted(
                                {r["type"] for r in here
                                 if r is not cn[0]})))])
            for i, a in enumerate(here):
                for b in here[i + 1:]:
                    if self.same(a, b):
                        raise GDError(422, "DUPLICATE_RECORD",
                                      "Another record with the same "
                                      "attributes already exists")

    # --- request handling ---
    def handle(self, method, path, query, body, headers):
        try:
            return self._handle(method, path, query, body, headers)
        except GDError as e:
            return Reply(e.status, e.body)

    def _handle(self, method, path, query, body, headers):
        segs = [unquote(s) for s in path.strip("/").split("/")]
        if len(segs) < 2 or segs[:2] != ["v1", "domains"]:
            raise GDError(404, "NOT_FOUND", "The requested resource was not "
                          "found")
        self.authenticate(headers)
        if isinstance(body, ValueError):
            raise GDError(400, "INVALID_BODY", "Request body is not valid "
                          "JSON")
        q = dict(query)
        rest = segs[2:]
        with self.lock:
            if rest == []:
                if method != "GET":
                    raise self.no_method(method)
                return Reply(200, [self.summary(d) for d in
                                   sorted(self.domains.values(),
                                          key=lambda d: d["domain"])])
            name = rest[0].lower()
            dom = self.domains.get(name)
            if len(rest) == 1:
                if method != "GET":
                    raise self.no_method(method)
                if dom is None:
                    raise GDError(404, "NOT_FOUND", "Domain not found")
                return Reply(200, dict(self.summary(dom),
                                       nameServers=dom["nameServers"]))
            if rest[1] != "records" or len(rest) > 4:
                raise GDError(404, "NOT_FOUND", "The requested resource was "
                              "not found")
            if dom is None:
                raise GDError(404, "UNKNOWN_DOMAIN", "The given domain is not"
                              " registered, or does not have a zone file")
            typ = rest[2].upper() if len(rest) >= 3 else None
            rname = rest[3].lower() if len(rest) >= 4 else None
            if typ is not None and typ not in TYPES:
                raise invalid_body([field("MISMATCH_ENUM", "must be one of %s"
                                          % ", ".join(TYPES), "type")])
            if rname is not None and not NAME_FORMAT.match(rname):
                raise invalid_body([field("MISMATCH_FORMAT", "must match the"
                                          " `domain` format", "name")])
            if method == "GET":
                return self.get(dom, typ, rname, q)
            if method == "PUT":
                return self.put(dom, typ, rname, body)
            if method == "PATCH" and typ is None:
                return self.patch(dom, body)
            if method == "DELETE" and rname is not None:
                return self.delete(dom, typ, rname)
            raise self.no_method(method)

    @staticmethod
    def no_method(method):
        return GDError(405, "METHOD_NOT_ALLOWED", "Method %s is not allowed "
                       "here" % method)

    @staticmethod
    def summary(d):
        return {"domain": d["domain"], "domainId": d["domainId"],
                "status": d["status"]}

    @staticmethod
    def _int(q, k, default, lo, hi):
        v = q.get(k)
        if v is None or v == "":
            return default
        try:
            n = int(v)
        except ValueError:
            raise invalid_body([field("UNEXPECTED_TYPE", "is not a integer",
                                      k)])
        if not lo <= n <= hi:
            raise GDError(422, "INVALID_BODY", "%s must be %d-%d" % (
                k, lo, hi))
        return n

    def get(self, dom, typ, rname, q):
        recs = [r for r in dom["records"] if (typ is None or r["type"] == typ)
                and (rname is None or r["name"] == rname)]
        off = self._int(q, "offset", 0, 0, 1 << 30)
        lim = self._int(q, "limit", len(recs) or 1, 1, 1 << 30)
        return Reply(200, [dict(r) for r in recs[off:off + lim]])

    @staticmethod
    def want_array(body):
        if not isinstance(body, list):
            raise invalid_body([field("UNEXPECTED_TYPE", "is not a array",
                                      "records")])

    def put(self, dom, typ, rname, body):
        self.want_array(body)
        if typ is not None and rname is not None:
            new = [self.check_record(r, i, False, typ, rname)
                   for i, r in enumerate(body)]
            if not new:   # observed: an empty array does not delete
                return Reply(200, None, raw=b"")
            keep = [r for r in dom["records"]
                    if not (r["type"] == typ and r["name"] == rname)]
            names = {rname}
        elif typ is not None:
            new = []
            for i, r in enumerate(body):
                if isinstance(r, dict):
                    r = dict(r, type=typ)
                new.append(self.check_record(r, i, True))
            keep = [r for r in dom["records"] if r["type"] != typ]
            names = {r["name"] for r in new}
        else:
            new = [self.check_record(r, i, True) for i, r in enumerate(body)]
            keep = []
            names = {r["name"] for r in new}
        recs = keep + new
        self.check_sets(recs, names)
        dom["records"] = recs
        return Reply(200, None, raw=b"")

    def patch(self, dom, body):
        self.want_array(body)
        new = [self.check_record(r, i, True) for i, r in enumerate(body)]
        recs = dom["records"] + new
        self.check_sets(recs, {r["name"] for r in new})
        dom["records"] = recs
        return Reply(200, None, raw=b"")

    def delete(self, dom, typ, rname):
        if typ not in DELETABLE:
            raise invalid_body([field("MISMATCH_ENUM", "must be one of %s"
                                      % ", ".join(DELETABLE), "type")])
        keep = [r for r in dom["records"]
                if not (r["type"] == typ and r["name"] == rname)]
        if len(keep) == len(dom["records"]):
            raise GDError(404, "NOT_FOUND", "No %s record found at %s"
                          % (typ, rname))
        dom["records"] = keep
        return Reply(204, None, raw=b"")


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    add_server_args(p)
    p.add_argument("--state", help="JSON seed: {\"domains\": [{\"domain\": "
                   "..., \"records\": [{type,name,data,ttl}]}]}")
    p.add_argument("--credentials", action="append", default=[],
                   metavar="KEY:SECRET", help="accepted key pair "
                   "(repeatable)")
    p.add_argument("--no-api-access", action="append", metavar="KEY",
                   help="this key's account has no production API access: "
                   "every call answers 403 ACCESS_DENIED (repeatable)")
    p.add_argument("--no-retry-after-header", action="store_true",
                   help="429 answers carry retryAfterSec in the body only")
    p.add_argument("--min-ttl", type=int, default=600,
                   help="smallest TTL accepted (default 600)")
    p.add_argument("--txt-max", type=int, default=512,
                   help="longest TXT data accepted (default 512)")
    args = p.parse_args()
    for c in args.credentials:
        if not re.match(r"^[^:\s]+:\S+$", c):
            p.error("--credentials wants KEY:SECRET, got %r" % c)
    try:
        fake = GoDaddy(args)
    except (OSError, ValueError) as e:
        sys.exit("godaddy fake: bad --state: %s" % e)
    serve(args, fake)


if __name__ == "__main__":
    main()
