"""Shared machinery for the fake provider APIs used by the tests.

Python 3 standard library only.  A fake is a FakeHandler subclass that
implements handle_api(); this module gives it:

  - an HTTPS (or plain HTTP) ThreadingHTTPServer on 127.0.0.1, HTTP/1.1
    keep-alive, TLS handshake done in the worker thread;
  - a control API under /__fake/ (no auth, never counted):
        POST /__fake/faults        queue faults (see FaultInjector)
        GET  /__fake/faults        the faults still pending
        DELETE /__fake/faults      clear them
        GET  /__fake/calls         {"METHOD /path/template": n, ..., "total": n}
        POST /__fake/reset-calls   zero the counters and the request log
        GET  /__fake/requests      the request log (method, path, query,
                                   status, JSON body) in arrival order
        GET  /__fake/held          {"held": n}: requests a "hold" fault keeps
        POST /__fake/release       let every held request go on
        GET  /__fake/state         the fake's state (fake-specific)
        POST /__fake/state         replace the state (fake-specific)
  - fault injection, a sliding-window rate limiter, call counting, and one
    log line per request on stderr (never the credentials).
"""

import argparse
import json
import math
import os
import signal
import socket
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit, parse_qsl, unquote_plus

# the request the current handler thread is serving (query_contains)
_current = threading.local()


class Reply:
    """What an API handler answers: status, JSON-able body, extra headers."""

    def __init__(self, status, body, headers=None, raw=None,
                 content_type="application/json"):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})
        self.raw = raw              # bytes sent as-is instead of JSON
        self.content_type = content_type


class FaultInjector:
    """Queued one-shot faults, consumed by the requests that match them.

    POST /__fake/faults with an object; each key adds one fault:
      {"rate_limit": {"count": 3, "retry_after": 1}}  next 3 requests: 429
      {"status_500": 2}  (or {"count": 2, "status": 503})  next 2: 5xx
            with a JSON error envelope
      {"drop": {"count": 1, "when": "before"|"after"}}  close the connection
            without an answer, before or after the request took effect
      {"slow": {"count": 1, "seconds": 5}}  delay the answer
      {"hold": {"count": 1, "path_contains": "batch"}}  keep the request
            (before it takes effect) until POST /__fake/release, or 60 s:
            the test knows a request is in flight (GET /__fake/held) and
            acts then, with no sleep
      {"malformed": 1}   a 200 whose body is not JSON (request not applied);
                         {"malformed": {"body": "...", "content_type": "..."}}
                         answers that body instead (a truncated document, an
                         object where an array belongs)
      {"concurrent_edit": {"method": "GET", "path_contains": "dns_records",
                "request": {"method": "POST", "path": "/client/v4/...",
                            "body": {...}}}}
            once the matching request has been answered from the state,
            make that request too, as another client (a person in the web
            page) would, with the same credentials: a concurrent edit
            between a client's read and its write; not counted
    A JSON array of such objects queues each of them, in order.
    Every object form also takes "method", "path_contains" and
    "query_contains" (a substring of the query string, percent-decoded:
    "name=a.example" picks one zone's look-up) to restrict which requests
    consume the fault.  A number N is short for {"count": N}.
    Faults of different kinds are independent: one request can consume a
    "slow" and a "status_500" at once.  Order per request: slow, drop
    before, rate_limit, status_500, malformed, --rate-limit, the API,
    drop after; a hold comes first of all.  Faulted requests are counted in /__fake/calls.
    """

    KINDS = ("slow", "drop", "rate_limit", "status_500", "malformed",
             "concurrent_edit", "hold")

    def __init__(self):
        self.lock = threading.Lock()
        self.faults = []
        self.gate = threading.Condition()
        self.holding = 0
        self.generation = 0

    def hold(self):
        """Wait here until release() (at most 60 s)."""
        with self.gate:
            gen = self.generation
            self.holding += 1
            self.gate.notify_all()
            self.gate.wait_for(lambda: self.generation != gen, timeout=60)
            self.holding -= 1

    def release(self):
        with self.gate:
            self.generation += 1
            self.gate.notify_all()

    def held(self):
        with self.gate:
            return self.holding

    def add(self, spec):
        if isinstance(spec, list):   # several objects at once, in order
            for x in spec:
                if not isinstance(x, dict):
                    raise ValueError("fault spec must be a JSON object")
                FaultInjector().add(x)          # all valid, or none queued
            return [f for x in spec for f in self.add(x)]
        if not isinstance(spec, dict):
            raise ValueError("fault spec must be a JSON object")
        new = []
        for kind, val in spec.items():
            if kind not in self.KINDS:
                raise ValueError("unknown fault %r (known: %s)"
                                 % (kind, ", ".join(self.KINDS)))
            f = {"count": val} if isinstance(val, int) else dict(val)
            if not isinstance(f.get("count", 1), int) or f.get("count", 1) < 1:
                raise ValueError("%s: count must be a positive integer" % kind)
            f.setdefault("count", 1)
            if kind == "concurrent_edit" and not isinstance(
                    f.get("request"), dict):
                raise ValueError("concurrent_edit: request must be an object")
            if kind == "drop" and f.setdefault("when", "before") not in (
                    "before", "after"):
                raise ValueError("drop: when must be 'before' or 'after'")
            f["kind"] = kind
            new.append(f)
        with self.lock:
            self.faults.extend(new)
        return new

    def clear(self):
        with self.lock:
            self.faults = []

    def pending(self):
        with self.lock:
            return [dict(f) for f in self.faults]

    def take(self, kind, method, path, query=None):
        """Consume one matching fault of this kind; return it or None.
        query: the request's query string, percent-decoded (default: that
        of the request this thread is handling)."""
        with self.lock:
            for f in self.faults:
                if f["kind"] != kind:
                    continue
                if f.get("method") and f["method"].upper() != method:
                    continue
                if f.get("path_contains") and f["path_contains"] not in path:
                    continue
                if f.get("query_contains") and f["query_contains"] not in (
                        query if query is not None
                        else getattr(_current, "query", "")):
                    continue
                f["count"] -= 1
                if f["count"] <= 0:
                    self.faults.remove(f)
                return dict(f)
        return None


