"""crm_receiver.py: a stand-in CRM that receives leadedge's webhooks, for the integration tests.

Python 3 standard library only. A ThreadingHTTPServer on 127.0.0.1, port 0 (the OS picks),
speaking HTTP/1.1 with keep-alive, optionally over TLS, in a background thread:

    rx = CrmReceiver(["whsec-1"], tls=(certfile, keyfile))  # tls=None: plain HTTP
    rx.script([(503, {"Retry-After": "7"}, 0)])             # the next answer; then the default
    rx.set_default(200)
    ... point leadedge (or client_probe) at rx.url ...
    d = rx.wait_for(1, timeout=5)[0]                        # bounded; TimeoutError otherwise
    assert d.sig_ok and d.json["seq"] == 0
    rx.stop()

Every POST is read whole and recorded as a Delivery: time received (time.time()), path,
headers (a dict with lowercase names), body bytes, the parsed JSON (None when it is not JSON),
sig_ok, and conn (the id of the TCP connection it came on, 1, 2, ... in accept order).
sig_ok is True when Leadedge-Signature is "t=<unix>,v1=<hex>[,v1=<hex>...]" with t within
SIG_TOLERANCE_S of now and some v1 equal to HMAC-SHA256(secret, f"{t}." + body) for some
secret in secret_list (see docs/webhooks.md); False otherwise.

Answers come from a queue of scripted ones, each consumed by one request, then the default
(200, no extra headers, no delay). An answer is a tuple (status, headers, delay_s) or a dict
with keys status, headers, delay, body (bytes; default b"{}" for 2xx, a short JSON error
otherwise; sent chunked when headers has "Transfer-Encoding: chunked") and close (True: send
the answer, then close the connection without saying "Connection: close", as a receiver that
drops kept-alive connections does). A "Connection: close" header in headers closes the
connection the regular way. A delay makes the receiver wait before answering (stop() cuts it
short), which is how a receiver that never answers is played.

idle_timeout (seconds) closes a kept-alive connection after that long without a request.
connections counts accepted TCP connections (TLS handshakes that failed included).

make_certs(dirpath) writes, with the openssl CLI, a CA, a server certificate signed by it for
DNS:localhost and IP:127.0.0.1, a second certificate from the same CA for another name only
(wrong-name tests), and an unrelated CA (wrong-CA tests); it returns their paths.

Only 127.0.0.1 is ever bound; every wait here is bounded.
"""

import hashlib
import hmac
import http.server
import json
import os
import socket
import ssl
import subprocess
import threading
import time

HOST = "127.0.0.1"
SIG_TOLERANCE_S = 300
HANDSHAKE_TIMEOUT = 5.0
STOP_TIMEOUT = 5.0


class Delivery:
    """One POST as the receiver saw it."""

    __slots__ = ("time", "path", "headers", "body", "json", "sig_ok", "conn")

    def __init__(self, time_, path, headers, body, parsed, sig_ok, conn):
        self.time = time_
        self.path = path
        self.headers = headers
        self.body = body
        self.json = parsed
        self.sig_ok = sig_ok
        self.conn = conn

    def __repr__(self):
        return "Delivery(path=%r, conn=%d, sig_ok=%r, body=%r)" % (
            self.path, self.conn, self.sig_ok, self.body[:80])


def check_signature(header, body, secrets, now=None, tolerance=SIG_TOLERANCE_S):
    """True when header signs body with one of secrets (see the module docstring)."""
    if not header or not secrets:
        return False
    t = None
    v1 = []
    for el in header.split(","):
        k, _, v = el.strip().partition("=")
        if k == "t":
            if t is not None or not v.isdigit():
                return False
            t = int(v)
        elif k == "v1":
            v1.append(v)
    if t is None or not v1:
        return False
    now = time.time() if now is None else now
    if abs(now - t) > tolerance:
        return False
    ok = False
    for s in secrets:
        want = hmac.new(s.encode(), b"%d." % t + body, hashlib.sha256).hexdigest()
        for got in v1:
            ok |= hmac.compare_digest(want, got)
    return ok


