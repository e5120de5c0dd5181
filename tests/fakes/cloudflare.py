#!/usr/bin/env python3
"""A stateful fake of the Cloudflare API v4 DNS endpoints (base /client/v4).

Behaviour follows /work/shared/docs/provider-apis.md section 1 (see 1.10):
zones and records with 32-hex ids, the JSON envelope, token or legacy-key
auth, exact list filters with pagination, single-record writes and the
all-or-nothing /batch endpoint, and Cloudflare's validation errors (9000,
9004, 9021, 9051, 81044, 81054, 81058, ...).  Faults, call counters and the
state dump live under /__fake/ (see tests/fakes/common.py and README.md).

  cloudflare.py --cert C --key K --state seed.json --token T [--port 0]
"""

import argparse
import copy
import hashlib
import ipaddress
import json
import os
import re
import sys
import threading
import time

sys.dont_write_bytecode = True     # keep tests/fakes/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import Reply, add_server_args, serve  # noqa: E402

BASE = "/client/v4"
HEX32 = re.compile(r"^[0-9a-f]{32}$")
PROXIABLE = ("A", "AAAA", "CNAME")
HOST_TYPES = ("CNAME", "NS", "PTR", "MX")
KNOWN_TYPES = ("A", "AAAA", "CAA", "CERT", "CNAME", "DNSKEY", "DS", "HTTPS",
               "LOC", "MX", "NAPTR", "NS", "OPENPGPKEY", "PTR", "SMIMEA",
               "SRV", "SSHFP", "SVCB", "TLSA", "TXT", "URI")
LABEL = re.compile(r"^(\*|[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)$")
TXT_MAX = 2048


class CFError(Exception):
    """An API error: HTTP status and the errors[] list."""

    def __init__(self, status, code, message, chain=None, more=None):
        super().__init__(message)
        self.status = status
        err = {"code": code, "message": message}
        if chain:
            err["error_chain"] = [{"code": c, "message": m} for c, m in chain]
        self.errors = [err] + [{"code": c, "message": m}
                               for c, m in (more or [])]


def envelope(result, errors=(), result_info=None, messages=()):
    body = {"success": not errors, "errors": list(errors),
            "messages": list(messages), "result": result}
    if result_info is not None:
        body["result_info"] = result_info
    return body


def now_iso():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + \
        ".%06dZ" % int((t % 1) * 1e6)


# ---------------------------------------------------------------- TXT -----

def _txt_escape(b):
    out = []
    for ch in b:
        c = chr(ch)
        out.append("\\" + c if c in '"\\' else c)
    return "".join(out)


def parse_txt(content, quote_unquoted):
    """Validate TXT content; return (stored content, wire strings).

    Quoted form: one or more "..." strings separated by blanks, with \\" and
    \\\\ (and \\DDD) escapes; each string longer than 255 bytes is split.
    Unquoted form is stored as given (or quoted with quote_unquoted)."""
    if not isinstance(content, str) or content == "":
        raise CFError(400, 9005, "Content for TXT record is invalid.")
    if any(not (0x20 <= ord(c) <= 0x7e) for c in content):
        raise CFError(400, 9051, "Invalid TXT record. Record may only "
                      "contain printable ASCII!")
    if not content.startswith('"'):
        if '"' in content:
            raise CFError(400, 9005, "Content for TXT record is invalid: "
                          "inconsistent quoting.")
        raw = content.encode()
        strings = [raw[i:i + 255] for i in range(0, len(raw), 255)]
        if quote_unquoted:
            content = " ".join('"%s"' % _txt_escape(s) for s in strings)
        return content, strings
    strings, i, n = [], 0, len(content)
    while i < n:
        if content[i] == " ":
            i += 1
            continue
        if content[i] != '"':
            raise CFError(400, 9005, "Content for TXT record is invalid: "
                          "inconsistent quoting.")
        i += 1
        cur = bytearray()
        while True:
            if i >= n:
                raise CFError(400, 9005, "Content for TXT record is invalid:"
                              " unterminated quoted string.")
            c = content[i]
            if c == '"':
                i += 1
                break
            if c == "\\":
                if i + 1 >= n:
                    raise CFError(400, 9005, "Content for TXT record is "
                                  "invalid: dangling backslash.")
                if content[i + 1:i + 4].isdigit() and len(
                        content[i + 1:i + 4]) == 3:
                    v = int(content[i + 1:i + 4])
                    if v > 255:
                        raise CFError(400, 9005, "Content for TXT record is "
                                      "invalid: bad \\DDD escape.")
                    cur.append(v)
                    i += 4
                    continue
                cur += content[i + 1].encode()
                i += 2
                continue
            cur += c.encode()
            i += 1
        if i < n and content[i] != " ":
            raise CFError(400, 9005, "Content for TXT record is invalid: "
                          "inconsistent quoting.")
        strings.append(bytes(cur))
    split = []
    for s in strings:
        split += [s[j:j + 255] for j in range(0, len(s), 255)] or [b""]
    return " ".join('"%s"' % _txt_escape(s) for s in split), split