class RateLimiter:
    """At most N requests per W seconds per key (sliding window)."""

    def __init__(self, n, window):
        self.n, self.window = n, window
        self.lock = threading.Lock()
        self.hits = {}

    @staticmethod
    def parse(text):
        try:
            n, w = text.split("/", 1)
            n, w = int(n), float(w)
        except ValueError:
            raise argparse.ArgumentTypeError("want N/SECONDS, e.g. 1200/300")
        if n < 1 or w <= 0:
            raise argparse.ArgumentTypeError("want N >= 1 and SECONDS > 0")
        return (n, w)

    def check(self, key):
        """(allowed, remaining, seconds_to_reset)."""
        now = time.monotonic()
        with self.lock:
            q = [t for t in self.hits.get(key, []) if t > now - self.window]
            if len(q) >= self.n:
                self.hits[key] = q
                return False, 0, max(1, math.ceil(q[0] + self.window - now))
            q.append(now)
            self.hits[key] = q
            reset = max(1, math.ceil(q[0] + self.window - now))
            return True, self.n - len(q), reset


class Calls:
    """Counts per "METHOD template" plus a request log."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with getattr(self, "lock", threading.Lock()):
            self.counts = {}
            self.total = 0
            self.log = []

    def add(self, key, entry):
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1
            self.total += 1
            self.log.append(entry)
            return entry

    def snapshot(self):
        with self.lock:
            d = dict(sorted(self.counts.items()))
            d["total"] = self.total
            return d

    def entries(self):
        with self.lock:
            return [dict(e) for e in self.log]


class DropConnection(Exception):
    """Raised to close the connection without answering."""


class FakeHandler(BaseHTTPRequestHandler):
    """Base request handler.  Subclasses set `fake` (the API object) on the
    server and implement nothing else: the API object provides
      template(method, path) -> "METHOD /template" for the call counters,
      rate_key(headers) -> key for --rate-limit (or None),
      handle(method, path, query, body, headers, apply=True) -> Reply,
      rate_limit_reply(retry_after) -> Reply, error_reply(status) -> Reply,
      dump_state() / load_state(obj).
    """

    protocol_version = "HTTP/1.1"
    server_version = "fake-api/1.0"
    sys_version = ""
    timeout = 60

    def setup(self):
        super().setup()
        # headers and body go out in two writes: without this, Nagle's
        # algorithm and the client's delayed ACK hold every answer on a
        # kept-alive connection ~40 ms
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.do_handshake()
            except (ssl.SSLError, OSError) as e:
                self.log_line("-", "-", "TLS handshake failed: %s" % e)
                self.close_connection = True
                raise

    # --- logging: one line per request, never the headers ---
    def log_message(self, fmt, *args):  # silence BaseHTTPRequestHandler
        pass

    def log_line(self, method, path, status):
        sys.stderr.write("%s %s %s %s\n" % (
            time.strftime("%H:%M:%S"), method, path, status))
        sys.stderr.flush()

    # --- plumbing ---
    def _read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    self.rfile.readline()
                    break
                data += self.rfile.read(size)
                self.rfile.readline()
            return data
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, reply, logpath):
        if reply.raw is not None:
            data = reply.raw
        else:
            data = json.dumps(reply.body, indent=None).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in reply.headers.items():
            self.send_header(k, str(v))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        self.log_line(self.command, logpath, reply.status)

    def _drop(self, logpath, when):
        self.log_line(self.command, logpath, "DROPPED(%s)" % when)
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise DropConnection()

    def _dispatch(self):
        srv = self.server
        method = self.command
        parts = urlsplit(self.path)
        path = parts.path
        query = parse_qsl(parts.query, keep_blank_values=True)
        logpath = self.path
        _current.query = unquote_plus(parts.query)
        try:
            raw = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        if path.startswith("/__fake/") or path == "/__fake":
            return self._control(method, path, raw, logpath)

        fake = srv.fake
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = ValueError("invalid JSON")
        entry = srv.calls.add(fake.template(method, path), {
            "method": method, "path": path, "query": query,
            "body": body if not isinstance(body, ValueError)
            else raw.decode("utf-8", "replace"), "status": None})
        faults = srv.faults

        if faults.take("hold", method, path):
            faults.hold()
        if getattr(srv, "latency", 0):
            time.sleep(srv.latency)
        slow = faults.take("slow", method, path)
        if slow:
            time.sleep(float(slow.get("seconds", 1)))
        drop = faults.take("drop", method, path)
        if drop and drop["when"] == "before":
            entry["status"] = "dropped-before"
            self._drop(logpath, "before")
        rl = faults.take("rate_limit", method, path)
        err = None if rl else faults.take("status_500", method, path)
        if rl:
            reply = fake.rate_limit_reply(int(rl.get("retry_after", 1)))
        elif err:
            reply = fake.error_reply(int(err.get("status", 500)))
        elif (bad := faults.take("malformed", method, path)):
            reply = Reply(200, None, raw=bad.get(
                "body", "<html><body>502 Bad Gateway (not JSON)</body></html>"
            ).encode(), content_type=bad.get("content_type", "text/html"))
        else:
            reply = None
            if srv.rate_limiter is not None:
                key = fake.rate_key(self.headers)
                if key is not None:
                    ok, remaining, reset = srv.rate_limiter.check(key)
                    if not ok:
                        reply = fake.rate_limit_reply(reset)
                    extra = fake.rate_headers(srv.rate_limiter, remaining,
                                              reset)
            if reply is None:
                reply = fake.handle(method, path, query, body, self.headers)
                if srv.rate_limiter is not None and key is not None:
                    reply.headers.update(extra)
        edit = faults.take("concurrent_edit", method, path)
        if edit:
            rq = edit["request"]
            done = fake.handle(rq.get("method", "POST").upper(), rq["path"],
                               rq.get("query", []), rq.get("body"),
                               self.headers)
            self.log_line(rq.get("method", "POST"), rq["path"],
                          "%s (injected edit)" % done.status)
        entry["status"] = reply.status
        if drop and drop["when"] == "after":
            entry["status"] = "dropped-after"
            self._drop(logpath, "after")
        self._send(reply, logpath)

    def _control(self, method, path, raw, logpath):
        srv = self.server
        try:
            obj = json.loads(raw) if raw else None
        except ValueError:
            return self._send(Reply(400, {"error": "body is not JSON"}),
                              logpath)
        r = None
        if path == "/__fake/faults":
            if method == "POST":
                try:
                    r = Reply(200, {"added": srv.faults.add(obj),
                                    "pending": srv.faults.pending()})
                except ValueError as e:
                    r = Reply(400, {"error": str(e)})
            elif method == "GET":
                r = Reply(200, {"pending": srv.faults.pending()})
            elif method == "DELETE":
                srv.faults.clear()
                r = Reply(200, {"pending": []})
        elif path == "/__fake/held" and method == "GET":
            r = Reply(200, {"held": srv.faults.held()})
        elif path == "/__fake/release" and method == "POST":
            srv.faults.release()
            r = Reply(200, {"held": srv.faults.held()})
        elif path == "/__fake/calls" and method == "GET":
            r = Reply(200, srv.calls.snapshot())
        elif path == "/__fake/reset-calls" and method == "POST":
            srv.calls.reset()
            r = Reply(200, srv.calls.snapshot())
        elif path == "/__fake/requests" and method == "GET":
            r = Reply(200, srv.calls.entries())
        elif path == "/__fake/state" and method == "GET":
            r = Reply(200, srv.fake.dump_state())
        elif path == "/__fake/state" and method == "POST":
            try:
                srv.fake.load_state(obj)
                r = Reply(200, srv.fake.dump_state())
            except ValueError as e:
                r = Reply(400, {"error": str(e)})
        if r is None:
            r = Reply(404, {"error": "unknown control endpoint %s %s"
                            % (method, path)})
        self._send(r, logpath)

    def _any(self):
        try:
            self._dispatch()
        except DropConnection:
            pass
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any


class FakeServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, handler, fake, ssl_ctx=None, rate_limit=None):
        super().__init__(addr, handler)
        self.fake = fake
        self.faults = FaultInjector()
        self.calls = Calls()
        self.rate_limiter = RateLimiter(*rate_limit) if rate_limit else None
        if ssl_ctx is not None:
            self.socket = ssl_ctx.wrap_socket(
                self.socket, server_side=True, do_handshake_on_connect=False)

    def handle_error(self, request, client_address):
        e = sys.exc_info()[1]
        if isinstance(e, (ssl.SSLError, ConnectionError, TimeoutError,
                          socket.timeout)):
            return
        super().handle_error(request, client_address)


def add_server_args(p):
    """The command-line options every fake shares."""
    p.add_argument("--port", type=int, default=0,
                   help="TCP port on 127.0.0.1 (0 = pick a free one)")
    p.add_argument("--port-file",
                   help="write the port here once listening")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (loopback only, default "
                   "127.0.0.1)")
    p.add_argument("--cert", help="server certificate (PEM)")
    p.add_argument("--key", help="server private key (PEM)")
    p.add_argument("--plain", action="store_true",
                   help="plain HTTP instead of HTTPS (debugging only)")
    p.add_argument("--rate-limit", type=RateLimiter.parse, metavar="N/W",
                   help="at most N requests per W seconds per credential")
    p.add_argument("--latency", type=float, default=0.0, metavar="SECONDS",
                   help="answer every API request this much later, as a "
                   "real API far away does (bench/scale.sh: 0.05)")


def serve(args, fake, handler=FakeHandler):
    """Start the server described by args; print the port; run forever."""
    if args.host not in ("127.0.0.1", "::1", "localhost") and \
            not args.host.startswith("127."):
        sys.exit("fake: refusing to listen on non-loopback %s" % args.host)
    ctx = None
    if not args.plain:
        if not (args.cert and args.key):
            sys.exit("fake: --cert and --key are required (or --plain)")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(args.cert, args.key)
    srv = FakeServer((args.host, args.port), handler, fake, ctx,
                     args.rate_limit)
    srv.latency = max(0.0, args.latency)
    port = srv.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    print(port, flush=True)
    sys.stderr.write("fake %s listening on %s://%s:%d\n" % (
        type(fake).__name__, "http" if args.plain else "https", args.host,
        port))
    sys.stderr.flush()
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    try:
        srv.serve_forever(poll_interval=0.2)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        srv.server_close()
