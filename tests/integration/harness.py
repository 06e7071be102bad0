"""harness.py: start the real leadedge binary on loopback and talk raw HTTP to it.

Used by the integration tests in this folder (Python 3 standard library only).

* Server: writes an inline YAML config (from a nested or dotted dict) into a
  fresh temp dir, starts `leadedge -c CFG`, waits (bounded) for the ready line
  `listening 127.0.0.1 <port> admin <adminport>` on stdout, keeps the
  server's stderr in <tmp>/stderr.log, and stops it with SIGTERM (bounded).
* Conn: one raw TCP connection with a receive buffer: send bytes, read one
  HTTP/1.1 response (status, headers, body by Content-Length; several
  pipelined responses in a row), see whether the server closed.
* Metrics (Prometheus text from the admin port) and stored events
  (`leadedge events --json`).

Every wait and loop here is bounded in both count and time; only 127.0.0.1
is ever contacted.
"""

import email.utils
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HOST = "127.0.0.1"
TOKEN = "it-admin-token-0123456789abcdefX"  # 32 characters
assert len(TOKEN) == 32

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")

READY_TIMEOUT = 10.0
STOP_TIMEOUT = 20.0
IO_TIMEOUT = 5.0


def leadedge_bin():
    """The binary under test: $LEADEDGE_BIN, else the usual build folders."""
    b = os.environ.get("LEADEDGE_BIN")
    if b:
        return b
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    for d in ("build-it", "build"):
        p = os.path.join(root, d, "server", "leadedge")
        if os.path.exists(p):
            return p
    raise RuntimeError("set LEADEDGE_BIN to the leadedge binary")


# ---- config -------------------------------------------------------------


def _nest(cfg):
    """{"a.b": 1, "c": {"d": 2}} -> {"a": {"b": 1}, "c": {"d": 2}} (deep merge)."""
    out = {}
    for k, v in cfg.items():
        if isinstance(v, dict):
            v = _nest(v)
        parts = k.split(".")
        d = out
        for p in parts[:-1]:
            d = d.setdefault(p, {})
        if isinstance(v, dict) and isinstance(d.get(parts[-1]), dict):
            d[parts[-1]] = merge(d[parts[-1]], v)
        else:
            d[parts[-1]] = v
    return out


def merge(a, b):
    """Deep merge of two config dicts (b wins); dotted keys allowed in both."""
    a, b = _nest(a), _nest(b)
    out = dict(a)
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def _scalar(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, (dict, list, tuple)):
        return json.dumps(v)  # JSON is YAML flow style (rules: lists of maps)
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(str(v))


def to_yaml(cfg, indent=0):
    """A nested dict as block-style YAML; lists in flow style."""
    lines = []
    pad = "  " * indent
    for k, v in _nest(cfg).items():
        if isinstance(v, dict):
            lines.append("%s%s:" % (pad, k))
            lines.append(to_yaml(v, indent + 1))
        elif isinstance(v, (list, tuple)):
            lines.append("%s%s: [%s]" % (pad, k, ", ".join(_scalar(x) for x in v)))
        else:
            lines.append("%s%s: %s" % (pad, k, _scalar(v)))
    return "\n".join(l for l in lines if l != "")


def _free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((HOST, 0))
        return s.getsockname()[1]
    finally:
        s.close()


_port_zero = None


def port_zero_supported():
    """Does the config accept "127.0.0.1:0" (any free port)? Checked once.

    The server itself supports port 0 (main.c), but the config validator may
    refuse it; then the harness picks free ports itself and retries on a
    bind race."""
    global _port_zero
    if _port_zero is None:
        d = tempfile.mkdtemp(prefix="le-it-probe-")
        path = os.path.join(d, "probe.yaml")
        with open(path, "w") as f:
            f.write(to_yaml(base_config(d, 0, 0)) + "\n")
        p = subprocess.run([leadedge_bin(), "--check-config", "-c", path], capture_output=True,
                           timeout=30)
        shutil.rmtree(d, ignore_errors=True)
        _port_zero = p.returncode == 0
        if not _port_zero:
            sys.stderr.write("harness: the config refuses port 0 (%s); picking free ports\n"
                             % p.stderr.decode(errors="replace").strip().splitlines()[0:1])
    return _port_zero


def base_config(tmp, port, admin_port):
    return {
        "server": {"listen": "%s:%d" % (HOST, port), "workers": 2},
        "admin": {"listen": "%s:%d" % (HOST, admin_port), "token": TOKEN},
        "store": {"data_dir": os.path.join(tmp, "data")},
        "log": {"level": "debug"},
    }


