"""test_crm.py: MQL hand-off to the CRM through the real server and crm_receiver.py.

A scripted journey (page views, then a demo form) makes a lead an MQL; the server writes it to
the outbox, routes it and POSTs it, signed, to the route's endpoint (crm_receiver.CrmReceiver on
127.0.0.1). Covered: the payload, the route and a field map; retries after 503, 429 with
Retry-After and timeouts; 400 to the dead-letter file and back by `leadedge outbox retry`, and
`drop`; HTTPS with a generated CA, a wrong CA and a wrong name; kill -9 while an answer is
outstanding; a receiver that is down across a server restart; the SLA escalation; stage updates,
the funnel and the leads list; erasure (memory, outbox, dead-letter file, restart, tombstone);
admin authentication; per-lead order across a recycled lead's second MQL.

Only 127.0.0.1 is contacted; every wait is bounded in count and time. Retries use a short
crm.retry.base (50 ms) and cap (500 ms) so that the whole file runs in well under two minutes.
"""

import copy
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

import crm_receiver as crm
from harness import (HOST, SANITIZER_MARKERS, TOKEN, Conn, Server, build_request, leadedge_bin,
                     merge, metric_key, to_yaml)

UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "Chrome/131.0.0.0 Safari/537.36")

SECRETS = ["whsec-crm-it-new-0123456789", "whsec-crm-it-old-9876543210"]

SCORING = {
    "scoring": {
        "behaviour": {
            "half_life": "14d",
            "rules": [
                {"name": "pricing page", "when": {"event": "pageview", "url": "*/pricing*"},
                 "points": 15, "max_per_day": 1},
                {"name": "product page", "when": {"event": "pageview", "url": "*/product*"},
                 "points": 5},
                {"name": "demo request", "when": {"event": "form", "form": "demo"},
                 "points": 40, "once": True},
            ],
        },
        "fit": {
            "rules": [
                {"name": "decision maker", "when": {"role": ["decider"]}, "points": 15},
                {"name": "business mail", "when": {"email_domain": "business"}, "points": 10},
            ],
        },
    },
    "mql": {"behaviour": 50, "fit": 20},
    "privacy": {"consent": "not_required"},
    "log": {"level": "debug"},
}

RETRY = {"base": "50ms", "cap": "500ms", "max_age": "1h"}
DEADLINE = 10.0  # seconds a test waits for the server to catch up (bounded polling)
JOURNEY = ("/", "/pricing", "/product/widget")  # page views before the demo form


def vid(n):
    return "%032x" % (0xc4a000 + n)


def endpoint(name, url, **kw):
    e = {"name": name, "url": url, "secrets": SECRETS, "timeout": "1s", "concurrency": 2}
    e.update(kw)
    return e


def config(endpoints, routes=None, retry=None, **extra):
    """SCORING plus crm.endpoints, crm.retry and routing.routes (default: everything to the
    first endpoint, team self-serve); extra: more dotted keys."""
    c = copy.deepcopy(SCORING)
    c["crm"] = {"endpoints": endpoints, "retry": dict(RETRY, **(retry or {}))}
    c["routing"] = {"routes": routes or [{"name": "default", "endpoint": endpoints[0]["name"],
                                          "team": "self-serve"}]}
    return merge(c, extra)


def wait_until(fn, timeout=DEADLINE, what="condition", interval=0.05):
    """fn() until it returns something truthy (returned), bounded in time and count."""
    deadline = time.monotonic() + timeout
    last = None
    for _ in range(int(timeout / interval) + 100):
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            break
        time.sleep(interval)
    raise AssertionError("timed out after %.1f s waiting for %s (last: %r)" % (timeout, what, last))


def cli_env():
    return dict(os.environ, ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "detect_leaks=1"))


def fixed_port_receiver(port, secrets):
    """A CrmReceiver bound to port (for a receiver that comes back where it was); raises
    OSError when the port cannot be bound."""

    class _PortServer(crm._Server):
        def __init__(self, rx):
            self.rx = rx
            http.server.ThreadingHTTPServer.__init__(self, (crm.HOST, port), crm._Handler)

    saved = crm._Server
    crm._Server = _PortServer
    try:
        return crm.CrmReceiver(secrets)
    finally:
        crm._Server = saved


def free_port():
    """A loopback port nobody listens on (bound, then released)."""
    s = socket.socket()
    s.bind((HOST, 0))
    p = s.getsockname()[1]
    s.close()
    return p


