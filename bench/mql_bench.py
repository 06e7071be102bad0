#!/usr/bin/env python3
"""mql_bench.py: MQL hand-off latency and delivery throughput, leadedge to a local receiver.

The issue's benchmark: "threshold crossing to receiver-has-it latency over 1,000 MQLs on
loopback, p50 and p99 (goal p99 <= 50 ms); sustained deliveries per second to a local
receiver". Python 3 standard library only; everything on 127.0.0.1; every wait is bounded.

What it does:

1. starts bench/mql_receiver.py (a separate process, so that the receiver and the client
   do not share a GIL): an asyncio HTTP/1.1 keep-alive server that answers 200 at once and
   records time.time() per delivery (no signature check in the hot path);
2. starts leadedge (LEADEDGE_BIN or --leadedge; Release build) with a temporary config:
   privacy.consent not_required, one worker, one behaviour rule (form "demo", 50 points =
   mql.behaviour) and one fit rule (business e-mail, 20 points = mql.fit), so that ONE form
   POST with a business e-mail crosses the MQL criterion; one endpoint pointing at the
   receiver (concurrency 8); store.fsync as given (default interval, fsync_interval 10ms);
3. warm-up: a few MQLs (connections to the receiver opened, caches warm), not measured;
4. latency run: N (1000) distinct leads, one crossing form POST each, sent on a fixed
   schedule (200/s by default, from 4 sender connections so that a slow answer does not
   shift the schedule). Latency = receiver arrival time - client send time of the crossing
   request (time.time() taken just before the request's bytes are written). The server's
   view, arrival - payload created_at (the receive time of the crossing event, millisecond
   resolution, truncated: up to +1 ms), is reported beside it;
5. throughput run: M (5000) MQLs sent as fast as the client can from a few connections;
   deliveries/s at the receiver from the first to the last arrival, how many arrived, and
   that each id arrived exactly once;
6. prints a result block, with "p99 <= 50 ms: met/missed", and leadedge's own counters
   (leadedge_handoff_seconds of the latency run, leadedge_deliveries_total), read only
   between the runs, when leadedge is idle: /metrics is served by the control-plane thread,
   the same thread that delivers, and it waits for the scorer's mutex, which a burst of MQLs
   holds through one outbox fsync per MQL.

A delivery that does not arrive is waited for at most --stall-timeout seconds without any new
delivery (and 60 s + 50 ms per MQL in all); then the run fails. (With more than 4096 items due
at once, e.g. --concurrency 1 --tput-mqls 5000, leadedge's delivery loop stops making progress;
that shows up here as such a failure.)

Reading the figures: the MQL is decided by the scorer, which follows only what the event log
has made durable, so the crossing form first waits for the log's group commit (it collects
appends for store.fsync_interval, 10 ms, before it writes; with fsync off too, only `always`
writes at once), then the scorer's outbox write (an fsync of its own), then the delivery loop
sends it. --fsync, --fsync-interval and --data-parent /dev/shm (tmpfs: fsync costs nothing)
move these parts one at a time. The throughput run is bound by the outbox: one fsync for the
add and one for the "delivered" mark per MQL, one after the other.

Exit status: 0 when the benchmark ran (whether the goal was met or not); 1 on a harness
error (a process did not start or died, deliveries missing after the bounded wait, wrong
answers); 2 on bad usage.

Usage:
    python3 bench/mql_bench.py [--leadedge PATH] [--fsync interval|always|off] ...
    LEADEDGE_BIN=build-bench/server/leadedge python3 bench/mql_bench.py
CPU placement follows bench/run.sh: leadedge on SERVER_CPU (0), the receiver and the client
on LOAD_CPU (1), when the machine has both; --no-pin leaves placement to the kernel.
"""

import argparse
import calendar
import json
import math
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HOST = "127.0.0.1"
ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
TOKEN = "mql-bench-admin-token-0123456789"
SECRET = "whsec_mql_bench_0123456789abcdef"
UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36")

START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 30.0
IO_TIMEOUT_S = 10.0


class BenchError(Exception):
    pass


def log(msg):
    sys.stderr.write("mql_bench: %s\n" % msg)
    sys.stderr.flush()


# ---- a minimal HTTP/1.1 client (one keep-alive connection) ---------------------------------


