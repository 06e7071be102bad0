"""test_flood.py: a flood of one million new cookieless visitors stays within limits.max_visitors.

Without consent every request is stored under a cookieless id (a daily hash of the truncated
address and the User-Agent), so a million requests with a million User-Agents are a million
new visitors. The server keeps at most limits.max_visitors of them (20000 here): the visitors
gauge never passes it, the oldest anonymous visitors are evicted, a contact made before the
flood survives it, the scoring memory stays within 256 bytes per allowed visitor (plus the
fixed table chunk), and the process's resident memory stays bounded.

The requests are pipelined on a few keep-alive connections (a writer and a reader thread
each), so the test is bound by the server, not by Python. Bounded in count and time.
"""

import json
import os
import socket
import threading
import time
import unittest
import urllib.parse

from harness import HOST, Server, metric_key

TOTAL = 1000000
CONNS = 4
MAX_VISITORS = 20000
CHUNK = 2000  # requests per write
DEADLINE = 240.0

CONFIG = {
    "limits": {"max_visitors": MAX_VISITORS},
    "privacy": {"consent": "required"},
    "server": {"limits": {"header_bytes": "16k"}},
    "log": {"level": "info"},
    "scoring": {"behaviour": {"rules": [
        {"name": "page", "when": {"event": "pageview"}, "points": 1}]}},
}


def sanitized(pid):
    """Is the server built with AddressSanitizer? (Its shadow memory and quarantine make the
    resident size meaningless as a bound.)"""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Flood(unittest.TestCase):
    def test_million_cookieless_visitors(self):
        srv = Server(CONFIG, name="flood").start()
        try:
            # a contact before the flood: it must survive it
            body = urllib.parse.urlencode({"_form": "demo", "_consent": "1",
                                           "email": "keep@acme.example"}).encode()
            r = srv.post("/f", body, "application/x-www-form-urlencoded",
                         [("User-Agent", "Mozilla/5.0 keep"), ("Accept", "application/json")])
            self.assertEqual(r.status, 200)

            per = TOTAL // CONNS
            answered = [0] * CONNS
            errors = []
            deadline = time.monotonic() + DEADLINE

            def run(k):
                try:
                    s = socket.create_connection((HOST, srv.port), timeout=30)
                except OSError as e:
                    errors.append(repr(e))
                    return
                done = threading.Event()

                def reader():
                    n, tail = 0, b""
                    try:
                        while n < per and time.monotonic() < deadline:
                            b = s.recv(1 << 20)
                            if not b:
                                break
                            n += (tail + b).count(b"HTTP/1.1 200")
                            tail = b[-12:]
                    except OSError as e:
                        errors.append(repr(e))
                    answered[k] = n
                    done.set()

                t = threading.Thread(target=reader)
                t.start()
                try:
                    for start in range(0, per, CHUNK):
                        if time.monotonic() > deadline or done.is_set():
                            break
                        reqs = []
                        for i in range(start, min(per, start + CHUNK)):
                            reqs.append(b"GET /p.gif?e=pv&url=https%%3A%%2F%%2Fx.example%%2F HTTP/1.1"
                                        b"\r\nHost: x\r\nUser-Agent: flood/%d.%d\r\n"
                                        b"Accept-Language: de\r\n\r\n" % (k, i))
                        s.sendall(b"".join(reqs))
                except OSError as e:
                    errors.append(repr(e))
                t.join(timeout=DEADLINE)
                s.close()

            threads = [threading.Thread(target=run, args=(k,)) for k in range(CONNS)]
            peak = 0
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
                peak = max(peak, srv.metrics()[metric_key("leadedge_visitors")])
                time.sleep(0.2)
            for t in threads:
                t.join(timeout=10)
            self.assertEqual(errors, [])
            self.assertEqual(sum(answered), per * CONNS)

            # the scorer catches up (bounded)
            while time.monotonic() < deadline:
                m = srv.metrics()
                if m[metric_key("leadedge_scoring_events_total")] >= per * CONNS + 1:
                    break
                peak = max(peak, m[metric_key("leadedge_visitors")])
                time.sleep(0.2)
            m = srv.metrics()
            self.assertGreaterEqual(m[metric_key("leadedge_scoring_events_total")], per * CONNS + 1)
            self.assertLessEqual(peak, MAX_VISITORS)
            self.assertLessEqual(m[metric_key("leadedge_visitors")], MAX_VISITORS)
            self.assertGreaterEqual(m[metric_key("leadedge_visitors_evicted_total")],
                                    per * CONNS - MAX_VISITORS)
            self.assertEqual(m[metric_key("leadedge_scoring_dropped_total")], 0)
            print("flood: %d requests, peak visitors %d, evicted %d, scoring memory %d bytes, "
                  "resident %d KiB" % (sum(answered), peak,
                                       m[metric_key("leadedge_visitors_evicted_total")],
                                       m[metric_key("leadedge_scoring_memory_bytes")],
                                       rss_kb(srv.proc.pid)))
            # 256 bytes per allowed visitor, plus the first 64k-entry chunk (4 MiB) and index
            self.assertLessEqual(m[metric_key("leadedge_scoring_memory_bytes")],
                                 MAX_VISITORS * 256 + (5 << 20))
            rss = rss_kb(srv.proc.pid)
            if not sanitized(srv.proc.pid):
                self.assertLess(rss, 300 * 1024, "resident memory %d KiB" % rss)
            r = srv.admin_get("/v1/visitors/keep%40acme.example")
            self.assertEqual(r.status, 200)
            self.assertEqual(json.loads(r.body)["kind"], "contact")
        finally:
            rc = srv.stop()
            report = srv.sanitizer_report()
            srv.remove_tmp()
            self.assertIsNone(report, report)
            self.assertEqual(rc, 0)


if __name__ == "__main__":
    unittest.main()