class CrmCase(unittest.TestCase):
    """Servers and receivers made by a test are stopped (and checked) when it ends."""

    def setUp(self):
        self.servers = []

    def tearDown(self):
        problems = []
        for s in self.servers:
            rc = s.stop()
            rep = s.sanitizer_report()
            if rep:
                problems.append("sanitizer report from %s:\n%s" % (s.name, rep))
            elif rc != 0:
                problems.append("%s exited with %r\n%s" % (s.name, rc, s.stderr_tail()))
        if problems:
            self.fail("\n".join(problems))

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        failed = result is not None and len(result.failures) + len(result.errors) > before
        for s in getattr(self, "servers", []):
            if failed:
                sys.stderr.write("\n---- %s stderr (tail) [%s] ----\n%s\n---- end ----\n"
                                 % (s.name, s.stderr_path, s.stderr_tail(60)))
            else:
                s.remove_tmp()
        return out

    def receiver(self, **kw):
        rx = crm.CrmReceiver(SECRETS, **kw)
        self.addCleanup(rx.stop)
        return rx

    def start(self, cfg, name=None):
        s = Server(cfg, name or self._testMethodName).start()
        self.servers.append(s)
        return s

    # -- traffic (as test_scoring.py)

    def pv(self, srv, v, path):
        hs = [("User-Agent", UA), ("Accept-Language", "de-DE"), ("Cookie", "le_vid=" + v)]
        url = urllib.parse.quote("https://www.example.com" + path, safe="")
        r = srv.get("/p.gif?e=pv&url=%s" % url, hs)
        self.assertEqual(r.status, 200)

    def form(self, srv, v, fields):
        hs = [("User-Agent", UA), ("Accept-Language", "de-DE"), ("Cookie", "le_vid=" + v),
              ("Accept", "application/json")]
        body = urllib.parse.urlencode(dict({"_form": "demo", "_fill_ms": "9000"}, **fields))
        r = srv.post("/f", body.encode(), "application/x-www-form-urlencoded", hs)
        self.assertEqual(r.status, 200, r.body)

    def journey(self, srv, v, email, **fields):
        """Page views, then the demo form: an MQL (behaviour 15 + 5 + 40, fit 15 + 10)."""
        for p in JOURNEY:
            self.pv(srv, v, p)
        f = {"email": email, "job_title": "Geschäftsführer"}
        f.update(fields)
        self.form(srv, v, f)

    def mql(self, srv, email, n_mqls=None):
        """Wait until the contact is an MQL; returns its description."""
        def got():
            c = self.lead(srv, email)
            return c if c and c.get("mql") else None
        c = wait_until(got, what="%s to be an MQL" % email)
        if n_mqls is not None:
            wait_until(lambda: srv.metric("leadedge_mql_total") >= n_mqls,
                       what="%d MQLs" % n_mqls)
        return c

    # -- admin API

    def admin(self, srv, method, path, body=None, token=TOKEN):
        hs = [("Connection", "close")]
        if token is not None:
            hs.append(("Authorization", "Bearer " + token))
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if body is not None:
            hs.append(("Content-Type", "application/json"))
        elif method in ("POST", "DELETE"):
            body = b""
        with Conn(srv.admin_port, 15.0) as c:
            c.send(build_request(method, path, hs, body))
            return c.read_response(timeout=15.0)

    def lead(self, srv, key):
        r = srv.admin_get("/v1/contacts/" + urllib.parse.quote(key, safe=""))
        if r.status == 404:
            return None
        self.assertEqual(r.status, 200, r.body)
        return json.loads(r.body)

    def set_status(self, srv, key, status, expect=200, **extra):
        body = dict({"status": status}, **extra)
        r = self.admin(srv, "POST", "/v1/leads/%s/status" % urllib.parse.quote(key, safe=""),
                       body)
        self.assertEqual(r.status, expect, r.body)
        return json.loads(r.body) if r.body.strip() else None

    def funnel(self, srv):
        r = srv.admin_get("/v1/funnel")
        self.assertEqual(r.status, 200, r.body)
        return json.loads(r.body)

    # -- the CLI

    def cli_cfg(self, srv):
        """A config for the CLI that names the admin port the server really listens on (the
        server's own may say port 0)."""
        path = os.path.join(srv.tmp, "cli.yaml")
        c = merge(srv.config, {"admin": {"listen": "%s:%d" % (HOST, srv.admin_port)}})
        with open(path, "w") as f:
            f.write(to_yaml(c) + "\n")
        return path

    def cli(self, srv, *args, cfg=None):
        p = subprocess.run([leadedge_bin()] + list(args[:1]) +
                           ["-c", cfg or srv.cfg_path] + list(args[1:]),
                           capture_output=True, timeout=60, env=cli_env())
        err = p.stderr.decode("utf-8", "replace")
        for m in SANITIZER_MARKERS:
            self.assertNotIn(m, err, err[-4000:])
        return p

    def outbox(self, srv):
        """{id: item} from `leadedge outbox list --json`."""
        p = self.cli(srv, "outbox", "list", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        items = [json.loads(l) for l in p.stdout.decode().splitlines() if l.strip()]
        return {it["id"]: it for it in items}

    def wait_state(self, srv, oid, state, timeout=DEADLINE):
        return wait_until(lambda: (self.outbox(srv).get(oid) or {}).get("state") == state
                          and self.outbox(srv)[oid], timeout, "%s to be %s" % (oid, state),
                          interval=0.1)

    def dead_letters(self, srv):
        path = os.path.join(srv.tmp, "data", "dead-letter.jsonl")
        if not os.path.exists(path):
            return []
        with open(path, "rb") as f:
            return [json.loads(l) for l in f.read().splitlines() if l.strip()]

    # -- what the receiver got

    def by_key(self, ds):
        out = {}
        for d in ds:
            out.setdefault(d.headers.get("idempotency-key"), []).append(d)
        return out

    def check_signed(self, d):
        self.assertTrue(d.sig_ok, "bad signature: %r %r" % (d.headers.get("leadedge-signature"),
                                                            d.body[:200]))
        self.assertEqual(d.headers.get("content-type", "").split(";")[0], "application/json")
        self.assertEqual(d.path, "/hook")


# ---------------------------------------------------------------------------------------------


class Delivery(CrmCase):
    def test_01_journey_delivered_once_with_payload_route_and_field_map(self):
        rx = self.receiver()
        rxm = self.receiver()
        fmap = {
            "properties.email": "lead.email",
            "properties.firstname": "lead.first_name",
            "properties.lastname": "lead.last_name",
            "properties.lifecycle": "=MQL",
            "properties.team": "route.team",
            "properties.first_page": "journey.0.url",
            "properties.fax": "lead.fax",
        }
        routes = [
            {"name": "mapped", "when": {"country": ["AT"]}, "endpoint": "hubspot",
             "team": "field-at"},
            {"name": "pricing", "when": {"page": "*/pricing*"}, "endpoint": "crm",
             "team": "inside-sales", "queue": "hot", "owner": "4711"},
            {"name": "default", "endpoint": "crm", "team": "self-serve"},
        ]
        srv = self.start(config([endpoint("crm", rx.url, headers={"X-Tenant": "acme-it"}),
                                 endpoint("hubspot", rxm.url, keep_unmapped=False,
                                          field_map=fmap)], routes))
        email = "anna.berg@acme-industrie.example"
        self.journey(srv, vid(1), email, first_name="Anna", last_name="Berg",
                     company="ACME Industrie GmbH", country="DE")
        c = self.mql(srv, email)
        d = rx.wait_for(1, timeout=DEADLINE)[0]
        self.check_signed(d)
        p = d.json
        oid = "%s-1" % c["id"]
        self.assertEqual(d.headers.get("idempotency-key"), oid)
        self.assertEqual(p["id"], oid)
        self.assertEqual(d.headers.get("leadedge-attempt"), "1")
        self.assertEqual(d.headers.get("x-tenant"), "acme-it")  # the endpoint's own headers
        # every member of docs/payload.md, in order
        self.assertEqual(list(p), ["id", "type", "created_at", "sla_due_at", "escalated", "route",
                                   "lead", "company", "visitor", "scores", "journey", "account",
                                   "consent"])
        self.assertEqual(p["type"], "mql")
        self.assertFalse(p["escalated"])
        self.assertRegex(p["created_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertIsNotNone(p["sla_due_at"])
        self.assertEqual(p["route"], {"name": "pricing", "team": "inside-sales", "owner": "4711",
                                      "queue": "hot"})
        lead = p["lead"]
        self.assertEqual(lead["id"], c["id"])
        self.assertEqual(lead["email"], email)
        self.assertEqual((lead["first_name"], lead["last_name"]), ("Anna", "Berg"))
        self.assertEqual(lead["job_title"], "Geschäftsführer")
        self.assertEqual(lead["role"], "decider")
        self.assertEqual(lead["email_domain"], "business")
        self.assertEqual(lead["country"], "DE")
        for k in ("phone", "postal_code", "company", "company_size", "industry", "quality"):
            self.assertIn(k, lead)
        comp = p["company"]
        self.assertEqual(set(comp), {"name", "key", "domain", "network", "geo"})
        self.assertEqual(set(comp["geo"]), {"country", "region", "city", "continent"})
        self.assertEqual(comp["geo"]["country"], "DE")  # no geo data: the form's country
        self.assertEqual(comp["name"], "ACME Industrie GmbH")
        self.assertEqual(set(p["visitor"]), {"first_seen", "last_seen", "devices", "browser",
                                             "os", "device_class", "language"})
        s = p["scores"]
        self.assertAlmostEqual(s["behaviour"], 60.0, delta=0.5)
        self.assertEqual(s["fit"], 25)
        rules = {r["name"]: r for r in s["rules"]}
        self.assertEqual(set(rules), {"pricing page", "product page", "demo request",
                                      "decision maker", "business mail"})
        self.assertEqual(rules["demo request"]["kind"], "behaviour")
        self.assertEqual(rules["business mail"]["kind"], "fit")
        self.assertAlmostEqual(rules["demo request"]["points"], 40.0, delta=0.1)
        urls = [j["url"] for j in p["journey"]]
        self.assertEqual(urls, ["https://www.example.com" + x for x in JOURNEY])
        self.assertTrue(all(j["at"] for j in p["journey"]))
        self.assertEqual(p["consent"]["basis"], "legitimate_interest")
        # the body is the outbox's payload as is (no field map on this endpoint)
        self.assertEqual(self.outbox(srv)[oid]["payload"], p)

        # more interest after the MQL: no second hand-off
        for path in ("/pricing", "/product/other", "/thanks"):
            self.pv(srv, vid(1), path)
        wait_until(lambda: srv.metric("leadedge_scoring_events_total") >= 7, what="7 events")
        self.wait_state(srv, oid, "delivered")
        time.sleep(1.0)  # let a (wrong) second hand-off show
        self.assertEqual(len(rx.deliveries()), 1, rx.deliveries())
        m = srv.metrics()
        self.assertEqual(m[metric_key("leadedge_mql_total")], 1)
        self.assertEqual(m[metric_key("leadedge_deliveries_total", outcome="delivered")], 1)
        self.assertEqual(m[metric_key("leadedge_handoff_seconds_count")], 1)
        self.assertEqual(m[metric_key("leadedge_delivery_attempt_seconds_count")], 1)
        self.assertEqual(m[metric_key("leadedge_outbox_pending")], 0)
        self.assertEqual(rxm.deliveries(), [])

        # a lead from Austria takes the mapped route: only the mapped properties go out
        email2 = "ben.maier@acme-industrie.example"
        self.journey(srv, vid(2), email2, first_name="Ben", last_name="Maier", country="AT")
        c2 = self.mql(srv, email2)
        d2 = rxm.wait_for(1, timeout=DEADLINE)[0]
        self.check_signed(d2)  # the signature covers the mapped body
        oid2 = "%s-1" % c2["id"]
        self.assertEqual(d2.headers.get("idempotency-key"), oid2)
        self.assertNotIn("x-tenant", d2.headers)  # that endpoint has no extra headers
        self.assertEqual(d2.json, {"properties": {
            "email": email2, "firstname": "Ben", "lastname": "Maier", "lifecycle": "MQL",
            "team": "field-at", "first_page": "https://www.example.com/", "fax": None}})
        self.assertEqual(list(d2.json["properties"]), [k.split(".")[1] for k in fmap])
        # the outbox keeps the whole payload; the map is applied when sending
        self.assertEqual(self.outbox(srv)[oid2]["payload"]["route"]["name"], "mapped")
        self.assertEqual(len(rx.deliveries()), 1)

    def test_02_503_retried_until_back_same_key(self):
        rx = self.receiver()
        rx.script([(503,), (503, {"Retry-After": "0"}, 0), (502,), (504,)])
        srv = self.start(config([endpoint("crm", rx.url)]))
        email = "carla@acme-industrie.example"
        self.journey(srv, vid(3), email)
        c = self.mql(srv, email)
        oid = "%s-1" % c["id"]
        ds = rx.wait_for(5, timeout=DEADLINE)
        it = self.wait_state(srv, oid, "delivered")
        self.assertEqual(it["attempts"], 5)
        time.sleep(0.3)
        ds = rx.deliveries()
        self.assertEqual(len(ds), 5, ds)
        self.assertEqual({d.headers.get("idempotency-key") for d in ds}, {oid})
        self.assertEqual([d.headers.get("leadedge-attempt") for d in ds],
                         ["1", "2", "3", "4", "5"])
        for d in ds:
            self.check_signed(d)  # each attempt signed anew
            self.assertEqual(d.json["id"], oid)
        # the bodies are the same item
        self.assertEqual(len({d.body for d in ds}), 1)
        m = srv.metrics()
        self.assertEqual(m[metric_key("leadedge_deliveries_total", outcome="retried")], 4)
        self.assertEqual(m[metric_key("leadedge_deliveries_total", outcome="delivered")], 1)
        self.assertEqual(m[metric_key("leadedge_delivery_attempt_seconds_count")], 5)
        self.assertIn("HTTP 503", srv.stderr_text())  # the first failure is logged

    def test_03_429_retry_after_honoured_up_to_the_cap(self):
        rx = self.receiver()
        rx.script([(429, {"Retry-After": "1"}, 0), (429, {"Retry-After": "30"}, 0)])
        srv = self.start(config([endpoint("crm", rx.url)], retry={"cap": "2s"}))
        email = "dora@acme-industrie.example"
        self.journey(srv, vid(4), email)
        c = self.mql(srv, email)
        ds = rx.wait_for(3, timeout=DEADLINE)
        gap1 = ds[1].time - ds[0].time
        gap2 = ds[2].time - ds[1].time
        self.assertGreaterEqual(gap1, 0.95, "Retry-After: 1 not honoured (%.3f s)" % gap1)
        self.assertLess(gap1, 1.9, "waited much longer than Retry-After: 1 (%.3f s)" % gap1)
        # 30 s asked, cut to crm.retry.cap (2 s)
        self.assertGreaterEqual(gap2, 1.95, "cap not used (%.3f s)" % gap2)
        self.assertLess(gap2, 3.5, "Retry-After beyond the cap (%.3f s)" % gap2)
        self.wait_state(srv, "%s-1" % c["id"], "delivered")
        self.assertEqual({d.headers.get("idempotency-key") for d in ds}, {"%s-1" % c["id"]})

    def test_04_400_dead_letter_then_retry_and_drop(self):
        rx = self.receiver()
        rx.set_default(400, body=b'{"error":"missing property"}')
        srv = self.start(config([endpoint("crm", rx.url)]))
        e1, e2 = "emil@acme-industrie.example", "frida@acme-industrie.example"
        self.journey(srv, vid(5), e1)
        self.journey(srv, vid(6), e2)
        c1, c2 = self.mql(srv, e1), self.mql(srv, e2)
        id1, id2 = "%s-1" % c1["id"], "%s-1" % c2["id"]
        it = self.wait_state(srv, id1, "dead")
        self.wait_state(srv, id2, "dead")
        self.assertEqual(it["attempts"], 1)  # at once, no retry
        self.assertTrue(it["last_error"].startswith("HTTP 400"), it)
        self.assertEqual(len(rx.deliveries()), 2)
        lines = {l["id"]: l for l in self.dead_letters(srv)}
        self.assertEqual(set(lines), {id1, id2})
        dl = lines[id1]
        self.assertTrue(dl["reason"].startswith("HTTP 400"), dl)
        self.assertIn("missing property", dl["reason"])  # the receiver's answer, bounded
        self.assertEqual(dl["payload"]["id"], id1)
        self.assertEqual(dl["payload"]["lead"]["email"], e1)
        self.assertEqual(dl["lead"], c1["id"])
        self.assertEqual(dl["attempts"], 1)
        self.assertEqual(dl["endpoint"], "crm")
        m = srv.metrics()
        self.assertEqual(m[metric_key("leadedge_deliveries_total", outcome="dead")], 2)
        self.assertIn("is dead after 1 attempts", srv.stderr_text())

        # the receiver is fixed; the operator retries one through the running server
        rx.set_default(200)
        cfg = self.cli_cfg(srv)
        p = self.cli(srv, "outbox", "retry", id1, cfg=cfg)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout), {"state": "pending"})
        d = rx.wait_for(3, timeout=DEADLINE)[2]
        self.assertEqual(d.headers.get("idempotency-key"), id1)
        self.assertEqual(d.headers.get("leadedge-attempt"), "1")  # attempts start anew
        self.check_signed(d)
        it = self.wait_state(srv, id1, "delivered")
        self.assertEqual(it["attempts"], 1)
        # the other is dropped: never sent again
        p = self.cli(srv, "outbox", "drop", id2, cfg=cfg)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout), {"state": "dropped"})
        self.assertEqual(self.outbox(srv)[id2]["state"], "dropped")
        p = self.cli(srv, "outbox", "list", "--state", "dropped")
        self.assertEqual(p.returncode, 0)
        self.assertEqual([l.split()[0] for l in p.stdout.decode().splitlines()], [id2])
        # what cannot be done is refused
        p = self.cli(srv, "outbox", "retry", id1, cfg=cfg)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"already delivered", p.stderr)
        p = self.cli(srv, "outbox", "drop", id2, cfg=cfg)
        self.assertEqual(p.returncode, 1)
        p = self.cli(srv, "outbox", "retry", "nope-1", cfg=cfg)
        self.assertEqual(p.returncode, 1)
        time.sleep(0.5)
        self.assertEqual(len(rx.deliveries()), 3)

    def test_05_timeouts_retried_then_delivered(self):
        rx = self.receiver()
        rx.script([(200, None, 2.0), (200, None, 2.0)])  # answers after the 500 ms timeout
        srv = self.start(config([endpoint("crm", rx.url, timeout="500ms")]))
        email = "gert@acme-industrie.example"
        self.journey(srv, vid(7), email)
        c = self.mql(srv, email)
        oid = "%s-1" % c["id"]
        t0 = rx.wait_for(1, timeout=DEADLINE)[0].time
        it = self.wait_state(srv, oid, "delivered")
        ds = rx.deliveries()
        self.assertEqual(len(ds), 3, ds)
        self.assertEqual(it["attempts"], 3)
        self.assertEqual({d.headers.get("idempotency-key") for d in ds}, {oid})
        # the second attempt came after the timeout, not after the receiver's 2 s
        self.assertGreaterEqual(ds[1].time - t0, 0.45)
        self.assertLess(ds[1].time - t0, 1.9)
        self.assertEqual(srv.metric("leadedge_deliveries_total", outcome="retried"), 2)
        # each timeout is logged (the first as a warning)
        lines = [l for l in srv.stderr_text().splitlines() if oid in l and "failed" in l]
        self.assertEqual(len(lines), 2, lines)
        self.assertTrue(all("(timeout)" in l for l in lines), lines)


