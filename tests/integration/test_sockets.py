"""Integration: the worker's own socket I/O (server/worker.c drives sockets with uv_poll and
accept4/recv/send).

* A client that pipelines megabytes of answers without reading, then reads: every answer
  arrives, whole and in order (partial sends, backpressure, the output buffer's compaction).
* A peer that resets in the middle of a response, and one that resets right after a request:
  the connection is dropped, the request that arrived is still handled, the server goes on.
* Linger: after "Connection: close" with more bytes still arriving, the client gets the answer
  and a clean EOF, not a reset.
* `store.fsync: always`: forms pipelined among other requests are answered in order once
  durable, also when the held output is larger than the socket takes at once.
* Out of descriptors (EMFILE): the worker stops accepting for a while instead of spinning on
  its level-triggered listener, logs it once, and serves the waiting connections afterwards.

Every loop is bounded in count and time; only 127.0.0.1 is contacted.
"""

import json
import os
import re
import resource
import socket
import struct
import threading
import time
import unittest
import urllib.parse
import uuid

import harness as h

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def pixel(url, extra=None):
    return h.build_request("GET", "/p.gif?e=pv&url=" + urllib.parse.quote(url, safe=""), extra)


def form(email):
    body = urllib.parse.urlencode({"_form": "demo", "email": email, "_fill_ms": "5000"}).encode()
    return h.build_request("POST", "/f", [("User-Agent", UA), ("Accept", "application/json"),
                                          ("Content-Type", "application/x-www-form-urlencoded")],
                           body)


def reset(sock):
    """Close with SO_LINGER 0: the kernel sends a RST instead of a FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Sockets(h.ServerTestCase):
    CONFIG = {"privacy": {"consent": "not_required"}}

    def wait_active(self, n, timeout=5.0):
        deadline = time.monotonic() + timeout
        active = None
        for _ in range(500):
            active = self.server.metric("leadedge_connections_active")
            if active == n or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        return active

    def test_pipelined_megabytes_without_reading_arrive_in_order(self):
        """Requests (/t.js, /healthz, a pixel, in turn: several MiB of answers) sent before
        reading any, on a socket with a small receive buffer; then all are read."""
        js = self.server.get("/t.js").body
        self.assertGreater(len(js), 1000)
        base = "https://order.test/" + uuid.uuid4().hex + "/"
        n = (3 << 20) // len(js) + 50  # enough for 3 MiB of scripts, whatever their size
        reqs = []
        for i in range(n):
            reqs += [h.build_request("GET", "/t.js"), h.build_request("GET", "/healthz"),
                     pixel(base + str(i))]
        self.assertGreater(n * len(js), 3 * (1 << 20))  # several times OUT_HIGH_WATER
        c = h.Conn(self.server.port, timeout=20, rcvbuf=8192)
        errors = []

        def send_all():
            try:
                c.sock.sendall(b"".join(reqs))
            except OSError as e:
                errors.append(repr(e))

        t = threading.Thread(target=send_all)
        t.start()
        try:
            time.sleep(0.5)  # the server fills our buffer and stops reading from us
            for i in range(n):
                r = c.read_response(timeout=20)
                self.assertEqual((r.status, r.body), (200, js), "answer %d" % (3 * i))
                r = c.read_response(timeout=20)
                self.assertEqual(r.status, 200, "answer %d" % (3 * i + 1))
                self.assertNotEqual(r.body, js)
                r = c.read_response(timeout=20)
                self.assertEqual(r.status, 200, "answer %d" % (3 * i + 2))
                self.assertEqual(r.body[:6], b"GIF89a", "answer %d" % (3 * i + 2))
            t.join(timeout=20)
            self.assertFalse(t.is_alive())
            self.assertEqual(errors, [])
            self.assertEqual(c.buf, b"")
            c.send(h.build_request("GET", "/healthz"))
            self.assertStatus(c.read_response(), 200)
        finally:
            c.close()
            t.join(timeout=20)
        urls = [e["url"] for e in self.server.events() if e.get("url", "").startswith(base)]
        self.assertEqual(urls, [base + str(i) for i in range(n)])

    def test_reset_in_the_middle_of_a_response(self):
        before = self.wait_active(0)
        self.assertEqual(before, 0)
        for rnd in range(3):
            sock = socket.create_connection((h.HOST, self.server.port), timeout=5)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.sendall(h.build_request("GET", "/t.js") * 300)
            self.assertTrue(sock.recv(1000).startswith(b"HTTP/1.1 200"))
            reset(sock)
        self.assertEqual(self.wait_active(0), 0, "a reset connection is still open")
        self.assertStatus(self.server.get("/healthz"), 200)

    def test_request_followed_by_a_reset_is_still_handled(self):
        """The bytes that arrived before a reset are read and handled (the event is stored),
        as a read before the reset would have."""
        u = "https://rst.test/" + uuid.uuid4().hex
        for i in range(5):
            with self.server.conn() as c:
                c.send(h.build_request("GET", "/healthz"))  # accepted for sure
                self.assertStatus(c.read_response(), 200)
                c.send(pixel("%s/%d" % (u, i)))
                reset(c.sock)
        self.assertEqual(self.wait_active(0), 0)
        urls = sorted(e["url"] for e in self.server.events() if e.get("url", "").startswith(u))
        self.assertEqual(urls, ["%s/%d" % (u, i) for i in range(5)])

    def test_close_lingers_while_the_client_still_sends(self):
        """Connection: close, then 2 MiB more: the server shuts down its side and discards
        the rest, so the client reads the answer and then EOF, not a reset."""
        with self.server.conn() as c:
            c.send(h.build_request("GET", "/healthz", [("Connection", "close")])
                   + b"X" * (2 << 20))
            r = c.read_response()
            self.assertStatus(r, 200)
            self.assertEqual(r.header("connection"), "close")
            self.assertTrue(c.wait_closed(4))
            self.assertFalse(c.reset, "the server reset the connection instead of lingering")
            self.assertEqual(c.buf, b"")


class HeldAnswers(h.ServerTestCase):
    """store.fsync: always holds a form's answer (and what follows it) until it is durable."""

    CONFIG = {"store": {"fsync": "always"}, "privacy": {"consent": "not_required"}}

    def test_forms_pipelined_with_pixels_in_order(self):
        tag = uuid.uuid4().hex[:12]
        base = "https://held.test/" + tag + "/"
        n = 20
        raw = b""
        for i in range(n):
            raw += pixel(base + str(i)) + form("held-%s-%d@firm.example" % (tag, i))
        with self.server.conn(timeout=10) as c:
            c.send(raw + h.build_request("GET", "/healthz"))
            for i in range(n):
                r = c.read_response(timeout=10)
                self.assertStatus(r, 200)
                self.assertEqual(r.body[:6], b"GIF89a", "pixel %d" % i)
                r = c.read_response(timeout=10)
                self.assertStatus(r, 200)
                self.assertEqual(r.header("content-type", "").split(";")[0], "application/json",
                                 "form %d: %r" % (i, r))
                json.loads(r.body)
            self.assertStatus(c.read_response(timeout=10), 200)
        ev = self.server.events()
        forms = [e for e in ev if e.get("type") == "form" and tag in json.dumps(e)]
        self.assertEqual(len(forms), n)

    def test_form_then_megabytes_without_reading(self):
        """A held form answer followed by answers larger than the socket takes at once."""
        js = self.server.get("/t.js").body
        tag = uuid.uuid4().hex[:12]
        c = h.Conn(self.server.port, timeout=20, rcvbuf=8192)
        try:
            reqs = []
            for k in range(3):
                reqs.append(form("big-%s-%d@firm.example" % (tag, k)))
                reqs += [h.build_request("GET", "/t.js")] * 60
            c.send(b"".join(reqs))
            time.sleep(0.3)
            for k in range(3):
                r = c.read_response(timeout=20)
                self.assertStatus(r, 200)
                json.loads(r.body)
                for i in range(60):
                    r = c.read_response(timeout=20)
                    self.assertEqual((r.status, r.body), (200, js), "form %d, t.js %d" % (k, i))
        finally:
            c.close()


