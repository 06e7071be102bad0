"""test_crash.py: kill -9 under load, again and again, with `store.fsync: always`.

Twenty rounds: the server starts on the same data directory, two clients load it (page views
on keep-alive connections, and form posts with a new e-mail address each), and at a random
moment the server is killed with SIGKILL. Afterwards:

* every form the server acknowledged (answered 200) is in the event log and is a contact in
  the scores: nothing acknowledged is lost;
* the state the server has after the last restart (snapshots every 300 ms plus the log after
  them) equals a clean replay of the whole log (`leadedge state` against
  `leadedge state --no-snapshot`, with store.retain_log keeping every segment);
* a torn tail written after the last kill is cut at the next start, and scoring goes on.

Every loop is bounded in rounds and time; only 127.0.0.1 is contacted.
"""

import json
import os
import random
import signal
import subprocess
import threading
import time
import unittest
import urllib.parse

from harness import (Closed, Conn, Server, build_request, leadedge_bin, metric_key, read_events)

ROUNDS = 20
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"

CONFIG = {
    "store": {"fsync": "always", "snapshot_interval": "300ms", "retain_log": True,
              "segment_size": "1M"},
    "privacy": {"consent": "not_required"},
    "log": {"level": "info"},
    "scoring": {
        "behaviour": {"rules": [
            {"name": "any page", "when": {"event": "pageview"}, "points": 1, "max_per_day": 50},
            {"name": "form", "when": {"event": "form"}, "points": 30, "once": True}]},
        "fit": {"rules": [{"name": "business", "when": {"email_domain": "business"},
                           "points": 25}]},
    },
    "mql": {"behaviour": 30, "fit": 20},
}


class Load:
    """Page views and forms from two threads until stopped or the server dies."""

    def __init__(self, port, round_no):
        self.port = port
        self.round = round_no
        self.stop = threading.Event()
        self.acked = []  # e-mail addresses whose form was answered 200
        self.sent_pv = 0
        self.threads = [threading.Thread(target=self.pageviews),
                        threading.Thread(target=self.forms)]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=15)

    def pageviews(self):
        try:
            with Conn(self.port, timeout=2) as c:
                for i in range(100000):
                    if self.stop.is_set():
                        return
                    v = "%032x" % (self.round * 1000 + i % 50)
                    url = urllib.parse.quote("https://x.example/p/%d" % i, safe="")
                    c.send(build_request("GET", "/p.gif?e=pv&url=" + url,
                                         [("User-Agent", UA), ("Accept-Language", "de"),
                                          ("Cookie", "le_vid=" + v)]))
                    c.read_response()
                    self.sent_pv += 1
        except (Closed, OSError, AssertionError):
            return

    def forms(self):
        for i in range(100000):
            if self.stop.is_set():
                return
            email = "r%02d-f%05d@firm%d.example" % (self.round, i, i % 7)
            body = urllib.parse.urlencode({"_form": "demo", "email": email,
                                           "_fill_ms": "5000"}).encode()
            v = "%032x" % (0xf000000 + self.round * 100000 + i)
            try:
                with Conn(self.port, timeout=2) as c:
                    c.send(build_request("POST", "/f", [
                        ("User-Agent", UA), ("Cookie", "le_vid=" + v), ("Accept-Language", "de"),
                        ("Accept", "application/json"),
                        ("Content-Type", "application/x-www-form-urlencoded")], body))
                    r = c.read_response()
                    if r.status == 200:
                        self.acked.append(email)
            except (Closed, OSError, AssertionError):
                return


def run(args, timeout=120):
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1")
    p = subprocess.run([leadedge_bin()] + args, capture_output=True, timeout=timeout, env=env)
    return p.returncode, p.stdout.decode(), p.stderr.decode("utf-8", "replace")