class Tls(CrmCase):
    def test_06_https_ca_file_wrong_ca_wrong_name(self):
        if not crm.have_openssl():
            self.skipTest("the openssl CLI is not installed: no test certificates")
        d = tempfile.mkdtemp(prefix="le-it-crm-certs-")
        self.addCleanup(shutil.rmtree, d, True)
        certs = crm.make_certs(d)
        good = self.receiver(tls=(certs["cert"], certs["key"]))
        other = self.receiver(tls=(certs["other_cert"], certs["other_key"]))
        eps = [
            endpoint("good", good.url, ca_file=certs["ca"]),
            endpoint("good-name", good.url_for("localhost"), ca_file=certs["ca"]),
            endpoint("noca", good.url),  # the system's CAs do not know ours
            endpoint("wrongca", good.url, ca_file=certs["wrong_ca"]),
            endpoint("wrongname", other.url, ca_file=certs["ca"]),  # other.invalid only
            endpoint("wrongdns", other.url_for("localhost"), ca_file=certs["ca"]),
        ]
        routes = [
            {"name": "de", "when": {"country": ["DE"]}, "endpoint": "good"},
            {"name": "ch", "when": {"country": ["CH"]}, "endpoint": "good-name"},
            {"name": "at", "when": {"country": ["AT"]}, "endpoint": "noca"},
            {"name": "fr", "when": {"country": ["FR"]}, "endpoint": "wrongca"},
            {"name": "it", "when": {"country": ["IT"]}, "endpoint": "wrongname"},
            {"name": "nl", "when": {"country": ["NL"]}, "endpoint": "wrongdns"},
            {"name": "default", "endpoint": "good"},
        ]
        srv = self.start(config(eps, routes))
        # what each wrong one must fail with
        BAD = {"AT": "unable to get local issuer certificate",
               "FR": "unable to get local issuer certificate",
               "IT": "IP address mismatch", "NL": "hostname mismatch"}
        ids = {}
        for n, cc in enumerate(("DE", "CH", "AT", "FR", "IT", "NL")):
            email = "tls-%s@acme-industrie.example" % cc.lower()
            self.journey(srv, vid(60 + n), email, country=cc)
            ids[cc] = "%s-1" % self.mql(srv, email)["id"]
        self.wait_state(srv, ids["DE"], "delivered")
        self.wait_state(srv, ids["CH"], "delivered")
        got = self.by_key(good.wait_for(2, timeout=DEADLINE))
        self.assertEqual(set(got), {ids["DE"], ids["CH"]})
        for dd in good.deliveries():
            self.check_signed(dd)

        def failed_enough():
            ob = self.outbox(srv)
            bad = [ob[ids[cc]] for cc in BAD]
            return bad if all(b["attempts"] >= 2 for b in bad) else None
        bad = wait_until(failed_enough, what="failed TLS attempts", interval=0.2)
        for cc, b in zip(BAD, bad):
            self.assertEqual(b["state"], "pending", b)
            self.assertIn("certificate verify failed", b["last_error"] or "", b)
            self.assertIn(BAD[cc], b["last_error"] or "", b)
        # none of them reached a receiver as a request
        self.assertEqual(len(good.deliveries()), 2)
        self.assertEqual(other.deliveries(), [])
        self.assertGreater(other.connections, 0)  # but the handshakes were tried
        m = srv.metrics()
        self.assertGreaterEqual(m[metric_key("leadedge_deliveries_total", outcome="retried")],
                                2 * len(BAD))
        self.assertEqual(m[metric_key("leadedge_deliveries_total", outcome="delivered")], 2)
        self.assertEqual(m[metric_key("leadedge_outbox_pending")], len(BAD))
        err = srv.stderr_text()
        for cc in BAD:
            line = [l for l in err.splitlines() if ids[cc] in l and "failed" in l]
            self.assertTrue(line, "no log line about %s" % ids[cc])
            self.assertIn("certificate", line[0])