class Descriptors(h.ServerTestCase):
    """Out of file descriptors: accept4 fails with EMFILE while connections wait."""

    def test_emfile_pauses_accepting_without_spinning(self):
        srv = self.start_server({"log": {"level": "info"}})
        pid = srv.proc.pid
        soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        fds = [int(f) for f in os.listdir("/proc/%d/fd" % pid)]
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (max(fds) + 1 + 6, hard))
        held, waiting = [], []
        try:
            for i in range(40):  # until one is not accepted
                c = srv.conn(timeout=5)
                c.send(h.build_request("GET", "/healthz"))
                try:
                    self.assertStatus(c.read_response(timeout=1.0), 200)
                    held.append(c)
                except socket.timeout:
                    waiting.append(c)
                    break
            self.assertEqual(len(waiting), 1, "the descriptor limit was never reached")
            for i in range(3):
                c = srv.conn(timeout=5)
                c.send(h.build_request("GET", "/healthz"))
                waiting.append(c)
            t0, cpu0 = time.monotonic(), cpu_seconds(pid)
            time.sleep(1.5)
            cpu = cpu_seconds(pid) - cpu0
            wall = time.monotonic() - t0
            self.assertLess(cpu, 0.3 * wall, "%.2f s of CPU in %.2f s at EMFILE" % (cpu, wall))
            paused = re.findall(r"worker \d+: accept: .*pausing accepts", srv.stderr_text())
            self.assertGreaterEqual(len(paused), 1)
            self.assertLessEqual(len(paused), 2, "logged more than once per worker")
            # Descriptors free again: the waiting connections are served.
            for c in held:
                c.close()
            held = []
            for c in waiting:
                self.assertStatus(c.read_response(timeout=5), 200)
        finally:
            for c in held + waiting:
                c.close()
            resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
        self.assertTrue(srv.wait_stderr("accepting again"))
        self.assertStatus(srv.get("/healthz"), 200)


if __name__ == "__main__":
    unittest.main()