# ---- HTTP ---------------------------------------------------------------


class Response:
    def __init__(self, version, status, reason, headers, body, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers  # list of (name, value), in order
        self.body = body
        self.raw_head = raw_head
        self.interim = []  # 1xx responses that came before this one

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def headers_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def __repr__(self):
        return "<Response %s %s %r body=%d bytes>" % (self.status, self.reason, self.headers,
                                                     len(self.body))


class Closed(Exception):
    """The server closed the connection (EOF or reset) before a whole response."""

    def __init__(self, msg, partial=b""):
        super().__init__(msg)
        self.partial = partial


class Conn:
    """One TCP connection to the server with a receive buffer."""

    def __init__(self, port, timeout=IO_TIMEOUT, rcvbuf=None):
        """rcvbuf: a small receive buffer (set before connecting, so the window follows it),
        for a client that makes the server wait while it does not read."""
        if rcvbuf is None:
            self.sock = socket.create_connection((HOST, port), timeout=timeout)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.settimeout(timeout)
            self.sock.connect((HOST, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.eof = False
        self.reset = False
        self.timeout = timeout

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def try_send(self, data):
        """send, but a peer that already closed is not an error: returns False."""
        try:
            self.send(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def shut_wr(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _fill(self, deadline):
        """Read more into buf. False on EOF/reset; raises socket.timeout at deadline."""
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("timed out waiting for the server")
        self.sock.settimeout(left)
        try:
            d = self.sock.recv(65536)
        except ConnectionResetError:
            self.eof = self.reset = True
            return False
        except socket.timeout:
            raise socket.timeout("timed out waiting for the server")
        if not d:
            self.eof = True
            return False
        self.buf += d
        return True

    def read_response(self, head=False, timeout=None, interim_ok=False):
        """One response (1xx interim responses are collected into .interim,
        or returned as they are with interim_ok).

        head: the request was HEAD (no body whatever Content-Length says).
        Raises Closed when the connection ends first, socket.timeout when
        nothing whole arrives in time."""
        deadline = time.monotonic() + (timeout or self.timeout)
        interim = []
        for _ in range(16):  # at most a few interim responses
            r = self._read_one(head, deadline)
            if 100 <= r.status < 200 and not interim_ok:
                interim.append(r)
                continue
            r.interim = interim
            return r
        raise AssertionError("too many interim responses")

    def _read_one(self, head, deadline):
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 1 << 20:
                raise AssertionError("response head larger than 1 MiB")
            if not self._fill(deadline):
                raise Closed("connection closed before a response head"
                             + (" (reset)" if self.reset else ""), self.buf)
        raw_head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = raw_head.split(b"\r\n")
        m = re.match(rb"^(HTTP/\d\.\d) (\d{3}) ?(.*)$", lines[0])
        if not m:
            raise AssertionError("bad status line %r" % lines[0])
        headers = []
        for l in lines[1:]:
            if b":" not in l or l[:1] in (b" ", b"\t"):
                raise AssertionError("bad response header line %r" % l)
            k, v = l.split(b":", 1)
            if k != k.strip() or not k:
                raise AssertionError("bad response header name %r" % k)
            headers.append((k.decode("latin-1"), v.strip(b" \t").decode("latin-1")))
        status = int(m.group(2))
        r = Response(m.group(1).decode(), status, m.group(3).decode("latin-1"), headers, b"",
                     raw_head)
        if head or status in (204, 304) or 100 <= status < 200:
            return r
        cls = r.headers_all("content-length")
        if len(cls) > 1:
            raise AssertionError("several Content-Length headers: %r" % cls)
        if r.header("transfer-encoding"):
            raise AssertionError("unexpected Transfer-Encoding in a response")
        if cls:
            if not re.match(r"^\d+$", cls[0]):
                raise AssertionError("bad Content-Length %r" % cls[0])
            n = int(cls[0])
            while len(self.buf) < n:
                if not self._fill(deadline):
                    raise Closed("connection closed inside a response body (%d of %d bytes)"
                                 % (len(self.buf), n), self.buf)
            r.body, self.buf = self.buf[:n], self.buf[n:]
        else:
            # Delimited by close.
            for _ in range(100000):
                if not self._fill(deadline):
                    break
            r.body, self.buf = self.buf, b""
        return r

    def wait_closed(self, timeout=IO_TIMEOUT):
        """True when the server ends the connection (EOF or reset) within
        timeout; any bytes that arrive meanwhile are kept in buf."""
        deadline = time.monotonic() + timeout
        try:
            for _ in range(100000):
                if not self._fill(deadline):
                    return True
        except socket.timeout:
            return False
        return False

    def read_until_close(self, timeout=IO_TIMEOUT):
        """All bytes until the server closes; (bytes, closed?)."""
        closed = self.wait_closed(timeout)
        data, self.buf = self.buf, b""
        return data, closed


def check_response(tc, r, head=False):
    """Checks every response must pass: Date present and parseable,
    Content-Length present (except 1xx/204/304) and matching the body."""
    date = r.header("date")
    tc.assertIsNotNone(date, "no Date header in %r" % (r,))
    d = email.utils.parsedate_to_datetime(date)
    tc.assertIsNotNone(d)
    tc.assertTrue(date.endswith(" GMT"), date)
    tc.assertLess(abs(time.time() - d.timestamp()), 120, "Date far from now: %s" % date)
    cls = r.headers_all("content-length")
    if r.status in (204, 304) or r.status < 200:
        tc.assertEqual(cls, [], "Content-Length on a %d" % r.status)
        tc.assertEqual(r.body, b"")
    else:
        tc.assertEqual(len(cls), 1, "Content-Length missing or repeated: %r" % (r,))
        if not head:
            tc.assertEqual(int(cls[0]), len(r.body))
    for k, v in r.headers:
        tc.assertNotIn("\r", v)
        tc.assertNotIn("\n", v)
        tc.assertNotIn("\0", v)


def build_request(method, target, headers=None, body=None, version="HTTP/1.1", host=True):
    """Raw request bytes. headers: list of (name, value) or dict. body: bytes/str;
    Content-Length is added for a body unless given."""
    if isinstance(body, str):
        body = body.encode()
    hs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    names = [k.lower() for k, _ in hs]
    if host and "host" not in names:
        hs.insert(0, ("Host", "leadedge.test"))
    if body is not None and "content-length" not in names and "transfer-encoding" not in names:
        hs.append(("Content-Length", str(len(body))))
    out = ("%s %s %s\r\n" % (method, target, version)).encode()
    for k, v in hs:
        out += k.encode() + b": " + (v if isinstance(v, bytes) else v.encode()) + b"\r\n"
    out += b"\r\n"
    if body is not None:
        out += body
    return out


# ---- the server ---------------------------------------------------------


def caught_signals(pid):
    """The set of signals pid has handlers for (SigCgt), or None without /proc."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    mask = int(line.split()[1], 16)
                    return {i + 1 for i in range(64) if mask >> i & 1}
    except OSError:
        return None
    return None


def wait_signal_handlers(pid, timeout=3.0):
    """Wait until SIGTERM and SIGHUP are caught by pid.

    main.c prints the ready line before it installs its signal handlers, so
    a signal sent right after the line can hit the default action and kill
    the server (see test_reload.ReadyLine). The harness waits for the
    handlers so that the other tests do not trip over that window."""
    want = {signal.SIGTERM, signal.SIGHUP}
    deadline = time.monotonic() + timeout
    for _ in range(10000):
        got = caught_signals(pid)
        if got is None:
            time.sleep(0.1)
            return
        if want <= got or time.monotonic() > deadline:
            return
        time.sleep(0.001)


class Server:
    """One leadedge process with its own temp dir, config and data dir."""

    def __init__(self, config=None, name="server"):
        self.extra = config or {}
        self.name = name
        self.tmp = tempfile.mkdtemp(prefix="le-it-%s-" % name)
        self.cfg_path = os.path.join(self.tmp, "leadedge.yaml")
        self.stderr_path = os.path.join(self.tmp, "stderr.log")
        self.proc = None
        self.port = self.admin_port = None
        self.returncode = None
        self.config = None

    # -- lifecycle

    def write_config(self, extra=None, raw=None):
        """Write the config file: base keys merged with extra, or raw text."""
        if raw is not None:
            text = raw
        else:
            self.config = merge(base_config(self.tmp, self._want_port, self._want_admin),
                                extra if extra is not None else self.extra)
            text = to_yaml(self.config) + "\n"
        tmp = self.cfg_path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, self.cfg_path)

    def start(self):
        zero = port_zero_supported()
        last = ""
        for attempt in range(4):  # bounded retries for a port race
            self._want_port = 0 if zero else _free_port()
            self._want_admin = 0 if zero else _free_port()
            self.write_config()
            ok, last = self._spawn()
            if ok:
                return self
            if zero or "listen" not in last:
                break
        raise AssertionError("leadedge did not start:\n%s" % last)

    def _spawn(self):
        self._errf = open(self.stderr_path, "ab")
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        self.proc = subprocess.Popen([leadedge_bin(), "-c", self.cfg_path], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self._errf, cwd=self.tmp,
                                     env=env)
        line = b""
        deadline = time.monotonic() + READY_TIMEOUT
        while not line.endswith(b"\n") and time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not r:
                break
            ch = os.read(self.proc.stdout.fileno(), 1)
            if not ch:
                break
            line += ch
            if len(line) > 4096:
                break
        m = re.match(rb"^listening (\S+) (\d+) admin (\d+)\n$", line)
        if not m:
            try:
                self.proc.kill()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
            self._errf.close()
            return False, "ready line %r; stderr:\n%s" % (line, self.stderr_tail())
        self.port = int(m.group(2))
        self.admin_port = int(m.group(3))
        wait_signal_handlers(self.proc.pid)
        return True, ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=STOP_TIMEOUT, sig=signal.SIGTERM):
        """SIGTERM and wait; returns the exit status (None if it had to be killed)."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(sig)
            except OSError:
                pass
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT)
                self.returncode = None
                self._cleanup()
                return None
        self.returncode = self.proc.returncode
        self._cleanup()
        return self.returncode

    def _cleanup(self):
        try:
            self.proc.stdout.close()
        except OSError:
            pass
        try:
            self._errf.close()
        except OSError:
            pass

    def remove_tmp(self):
        """Delete the temp dir (config, data, stderr) unless LE_IT_KEEP is set."""
        if not os.environ.get("LE_IT_KEEP") and not self.alive():
            shutil.rmtree(self.tmp, ignore_errors=True)

    def stderr_text(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stderr_tail(self, n=40):
        return "\n".join(self.stderr_text().splitlines()[-n:])

    def sanitizer_report(self):
        t = self.stderr_text()
        for m in SANITIZER_MARKERS:
            i = t.find(m)
            if i >= 0:
                return t[max(0, i - 2000):i + 4000]
        return None

    # -- I/O

    def conn(self, timeout=IO_TIMEOUT):
        return Conn(self.port, timeout)

    def request(self, method, target, headers=None, body=None, version="HTTP/1.1", raw=None,
                timeout=IO_TIMEOUT):
        """One request on a fresh connection; returns the Response."""
        with self.conn(timeout) as c:
            c.send(raw if raw is not None else build_request(method, target, headers, body, version))
            return c.read_response(head=(method == "HEAD"), timeout=timeout)

    def get(self, target, headers=None, **kw):
        return self.request("GET", target, headers, **kw)

    def post(self, target, body, content_type, headers=None, **kw):
        hs = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        if content_type is not None:
            hs.append(("Content-Type", content_type))
        return self.request("POST", target, hs, body, **kw)

    # -- admin

    def admin_get(self, path, token=TOKEN, timeout=IO_TIMEOUT):
        with Conn(self.admin_port, timeout) as c:
            hs = [("Connection", "close")]
            if token:
                hs.append(("Authorization", "Bearer " + token))
            c.send(build_request("GET", path, hs))
            return c.read_response(timeout=timeout)

    def metrics_text(self):
        r = self.admin_get("/metrics")
        if r.status != 200:
            raise AssertionError("GET /metrics: %r" % (r,))
        return r.body.decode()

    def metrics(self):
        return parse_metrics(self.metrics_text())

    def metric(self, name, **labels):
        """One sample's value (0 when absent)."""
        return self.metrics().get(metric_key(name, **labels), 0)

    def wait_flushed(self, timeout=10.0):
        """Wait until the event log has written every appended event."""
        deadline = time.monotonic() + timeout
        m = {}
        for _ in range(1000):
            m = self.metrics()
            app = m.get(("leadedge_evlog_appended_total", ""), 0)
            wr = m.get(("leadedge_evlog_written_total", ""), 0)
            if wr >= app:
                return app
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        raise AssertionError("event log not flushed within %ss: %r" % (timeout, m))

    def events(self, flush=True):
        """Stored events (leadedge events --json), oldest first."""
        if flush and self.alive():
            self.wait_flushed()
        return read_events(self.cfg_path)

    def wait_stderr(self, needle, start=0, timeout=5.0):
        """Wait until stderr (from byte offset start) contains needle."""
        deadline = time.monotonic() + timeout
        for _ in range(1000):
            if needle in self.stderr_text()[start:]:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return False


def read_events(cfg_path, timeout=30):
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    p = subprocess.run([leadedge_bin(), "events", "-c", cfg_path, "--json"], capture_output=True,
                       timeout=timeout, env=env)
    err = p.stderr.decode("utf-8", "replace")
    for m in SANITIZER_MARKERS:
        if m in err:
            raise AssertionError("sanitizer report from `leadedge events`:\n" + err[-4000:])
    if p.returncode != 0:
        raise AssertionError("leadedge events exited %d:\n%s" % (p.returncode, err[-2000:]))
    out = []
    for line in p.stdout.decode("utf-8").splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


_sample = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? ([0-9.eE+-]+|NaN|\+Inf|-Inf)$")


def metric_key(name, **labels):
    return (name, ",".join('%s="%s"' % (k, v) for k, v in labels.items()))


def parse_metrics(text):
    """Prometheus text -> {(name, 'k="v",k2="v2"'): value}. Labels are kept in
    the server's order, so metric_key must name them in that order."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _sample.match(line)
        if not m:
            raise AssertionError("bad metrics line %r" % line)
        v = float(m.group(4))
        out[(m.group(1), m.group(3) or "")] = int(v) if v == int(v) else v
    return out


def prometheus_problems(text):
    """Violations of the text exposition format that make a scrape fail:
    a second TYPE line for a name, or a family's samples not grouped."""
    problems = []
    typed, seen_samples, current = set(), set(), None
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            name = line.split()[2]
            if name in typed:
                problems.append("second TYPE line for %s" % name)
            typed.add(name)
            current = name
            continue
        if not line or line.startswith("#"):
            continue
        name = _sample.match(line).group(1) if _sample.match(line) else line
        if name != current and name in seen_samples:
            problems.append("samples of %s are not grouped together" % name)
        seen_samples.add(name)
        current = name
    return problems


# ---- test base class ----------------------------------------------------


class ServerTestCase(unittest.TestCase):
    """Starts one server per class (CONFIG merged over the base config).

    Every test also fails when the server's stderr holds a sanitizer report;
    when a test fails, the tail of each involved server's stderr is printed.
    Tests can start more servers with self.start_server(config)."""

    CONFIG = None  # None: no class server
    server = None

    @classmethod
    def setUpClass(cls):
        cls._class_servers = []
        cls._failed = False
        if cls.CONFIG is not None:
            cls.server = Server(cls.CONFIG, cls.__name__).start()
            cls._class_servers.append(cls.server)

    @classmethod
    def tearDownClass(cls):
        problems = []
        for s in cls._class_servers:
            rc = s.stop()
            if rc != 0:
                problems.append("%s exited with %r\n%s" % (s.name, rc, s.stderr_tail()))
            rep = s.sanitizer_report()
            if rep:
                problems.append("sanitizer report from %s:\n%s" % (s.name, rep))
        if problems:
            raise AssertionError("\n".join(problems))
        if not cls._failed:
            for s in cls._class_servers:
                s.remove_tmp()

    def setUp(self):
        self._servers = []

    def start_server(self, config=None, name=None):
        s = Server(config or {}, name or self._testMethodName).start()
        self._servers.append(s)
        self.addCleanup(self._stop_server, s)
        return s

    def _stop_server(self, s):
        rc = s.stop()
        rep = s.sanitizer_report()
        if rep:
            self.fail("sanitizer report from %s:\n%s" % (s.name, rep))
        self.assertEqual(rc, 0, "%s exit status\n%s" % (s.name, s.stderr_tail()))

    def tearDown(self):
        for s in list(self._class_servers) + self._servers:
            rep = s.sanitizer_report()
            if rep:
                self.fail("sanitizer report from %s:\n%s" % (s.name, rep))

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        servers = getattr(self, "_class_servers", []) + getattr(self, "_servers", [])
        if result is not None and len(result.failures) + len(result.errors) > before:
            type(self)._failed = True
            for s in servers:
                sys.stderr.write("\n---- %s stderr (tail) [%s] ----\n%s\n---- end ----\n"
                                 % (s.name, s.stderr_path, s.stderr_tail()))
        else:
            for s in getattr(self, "_servers", []):
                s.remove_tmp()
        return out

    # -- helpers

    def check(self, r, head=False):
        check_response(self, r, head)
        return r

    def assertStatus(self, r, status):
        self.assertEqual(r.status, status, "expected %d, got %r %r" % (status, r, r.body[:300]))
        check_response(self, r)
        return r