class Crash(CrmCase):
    def test_07_kill_9_while_the_answer_is_outstanding(self):
        rx = self.receiver()
        rx.script([(200, None, 2.0)])
        srv = self.start(config([endpoint("crm", rx.url, timeout="5s")]))
        email = "hanna@acme-industrie.example"
        self.journey(srv, vid(8), email)
        c = self.mql(srv, email)
        oid = "%s-1" % c["id"]
        rx.wait_for(1, timeout=DEADLINE)  # the request arrived; its answer is 2 s away
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait(timeout=10)
        srv._cleanup()
        self.assertEqual(self.outbox(srv)[oid]["state"], "pending")
        srv.start()
        ds = rx.wait_for(2, timeout=DEADLINE)
        self.assertEqual([d.headers.get("idempotency-key") for d in ds], [oid, oid])
        self.assertEqual(ds[0].body, ds[1].body)
        self.check_signed(ds[1])
        self.wait_state(srv, oid, "delivered")
        time.sleep(2.5)  # the first answer's time has passed: nothing more comes
        self.assertEqual(len(rx.deliveries()), 2)
        self.assertEqual(srv.metric("leadedge_mql_total"), 1)

    def test_08_receiver_down_across_a_restart(self):
        port = free_port()
        url = "http://%s:%d/hook" % (HOST, port)
        srv = self.start(config([endpoint("crm", url)]))
        emails = ["down-%d@acme-industrie.example" % i for i in range(3)]
        self.journey(srv, vid(80), emails[0])
        self.journey(srv, vid(81), emails[1])
        ids = ["%s-1" % self.mql(srv, e)["id"] for e in emails[:2]]

        def tried(n):
            ob = self.outbox(srv)
            return all(ob[i]["attempts"] >= n for i in ids)
        wait_until(lambda: tried(2), what="failed attempts", interval=0.1)
        ob = self.outbox(srv)
        for i in ids:
            self.assertEqual(ob[i]["state"], "pending")
            self.assertTrue(ob[i]["last_error"], ob[i])
        self.assertEqual(srv.stop(), 0)
        srv.start()  # same data dir, same endpoint, still down
        self.journey(srv, vid(82), emails[2])
        ids.append("%s-1" % self.mql(srv, emails[2])["id"])
        wait_until(lambda: self.outbox(srv)[ids[2]]["attempts"] >= 1, what="a failed attempt",
                   interval=0.1)
        try:
            rx = fixed_port_receiver(port, SECRETS)
            self.addCleanup(rx.stop)
        except OSError:  # the port was taken meanwhile: a new receiver and a config change
            rx = self.receiver()
            srv.stop()
            srv.extra = config([endpoint("crm", rx.url)])
            srv.start()
        for i in ids:
            self.wait_state(srv, i, "delivered", timeout=15)
        time.sleep(0.5)
        got = self.by_key(rx.deliveries())
        self.assertEqual(set(got), set(ids))
        for k, ds in got.items():
            self.assertEqual(len(ds), 1, "%s delivered %d times" % (k, len(ds)))
            self.assertEqual(ds[0].json["id"], k)
            self.check_signed(ds[0])
        self.assertEqual(srv.metric("leadedge_outbox_pending"), 0)


