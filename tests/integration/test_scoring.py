"""test_scoring.py: scores, identity and MQLs through the real server.

A scripted journey (page views, then a demo form) crosses the MQL criterion exactly once;
the same journey by a bot, a competitor, a GPC browser and a visitor who leaves no e-mail
does not. Scores are read back from the admin API and from `leadedge visitor`, survive a
restart (snapshot) and a kill -9 (replay of the log), and a config whose rule regex does not
compile is refused by --check-config. A second device with the same address merges into the
contact. A damaged log refuses to start until --repair.
"""

import json
import os
import signal
import subprocess
import time
import unittest
import urllib.parse

from harness import (Server, leadedge_bin, metric_key, parse_metrics, read_events)

UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36")
BOT_UA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

SCORING = {
    "scoring": {
        "behaviour": {
            "half_life": "14d",
            "rules": [
                {"name": "pricing page", "when": {"event": "pageview", "url": "*/pricing*"},
                 "points": 15, "max_per_day": 1},
                {"name": "product page", "when": {"event": "pageview", "url": "*/product*"},
                 "points": 5},
                {"name": "careers page", "when": {"event": "pageview", "url": "*/careers*"},
                 "points": -20},
                {"name": "demo request", "when": {"event": "form", "form": "demo"},
                 "points": 40, "once": True},
            ],
        },
        "fit": {
            "rules": [
                {"name": "decision maker", "when": {"role": ["decider"]}, "points": 15},
                {"name": "business mail", "when": {"email_domain": "business"}, "points": 10},
                {"name": "freemail", "when": {"email_domain": "freemail"}, "points": -15},
            ],
        },
    },
    "mql": {"behaviour": 50, "fit": 20},
    "suppress": {"competitor_domains": ["rival.example"]},
    "privacy": {"consent": "not_required"},
}

DEADLINE = 10.0  # seconds a test waits for the scorer to catch up (bounded polling)


