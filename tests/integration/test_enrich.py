"""Integration: enrichment end to end on the real binary.

MMDB fixtures come from tests/fixtures/make_mmdb.pl (Debian's libmaxmind-db-writer-perl),
generated once per run into a temporary folder. Client addresses reach the server through
X-Forwarded-For from the trusted loopback proxy, so documentation ranges can be used.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import uuid
from urllib.parse import quote

import harness as h

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAKE_MMDB = os.path.join(SRC, "tests", "fixtures", "make_mmdb.pl")

CHROME_WIN = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")
WIN11_HINTS = {
    "Sec-CH-UA": '"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"',
    "Sec-CH-UA-Mobile": "?0",
    "Sec-CH-UA-Platform": '"Windows"',
    "Sec-CH-UA-Platform-Version": '"15.0.0"',
    "Sec-CH-UA-Full-Version-List":
        '"Google Chrome";v="131.0.6778.86", "Chromium";v="131.0.6778.86", "Not_A Brand";v="24.0.0.0"',
}
# Full client addresses used below: none of them may appear in any stored file or log line.
FULL_IPS = ["192.0.2.10", "198.18.10.5", "198.18.14.7", "2001:db8:1::5", "198.51.100.200",
            "198.18.1.77"]

_fixtures = None


def fixtures():
    """The generated .mmdb folder (made once per process)."""
    global _fixtures
    if _fixtures is None:
        d = tempfile.mkdtemp(prefix="le-it-mmdb-")
        p = subprocess.run(["perl", MAKE_MMDB, d], capture_output=True, timeout=120)
        if p.returncode != 0:
            raise AssertionError("make_mmdb.pl failed (is libmaxmind-db-writer-perl installed? "
                                 "`make test` installs it):\n" + p.stderr.decode()[-2000:])
        _fixtures = d
    return _fixtures


def mark():
    return "https://enrich.test/" + uuid.uuid4().hex


def run_cli(args, stdin=None, timeout=60):
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    p = subprocess.run([h.leadedge_bin()] + args, input=stdin, capture_output=True,
                       timeout=timeout, env=env)
    err = p.stderr.decode("utf-8", "replace")
    for m in h.SANITIZER_MARKERS:
        if m in err:
            raise AssertionError("sanitizer report:\n" + err[-4000:])
    return p.returncode, p.stdout.decode("utf-8"), err


class Enriched(h.ServerTestCase):
    CONFIG = None

    @classmethod
    def setUpClass(cls):
        f = fixtures()
        cls.CONFIG = {
            "server.trusted_proxies": ["127.0.0.1/32", "::1/128"],
            "enrich": {
                "databases": [os.path.join(f, n) for n in
                              ("city.mmdb", "enterprise.mmdb", "asn.mmdb", "anon.mmdb")],
                "language": "de",
            },
        }
        super().setUpClass()

    def pixel(self, ip, ua=CHROME_WIN, lang="de-DE,de;q=0.9,en;q=0.8", extra=None, query=""):
        u = mark()
        hs = {"X-Forwarded-For": ip}
        if ua is not None:
            hs["User-Agent"] = ua
        if lang is not None:
            hs["Accept-Language"] = lang
        hs.update(extra or {})
        r = self.server.get("/p.gif?e=pv&url=%s%s" % (quote(u, safe=""), query), hs)
        self.assertEqual(r.status, 200)
        return u

    def event(self, url):
        evs = [e for e in self.server.events() if e.get("url") == url]
        self.assertEqual(len(evs), 1, evs)
        return evs[0]

    def test_geo_company_device_language(self):
        e = self.event(self.pixel("192.0.2.10", extra=WIN11_HINTS))
        self.assertEqual(e["ip"], "192.0.0.0")
        g = e["geo"]
        # City wins the fields it has (it comes first); names in German.
        self.assertEqual(g["country_code"], "DE")
        self.assertEqual(g["country"], "Deutschland")
        self.assertEqual(g["region_code"], "BY")
        self.assertEqual(g["region"], "Bayern")
        self.assertEqual(g["city"], "München")
        self.assertEqual(g["postal"], "80331")
        self.assertEqual(g["time_zone"], "Europe/Berlin")
        self.assertEqual(g["continent"], "Europa")
        self.assertAlmostEqual(g["latitude"], 48.1375, places=4)
        self.assertEqual(g["accuracy_km"], 20)
        c = e["company"]
        self.assertEqual(c["network"], "business")
        self.assertEqual(c["name"], "Example Corp")
        self.assertEqual(c["key"], "example")
        self.assertEqual(c["domain"], "example.com")
        self.assertEqual(c["asn"], 64501)  # the Enterprise database comes before the ASN one
        self.assertEqual(c["source"], "ip")
        d = e["device"]
        self.assertEqual(d["browser"], "Chrome")
        self.assertTrue(d["browser_version"].startswith("131.0.6778"), d)
        self.assertEqual(d["os"], "Windows")
        self.assertEqual(d["os_version"], "11")  # from Sec-CH-UA-Platform-Version
        self.assertEqual(d["class"], "desktop")
        self.assertEqual(e["language"], "de-DE")
        self.assertFalse(e["bot"])
        self.assertEqual(e["bot_reasons"], [])

    def test_isp_is_never_the_company(self):
        e = self.event(self.pixel("198.18.10.5"))
        self.assertEqual(e["company"]["network"], "isp")
        self.assertEqual(e["company"]["org"], "Comcast Cable")
        self.assertNotIn("name", e["company"])
        self.assertNotIn("key", e["company"])
        self.assertFalse(e["bot"])

    def test_ipv6(self):
        e = self.event(self.pixel("2001:db8:1::5"))
        self.assertEqual(e["ip"], "2001:db8:1::")
        self.assertEqual(e["geo"]["city"], "Wien")
        self.assertEqual(e["geo"]["country_code"], "AT")

    def test_bots(self):
        cases = [
            (dict(ip="198.51.100.200", ua="curl/8.5.0", lang=None), "ua_token"),
            (dict(ip="198.51.100.200", ua=CHROME_WIN, lang=None), "no_language"),
            (dict(ip="198.18.14.7"), "network"),
            (dict(ip="198.51.100.200", ua=("Mozilla/5.0 (compatible; Googlebot/2.1; "
                                           "+http://www.google.com/bot.html)")), "ua_spider"),
        ]
        urls = [(self.pixel(**kw), reason) for kw, reason in cases]
        for u, reason in urls:
            e = self.event(u)
            self.assertTrue(e["bot"], e)
            self.assertIn(reason, e["bot_reasons"], e)

    def test_form_honeypot_and_speed(self):
        def form(fields):
            u = mark()
            body = "email=a%40b.example&_url=" + quote(u, safe="") + fields
            r = self.server.post("/f", body.encode(), "application/x-www-form-urlencoded",
                                 {"X-Forwarded-For": "198.18.1.77", "User-Agent": CHROME_WIN,
                                  "Accept-Language": "de", "Accept": "application/json"})
            self.assertEqual(r.status, 200)
            return u
        slow, fast, honey = form("&_fill_ms=9000"), form("&_fill_ms=300"), form("&le_hp=x")
        e = self.event(slow)
        self.assertFalse(e["bot"], e)
        self.assertEqual(e["company"]["name"], "Acme GmbH")
        self.assertEqual(e["company"]["key"], "acme")
        self.assertNotIn("_fill_ms", e.get("fields", {}))
        self.assertEqual(self.event(fast)["bot_reasons"], ["fast_form"])
        self.assertEqual(self.event(honey)["bot_reasons"], ["honeypot"])

    def test_tracker_asks_for_client_hints(self):
        r = self.server.get("/t.js")
        self.assertEqual(r.status, 200)
        ach = r.header("accept-ch") or ""
        for hint in ("Sec-CH-UA-Platform-Version", "Sec-CH-UA-Full-Version-List",
                     "Sec-CH-UA-Model"):
            self.assertIn(hint, ach)

    def test_ua_cache_counters(self):
        for _ in range(3):
            self.pixel("198.51.100.200", ua="Mozilla/5.0 (X11; Linux x86_64; rv:133.0) "
                       "Gecko/20100101 Firefox/133.0 cache-" + uuid.uuid4().hex[:6])
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            m = self.server.metrics()
            if m.get(("leadedge_ua_cache_total", 'result="miss"'), 0) >= 3:
                break
            time.sleep(0.1)
        self.assertGreaterEqual(m.get(("leadedge_ua_cache_total", 'result="miss"'), 0), 3)
        self.assertIn(("leadedge_ip_cache_total", 'result="hit"'), m)

    def test_zz_no_full_ip_anywhere(self):
        """Runs last in the class (name order): every address sent above is truncated."""
        for ip in FULL_IPS:
            self.pixel(ip)
        self.server.wait_flushed()
        blobs = [self.server.stderr_text().encode()]
        data = os.path.join(self.server.tmp, "data")
        for root, _, files in os.walk(data):  # the event log, snapshots, the outbox
            for name in files:
                with open(os.path.join(root, name), "rb") as f:
                    blobs.append(f.read())
        for ip in FULL_IPS:
            for b in blobs:
                self.assertNotIn(ip.encode(), b, "full address %s was stored or logged" % ip)


class Spoofing(h.ServerTestCase):
    """No trusted proxies: a forwarded-for header from the peer is ignored."""

    @classmethod
    def setUpClass(cls):
        cls.CONFIG = {"enrich": {"databases": [os.path.join(fixtures(), "city.mmdb")]}}
        super().setUpClass()

    def test_spoofed_header_ignored(self):
        u = mark()
        r = self.server.get("/p.gif?e=pv&url=" + quote(u, safe=""),
                            {"X-Forwarded-For": "192.0.2.10", "Forwarded": "for=192.0.2.10",
                             "X-Real-IP": "192.0.2.10", "User-Agent": CHROME_WIN,
                             "Accept-Language": "en"})
        self.assertEqual(r.status, 200)
        e = [e for e in self.server.events() if e.get("url") == u][0]
        self.assertEqual(e["ip"], "127.0.0.0")
        self.assertNotIn("city", e.get("geo", {}))


class Reload(h.ServerTestCase):
    """A replaced database is picked up without a restart; a broken one is refused."""

    def test_replace_then_corrupt(self):
        live = tempfile.mkdtemp(prefix="le-it-live-")
        self.addCleanup(shutil.rmtree, live, True)
        db = os.path.join(live, "city.mmdb")
        shutil.copy(os.path.join(fixtures(), "city.mmdb"), db)
        s = self.start_server({"server.trusted_proxies": ["127.0.0.1/32"],
                               "enrich": {"databases": [db], "reload_check": "200ms"}})

        def city():
            u = mark()
            r = s.get("/p.gif?e=pv&url=" + quote(u, safe=""),
                      {"X-Forwarded-For": "192.0.2.10", "User-Agent": CHROME_WIN,
                       "Accept-Language": "en"})
            self.assertEqual(r.status, 200)
            e = [e for e in s.events() if e.get("url") == u][0]
            return e.get("geo", {}).get("city")

        def wait_city(want, timeout=10.0):
            deadline = time.monotonic() + timeout
            got = None
            while time.monotonic() < deadline:
                got = city()
                if got == want:
                    return got
                time.sleep(0.2)
            return got

        self.assertEqual(city(), "Munich")
        # geoipupdate's way: a new file under a temporary name, renamed over the old one.
        tmp = db + ".new"
        shutil.copy(os.path.join(fixtures(), "city2.mmdb"), tmp)
        os.rename(tmp, db)
        self.assertEqual(wait_city("Hamburg"), "Hamburg")

        # A corrupt replacement: refused with a log line, the loaded database keeps serving.
        mark_at = len(s.stderr_text())
        with open(os.path.join(fixtures(), "city.mmdb"), "rb") as f:
            good = f.read()
        with open(tmp, "wb") as f:
            f.write(good[: len(good) // 3])
        os.rename(tmp, db)
        self.assertTrue(s.wait_stderr("enrich reload", start=mark_at, timeout=10), s.stderr_tail())
        self.assertIn(db, s.stderr_text()[mark_at:])
        self.assertEqual(city(), "Hamburg")
        self.assertTrue(s.alive())

        # SIGHUP reads every table again: still broken, so the whole reload is refused.
        mark_at = len(s.stderr_text())
        s.send_signal(signal.SIGHUP)
        self.assertTrue(s.wait_stderr("reload refused", start=mark_at, timeout=10),
                        s.stderr_tail())
        self.assertEqual(city(), "Hamburg")

        # Repaired: picked up again.
        shutil.copy(os.path.join(fixtures(), "city.mmdb"), tmp)
        os.rename(tmp, db)
        self.assertEqual(wait_city("Munich"), "Munich")

    def test_missing_database_refuses_start(self):
        cfg = os.path.join(tempfile.mkdtemp(prefix="le-it-cfg-"), "bad.yaml")
        self.addCleanup(shutil.rmtree, os.path.dirname(cfg), True)
        with open(cfg, "w") as f:
            f.write("enrich:\n  databases: [/nonexistent/x.mmdb]\n")
        rc, out, err = run_cli(["--check-config", "-c", cfg])
        self.assertEqual(rc, 1)
        self.assertIn("/nonexistent/x.mmdb", err)


class Lookup(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="le-it-lookup-")
        cls.cfg = os.path.join(cls.tmp, "leadedge.yaml")
        f = fixtures()
        with open(cls.cfg, "w") as fh:
            fh.write("enrich:\n  databases:\n")
            for n in ("city.mmdb", "enterprise.mmdb", "anon.mmdb"):
                fh.write("    - %s\n" % os.path.join(f, n))
            fh.write("store:\n  data_dir: %s\n" % os.path.join(cls.tmp, "data"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, True)

    def test_ip_and_ua(self):
        rc, out, err = run_cli(["lookup", "192.0.2.10", "--ua", CHROME_WIN, "--lang", "fr-CH, fr;q=0.9",
                                "-c", self.cfg])
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), 1)
        o = json.loads(lines[0])
        self.assertEqual(o["ip"], "192.0.2.10")
        self.assertEqual(o["geo"]["city"], "Munich")
        self.assertEqual(o["company"]["name"], "Example Corp")
        self.assertEqual(o["device"]["browser"], "Chrome")
        self.assertEqual(o["language"], "fr-CH")
        self.assertFalse(o["bot"])

    def test_anonymiser(self):
        rc, out, err = run_cli(["lookup", "198.18.17.1", "-c", self.cfg])
        self.assertEqual(rc, 0, err)
        o = json.loads(out)
        self.assertEqual(o["company"]["network"], "anonymiser")
        self.assertIn("vpn", o["company"]["anonymiser"])
        self.assertIn("network", o["bot_reasons"])

    def test_bad_ip(self):
        rc, out, err = run_cli(["lookup", "999.1.2.3", "-c", self.cfg])
        self.assertEqual(rc, 2)
        self.assertIn("not an IPv4 or IPv6 address", err)

    def test_ua_stdin(self):
        lines = [CHROME_WIN.encode(), b"curl/8.5.0", b"\xff\xfe broken", b"",
                 b"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
                 b"(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"]
        rc, out, err = run_cli(["lookup", "--ua-stdin", "-c", self.cfg],
                               stdin=b"\n".join(lines) + b"\n")
        self.assertEqual(rc, 1)  # one line could not be read
        self.assertIn("line 3", err)
        objs = [json.loads(l) for l in out.splitlines()]
        self.assertEqual(len(objs), 5)
        self.assertEqual(objs[0]["device"]["browser"], "Chrome")
        self.assertFalse(objs[0]["bot"])  # no Accept-Language is not held against a UA alone
        self.assertTrue(objs[1]["bot"])
        self.assertEqual(objs[2], {"line": 3, "error": "invalid text"})
        self.assertTrue(objs[3]["bot"])  # an empty User-Agent
        self.assertEqual(objs[4]["device"]["class"], "mobile")
        self.assertNotIn("geo", objs[4])


if __name__ == "__main__":
    unittest.main()