class Sla(CrmCase):
    def test_09_escalation_when_not_accepted(self):
        rx = self.receiver()
        routes = [
            {"name": "escalate", "when": {"job_title": "never-matches-this-title"},
             "endpoint": "crm", "team": "escalations", "queue": "urgent"},
            {"name": "default", "endpoint": "crm", "team": "self-serve"},
        ]
        srv = self.start(config([endpoint("crm", rx.url)], routes,
                                **{"sla.accept_within": "2s",
                                   "sla.escalation_route": "escalate"}))
        e1, e2 = "ida@acme-industrie.example", "jan@acme-industrie.example"
        self.journey(srv, vid(9), e1)
        self.journey(srv, vid(10), e2)
        c1, c2 = self.mql(srv, e1), self.mql(srv, e2)
        t_mql = time.monotonic()
        d = self.set_status(srv, e2, "accepted")  # in time
        self.assertEqual(d["lifecycle"]["stage"], "accepted")
        id1, id2 = "%s-1" % c1["id"], "%s-1" % c2["id"]
        esc = id1 + "-esc"
        ds = rx.wait_for(3, timeout=8)
        got = self.by_key(ds)
        self.assertIn(esc, got)
        self.assertLessEqual(time.monotonic() - t_mql, 6)
        e = got[esc][0]
        self.check_signed(e)
        p = e.json
        # the body names the MQL it escalates (docs/payload.md says the id is also the
        # Idempotency-Key, which for an escalation is <mql id>-esc: either is accepted here)
        self.assertIn(p["id"], (id1, esc))
        self.assertEqual(p["sla_due_at"], got[id1][0].json["sla_due_at"])
        self.assertTrue(p["escalated"])
        self.assertEqual(p["route"]["team"], "escalations")
        self.assertEqual(p["route"]["name"], "escalate")
        self.assertEqual(p["lead"]["email"], e1)
        self.assertFalse(got[id1][0].json["escalated"])
        self.assertEqual(got[id1][0].json["route"]["team"], "self-serve")
        self.assertEqual(got[id2][0].json["route"]["team"], "self-serve")
        # the accepted one is never escalated, the other only once
        wait_until(lambda: time.monotonic() - t_mql > 3.5, timeout=5)
        time.sleep(0.6)  # one more SLA tick
        keys = [d.headers.get("idempotency-key") for d in rx.deliveries()]
        self.assertEqual(sorted(keys), sorted([id1, id2, esc]))
        self.wait_state(srv, esc, "delivered")
        f = wait_until(lambda: (lambda f: f if f["sla_breaches"] == 1 else None)(
            self.funnel(srv)), what="the breach in the funnel")
        self.assertEqual(f["cohort"]["mql"], 2)
        self.assertEqual(f["cohort"]["accepted"], 1)
        self.assertEqual(srv.metric("leadedge_sla_escalations_total"), 1)
        self.assertTrue(self.lead(srv, e1)["lifecycle"]["sla_breached"])
        self.assertFalse(self.lead(srv, e2)["lifecycle"]["sla_breached"])
        self.assertIn("sla: %s was not accepted" % id1, srv.stderr_text())
        # a late accept does not undo the breach, and escalates nothing more
        self.set_status(srv, id1, "accepted")
        time.sleep(0.6)
        self.assertEqual(len(rx.deliveries()), 3)
        self.assertEqual(self.funnel(srv)["sla_breaches"], 1)

    def test_09b_escalation_after_another_lead_was_erased(self):
        # The SLA watch (forward/deliver.c on_sla) remembers how far it has looked as an index
        # into the outbox (sla_mark); an erasure removes items and shifts the later ones down.
        rx = self.receiver()
        srv = self.start(config([endpoint("crm", rx.url)], **{"sla.accept_within": "2s"}))
        ea, eb = "early@acme-industrie.example", "late@acme-industrie.example"
        self.journey(srv, vid(14), ea)
        ca = self.mql(srv, ea)
        self.set_status(srv, ea, "accepted")  # in time: never escalated
        time.sleep(3.2)  # the SLA watch has looked at the first MQL and gone past it
        self.journey(srv, vid(15), eb)
        cb = self.mql(srv, eb)
        t_mql = time.monotonic()
        r = self.admin(srv, "DELETE", "/v1/contacts/" + urllib.parse.quote(ea, safe=""))
        self.assertEqual(r.status, 200, r.body)
        esc = "%s-1-esc" % cb["id"]
        try:
            wait_until(lambda: esc in self.by_key(rx.deliveries()), timeout=6,
                       what="the escalation of the second MQL")
        finally:
            waited = time.monotonic() - t_mql
        self.assertLess(waited, 6.5)
        self.assertEqual(self.funnel(srv)["sla_breaches"], 1)
        self.assertNotIn(ca["id"], [d.headers.get("idempotency-key", "")[:32]
                                    for d in rx.deliveries()[1:]])


