"""Integration: keep-alive, pipelining, Connection: close, HTTP/1.0."""

import json
import time
import unittest
import uuid
from urllib.parse import quote

import harness as h


def pixel(url, extra=None, version="HTTP/1.1"):
    return h.build_request("GET", "/p.gif?e=pv&url=" + quote(url, safe=""), extra, version=version)


class KeepAlive(h.ServerTestCase):
    CONFIG = {}

    def test_sequential_100_on_one_connection(self):
        base = "https://ka.test/" + uuid.uuid4().hex + "/"
        acc0 = self.server.metric("leadedge_connections_accepted_total")
        with self.server.conn() as c:
            for i in range(100):
                c.send(pixel(base + str(i)))
                r = c.read_response()
                self.assertStatus(r, 200)
                self.assertIsNone(r.header("connection"))
        # All of it on one connection.
        self.assertEqual(self.server.metric("leadedge_connections_accepted_total"), acc0 + 1)
        urls = [e["url"] for e in self.server.events() if e.get("url", "").startswith(base)]
        self.assertEqual(urls, [base + str(i) for i in range(100)])

    def test_pipelined_50_in_one_send(self):
        base = "https://pipe.test/" + uuid.uuid4().hex + "/"
        with self.server.conn() as c:
            c.send(b"".join(pixel(base + str(i)) for i in range(50)))
            for i in range(50):
                r = c.read_response()
                self.assertStatus(r, 200)
                self.assertEqual(len(r.body), 43)
            self.assertEqual(c.buf, b"")
            # Still usable afterwards.
            c.send(h.build_request("GET", "/healthz"))
            self.assertStatus(c.read_response(), 200)
        urls = [e["url"] for e in self.server.events() if e.get("url", "").startswith(base)]
        self.assertEqual(urls, [base + str(i) for i in range(50)], "stored in request order")

    def test_pipelined_mixed_methods_in_order(self):
        """Responses to different endpoints come back in request order."""
        u = "https://mix.test/" + uuid.uuid4().hex
        reqs = [
            (h.build_request("GET", "/healthz"), 200, False),
            (h.build_request("POST", "/e", [("Content-Type", "application/json")],
                             json.dumps({"e": "pv", "url": u + "/1"})), 204, False),
            (h.build_request("HEAD", "/p.gif?e=pv&url=" + quote(u + "/2", safe="")), 200, True),
            (h.build_request("GET", "/nope"), 404, False),  # refused: the server closes after it
        ]
        with self.server.conn() as c:
            c.send(b"".join(r for r, _, _ in reqs) + pixel(u + "/never"))
            for raw, status, head in reqs:
                r = c.read_response(head=head)
                self.assertEqual(r.status, status)
                self.check(r, head=head)
            self.assertTrue(c.wait_closed())
        urls = sorted(e["url"] for e in self.server.events() if e.get("url", "").startswith(u))
                # HEAD /p.gif is answered like GET but is a probe: it stores nothing.
        self.assertEqual(urls, [u + "/1"])

    def test_request_split_into_single_bytes(self):
        u = "https://bytes.test/" + uuid.uuid4().hex
        body = json.dumps({"e": "pv", "url": u}).encode()
        raw = h.build_request("POST", "/e", [("Content-Type", "application/json"),
                                             ("User-Agent", "slow/1")], body)
        with self.server.conn() as c:
            for i in range(len(raw)):
                c.send(raw[i:i + 1])
                if i % 8 == 0:
                    time.sleep(0.002)
            self.assertStatus(c.read_response(), 204)
        ev = [e for e in self.server.events() if e.get("url") == u]
        self.assertEqual(len(ev), 1)
        self.assertEqual(ev[0]["ua"], "slow/1")

    def test_pipelined_without_reading_backpressure(self):
        """1000 pipelined /t.js (over 1 MiB of responses) sent before reading any."""
        n = 1000
        size = len(self.server.get("/t.js").body)
        with self.server.conn(timeout=20) as c:
            c.send(h.build_request("GET", "/t.js") * n)
            for i in range(n):
                r = c.read_response(timeout=20)
                self.assertEqual(r.status, 200, i)
                self.assertEqual(len(r.body), size)
            c.send(h.build_request("GET", "/healthz"))
            self.assertStatus(c.read_response(), 200)

    def test_connection_close_honoured(self):
        u = "https://close.test/" + uuid.uuid4().hex
        with self.server.conn() as c:
            c.send(pixel(u + "/1", [("Connection", "close")]) + pixel(u + "/after-close"))
            r = c.read_response()
            self.assertStatus(r, 200)
            self.assertEqual(r.header("connection"), "close")
            self.assertTrue(c.wait_closed(3), "server did not close after Connection: close")
            self.assertEqual(c.buf, b"", "nothing may follow the response to Connection: close")
        urls = [e["url"] for e in self.server.events() if e.get("url", "").startswith(u)]
        self.assertEqual(urls, [u + "/1"])

    def test_http10_closes_by_default(self):
        u = "https://h10.test/" + uuid.uuid4().hex
        with self.server.conn() as c:
            c.send(pixel(u, version="HTTP/1.0"))
            r = c.read_response()
            self.assertStatus(r, 200)
            self.assertEqual(r.version, "HTTP/1.1")
            self.assertEqual(r.header("connection"), "close")
            self.assertTrue(c.wait_closed(3), "HTTP/1.0 without keep-alive must close")

    def test_http10_keep_alive(self):
        with self.server.conn() as c:
            for i in range(3):
                c.send(h.build_request("GET", "/healthz", [("Connection", "keep-alive")],
                                       version="HTTP/1.0"))
                r = c.read_response()
                self.assertStatus(r, 200)
                self.assertEqual(r.header("connection"), "keep-alive")
            c.send(h.build_request("GET", "/healthz", version="HTTP/1.0"))
            r = c.read_response()
            self.assertEqual(r.header("connection"), "close")
            self.assertTrue(c.wait_closed(3))

    def test_many_connections_in_parallel(self):
        """20 connections open at once, requests interleaved across them."""
        u = "https://par.test/" + uuid.uuid4().hex + "/"
        conns = [self.server.conn() for _ in range(20)]
        try:
            for rnd in range(5):
                for i, c in enumerate(conns):
                    c.send(pixel("%s%d-%d" % (u, i, rnd)))
                for c in conns:
                    self.assertStatus(c.read_response(), 200)
        finally:
            for c in conns:
                c.close()
        n = len([e for e in self.server.events() if e.get("url", "").startswith(u)])
        self.assertEqual(n, 100)


if __name__ == "__main__":
    unittest.main()