def _answer(spec):
    if isinstance(spec, dict):
        a = {"status": 200, "headers": None, "delay": 0, "body": None, "close": False}
        a.update(spec)
    else:
        status, headers, delay = (tuple(spec) + (None, 0))[:3]
        a = {"status": status, "headers": headers, "delay": delay, "body": None, "close": False}
    a["headers"] = dict(a["headers"] or {})
    if a["body"] is None:
        a["body"] = b"{}" if 200 <= a["status"] <= 299 else b'{"error":"status %d"}' % a["status"]
    return a


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "crm-receiver/1"

    def __init__(self, request, client_address, server, conn_id):
        self.conn_id = conn_id
        super().__init__(request, client_address, server)

    def setup(self):
        self.timeout = self.server.rx.idle_timeout
        super().setup()

    def log_message(self, format, *args):  # quiet
        pass

    def do_POST(self):
        rx = self.server.rx
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        received = time.time()
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        sig_ok = check_signature(headers.get("leadedge-signature"), body, rx.secrets)
        a = rx._next_answer()
        with rx._cond:
            rx._deliveries.append(
                Delivery(received, self.path, headers, body, parsed, sig_ok, self.conn_id))
            rx._cond.notify_all()
        if a["delay"] and rx._stopping.wait(a["delay"]):
            self.close_connection = True
            return
        chunked = any(k.lower() == "transfer-encoding" and v.lower() == "chunked"
                      for k, v in a["headers"].items())
        self.send_response(a["status"])
        for k, v in a["headers"].items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        if not chunked:
            self.send_header("Content-Length", str(len(a["body"])))
        self.end_headers()
        if chunked:  # in pieces of at most 7 bytes, then the last chunk
            b = a["body"]
            for i in range(0, len(b), 7):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(b[i:i + 7]), b[i:i + 7]))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.wfile.write(a["body"])
        self.wfile.flush()
        if a["close"]:
            self.close_connection = True


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False

    def __init__(self, rx):
        self.rx = rx
        super().__init__((HOST, 0), _Handler)

    def process_request_thread(self, request, client_address):
        rx = self.rx
        with rx._cond:
            rx._connections += 1
            conn_id = rx._connections
            rx._socks.add(request)
        try:
            if rx._ssl:
                request.settimeout(HANDSHAKE_TIMEOUT)
                raw = request
                request = rx._ssl.wrap_socket(raw, server_side=True)
                request.settimeout(None)
                with rx._cond:
                    rx._socks.discard(raw)
                    rx._socks.add(request)
            _Handler(request, client_address, self, conn_id)
        except Exception:
            pass  # a failed handshake, a client gone: nothing to report
        finally:
            with rx._cond:
                rx._socks.discard(request)
            self.shutdown_request(request)

    def handle_error(self, request, client_address):
        pass


class CrmReceiver:
    def __init__(self, secret_list=(), tls=None, idle_timeout=None):
        self.secrets = list(secret_list or ())
        self.idle_timeout = idle_timeout
        self._ssl = None
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls[0], tls[1])
            self._ssl = ctx
        self._cond = threading.Condition()
        self._deliveries = []
        self._script = []
        self._default = _answer((200, None, 0))
        self._connections = 0
        self._socks = set()
        self._stopping = threading.Event()
        self._server = _Server(self)
        self.port = self._server.server_address[1]
        scheme = "https" if tls else "http"
        self.url = "%s://%s:%d/hook" % (scheme, HOST, self.port)
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def url_for(self, host, path="/hook"):
        """The URL with another host name for the same port (e.g. localhost)."""
        return "%s://%s:%d%s" % ("https" if self._ssl else "http", host, self.port, path)

    # ---- answers --------------------------------------------------------------------------

    def script(self, answers):
        """Queue answers, each used by one request, before falling back to the default."""
        with self._cond:
            self._script.extend(_answer(a) for a in answers)

    def set_default(self, status, headers=None, delay=0, body=None, close=False):
        with self._cond:
            self._default = _answer({"status": status, "headers": headers, "delay": delay,
                                     "body": body, "close": close})

    def _next_answer(self):
        with self._cond:
            return self._script.pop(0) if self._script else self._default

    # ---- what was received ----------------------------------------------------------------

    @property
    def connections(self):
        with self._cond:
            return self._connections

    def deliveries(self):
        with self._cond:
            return list(self._deliveries)

    def wait_for(self, n, timeout=5.0):
        """The deliveries once there are at least n; TimeoutError after timeout seconds."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._deliveries) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError("%d of %d deliveries after %.1f s"
                                       % (len(self._deliveries), n, timeout))
                self._cond.wait(left)
            return list(self._deliveries)

    def stop(self):
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        with self._cond:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(STOP_TIMEOUT)


# ---- certificates -------------------------------------------------------------------------


def have_openssl():
    try:
        subprocess.run(["openssl", "version"], check=True, capture_output=True, timeout=10)
        return True
    except (OSError, subprocess.SubprocessError):
        return False


def _openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True,
                   timeout=60)


def _ca(d, name):
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=%s" % name, "-keyout", name + ".key", "-out", name + ".pem",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)


def _leaf(d, name, ca, san):
    ext = os.path.join(d, name + ".ext")
    with open(ext, "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=%s\n" % san)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=%s" % name,
             "-keyout", name + ".key", "-out", name + ".csr", cwd=d)
    _openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem", "-CAkey", ca + ".key",
             "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", name + ".pem", cwd=d)


def make_certs(dirpath, hostname="localhost", ip="127.0.0.1"):
    """Generate test certificates in dirpath; returns a dict of paths:

    ca: the CA to trust; cert, key: signed by ca for DNS:hostname and IP:ip;
    other_cert, other_key: signed by ca for DNS:other.invalid only (a name mismatch);
    wrong_ca: an unrelated CA that signed none of them.
    """
    _ca(dirpath, "ca")
    _ca(dirpath, "wrong-ca")
    _leaf(dirpath, "server", "ca", "DNS:%s,IP:%s" % (hostname, ip))
    _leaf(dirpath, "other", "ca", "DNS:other.invalid")
    p = lambda n: os.path.join(dirpath, n)
    return {"ca": p("ca.pem"), "cert": p("server.pem"), "key": p("server.key"),
            "other_cert": p("other.pem"), "other_key": p("other.key"),
            "wrong_ca": p("wrong-ca.pem")}