class Funnel(CrmCase):
    def test_10_stage_updates_funnel_and_leads(self):
        rx = self.receiver()
        srv = self.start(config([endpoint("crm", rx.url)]))
        names = ["acc", "tql", "sql", "won", "rej"]
        emails = {n: "%s@acme-industrie.example" % n for n in names}
        for i, n in enumerate(names):
            self.journey(srv, vid(100 + i), emails[n])
        ids = {n: self.mql(srv, emails[n])["id"] for n in names}
        # a contact that never became an MQL, and one that does not exist
        self.form(srv, vid(120), {"email": "cold@acme-industrie.example", "_form": "newsletter"})
        wait_until(lambda: self.lead(srv, "cold@acme-industrie.example"), what="the contact")

        self.set_status(srv, emails["acc"], "accepted", reason="call booked")
        self.set_status(srv, ids["tql"], "tal")  # by contact id; "tal" is accepted
        d = self.set_status(srv, ids["tql"] + "-1", "tql", bant=["budget", "need"])  # by MQL id
        self.assertEqual(d["lifecycle"]["stage"], "tql")
        self.assertEqual(d["lifecycle"]["bant"], ["budget", "need"])
        self.set_status(srv, emails["sql"], "sql")  # skips stages
        self.set_status(srv, emails["won"], "accepted")
        self.set_status(srv, emails["won"], "won")
        d = self.set_status(srv, emails["rej"], "rejected", reason="student, no budget")
        self.assertEqual(d["lifecycle"]["stage"], "rejected")
        self.assertEqual(d["lifecycle"]["reason"], "student, no budget")
        self.assertEqual([h["stage"] for h in d["lifecycle"]["history"]], ["mql", "rejected"])

        f = self.funnel(srv)
        self.assertEqual(f["cohort"]["mql"], 5)
        self.assertEqual(f["cohort"]["accepted"], 4)  # a later stage implies accepted
        self.assertEqual(f["cohort"]["tql"], 3)
        self.assertEqual(f["cohort"]["sql"], 2)
        self.assertEqual(f["cohort"]["won"], 1)
        self.assertEqual(f["cohort"]["rejected"], 1)
        self.assertEqual(f["stages"]["mql"], 5)
        self.assertEqual(f["stages"]["accepted"], 3)
        self.assertEqual(f["stages"]["tql"], 1)
        self.assertEqual(f["stages"]["won"], 1)
        self.assertAlmostEqual(f["conversion"]["mql_to_accepted"], 0.8, places=4)
        self.assertAlmostEqual(f["conversion"]["accepted_to_tql"], 0.75, places=4)
        self.assertEqual(f["time_to_accept"]["n"], 3)  # acc, tql, won were accepted explicitly
        self.assertIsNotNone(f["time_to_accept"]["median_s"])
        self.assertLess(f["time_to_accept"]["p90_s"], 60)
        self.assertEqual(f["sla_breaches"], 0)
        # a window before today has none of them
        r = srv.admin_get("/v1/funnel?from=2020-01-01&to=2020-02-01")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(json.loads(r.body)["cohort"]["mql"], 0)
        self.assertEqual(srv.admin_get("/v1/funnel?from=2020-02-01&to=2020-01-01").status, 400)

        def listed(state):
            r = srv.admin_get("/v1/leads?state=" + state)
            self.assertEqual(r.status, 200, r.body)
            return sorted(x["email"] for x in json.loads(r.body))
        self.assertEqual(listed("accepted"), [emails["acc"]])
        self.assertEqual(listed("tql"), [emails["tql"]])
        self.assertEqual(listed("won"), [emails["won"]])
        self.assertEqual(listed("mql"), [])
        r = srv.admin_get("/v1/leads?limit=2")
        self.assertEqual(len(json.loads(r.body)), 2)
        r = srv.admin_get("/v1/leads")
        self.assertEqual(len(json.loads(r.body)), 5)  # MQLs only: not the cold contact
        self.assertEqual(srv.admin_get("/v1/leads?state=bogus").status, 400)

        # bad bodies: 400
        path = "/v1/leads/%s/status" % urllib.parse.quote(emails["acc"], safe="")
        for body in (b"", b"not json", b"[]", b'"accepted"', {"status": "bogus"},
                     {"status": 5}, {"reason": "x"}, {"status": "tql", "bant": ["money"]},
                     {"status": "tql", "bant": "budget"}, {"status": "rejected",
                                                           "reason": "x" * 501}):
            r = self.admin(srv, "POST", path, body)
            self.assertEqual(r.status, 400, (body, r.body))
        # unknown leads: 404; a contact that never was an MQL: 409
        self.set_status(srv, "nobody@acme-industrie.example", "accepted", expect=404)
        self.set_status(srv, "%032x" % 12345, "accepted", expect=404)
        self.set_status(srv, "cold@acme-industrie.example", "accepted", expect=409)
        self.assertEqual(self.admin(srv, "GET", path).status, 405)
        # none of that changed anything
        self.assertEqual(listed("accepted"), [emails["acc"]])
        self.assertEqual(self.funnel(srv)["cohort"], f["cohort"])