# ---------------------------------------------------------------- state ---

class Cloudflare:
    def __init__(self, opts):
        self.o = opts
        self.lock = threading.RLock()
        self.seq = 0
        self.zones = {}        # id -> zone object
        self.records = {}      # zone id -> [record], creation order
        self.tokens = {}       # token -> None (all zones) or set of names
        self.token_ids = {}
        for tok, scope in opts.token_list:
            self.tokens[tok] = scope
            self.token_ids[tok] = hashlib.md5(
                b"token:" + tok.encode()).hexdigest()
        if opts.state:
            with open(opts.state) as f:
                self.load_state(json.load(f))

    def new_id(self, kind, name):
        self.seq += 1
        return hashlib.md5(("%s:%d:%s" % (kind, self.seq, name)).encode()
                           ).hexdigest()

    # --- seed / dump ---
    def load_state(self, obj):
        if isinstance(obj, list):
            obj = {"zones": obj}
        if not isinstance(obj, dict) or not isinstance(obj.get("zones"), list):
            raise ValueError('state must be {"zones": [...]}')
        with self.lock:
            zones, records = {}, {}
            for z in obj["zones"]:
                name = str(z.get("name", "")).lower().rstrip(".")
                if not name:
                    raise ValueError("a zone without a name")
                zid = z.get("id") or self.new_id("zone", name)
                if not HEX32.match(zid):
                    raise ValueError("zone id %r is not 32 hex" % zid)
                ts = now_iso()
                zones[zid] = {
                    "id": zid, "name": name,
                    "status": z.get("status", "active"),
                    "paused": False, "type": "full", "development_mode": 0,
                    "account": z.get("account", {
                        "id": hashlib.md5(b"account").hexdigest(),
                        "name": "Fake Account"}),
                    "name_servers": z.get("name_servers", [
                        "ada.ns.cloudflare.com", "bob.ns.cloudflare.com"]),
                    "original_name_servers": None,
                    "created_on": ts, "modified_on": ts, "activated_on": ts,
                    "permissions": ["#dns_records:edit", "#dns_records:read",
                                    "#zone:read"],
                }
                records[zid] = []
                for r in z.get("records", []):
                    try:
                        rec = self.validate(zones[zid], records[zid], r,
                                            None, check=r.get("validate",
                                                              True))
                    except CFError as e:
                        raise ValueError("seed record %s in %s: %s" % (
                            json.dumps(r), name, e.errors[0]["message"]))
                    if r.get("id"):
                        rec["id"] = r["id"]
                    records[zid].append(rec)
            self.zones, self.records = zones, records

    def dump_state(self):
        with self.lock:
            return {"zones": [dict(z, records=[self.present(r) for r in
                                               self.records[zid]])
                              for zid, z in self.zones.items()]}

    # --- common.py hooks ---
    def template(self, method, path):
        p = path[len(BASE):] if path.startswith(BASE) else path
        segs = p.strip("/").split("/")
        if len(segs) >= 2 and segs[0] == "zones":
            segs[1] = ":id"
            if len(segs) >= 4 and segs[2] == "dns_records" \
                    and segs[3] != "batch":
                segs[3] = ":id"
        return "%s /%s" % (method, "/".join(segs))

    def rate_key(self, headers):
        auth = headers.get("Authorization")
        if auth:
            return "token:" + auth
        if headers.get("X-Auth-Key"):
            return "key:%s:%s" % (headers.get("X-Auth-Email"),
                                  headers.get("X-Auth-Key"))
        return "anonymous"

    def rate_headers(self, limiter, remaining, reset):
        return {"Ratelimit": '"default";r=%d;t=%d' % (remaining, reset),
                "Ratelimit-Policy": '"burst";q=%d;w=%d' % (
                    limiter.n, int(limiter.window))}

    def rate_limit_reply(self, retry_after):
        return Reply(429, envelope(None, [{
            "code": 971, "message": "Please wait and consider throttling "
            "your request speed"}]), {"Retry-After": str(retry_after)})

    def error_reply(self, status):
        return Reply(status, envelope(None, [{
            "code": 10001 if status < 500 else 10000 + status,
            "message": "Internal server error (injected fault)"}]))

    # --- auth ---
    def authenticate(self, h):
        """Return the set of visible zone names, or None for all."""
        auth = h.get("Authorization")
        if auth is not None:
            m = re.match(r"^Bearer ([A-Za-z0-9._~+/=-]+)$", auth.strip())
            if not m:
                raise CFError(400, 6003, "Invalid request headers",
                              [(6111, "Invalid format for Authorization "
                                "header")])
            tok = m.group(1)
            if tok not in self.tokens:
                raise CFError(403, 10000, "Authentication error")
            return self.tokens[tok], tok
        key, email = h.get("X-Auth-Key"), h.get("X-Auth-Email")
        if key is not None or email is not None:
            chain = []
            if email is None or not re.match(r"^[^@\s]+@[^@\s]+$", email):
                chain.append((6102, "Invalid format for X-Auth-Email header"))
            if key is None or not re.match(r"^[0-9a-f]{37}$", key):
                chain.append((6103, "Invalid format for X-Auth-Key header"))
            if chain:
                raise CFError(400, 6003, "Invalid request headers", chain)
            if self.o.auth_key is None or key != self.o.auth_key or \
                    email.lower() != (self.o.auth_email or "").lower():
                raise CFError(403, 9103, "Unknown X-Auth-Key or X-Auth-Email")
            return None, None
        raise CFError(403, 10000, "Authentication error")

    # --- names and validation ---
    def fqdn(self, zone, name):
        if not isinstance(name, str) or not name.strip():
            raise CFError(400, 9000, "DNS name is invalid.")
        n = name.strip().lower()
        zn = zone["name"]
        absolute = n.endswith(".")
        n = n.rstrip(".")
        if n in ("@", ""):
            n = zn
        elif not (n == zn or n.endswith("." + zn)):
            if absolute or "." in n:
                raise CFError(400, 9000, "DNS name is invalid.")
            n = n + "." + zn
        if len(n) > 253 or not all(LABEL.match(lb) for lb in n.split(".")):
            raise CFError(400, 9000, "DNS name is invalid.")
        if "*" in n.split(".")[1:]:
            raise CFError(400, 9000, "DNS name is invalid.")
        return n

    def check_content(self, typ, name, content):
        """Return (stored content, comparison key)."""
        if typ == "TXT":
            stored, strings = parse_txt(content, self.o.quote_unquoted_txt)
            if len(stored) > TXT_MAX:
                raise CFError(400, 9005, "Content for TXT record is invalid:"
                              " longer than %d characters." % TXT_MAX)
            return stored, tuple(strings)
        if not isinstance(content, str) or not content.strip():
            raise CFError(400, 9005, "Content for %s record is invalid."
                          % typ)
        if typ in ("A", "AAAA"):
            try:
                ip = ipaddress.ip_address(content.strip())
            except ValueError:
                ip = None
            if ip is None or ip.version != (4 if typ == "A" else 6):
                raise CFError(400, 9005, "Content for %s record must be a "
                              "valid IPv%s address." % (
                                  typ, "4" if typ == "A" else "6"))
            return str(ip), str(ip)
        if typ in HOST_TYPES:
            c = content.strip().lower().rstrip(".")
            if not c or len(c) > 253 or not all(
                    LABEL.match(lb) for lb in c.split(".")):
                raise CFError(400, 9005, "Content for %s record is invalid."
                              % typ)
            if typ == "CNAME" and c == name:
                raise CFError(400, 9038, "CNAME content cannot reference "
                              "itself.")
            return c, c
        return content, content

    def validate(self, zone, recs, body, old, check=True, replace=True):
        """Build the record that body (PUT/POST; PATCH if not replace)
        makes, replacing old (or new when old is None), checked against
        recs.  Raises CFError."""
        if not isinstance(body, dict):
            raise CFError(400, 9207, "Request body is invalid.")
        base = {} if (replace or old is None) else {
            k: old[k] for k in ("type", "name", "content", "ttl", "proxied",
                                "comment", "tags", "settings", "priority")
            if k in old}
        merged = dict(base)
        merged.update({k: v for k, v in body.items() if k != "id"})
        typ = merged.get("type")
        if not isinstance(typ, str) or typ.upper() not in KNOWN_TYPES:
            raise CFError(400, 9020, "Invalid DNS record type")
        typ = typ.upper()
        name = self.fqdn(zone, merged.get("name"))
        if "content" not in merged:
            raise CFError(400, 9005, "Content for %s record is invalid."
                          % typ)
        content, ckey = self.check_content(typ, name, merged["content"])
        proxied = merged.get("proxied", False)
        if proxied is None:
            proxied = False
        if not isinstance(proxied, bool):
            raise CFError(400, 9003, "Invalid 'proxied' value, must be a "
                          "boolean")
        if proxied and typ not in PROXIABLE:
            raise CFError(400, 9004, "This record type cannot be proxied.")
        ttl = merged.get("ttl", 1)
        if isinstance(ttl, bool) or not isinstance(ttl, int) or \
                (ttl != 1 and not 60 <= ttl <= 86400):
            raise CFError(400, 9021, "Invalid TTL. Must be between 60 and "
                          "86400 seconds, or 1 for Automatic.")
        if proxied:
            ttl = 1
        prio = merged.get("priority")
        if typ == "MX":
            if isinstance(prio, bool) or not isinstance(prio, int) or \
                    not 0 <= prio <= 65535:
                raise CFError(400, 9100, "MX priority is invalid; must be "
                              "an integer 0-65535.")
        tags = merged.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str)
                                                 for t in tags):
            raise CFError(400, 9207, "Request body is invalid.")
        comment = merged.get("comment")
        if comment is not None and not isinstance(comment, str):
            raise CFError(400, 9207, "Request body is invalid.")
        if check:
            self.check_conflicts(recs, old, typ, name, ckey)
        ts = now_iso()
        rec = {"id": old["id"] if old else self.new_id("record", name),
               "zone_id": zone["id"], "type": typ, "name": name,
               "content": content, "_key": ckey, "ttl": ttl,
               "proxied": proxied, "proxiable": typ in PROXIABLE,
               "settings": merged.get("settings") or {}, "meta": {},
               "comment": comment, "tags": tags,
               "created_on": old["created_on"] if old else ts,
               "modified_on": ts}
        if typ in ("MX", "SRV", "URI") and prio is not None:
            rec["priority"] = prio
        return rec

    def check_conflicts(self, recs, old, typ, name, ckey):
        others = [r for r in recs if r["name"] == name and
                  (old is None or r["id"] != old["id"])]
        for r in others:
            if r["type"] == typ and r["_key"] == ckey:
                raise CFError(400, 81058, "An identical record already "
                              "exists.")
        strict = self.o.strict_cname
        for r in others:
            if typ == "CNAME" and (strict or r["type"] in PROXIABLE):
                raise CFError(400, 81054, "An A, AAAA, or CNAME record with "
                              "that host already exists. For more details, "
                              "refer to <https://developers.cloudflare.com/"
                              "dns/manage-dns-records/troubleshooting/"
                              "records-with-same-name/>.")
            if r["type"] == "CNAME" and (strict or typ in PROXIABLE):
                raise CFError(400, 81054, "A CNAME record with that host "
                              "already exists. For more details, refer to "
                              "<https://developers.cloudflare.com/dns/"
                              "manage-dns-records/troubleshooting/"
                              "records-with-same-name/>.")

    @staticmethod
    def present(rec):
        return {k: v for k, v in rec.items()
                if not k.startswith("_") and k != "zone_id"}

    # --- request handling ---
    def handle(self, method, path, query, body, headers):
        try:
            return self._handle(method, path, query, body, headers)
        except CFError as e:
            return Reply(e.status, envelope(None, e.errors))

    def _handle(self, method, path, query, body, headers):
        if not path.startswith(BASE + "/"):
            raise CFError(404, 7000, "No route for that URI")
        segs = path[len(BASE) + 1:].rstrip("/").split("/")
        scope, tok = self.authenticate(headers)
        if isinstance(body, ValueError):
            raise CFError(400, 9207, "Request body is invalid.")
        q = {}
        for k, v in query:
            q.setdefault(k, []).append(v)
        route = None
        if segs == ["user", "tokens", "verify"]:
            route = {"GET": lambda: self.verify(tok)}
        elif segs == ["zones"]:
            route = {"GET": lambda: self.list_zones(q, scope)}
        elif len(segs) >= 2 and segs[0] == "zones":
            zone = self.zone_for(segs[1], scope, path)
            rest = segs[2:]
            if rest == []:
                route = {"GET": lambda: Reply(200, envelope(zone))}
            elif rest == ["dns_records"]:
                route = {"GET": lambda: self.list_records(zone, q),
                         "POST": lambda: self.create(zone, body)}
            elif rest == ["dns_records", "batch"]:
                route = {"POST": lambda: self.batch(zone, body)}
            elif len(rest) == 2 and rest[0] == "dns_records":
                rid = rest[1]
                if not HEX32.match(rid):
                    raise CFError(404, 7003, "Could not route to %s, perhaps "
                                  "your object identifier is invalid?" % path,
                                  more=[(7000, "No route for that URI")])
                route = {"GET": lambda: self.get_record(zone, rid),
                         "PUT": lambda: self.write(zone, rid, body, True),
                         "PATCH": lambda: self.write(zone, rid, body, False),
                         "DELETE": lambda: self.delete(zone, rid)}
        if route is None:
            raise CFError(404, 7000, "No route for that URI")
        if method not in route:
            raise CFError(405, 10405, "Method %s not allowed for this "
                          "endpoint" % method)
        with self.lock:
            return route[method]()

    def zone_for(self, zid, scope, path):
        if not HEX32.match(zid):
            raise CFError(404, 7003, "Could not route to %s, perhaps your "
                          "object identifier is invalid?" % path,
                          more=[(7000, "No route for that URI")])
        z = self.zones.get(zid)
        if z is None or (scope is not None and z["name"] not in scope):
            raise CFError(403, 10000, "Authentication error")
        return z

    def verify(self, tok):
        if tok is None:
            raise CFError(400, 6003, "Invalid request headers",
                          [(6111, "Invalid format for Authorization header")])
        return Reply(200, envelope(
            {"id": self.token_ids[tok], "status": "active"},
            messages=[{"code": 10000, "message": "This API Token is valid "
                       "and active", "type": None}]))

    @staticmethod
    def _int(q, name, default, lo, hi, clamp=True):
        v = q.get(name, [None])[-1]
        if v is None or v == "":
            return default
        try:
            n = int(v)
        except ValueError:
            raise CFError(400, 1004, "Invalid %s: %r is not an integer"
                          % (name, v))
        if n < 1:
            raise CFError(400, 1004, "Invalid %s: must be >= 1" % name)
        return max(lo, min(hi, n)) if clamp else n

    @staticmethod
    def page(items, page, per_page):
        total = len(items)
        chunk = items[(page - 1) * per_page:page * per_page]
        return chunk, {"page": page, "per_page": per_page,
                       "count": len(chunk), "total_count": total,
                       "total_pages": (total + per_page - 1) // per_page}

    def list_zones(self, q, scope):
        zs = [z for z in self.zones.values()
              if scope is None or z["name"] in scope]
        if "name" in q:
            want = q["name"][-1].lower().rstrip(".")
            if re.match(r"^(contains|starts_with|ends_with):", want):
                op, val = want.split(":", 1)
                f = {"contains": lambda n: val in n,
                     "starts_with": lambda n: n.startswith(val),
                     "ends_with": lambda n: n.endswith(val)}[op]
                zs = [z for z in zs if f(z["name"])]
            else:
                zs = [z for z in zs if z["name"] == want]
        if "status" in q:
            zs = [z for z in zs if z["status"] == q["status"][-1]]
        zs.sort(key=lambda z: z["name"])
        if q.get("direction", ["asc"])[-1] == "desc":
            zs.reverse()
        chunk, info = self.page(zs, self._int(q, "page", 1, 1, 1 << 30),
                                self._int(q, "per_page", 20, 5, 50))
        return Reply(200, envelope(chunk, result_info=info))

    def list_records(self, zone, q):
        recs = list(self.records[zone["id"]])
        for k, vals in q.items():
            if k in ("name", "content", "type") and any(
                    re.match(r"^(contains|starts_with|ends_with|exact):", v)
                    for v in vals):
                raise CFError(400, 1004, "Operator syntax in '%s' "
                              "(e.g. contains:x) is no longer supported "
                              "(deprecated 2025-02-21); use %s.contains "
                              "etc." % (k, k))
            if k in ("name", "name.exact", "type") and any(
                    "," in v for v in vals):
                raise CFError(400, 1004, "Comma lists in '%s' are no longer "
                              "supported (deprecated 2025-02-21)" % k)
        filters = []
        for k, vals in q.items():
            v = vals[-1]
            if k == "type":
                filters.append(lambda r, v=v: r["type"] == v.upper())
            elif k in ("name", "name.exact"):
                want = v.lower().rstrip(".")
                if want == "@":
                    want = zone["name"]
                filters.append(lambda r, w=want: r["name"] == w)
            elif k in ("name.contains", "name.startswith", "name.endswith"):
                op = k.split(".")[1]
                filters.append(lambda r, v=v.lower(), op=op: getattr(
                    r["name"], {"contains": "__contains__",
                                "startswith": "startswith",
                                "endswith": "endswith"}[op])(v))
            elif k in ("content", "content.exact"):
                filters.append(lambda r, v=v.lower():
                               r["content"].lower() == v)
            elif k in ("content.contains", "content.startswith",
                       "content.endswith"):
                op = k.split(".")[1]
                filters.append(lambda r, v=v.lower(), op=op: getattr(
                    r["content"].lower(), {"contains": "__contains__",
                                           "startswith": "startswith",
                                           "endswith": "endswith"}[op])(v))
            elif k == "proxied":
                filters.append(lambda r, v=v: r["proxied"] == (
                    v.lower() == "true"))
        match = q.get("match", ["all"])[-1]
        if match not in ("all", "any"):
            raise CFError(400, 1004, "Invalid match: must be all or any")
        if filters:
            comb = all if match == "all" else any
            recs = [r for r in recs if comb(f(r) for f in filters)]
        order = q.get("order", ["type"])[-1]
        if order not in ("type", "name", "content", "ttl", "proxied"):
            raise CFError(400, 1004, "Invalid order")
        recs.sort(key=lambda r: (r[order], r["type"], r["name"],
                                 r["content"]))
        if q.get("direction", ["asc"])[-1] == "desc":
            recs.reverse()
        chunk, info = self.page(
            [self.present(r) for r in recs],
            self._int(q, "page", 1, 1, 1 << 30),
            self._int(q, "per_page", 100, 1, self.o.max_per_page))
        return Reply(200, envelope(chunk, result_info=info))

    def find(self, recs, rid):
        for i, r in enumerate(recs):
            if r["id"] == rid:
                return i
        raise CFError(404, 81044, "Record does not exist.")

    def get_record(self, zone, rid):
        recs = self.records[zone["id"]]
        return Reply(200, envelope(self.present(recs[self.find(recs, rid)])))

    def create(self, zone, body):
        recs = self.records[zone["id"]]
        rec = self.validate(zone, recs, body, None)
        recs.append(rec)
        return Reply(200, envelope(self.present(rec)))

    def write(self, zone, rid, body, replace):
        recs = self.records[zone["id"]]
        i = self.find(recs, rid)
        rec = self.validate(zone, recs, body, recs[i], replace=replace)
        recs[i] = rec
        return Reply(200, envelope(self.present(rec)))

    def delete(self, zone, rid):
        recs = self.records[zone["id"]]
        del recs[self.find(recs, rid)]
        return Reply(200, envelope({"id": rid}))

    def batch(self, zone, body):
        if not isinstance(body, dict):
            raise CFError(400, 9207, "Request body is invalid.")
        ops = {}
        for k in ("deletes", "patches", "puts", "posts"):
            v = body.get(k) or []
            if not isinstance(v, list) or not all(isinstance(x, dict)
                                                  for x in v):
                raise CFError(400, 9207, "Request body is invalid: '%s' "
                              "must be an array of objects." % k)
            ops[k] = v
        n = sum(len(v) for v in ops.values())
        if n > self.o.batch_limit:
            raise CFError(400, 81070, "Batch request contains %d operations;"
                          " the limit for this zone is %d." % (
                              n, self.o.batch_limit))
        work = copy.deepcopy(self.records[zone["id"]])
        out = {k: [] for k in ops}
        for d in ops["deletes"]:
            i = self.find(work, str(d.get("id")))
            out["deletes"].append(self.present(work.pop(i)))
        for kind, replace in (("patches", False), ("puts", True)):
            for p in ops[kind]:
                i = self.find(work, str(p.get("id")))
                work[i] = self.validate(zone, work, p, work[i],
                                        replace=replace)
                out[kind].append(self.present(work[i]))
        for p in ops["posts"]:
            rec = self.validate(zone, work, p, None)
            work.append(rec)
            out["posts"].append(self.present(rec))
        self.records[zone["id"]] = work
        return Reply(200, envelope({k: v for k, v in out.items()}))


class TokenAction(argparse.Action):
    """--token T and --token-scope-zone [T=]ZONE[,ZONE], in order."""

    def __call__(self, parser, ns, value, option_string=None):
        lst = getattr(ns, "token_list", None) or []
        if option_string == "--token":
            lst.append([value, None])
        else:
            if "=" in value:
                tok, zones = value.split("=", 1)
                ent = next((e for e in lst if e[0] == tok), None)
                if ent is None:
                    ent = [tok, None]
                    lst.append(ent)
            elif lst:
                ent, zones = lst[-1], value
            else:
                parser.error("--token-scope-zone ZONE needs a --token before"
                             " it (or use TOKEN=ZONE)")
            names = {z.strip().lower().rstrip(".") for z in zones.split(",")
                     if z.strip()}
            ent[1] = (ent[1] or set()) | names
        ns.token_list = lst


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    add_server_args(p)
    p.add_argument("--state", help="JSON seed: {\"zones\": [{\"name\": ..., "
                   "\"records\": [{type,name,content,ttl,proxied}]}]}")
    p.add_argument("--token", action=TokenAction, dest="token_list",
                   default=[], help="accepted API token (repeatable)")
    p.add_argument("--token-scope-zone", action=TokenAction,
                   dest="token_list", metavar="[TOKEN=]ZONE[,ZONE]",
                   help="restrict the token (default: the last --token) to "
                   "these zones (repeatable)")
    p.add_argument("--auth-email", help="legacy X-Auth-Email accepted")
    p.add_argument("--auth-key", help="legacy X-Auth-Key accepted "
                   "(37 lowercase hex, like a real global key)")
    p.add_argument("--max-per-page", type=int, default=5000,
                   help="cap for per_page on record lists (default 5000)")
    p.add_argument("--batch-limit", type=int, default=200,
                   help="max operations in one /batch (default 200)")
    p.add_argument("--strict-cname", action="store_true",
                   help="refuse any other type beside a CNAME (not only "
                   "A/AAAA/CNAME)")
    p.add_argument("--quote-unquoted-txt", action="store_true",
                   help="store unquoted TXT content quoted (the documented "
                   "behaviour; by default it is stored as given, as "
                   "observed in 2025)")
    args = p.parse_args()
    for tok, scope in args.token_list:
        if not re.match(r"^[A-Za-z0-9._~+/=-]+$", tok):
            p.error("token %r has characters a Bearer token cannot have"
                    % tok)
    try:
        fake = Cloudflare(args)
    except (OSError, ValueError) as e:
        sys.exit("cloudflare fake: bad --state: %s" % e)
    serve(args, fake)


if __name__ == "__main__":
    main()