class CrashSafety(unittest.TestCase):
    maxDiff = None
    def test_kill_9_loop(self):
        rnd = random.Random(20261126)
        srv = Server(CONFIG, name="crash")
        acked = []
        try:
            for r in range(ROUNDS):
                srv.start()
                load = Load(srv.port, r)
                load.start()
                time.sleep(rnd.uniform(0.1, 0.5))
                srv.proc.send_signal(signal.SIGKILL)
                srv.proc.wait(timeout=10)
                srv._cleanup()
                load.join()
                acked.extend(load.acked)
                self.assertIsNone(srv.sanitizer_report())
            self.assertGreater(len(acked), ROUNDS)  # the test did load the server

            # a torn tail after the last kill: half a frame of junk at the end
            data = os.path.join(srv.tmp, "data")
            segs = sorted(f for f in os.listdir(data) if f.endswith(".log"))
            with open(os.path.join(data, segs[-1]), "ab") as f:
                f.write(b"\x40\x00\x00\x00\x12\x34\x56\x78partial")

            srv.start()
            self.assertIn("cut a torn tail", srv.stderr_text())
            missing = []
            for email in acked:
                rr = srv.admin_get("/v1/visitors/" + urllib.parse.quote(email, safe=""))
                if rr.status != 200:
                    missing.append(email)
                elif json.loads(rr.body)["kind"] != "contact":
                    missing.append(email)
            self.assertEqual(missing, [], "acknowledged forms without a contact")
            m = srv.metrics()
            self.assertEqual(m[metric_key("leadedge_scoring_log_errors_total")], 0)
            self.assertEqual(srv.stop(), 0)

            logged = {e.get("fields", {}).get("email") for e in read_events(srv.cfg_path)
                      if e.get("type") == "form"}
            self.assertEqual([a for a in acked if a not in logged], [],
                             "acknowledged forms missing from the event log")

            rc, snap, err = run(["state", "-c", srv.cfg_path])
            self.assertEqual(rc, 0, err)
            rc, full, err = run(["state", "-c", srv.cfg_path, "--no-snapshot"])
            self.assertEqual(rc, 0, err)
            self.assertTrue(snap.startswith("digest "), snap)
            self.assertEqual(snap, full, "snapshot + log differs from a clean replay")
            contacts = int(snap.split("leadedge_contacts ")[1].split()[0])
            self.assertGreaterEqual(contacts, len(set(acked)))
            # each form made its own lead an MQL (30 behaviour, 25 fit), exactly once
            self.assertEqual(int(snap.split("leadedge_mql_total ")[1].split()[0]), contacts)
        finally:
            srv.stop()
            report = srv.sanitizer_report()
            srv.remove_tmp()
            self.assertIsNone(report, report)


class DiskFailure(unittest.TestCase):
    """The log's write fails (a file size limit here, as a full disk would): forms are no longer
    acknowledged (503, or the connection closes on a held answer), health turns 503, the
    refusals are counted, the process stays up, and every form acknowledged before is in the
    log and scored."""

    def test_failed_write_stops_acknowledging(self):
        import resource
        cfg = dict(CONFIG)
        cfg["store"] = {"fsync": "always", "segment_size": "64M"}
        srv = Server(cfg, name="diskfail")
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        limit = 256 * 1024
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))  # inherited by the server
        try:
            srv.start()
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        try:
            acked, refused, closed = [], 0, 0
            for i in range(3000):
                email = "d%04d@firm.example" % i
                body = urllib.parse.urlencode({"_form": "demo", "email": email,
                                               "note": "x" * 400}).encode()
                try:
                    with Conn(srv.port, timeout=5) as c:
                        c.send(build_request("POST", "/f", [
                            ("User-Agent", UA), ("Accept-Language", "de"),
                            ("Accept", "application/json"),
                            ("Content-Type", "application/x-www-form-urlencoded")], body))
                        r = c.read_response()
                    if r.status == 200:
                        acked.append(email)
                    else:
                        self.assertEqual(r.status, 503, r.body)
                        refused += 1
                except Closed:
                    closed += 1
                if refused >= 20:
                    break
            self.assertGreaterEqual(refused, 20, "the log never failed")
            self.assertTrue(srv.alive())
            self.assertGreater(len(acked), 50)
            self.assertEqual(srv.get("/healthz").status, 503)
            m = srv.metrics()
            self.assertGreaterEqual(m[metric_key("leadedge_evlog_refused_total")], refused)
            text = srv.stderr_text()
            self.assertIn("the log is failed", text)
            srv.stop()
            # restarted without the limit: everything acknowledged is there and scored
            srv.start()
            missing = [e for e in acked
                       if srv.admin_get("/v1/visitors/" + urllib.parse.quote(e, safe="")).status
                       != 200]
            self.assertEqual(missing, [])
        finally:
            srv.stop()
            report = srv.sanitizer_report()
            srv.remove_tmp()
            self.assertIsNone(report, report)


if __name__ == "__main__":
    unittest.main()