class Conn:
    def __init__(self, port):
        self.port = port
        self.sock = None
        self.buf = b""

    def _connect(self):
        s = socket.create_connection((HOST, self.port), timeout=IO_TIMEOUT_S)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock, self.buf = s, b""

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None

    def _response(self):
        """(status, body) of one response; raises on EOF or a malformed answer."""
        while b"\r\n\r\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise ConnectionError("closed before an answer")
            self.buf += d
        end = self.buf.index(b"\r\n\r\n")
        head = self.buf[:end].decode("latin-1")
        lines = head.split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        clen = 0
        for line in lines[1:]:
            k, _, v = line.partition(":")
            if k.strip().lower() == "content-length":
                clen = int(v.strip())
            elif k.strip().lower() == "transfer-encoding":
                raise BenchError("unexpected Transfer-Encoding in an answer")
        total = end + 4 + clen
        while len(self.buf) < total:
            d = self.sock.recv(65536)
            if not d:
                raise ConnectionError("closed inside an answer")
            self.buf += d
        body = self.buf[end + 4:total]
        self.buf = self.buf[total:]
        return status, body

    def send(self, req):
        """Send req; returns (status, body, wall time just before sending, wall time of the
        answer). One reconnect when a kept-alive connection turns out closed."""
        for attempt in (0, 1):
            if self.sock is None:
                self._connect()
            try:
                t0 = time.time()
                self.sock.sendall(req)
                status, body = self._response()
                return status, body, t0, time.time()
            except (ConnectionError, BrokenPipeError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")


def http_get(port, path, headers=()):
    c = Conn(port)
    try:
        req = "GET %s HTTP/1.1\r\nHost: %s:%d\r\n" % (path, HOST, port)
        for k, v in headers:
            req += "%s: %s\r\n" % (k, v)
        status, body, _, _ = c.send((req + "\r\n").encode())
        return status, body
    finally:
        c.close()


# ---- the processes ---------------------------------------------------------------------------


def pin_fn(cpu):
    if cpu is None:
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def read_line(proc, timeout, what):
    """The first stdout line of proc, bounded in time."""
    out = {}

    def rd():
        out["line"] = proc.stdout.readline()

    t = threading.Thread(target=rd, daemon=True)
    t.start()
    t.join(timeout)
    line = out.get("line")
    if not line:
        raise BenchError("%s printed no ready line within %.0f s (exit status %s)"
                         % (what, timeout, proc.poll()))
    return line.decode(errors="replace").strip()


def stop_proc(proc, timeout=STOP_TIMEOUT_S):
    """SIGTERM, a bounded wait, then SIGKILL. Returns the exit status (None: killed)."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        return None


def yaml_str(s):
    return json.dumps(s)  # a JSON string is a YAML double-quoted scalar


def write_config(path, data_dir, rx_port, a):
    cfg = """# Written by bench/mql_bench.py: one form with a business e-mail is an MQL.
server:
  listen: "127.0.0.1:0"
  workers: {workers}
admin:
  listen: "127.0.0.1:0"
  token: {token}
store:
  data_dir: {data_dir}
  fsync: {fsync}
  fsync_interval: {fsync_interval}
log:
  level: warn
privacy:
  consent: not_required
scoring:
  behaviour:
    rules:
      - name: demo request
        when: {{ event: form, form: demo }}
        points: 50
        once: true
  fit:
    rules:
      - name: business mail
        when: {{ email_domain: business }}
        points: 20
mql:
  behaviour: 50
  fit: 20
crm:
  endpoints:
    - name: bench-crm
      url: "http://127.0.0.1:{rx_port}/mql"
      secrets: [{secret}]
      concurrency: {concurrency}
      timeout: 10s
""".format(workers=a.workers, token=yaml_str(TOKEN), data_dir=yaml_str(data_dir),
           fsync=a.fsync, fsync_interval=a.fsync_interval, rx_port=rx_port,
           secret=yaml_str(SECRET), concurrency=a.concurrency)
    with open(path, "w") as f:
        f.write(cfg)


# ---- the leads --------------------------------------------------------------------------------


def form_request(port, run, i):
    """(email, request bytes) of lead i of a run: one crossing form POST."""
    email = "lead-%s-%d@company%d.example" % (run, i, i % 50)
    vid = "%08x%024x" % (sum(map(ord, run)) * 7919 % (1 << 32), i)
    body = urllib.parse.urlencode({"_form": "demo", "_fill_ms": "9000", "email": email,
                                   "job_title": "Head of IT"}).encode()
    head = ("POST /f HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: %s\r\nAccept: application/json\r\n"
            "Accept-Language: de-DE,de;q=0.9\r\nCookie: le_vid=%s\r\n"
            "Referer: https://www.example.com/demo\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n"
            % (HOST, port, UA, vid, len(body)))
    return email, head.encode() + body


def send_all(port, run, n, senders, rate):
    """Send n crossing forms from `senders` connections: at `rate` per second on a fixed
    schedule (rate 0: as fast as each connection goes). Returns {email: (send, answered)},
    the wall time of the first and the last send."""
    reqs = [form_request(port, run, i) for i in range(n)]
    sent = {}
    errors = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.2
    wall_start = time.time() + 0.2

    def worker(k):
        c = Conn(port)
        mine = {}
        try:
            for i in range(k, n, senders):
                if rate:
                    wait = start + i / rate - time.perf_counter()
                    if wait > 0:
                        time.sleep(wait)
                email, req = reqs[i]
                status, body, t0, t1 = c.send(req)
                if status != 200:
                    raise BenchError("form %d answered %d: %r" % (i, status, body[:200]))
                mine[email] = (t0, t1)
        except Exception as e:  # reported by the caller
            errors.append("sender %d: %s" % (k, e))
        finally:
            c.close()
            with lock:
                sent.update(mine)

    if not rate:
        start = time.perf_counter()
        wall_start = time.time()
    ts = [threading.Thread(target=worker, args=(k,), daemon=True) for k in range(senders)]
    for t in ts:
        t.start()
    budget = 60.0 + (n / rate if rate else n / 50.0)
    deadline = time.monotonic() + budget
    for t in ts:
        t.join(max(0.1, deadline - time.monotonic()))
    if any(t.is_alive() for t in ts):
        raise BenchError("sending %d forms took longer than %.0f s" % (n, budget))
    if errors:
        raise BenchError("; ".join(errors[:3]))
    last = max(v[0] for v in sent.values())
    return sent, wall_start, last


class Receiver:
    def __init__(self, cpu):
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "bench", "mql_receiver.py")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, preexec_fn=pin_fn(cpu))
        line = read_line(self.proc, START_TIMEOUT_S, "the receiver")
        if not line.startswith("port "):
            raise BenchError("the receiver said %r" % line)
        self.port = int(line.split()[1])

    def get(self, path):
        status, body = http_get(self.port, path)
        if status != 200:
            raise BenchError("receiver %s: HTTP %d" % (path, status))
        return json.loads(body)

    def count(self):
        return self.get("/_count")["count"]

    def wait_for(self, n, stall_s, cap_s):
        """Wait until n deliveries arrived: at most cap_s, and at most stall_s without a new
        one. Returns the count reached."""
        t_end = time.monotonic() + cap_s
        last_n, last_change = -1, time.monotonic()
        while True:
            got = self.count()
            now = time.monotonic()
            if got >= n:
                return got
            if got != last_n:
                last_n, last_change = got, now
            if now - last_change > stall_s or now > t_end:
                return got
            time.sleep(0.02)

    def stop(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        stop_proc(self.proc, 5)


class Leadedge:
    def __init__(self, binary, tmp, rx_port, a, cpu):
        self.tmp = tmp
        self.data = os.path.join(tmp, "data")
        self.cfg = os.path.join(tmp, "leadedge.yaml")
        write_config(self.cfg, self.data, rx_port, a)
        self.err_path = os.path.join(tmp, "leadedge.log")
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen([binary, "-c", self.cfg], stdout=subprocess.PIPE,
                                     stderr=self.err, preexec_fn=pin_fn(cpu))
        line = read_line(self.proc, START_TIMEOUT_S, "leadedge")
        parts = line.split()
        if len(parts) != 5 or parts[0] != "listening" or parts[3] != "admin":
            raise BenchError("leadedge said %r" % line)
        self.port, self.admin = int(parts[2]), int(parts[4])

    def alive(self):
        return self.proc.poll() is None

    def log_tail(self, n=15):
        try:
            with open(self.err_path, "rb") as f:
                return b"".join(f.readlines()[-n:]).decode(errors="replace")
        except OSError:
            return ""

    def metrics(self):
        status, body = http_get(self.admin, "/metrics",
                                [("Authorization", "Bearer " + TOKEN)])
        if status != 200:
            raise BenchError("/metrics answered %d" % status)
        m = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                try:
                    m[k] = float(v)
                except ValueError:
                    pass
        return m

    def stop(self):
        rc = stop_proc(self.proc)
        self.err.close()
        return rc


# ---- figures ------------------------------------------------------------------------------------


def pct(xs, p):
    """The p-th percentile (nearest rank) of a sorted list."""
    if not xs:
        return float("nan")
    k = max(0, min(len(xs) - 1, math.ceil(p / 100.0 * len(xs)) - 1))
    return xs[k]


def handoff_line(before, after):
    """Shares of leadedge_handoff_seconds observations between two reads of /metrics."""
    key = 'leadedge_handoff_seconds_bucket{le="%s"}'
    n = after.get("leadedge_handoff_seconds_count", 0) - before.get(
        "leadedge_handoff_seconds_count", 0)
    if n <= 0:
        return "no observations"
    parts = []
    for b, name in (("0.005", "5ms"), ("0.01", "10ms"), ("0.025", "25ms"), ("0.05", "50ms")):
        c = after.get(key % b, 0) - before.get(key % b, 0)
        parts.append("<=%s %.1f%%" % (name, 100.0 * c / n))
    return "%s (%d)" % (", ".join(parts), n)


def iso_ms(s):
    """'2026-11-18T11:11:40.123Z' -> Unix seconds."""
    base, _, frac = s.rstrip("Z").partition(".")
    t = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return t + int(frac or 0) / 1000.0


def row(name, xs):
    xs = sorted(xs)
    return "  %-26s %8.1f %8.1f %8.1f %8.1f %8.1f" % (
        name, pct(xs, 50), pct(xs, 90), pct(xs, 99), xs[-1] if xs else float("nan"),
        statistics.fmean(xs) if xs else float("nan"))


def match(sent, records):
    """Join the sends with the deliveries by the lead's e-mail. Returns (client latencies ms,
    server-view latencies ms, answer times ms, ids counted, missing e-mails)."""
    first = {}  # email -> (arrival, id, created_at)
    ids = {}
    for t, id_, created, email, _ in records:
        ids[id_] = ids.get(id_, 0) + 1
        if email in sent and (email not in first or t < first[email][0]):
            first[email] = (t, id_, created)
    lat, srv, ans = [], [], []
    for email, (t0, t1) in sent.items():
        ans.append((t1 - t0) * 1000)
        if email in first:
            t, _, created = first[email]
            lat.append((t - t0) * 1000)
            if created:
                srv.append((t - iso_ms(created)) * 1000)
    missing = [e for e in sent if e not in first]
    return lat, srv, ans, ids, missing


# ---- main ---------------------------------------------------------------------------------------


def parse_args():
    env = os.environ
    ap = argparse.ArgumentParser(description="MQL hand-off latency and delivery throughput.")
    ap.add_argument("--leadedge", default=env.get("LEADEDGE_BIN",
                                                   os.path.join(ROOT, "build-bench", "server",
                                                                "leadedge")))
    ap.add_argument("--mqls", type=int, default=int(env.get("MQL_LATENCY_N", 1000)),
                    help="MQLs in the latency run (1000)")
    ap.add_argument("--rate", type=float, default=float(env.get("MQL_RATE", 200)),
                    help="crossing forms per second in the latency run (200)")
    ap.add_argument("--senders", type=int, default=4,
                    help="client connections of the latency run (4)")
    ap.add_argument("--tput-mqls", type=int, default=int(env.get("MQL_TPUT_N", 5000)),
                    help="MQLs in the throughput run (5000; 0 skips it)")
    ap.add_argument("--tput-conns", type=int, default=4,
                    help="client connections of the throughput run (4)")
    ap.add_argument("--warmup", type=int, default=20, help="MQLs before the latency run (20)")
    ap.add_argument("--concurrency", type=int, default=int(env.get("MQL_CONCURRENCY", 8)),
                    help="crm.endpoints[0].concurrency (8)")
    ap.add_argument("--fsync", choices=("interval", "always", "off"),
                    default=env.get("MQL_FSYNC", "interval"), help="store.fsync (interval)")
    ap.add_argument("--fsync-interval", default=env.get("MQL_FSYNC_INTERVAL", "10ms"),
                    help="store.fsync_interval (10ms)")
    ap.add_argument("--workers", type=int, default=1, help="server.workers (1)")
    ap.add_argument("--data-parent", default=env.get("MQL_DATA_PARENT") or None,
                    help="folder the temporary data dir goes in ($TMPDIR or /tmp; /dev/shm "
                         "puts the logs and the outbox on tmpfs, where fsync costs nothing)")
    ap.add_argument("--goal-ms", type=float, default=50.0, help="the p99 goal (50)")
    ap.add_argument("--stall-timeout", type=float, default=30.0,
                    help="seconds without a new delivery before giving up (30)")
    ap.add_argument("--server-cpu", type=int, default=int(env.get("SERVER_CPU", 0)))
    ap.add_argument("--load-cpu", type=int, default=int(env.get("LOAD_CPU", 1)))
    ap.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    ap.add_argument("--keep-tmp", action="store_true", default=env.get("KEEP_TMP") == "1")
    a = ap.parse_args()
    if a.mqls < 1 or a.rate <= 0 or a.senders < 1 or a.tput_mqls < 0 or a.tput_conns < 1 \
            or a.warmup < 0 or not 1 <= a.concurrency <= 256 or a.workers < 1:
        ap.error("counts must be positive (concurrency 1..256)")
    return a


def fs_type(path):
    try:
        best = ("", "?")
        with open("/proc/mounts") as f:
            for line in f:
                p = line.split()
                if len(p) >= 3 and (path == p[1] or path.startswith(p[1].rstrip("/") + "/")):
                    if len(p[1]) >= len(best[0]):
                        best = (p[1], p[2])
        return best[1]
    except OSError:
        return "?"


def run(a):
    binary = os.path.abspath(a.leadedge)
    if not os.access(binary, os.X_OK):
        raise BenchError("%s not found or not executable (build it, or set LEADEDGE_BIN)"
                         % binary)
    server_cpu = load_cpu = None
    if not a.no_pin:
        avail = os.sched_getaffinity(0)
        if a.server_cpu in avail and a.load_cpu in avail and a.server_cpu != a.load_cpu:
            server_cpu, load_cpu = a.server_cpu, a.load_cpu
        else:
            log("CPUs %d and %d are not both available (%s): not pinning"
                % (a.server_cpu, a.load_cpu, sorted(avail)))
    if load_cpu is not None:
        os.sched_setaffinity(0, {load_cpu})  # the client threads; the receiver inherits it

    parent = a.data_parent or tempfile.gettempdir()
    tmp = tempfile.mkdtemp(prefix="leadedge-mqlbench.", dir=parent)
    rx = le = None
    out = []
    failed = None
    try:
        rx = Receiver(load_cpu)
        le = Leadedge(binary, tmp, rx.port, a, server_cpu)
        cpu_name = "?"
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("model name"):
                        cpu_name = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        out.append("== leadedge MQL hand-off benchmark ==")
        out.append("host:     %d CPUs, %s, %s" % (os.cpu_count(), cpu_name, platform.release()))
        out.append("leadedge: %s%s, %d worker, store.fsync %s (fsync_interval %s), outbox fsync "
                   "always; data in %s (%s)"
                   % (binary, "" if server_cpu is None else " on CPU %d" % server_cpu,
                      a.workers, a.fsync, a.fsync_interval, parent, fs_type(parent)))
        out.append("crm:      1 endpoint, concurrency %d -> mql_receiver.py%s (answers 200 at "
                   "once)" % (a.concurrency, "" if load_cpu is None else
                              " on CPU %d with the client" % load_cpu))

        def check_alive(when):
            if not le.alive():
                raise BenchError("leadedge died %s (exit %s):\n%s"
                                 % (when, le.proc.returncode, le.log_tail()))

        def deliver_wait(n_total, n_run, what):
            cap = 60.0 + n_run / 20.0
            got = rx.wait_for(n_total, a.stall_timeout, cap)
            check_alive(what)
            if got < n_total:
                raise BenchError("%s: %d of %d deliveries arrived (no new one for %.0f s, or "
                                 "%.0f s in all)" % (what, got, n_total, a.stall_timeout, cap))

        # warm-up
        if a.warmup:
            send_all(le.port, "warm", a.warmup, 1, 100)
            deliver_wait(a.warmup, a.warmup, "warm-up")
        rx.get("/_reset")

        # leadedge's own counters are read only between the runs, when it is idle: /metrics
        # is served by the control-plane thread, the one that delivers, and it waits for the
        # scorer's mutex, which a burst of MQLs holds through one outbox fsync per MQL
        m0 = le.metrics()

        # latency run
        sent, _, _ = send_all(le.port, "lat", a.mqls, a.senders, a.rate)
        deliver_wait(a.mqls, a.mqls, "latency run")
        m1 = le.metrics()
        recs = rx.get("/_dump")["records"]
        lat, srv, ans, ids, missing = match(sent, recs)
        if missing:
            raise BenchError("latency run: no delivery for %d leads (e.g. %s)"
                             % (len(missing), missing[0]))
        p99 = pct(sorted(lat), 99)
        out.append("")
        out.append("latency:  %d MQLs, one crossing form each at %g/s from %d connections "
                   "(ms)" % (a.mqls, a.rate, a.senders))
        out.append("  %-26s %8s %8s %8s %8s %8s" % ("", "p50", "p90", "p99", "max", "mean"))
        out.append(row("send -> receiver", lat))
        out.append(row("created_at -> receiver", srv))
        out.append(row("form answered (client)", ans))
        dups = sum(c - 1 for c in ids.values() if c > 1)
        if dups:
            out.append("  %d duplicate deliveries (at least once)" % dups)
        out.append("  leadedge_handoff_seconds (MQL event to 2xx, this run): %s"
                   % handoff_line(m0, m1))
        verdict = "met" if p99 <= a.goal_ms else "missed"
        out.append("p99 <= %g ms: %s (p99 %.1f ms)" % (a.goal_ms, verdict, p99))

        # throughput run
        if a.tput_mqls:
            rx.get("/_reset")
            sent, first_send, last_send = send_all(le.port, "tput", a.tput_mqls,
                                                   a.tput_conns, 0)
            send_s = max(last_send - first_send, 1e-6)
            deliver_wait(a.tput_mqls, a.tput_mqls, "throughput run")
            recs = rx.get("/_dump")["records"]
            lat, srv, _, ids, missing = match(sent, recs)
            times = sorted(r[0] for r in recs)
            span = times[-1] - times[0] if len(times) > 1 else 0.0
            rate = (len(times) - 1) / span if span > 0 else float("nan")
            dups = sum(c - 1 for c in ids.values() if c > 1)
            once = len(ids) == a.tput_mqls and not dups and not missing and None not in ids
            out.append("")
            out.append("throughput: %d MQLs sent from %d connections as fast as possible"
                       % (a.tput_mqls, a.tput_conns))
            out.append("  forms sent in %.2f s (%.0f/s); delivered %d of %d, %d distinct ids, "
                       "%d duplicates, %d missing: %s"
                       % (send_s, a.tput_mqls / send_s, len(recs), a.tput_mqls, len(ids), dups,
                          len(missing), "each id exactly once" if once else "NOT exactly once"))
            out.append("  deliveries/s at the receiver: %.0f (first to last arrival, %.2f s); "
                       "first send to last arrival %.2f s"
                       % (rate, span, times[-1] - first_send))
            ls = sorted(lat)
            out.append("  send -> receiver under that load: p50 %.0f ms, p99 %.0f ms, max %.0f ms"
                       % (pct(ls, 50), pct(ls, 99), ls[-1]))
            if not once:
                failed = "throughput run: the deliveries were not each id exactly once"

        # leadedge's own counters over all runs
        check_alive("during the runs")
        m = le.metrics()
        dl = {o: int(m.get('leadedge_deliveries_total{outcome="%s"}' % o, 0))
              for o in ("delivered", "retried", "dead")}
        out.append("")
        out.append("leadedge_deliveries_total (warm-up and runs): delivered %d, retried %d, "
                   "dead %d" % (dl["delivered"], dl["retried"], dl["dead"]))
        if dl["retried"] or dl["dead"]:
            failed = failed or "leadedge retried or gave up deliveries to a receiver that " \
                               "always answers 200"
    finally:
        print("\n".join(out), flush=True)
        if le:
            rc = le.stop()
            if rc not in (0,) and failed is None and sys.exc_info()[0] is None:
                failed = "leadedge exited with status %s after SIGTERM:\n%s" % (rc, le.log_tail())
        if rx:
            rx.stop()
        if a.keep_tmp:
            log("kept %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if failed:
        raise BenchError(failed)


def main():
    a = parse_args()
    try:
        run(a)
    except BenchError as e:
        log("error: %s" % e)
        return 1
    except (OSError, ValueError, subprocess.SubprocessError) as e:
        log("error: %s: %s" % (type(e).__name__, e))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
