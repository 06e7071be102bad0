"""Integration: SIGTERM drains, flushes the event log and exits 0; what was
acknowledged is stored, exactly once."""

import json
import signal
import threading
import time
import unittest
import uuid
from urllib.parse import quote

import harness as h

SHUTDOWN = 2.0  # server.timeouts.shutdown


def pixel(url, extra=None):
    return h.build_request("GET", "/p.gif?e=pv&url=" + quote(url, safe=""), extra)


class Shutdown(h.ServerTestCase):
    CONFIG = None  # a fresh server per test

    CFG = {"server.timeouts.shutdown": "2s", "server.timeouts.body": "10s",
           "server.timeouts.header": "10s"}

    def wait_exit(self, s, bound):
        t0 = time.monotonic()
        try:
            rc = s.proc.wait(timeout=bound)
        except h.subprocess.TimeoutExpired:
            self.fail("leadedge still running %.1fs after SIGTERM\n%s" % (bound, s.stderr_tail()))
        return rc, time.monotonic() - t0

    def test_acknowledged_events_all_stored(self):
        s = self.start_server(self.CFG)
        base = "https://drain.test/" + uuid.uuid4().hex + "/"
        n_conns, per_conn, batch = 10, 50, 10
        acked = []
        conns = [s.conn() for _ in range(n_conns)]
        try:
            for start in range(0, per_conn, batch):
                for ci, c in enumerate(conns):
                    c.send(b"".join(pixel("%s%d-%d" % (base, ci, k))
                                    for k in range(start, start + batch)))
                for ci, c in enumerate(conns):
                    for k in range(start, start + batch):
                        r = c.read_response()
                        self.assertStatus(r, 200)
                        acked.append("%s%d-%d" % (base, ci, k))
            self.assertEqual(len(acked), 500)
            s.send_signal(signal.SIGTERM)
            rc, took = self.wait_exit(s, SHUTDOWN + 5)
            self.assertEqual(rc, 0, s.stderr_tail())
            self.assertLess(took, 2.0, "idle keep-alive connections should not delay the exit")
            # The idle keep-alive connections were closed by the drain.
            for c in conns:
                self.assertTrue(c.wait_closed(1))
        finally:
            for c in conns:
                c.close()
        self.assertIn("SIGTERM", s.stderr_text())
        urls = [e["url"] for e in h.read_events(s.cfg_path) if e.get("url", "").startswith(base)]
        self.assertEqual(len(urls), len(acked), "stored != acknowledged")
        self.assertEqual(sorted(urls), sorted(acked))

    def test_sigterm_under_load(self):
        """SIGTERM while 6 clients are sending: every acknowledged event is
        stored (exactly once), nothing that was not sent is, and the server
        exits 0."""
        s = self.start_server(self.CFG)
        base = "https://load.test/" + uuid.uuid4().hex + "/"
        acked, sent = [], []
        lock = threading.Lock()
        stop = threading.Event()
        errors = []

        def client(ci):
            k = 0
            try:
                for _ in range(200):  # bounded: connections
                    if stop.is_set():
                        return
                    try:
                        c = s.conn(timeout=5)
                    except OSError:
                        return  # listener gone: the drain started
                    with c:
                        for _ in range(1000):  # bounded: requests per connection
                            if stop.is_set():
                                return
                            urls = ["%s%d-%d" % (base, ci, k + j) for j in range(5)]
                            k += 5
                            with lock:
                                sent.extend(urls)
                            if not c.try_send(b"".join(pixel(u) for u in urls)):
                                break
                            closed = False
                            for u in urls:
                                try:
                                    r = c.read_response(timeout=5)
                                except (h.Closed, OSError):
                                    closed = True
                                    break
                                if r.status == 200:
                                    with lock:
                                        acked.append(u)
                                if r.header("connection") == "close":
                                    closed = True
                                    break
                            if closed:
                                break
            except Exception as e:  # reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(6)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while len(acked) < 600 and time.monotonic() < deadline:
            time.sleep(0.01)
        s.send_signal(signal.SIGTERM)
        rc, took = self.wait_exit(s, SHUTDOWN + 8)
        stop.set()
        for t in threads:
            t.join(10)
        self.assertEqual(errors, [])
        self.assertEqual(rc, 0, s.stderr_tail())
        self.assertGreater(len(acked), 100)
        urls = [e["url"] for e in h.read_events(s.cfg_path) if e.get("url", "").startswith(base)]
        self.assertEqual(len(urls), len(set(urls)), "an event was stored twice")
        missing = set(acked) - set(urls)
        self.assertEqual(missing, set(), "%d acknowledged events were lost" % len(missing))
        self.assertEqual(set(urls) - set(sent), set())

    def test_sigterm_mid_request_finishes_it(self):
        """Headers sent, body pending, then SIGTERM: the server waits for the
        body, answers (Connection: close), stores the event, exits 0."""
        s = self.start_server(self.CFG)
        u = "https://mid.test/" + uuid.uuid4().hex
        body = json.dumps({"e": "pv", "url": u}).encode()
        with s.conn() as c:
            c.send(h.build_request("POST", "/e", [("Content-Type", "application/json"),
                                                  ("Content-Length", str(len(body)))]))
            time.sleep(0.2)  # the server has the headers
            s.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            self.assertTrue(s.alive(), "exited with a request in flight")
            c.send(body)
            r = c.read_response()
            self.assertStatus(r, 204)
            self.assertEqual(r.header("connection"), "close")
            self.assertTrue(c.wait_closed(3))
        rc, took = self.wait_exit(s, SHUTDOWN + 5)
        self.assertEqual(rc, 0)
        self.assertEqual([e["url"] for e in h.read_events(s.cfg_path) if e.get("url") == u], [u])

    def test_sigterm_mid_request_body_never_comes(self):
        """The in-flight request never completes: exit 0 once
        server.timeouts.shutdown has passed, not before, not much after."""
        s = self.start_server(self.CFG)
        with s.conn() as c:
            c.send(h.build_request("POST", "/e", [("Content-Type", "application/json"),
                                                  ("Content-Length", "100")]) + b'{"e":')
            time.sleep(0.2)
            s.send_signal(signal.SIGTERM)
            rc, took = self.wait_exit(s, SHUTDOWN + 5)
            self.assertEqual(rc, 0)
            self.assertGreaterEqual(took, SHUTDOWN - 0.3)
            self.assertTrue(c.wait_closed(1))
        self.assertEqual(h.read_events(s.cfg_path), [])

    def test_new_connections_refused_while_draining(self):
        s = self.start_server(self.CFG)
        with s.conn() as c:
            c.send(h.build_request("POST", "/e", [("Content-Type", "application/json"),
                                                  ("Content-Length", "100")]))
            time.sleep(0.2)
            s.send_signal(signal.SIGTERM)
            time.sleep(0.3)
            self.assertTrue(s.alive())
            refused = False
            try:
                with s.conn(timeout=2) as c2:
                    c2.try_send(h.build_request("GET", "/healthz"))
                    r = c2.read_response(timeout=2)
                    refused = r.status == 503
            except (OSError, h.Closed):
                refused = True
            self.assertTrue(refused, "a new connection was served during the drain")
        self.wait_exit(s, SHUTDOWN + 5)

    def test_restart_keeps_events(self):
        """Stored events survive a restart on the same data dir, and new ones
        are appended after them."""
        s = self.start_server(self.CFG)
        u = "https://restart.test/" + uuid.uuid4().hex + "/"
        for i in range(3):
            self.assertStatus(s.get("/p.gif?e=pv&url=" + quote(u + str(i), safe="")), 200)
        self.assertEqual(s.stop(), 0)
        s2 = self.start_server(dict(self.CFG, **{"store.data_dir": s.config["store"]["data_dir"]}),
                               "restarted")
        self.assertStatus(s2.get("/p.gif?e=pv&url=" + quote(u + "3", safe="")), 200)
        urls = [e["url"] for e in s2.events() if e.get("url", "").startswith(u)]
        self.assertEqual(urls, [u + str(i) for i in range(4)])


if __name__ == "__main__":
    unittest.main()