class Erasure(CrmCase):
    def test_11_erasure_everywhere_and_after_restart(self):
        rx = self.receiver()
        rx.set_default(400)  # both hand-offs go to the dead-letter file
        srv = self.start(config([endpoint("crm", rx.url)]))
        gone, kept = "gone.person@acme-industrie.example", "kept.person@acme-industrie.example"
        self.journey(srv, vid(11), gone)
        self.journey(srv, vid(12), kept)
        cg, ck = self.mql(srv, gone), self.mql(srv, kept)
        ig, ik = "%s-1" % cg["id"], "%s-1" % ck["id"]
        self.wait_state(srv, ig, "dead")
        self.wait_state(srv, ik, "dead")
        self.assertEqual({l["id"] for l in self.dead_letters(srv)}, {ig, ik})

        r = self.admin(srv, "DELETE", "/v1/contacts/" + urllib.parse.quote(gone, safe=""))
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(json.loads(r.body)["erased"], cg["id"])
        self.assertIsNone(self.lead(srv, gone))
        self.assertEqual(srv.admin_get("/v1/visitors/" + vid(11)).status, 404)
        self.assertEqual(srv.admin_get("/v1/contacts/" + cg["id"]).status, 404)
        ob = self.outbox(srv)
        self.assertNotIn(ig, ob)
        self.assertIn(ik, ob)
        self.assertEqual([l["id"] for l in self.dead_letters(srv)], [ik])

        def no_trace():
            hits = []
            for root in (os.path.join(srv.tmp, "data", "outbox"),):
                for dp, _, fs in os.walk(root):
                    for fn in fs:
                        with open(os.path.join(dp, fn), "rb") as f:
                            data = f.read()
                        if gone.encode() in data or cg["id"].encode() in data:
                            hits.append(fn)
            with open(os.path.join(srv.tmp, "data", "dead-letter.jsonl"), "rb") as f:
                if gone.encode() in f.read():
                    hits.append("dead-letter.jsonl")
            return hits
        self.assertEqual(no_trace(), [])
        self.assertIsNotNone(self.lead(srv, kept))
        # the snapshot written soon after the erasure no longer holds the person
        snap = os.path.join(srv.tmp, "data", "snapshot.bin")

        def clean_snapshot():
            try:
                with open(snap, "rb") as f:
                    data = f.read()
            except OSError:
                return False
            return gone.encode() not in data and kept.encode() in data
        wait_until(clean_snapshot, what="a snapshot without the erased contact", interval=0.1)
        # erasing again: nobody there
        self.assertEqual(self.admin(srv, "DELETE", "/v1/contacts/" +
                                    urllib.parse.quote(gone, safe="")).status, 404)

        # restart: still gone; the log holds a tombstone
        self.assertEqual(srv.stop(), 0)
        srv.start()
        self.assertIsNone(self.lead(srv, gone))
        self.assertEqual(srv.admin_get("/v1/visitors/" + vid(11)).status, 404)
        self.assertIsNotNone(self.lead(srv, kept))
        self.assertNotIn(ig, self.outbox(srv))
        self.assertEqual(no_trace(), [])
        evs = srv.events()
        tomb = [e for e in evs if e.get("type") == "erase"]
        self.assertEqual(len(tomb), 1, tomb)
        self.assertIn(cg["id"], json.dumps(tomb[0]))
        self.assertEqual(srv.metric("leadedge_outbox_pending"), 0)
        time.sleep(0.3)
        self.assertEqual(len(rx.deliveries()), 2)  # nothing re-sent

    def test_11b_erasure_while_a_delivery_is_in_flight(self):
        # The receiver holds its final answer (400) until after the person was erased.
        rx = self.receiver()
        rx.script([(400, None, 1.5)])
        srv = self.start(config([endpoint("crm", rx.url, timeout="5s")]))
        gone = "in.flight@acme-industrie.example"
        self.journey(srv, vid(16), gone)
        c = self.mql(srv, gone)
        rx.wait_for(1, timeout=DEADLINE)  # sent; the answer is 1.5 s away
        r = self.admin(srv, "DELETE", "/v1/contacts/" + urllib.parse.quote(gone, safe=""))
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.dead_letters(srv), [])
        time.sleep(2.0)  # the answer (1.5 s after the request) has come and been handled
        self.assertNotIn("%s-1" % c["id"], self.outbox(srv))
        path = os.path.join(srv.tmp, "data", "dead-letter.jsonl")
        data = b""
        if os.path.exists(path):
            with open(path, "rb") as f:
                data = f.read()
        self.assertNotIn(gone.encode(), data, "the erased person's payload is back in the "
                                              "dead-letter file")
        self.assertIsNone(self.lead(srv, gone))