def serve_with_repair(tc, cfg_path):
    """Start `leadedge --repair`, check it comes up, stop it; returns its stderr."""
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1")
    p = subprocess.Popen([leadedge_bin(), "-c", cfg_path, "--repair"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    try:
        line = p.stdout.readline()
        tc.assertTrue(line.startswith(b"listening"), line)
    finally:
        p.send_signal(signal.SIGTERM)
        _, err = p.communicate(timeout=20)
    tc.assertEqual(p.returncode, 0, err[-2000:])
    return err


def vid(n):
    return "%032x" % (0xabc000 + n)


class Scoring(unittest.TestCase):
    def setUp(self):
        self.srv = Server(SCORING, name="scoring").start()

    def tearDown(self):
        rc = self.srv.stop()
        report = self.srv.sanitizer_report()
        self.srv.remove_tmp()
        self.assertIsNone(report, report)
        self.assertEqual(rc, 0)

    # -- helpers

    def pv(self, v, path, ua=UA, extra=None):
        hs = [("User-Agent", ua), ("Accept-Language", "de-DE"), ("Cookie", "le_vid=" + v)]
        hs += extra or []
        url = urllib.parse.quote("https://www.example.com" + path, safe="")
        r = self.srv.get("/p.gif?e=pv&url=%s" % url, hs)
        self.assertEqual(r.status, 200)

    def form(self, v, fields, ua=UA, extra=None, status=200):
        hs = [("User-Agent", ua), ("Accept-Language", "de-DE"), ("Cookie", "le_vid=" + v),
              ("Accept", "application/json")]
        hs += extra or []
        body = urllib.parse.urlencode(dict({"_form": "demo", "_fill_ms": "9000"}, **fields))
        r = self.srv.post("/f", body.encode(), "application/x-www-form-urlencoded", hs)
        self.assertEqual(r.status, status, r.body)
        return r

    def journey(self, v, email, ua=UA, extra=None, fields=None):
        for p in ("/", "/pricing", "/product/widget"):
            self.pv(v, p, ua, extra)
        f = {"job_title": "Geschäftsführer"}
        if email:
            f["email"] = email
        f.update(fields or {})
        self.form(v, f, ua, extra)
        self.pv(v, "/thanks", ua, extra)

    def scored(self, n):
        """Wait (bounded) until the scorer has applied n events; returns the metrics."""
        deadline = time.monotonic() + DEADLINE
        while True:
            m = self.srv.metrics()
            if m.get(metric_key("leadedge_scoring_events_total"), 0) >= n:
                return m
            if time.monotonic() > deadline:
                self.fail("the scorer applied %r of %d events" %
                          (m.get(metric_key("leadedge_scoring_events_total")), n))
            time.sleep(0.05)

    def lead(self, key):
        r = self.srv.admin_get("/v1/visitors/" + urllib.parse.quote(key, safe=""))
        if r.status == 404:
            return None
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.header("Content-Type"), "application/json")
        return json.loads(r.body)

    # -- tests

    def test_journey_crosses_the_mql_criterion_exactly_once(self):
        v = vid(1)
        self.journey(v, "anna.berg@acme-industrie.example")
        for p in ("/pricing", "/product/other"):  # more interest after the MQL
            self.pv(v, p)
        m = self.scored(7)
        self.assertEqual(m[metric_key("leadedge_mql_total")], 1)
        c = self.lead("anna.berg@acme-industrie.example")
        self.assertEqual(c["kind"], "contact")
        self.assertTrue(c["mql"])
        self.assertEqual(c["suppressed"], [])
        self.assertEqual(c["contact"]["role"], "decider")
        self.assertEqual(c["contact"]["email_domain"], "business")
        s = c["scores"]
        self.assertAlmostEqual(s["behaviour"], 65.0, delta=0.5)  # 15 once today + 5 + 5 + 40
        self.assertEqual(s["fit"], 25)
        rules = {r["rule"]: r for r in s["rules"]}
        self.assertEqual(rules["pricing page"]["times"], 1)  # max_per_day: 1
        self.assertEqual(rules["demo request"]["times"], 1)
        self.assertEqual(rules["product page"]["times"], 2)
        self.assertEqual([x["visitor"] for x in c["visitors"]], [v])
        self.assertEqual(c["account"]["key"], "@acme-industrie.example")
        # the visitor id leads to the same contact; an unknown one to 404
        self.assertEqual(self.lead(v)["id"], c["id"])
        self.assertIsNone(self.lead(vid(999)))
        # the log line names the lead by its id, never by its address
        text = self.srv.stderr_text()
        self.assertIn("mql: lead %s" % c["id"], text)
        self.assertNotIn("anna.berg", text)

    def test_mql_written_to_the_outbox_once_even_across_a_crash(self):
        v = vid(80)
        self.journey(v, "olga@acme-industrie.example")
        m = self.scored(5)
        self.assertEqual(m[metric_key("leadedge_outbox_added_total")], 1)
        self.assertEqual(m[metric_key("leadedge_outbox_pending")], 1)
        c = self.lead("olga@acme-industrie.example")
        # kill -9 before any snapshot: the restart replays the log, decides the MQL again,
        # and the outbox recognises its id
        self.srv.proc.send_signal(signal.SIGKILL)
        self.srv.proc.wait(timeout=10)
        self.srv._cleanup()
        self.srv.start()
        m = self.srv.metrics()
        self.assertEqual(m[metric_key("leadedge_mql_total")], 1)
        self.assertEqual(m[metric_key("leadedge_outbox_added_total")], 0)
        self.assertEqual(m[metric_key("leadedge_outbox_pending")], 1)
        # the record in the outbox's own log carries the stable id and the lead
        seg = os.path.join(self.srv.tmp, "data", "outbox", "events-00000001.log")
        with open(seg, "rb") as f:
            raw = f.read()
        self.assertEqual(raw.count(("%s-1" % c["id"]).encode()), 2)  # the id and in the payload
        self.assertIn(b'"email":"olga@acme-industrie.example"', raw)
        # `leadedge outbox list` reads it beside the running server
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1")
        p = subprocess.run([leadedge_bin(), "outbox", "list", "-c", self.srv.cfg_path, "--json"],
                           capture_output=True, timeout=30, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        items = [json.loads(line) for line in p.stdout.decode().splitlines()]
        self.assertEqual(len(items), 1)
        self.assertEqual(items[0]["id"], "%s-1" % c["id"])
        self.assertEqual(items[0]["state"], "pending")
        self.assertEqual(items[0]["type"], "mql")
        self.assertEqual(items[0]["payload"]["lead"]["email"], "olga@acme-industrie.example")
        self.assertEqual(items[0]["payload"]["lead"]["id"], c["id"])
        p = subprocess.run([leadedge_bin(), "outbox", "list", "-c", self.srv.cfg_path, "--state",
                            "delivered"], capture_output=True, timeout=30, env=env)
        self.assertEqual((p.returncode, p.stdout), (0, b""))

    def test_bot_competitor_gpc_and_anonymous_journeys_never_mql(self):
        self.journey(vid(2), "bot@acme-industrie.example", ua=BOT_UA)
        self.journey(vid(3), "spy@rival.example")
        self.journey(vid(4), "private@acme-industrie.example", extra=[("Sec-GPC", "1")])
        self.journey(vid(5), None)
        self.journey(vid(6), "honey@acme-industrie.example", fields={"le_hp": "x"})
        self.scored(25)
        m = self.srv.metrics()
        self.assertEqual(m[metric_key("leadedge_mql_total")], 0)
        self.assertEqual(self.lead("spy@rival.example")["suppressed"], ["competitor"])
        self.assertIn("bot", self.lead("bot@acme-industrie.example")["suppressed"])
        self.assertIn("bot", self.lead("honey@acme-industrie.example")["suppressed"])
        gpc = self.lead("private@acme-industrie.example")
        if gpc is not None:  # with GPC honoured the form may not be tied to a visitor
            self.assertIn("gpc", gpc["suppressed"])
            self.assertFalse(gpc["mql"])
        anon = self.lead(vid(5))
        self.assertEqual(anon["kind"], "visitor")
        self.assertFalse(anon["mql"])
        self.assertGreaterEqual(anon["scores"]["behaviour"], 50)  # over the threshold, no contact
        # the real one still qualifies afterwards
        self.journey(vid(7), "real@acme-industrie.example")
        m = self.scored(30)
        self.assertEqual(m[metric_key("leadedge_mql_total")], 1)

    def test_second_device_merges_once_rules_count_once(self):
        self.form(vid(10), {"email": "max@acme-industrie.example", "job_title": "CTO"})
        self.pv(vid(11), "/pricing")
        self.form(vid(11), {"email": "max@acme-industrie.example"})
        self.scored(3)
        c = self.lead("max@acme-industrie.example")
        self.assertEqual(sorted(x["visitor"] for x in c["visitors"]), [vid(10), vid(11)])
        rules = {r["rule"]: r for r in c["scores"]["rules"]}
        self.assertAlmostEqual(rules["demo request"]["points"], 40.0, delta=0.1)
        self.assertAlmostEqual(c["scores"]["behaviour"], 55.0, delta=0.5)
        self.assertEqual(parse_metrics(self.srv.metrics_text())[
            metric_key("leadedge_identity_merges_total")], 2)

    def test_bad_email_is_counted_not_linked(self):
        self.form(vid(20), {"email": "not an address"})
        m = self.scored(1)
        self.assertEqual(m[metric_key("leadedge_forms_bad_email_total")], 1)
        self.assertEqual(m[metric_key("leadedge_contacts")], 0)
        self.assertEqual(self.lead(vid(20))["kind"], "visitor")

    def test_scores_survive_restart_and_kill(self):
        v = vid(30)
        self.journey(v, "lea@acme-industrie.example")
        self.scored(5)
        before = self.lead("lea@acme-industrie.example")
        # a clean stop saves a snapshot; the start loads it and replays nothing
        self.assertEqual(self.srv.stop(), 0)
        self.assertTrue(os.path.exists(os.path.join(self.srv.tmp, "data", "snapshot.bin")))
        self.srv.start()
        after = self.lead("lea@acme-industrie.example")
        self.assertEqual(after["scores"]["fit"], before["scores"]["fit"])
        self.assertAlmostEqual(after["scores"]["behaviour"], before["scores"]["behaviour"],
                               delta=0.05)
        self.assertTrue(after["mql"])
        self.assertIn("snapshot loaded, replayed 0 events", self.srv.stderr_text())
        # events after the snapshot, then kill -9: the start replays them from the log
        n0 = self.srv.metrics()[metric_key("leadedge_scoring_events_total")]
        self.pv(v, "/product/x")
        self.scored(n0 + 1)  # scored means durable
        self.srv.proc.send_signal(signal.SIGKILL)
        self.srv.proc.wait(timeout=10)
        self.srv._cleanup()
        self.srv.start()
        again = self.lead("lea@acme-industrie.example")
        self.assertEqual(len(again["scores"]["rules"]), len(after["scores"]["rules"]))
        prod = {r["rule"]: r for r in again["scores"]["rules"]}["product page"]
        self.assertEqual(prod["times"], 2)
        # the count lives in the state (snapshot and replay): still one, no second MQL
        self.assertEqual(parse_metrics(self.srv.metrics_text())[metric_key("leadedge_mql_total")],
                         1)
        self.assertTrue(again["mql"])

    def test_cli_visitor_and_state(self):
        self.journey(vid(40), "cli@acme-industrie.example")
        self.scored(5)
        self.assertEqual(self.srv.stop(), 0)
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1")
        p = subprocess.run([leadedge_bin(), "visitor", "-c", self.srv.cfg_path,
                            "cli@acme-industrie.example", "--json"], capture_output=True,
                           timeout=30, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        c = json.loads(p.stdout)
        self.assertTrue(c["mql"])
        p = subprocess.run([leadedge_bin(), "visitor", "-c", self.srv.cfg_path, vid(40)],
                           capture_output=True, timeout=30, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        text = p.stdout.decode()
        self.assertIn("demo request", text)
        self.assertIn("decider", text)
        p = subprocess.run([leadedge_bin(), "visitor", "-c", self.srv.cfg_path, "x@y.example"],
                           capture_output=True, timeout=30, env=env)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"no visitor or contact", p.stderr)
        p = subprocess.run([leadedge_bin(), "state", "-c", self.srv.cfg_path],
                           capture_output=True, timeout=30, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"leadedge_mql_total 1", p.stdout)
        self.srv.start()


class Staff(unittest.TestCase):
    def test_staff_network_is_suppressed_and_no_full_ip_stored(self):
        cfg = dict(SCORING)
        cfg["suppress"] = {"staff_networks": ["127.0.0.0/24"], "competitor_domains": []}
        srv = Server(cfg, name="scoring-staff").start()
        try:
            v = vid(60)
            hs = [("User-Agent", UA), ("Accept-Language", "de"), ("Cookie", "le_vid=" + v)]
            for p in ("/pricing", "/product/a"):
                srv.get("/p.gif?e=pv&url=" + urllib.parse.quote("https://x.example" + p, safe=""),
                        hs)
            body = urllib.parse.urlencode({"_form": "demo", "email": "me@acme-industrie.example",
                                           "job_title": "CEO", "_fill_ms": "9000"}).encode()
            r = srv.post("/f", body, "application/x-www-form-urlencoded",
                         hs + [("Accept", "application/json")])
            self.assertEqual(r.status, 200)
            deadline = time.monotonic() + DEADLINE
            while parse_metrics(srv.metrics_text()).get(
                    metric_key("leadedge_scoring_events_total"), 0) < 3:
                self.assertLess(time.monotonic(), deadline)
                time.sleep(0.05)
            r = srv.admin_get("/v1/visitors/me%40acme-industrie.example")
            c = json.loads(r.body)
            self.assertEqual(c["suppressed"], ["staff"])
            self.assertFalse(c["mql"])
            self.assertEqual(srv.stop(), 0)
            evs = read_events(srv.cfg_path)
            self.assertTrue(all(e.get("staff") for e in evs))
            self.assertTrue(all(e["ip"] == "127.0.0.0" for e in evs))  # truncated at rest
        finally:
            srv.stop()
            srv.remove_tmp()


class Refusals(unittest.TestCase):
    def test_bad_regex_refused_by_check_config(self):
        srv = Server(dict(SCORING), name="scoring-bad")
        try:
            srv._want_port = srv._want_admin = 0
            srv.write_config({"scoring.behaviour.rules": [
                {"name": "x", "when": {"url": {"regex": "(unclosed"}}, "points": 1}]})
            p = subprocess.run([leadedge_bin(), "--check-config", "-c", srv.cfg_path],
                               capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 1)
            self.assertIn(b"scoring.behaviour.rules[0].when.url: bad regex at offset", p.stderr)
        finally:
            srv.remove_tmp()

    def test_bad_domain_list_refused(self):
        srv = Server(dict(SCORING), name="scoring-badlist")
        try:
            lst = os.path.join(srv.tmp, "freemail.txt")
            with open(lst, "w") as f:
                f.write("# ours\ngmail.com\nnot a domain!\n")
            srv.extra = dict(SCORING, **{"identity.freemail_domains": lst})
            srv._want_port = srv._want_admin = 0
            srv.write_config()
            p = subprocess.run([leadedge_bin(), "--check-config", "-c", srv.cfg_path],
                               capture_output=True, timeout=30)
            self.assertEqual(p.returncode, 1)
            self.assertIn(b'freemail.txt:3: "not a domain!"', p.stderr)
            with self.assertRaises(AssertionError):
                srv.start()
            self.assertIn('freemail.txt:3: "not a domain!"', srv.stderr_text())
        finally:
            srv.remove_tmp()

    def test_damaged_log_refuses_start_until_repair(self):
        srv = Server(SCORING, name="scoring-corrupt").start()
        try:
            for i in range(60):
                r = srv.get("/p.gif?e=pv&url=https%3A%2F%2Fx.example%2Fproduct%2F" + str(i),
                            [("User-Agent", UA), ("Cookie", "le_vid=" + vid(50))])
                self.assertEqual(r.status, 200)
            self.assertEqual(srv.stop(), 0)
            os.remove(os.path.join(srv.tmp, "data", "snapshot.bin"))  # force a full replay
            seg = os.path.join(srv.tmp, "data", "events-00000001.log")
            size = os.path.getsize(seg)
            with open(seg, "r+b") as f:  # damage a byte in the middle of a record
                f.seek(size // 2)
                b = f.read(1)
                f.seek(size // 2)
                f.write(bytes([b[0] ^ 0x5A]))
            with self.assertRaises(AssertionError):
                srv.start()
            self.assertIn("--repair", srv.stderr_text())
            # with --repair the log is cut at the damage and the start goes on
            err = serve_with_repair(self, srv.cfg_path)
            self.assertIn(b"repair: the log was cut", err)
            self.assertNotEqual(os.path.getsize(seg), size)
        finally:
            srv.stop()
            srv.remove_tmp()


class Snapshot(unittest.TestCase):
    def test_damaged_snapshot_refused_until_repair(self):
        cfg = dict(SCORING)
        cfg["store"] = {"retain_log": True}
        srv = Server(cfg, name="scoring-snap").start()
        try:
            body = urllib.parse.urlencode({"_form": "demo", "email": "s@acme-industrie.example",
                                           "job_title": "CEO", "_fill_ms": "9000"}).encode()
            r = srv.post("/f", body, "application/x-www-form-urlencoded",
                         [("User-Agent", UA), ("Accept-Language", "de"),
                          ("Cookie", "le_vid=" + vid(70)), ("Accept", "application/json")])
            self.assertEqual(r.status, 200)
            self.assertEqual(srv.stop(), 0)
            snap = os.path.join(srv.tmp, "data", "snapshot.bin")
            with open(snap, "r+b") as f:
                f.seek(40)
                b = f.read(1)
                f.seek(40)
                f.write(bytes([b[0] ^ 0xFF]))
            with self.assertRaises(AssertionError):
                srv.start()
            self.assertIn("checksum mismatch", srv.stderr_text())
            err = serve_with_repair(self, srv.cfg_path)
            env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1")
            self.assertIn(b"set aside as", err)
            self.assertTrue(os.path.exists(snap + ".corrupt"))
            # the log was kept: the contact is rebuilt from it
            q = subprocess.run([leadedge_bin(), "visitor", "-c", srv.cfg_path, "--json",
                                "s@acme-industrie.example"], capture_output=True, timeout=30,
                               env=env)
            self.assertEqual(q.returncode, 0, q.stderr)
            self.assertEqual(json.loads(q.stdout)["contact"]["role"], "decider")
        finally:
            srv.stop()
            srv.remove_tmp()


if __name__ == "__main__":
    unittest.main()