class Auth(CrmCase):
    def test_12_admin_needs_the_token(self):
        srv = self.start(config([endpoint("crm", "http://127.0.0.1:9/hook")]))
        cases = [("GET", "/v1/leads", None), ("DELETE", "/v1/contacts/x%40y.example", None),
                 ("POST", "/v1/leads/x%40y.example/status", {"status": "accepted"}),
                 ("GET", "/v1/funnel", None), ("POST", "/v1/outbox/x-1/retry", None)]
        for method, path, body in cases:
            for tok in (None, "wrong-token", TOKEN[:-1], TOKEN + "x", ""):
                r = self.admin(srv, method, path, body, token=tok)
                self.assertEqual(r.status, 401, (method, path, tok, r.body))
                self.assertIn("Bearer", r.header("WWW-Authenticate", ""))
        r = self.admin(srv, "GET", "/healthz", token=None)
        self.assertEqual((r.status, r.body), (200, b"ok\n"))
        self.assertEqual(self.admin(srv, "GET", "/v1/leads").status, 200)
        # without admin.token the API is off (403), /healthz still answers
        srv2 = self.start(merge(config([endpoint("crm", "http://127.0.0.1:9/hook")]),
                                {"admin": {"token": None}}), "no-token")
        self.assertEqual(self.admin(srv2, "GET", "/v1/leads").status, 403)
        self.assertEqual(self.admin(srv2, "GET", "/healthz", token=None).status, 200)


class Order(CrmCase):
    def test_13_recycled_lead_second_mql_after_the_first(self):
        rx = self.receiver()
        rx.set_default(503)
        srv = self.start(config([endpoint("crm", rx.url)], **{"mql.recycle_cooldown": "0s"}))
        email = "kai@acme-industrie.example"
        self.journey(srv, vid(13), email)
        c = self.mql(srv, email)
        id1, id2 = "%s-1" % c["id"], "%s-2" % c["id"]
        rx.wait_for(2, timeout=DEADLINE)  # -1 failed twice
        d = self.set_status(srv, email, "recycled", reason="not now")
        self.assertEqual(d["lifecycle"]["stage"], "recycled")
        self.pv(srv, vid(13), "/product/again")  # new activity: a new cycle
        wait_until(lambda: id2 in self.outbox(srv), what="the second MQL in the outbox",
                   interval=0.1)
        self.assertEqual(self.lead(srv, email)["lifecycle"]["cycle"], 2)
        n = len(rx.deliveries())
        rx.wait_for(n + 3, timeout=DEADLINE)  # -1 fails more while -2 waits behind it
        rx.set_default(200)
        self.wait_state(srv, id1, "delivered")
        self.wait_state(srv, id2, "delivered")
        time.sleep(0.3)
        keys = [d.headers.get("idempotency-key") for d in rx.deliveries()]
        self.assertEqual(set(keys), {id1, id2})
        self.assertEqual(keys.count(id2), 1, keys)
        last1 = max(i for i, k in enumerate(keys) if k == id1)
        self.assertGreater(keys.index(id2), last1, keys)
        ds = rx.deliveries()
        self.assertGreaterEqual(ds[keys.index(id2)].time, ds[last1].time)
        self.assertEqual(ds[keys.index(id2)].json["id"], id2)
        self.assertGreaterEqual(keys.count(id1), 5)


if __name__ == "__main__":
    unittest.main()
