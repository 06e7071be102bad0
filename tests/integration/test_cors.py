"""Integration: CORS on /e and /f (tracking.allowed_origins, exact match)."""

import json
import unittest
import uuid
from urllib.parse import quote, urlencode

import harness as h

ORIGIN = "https://www.example.com"


def mark():
    return "https://cors.test/" + uuid.uuid4().hex


class Cors(h.ServerTestCase):
    CONFIG = {"tracking.allowed_origins": [ORIGIN], "tracking.cors_max_age": "600s"}

    def stored(self, url):
        return [e for e in self.server.events() if e.get("url") == url]

    def preflight(self, path, origin, method="POST"):
        hs = [("Access-Control-Request-Method", method),
              ("Access-Control-Request-Headers", "content-type")]
        if origin is not None:
            hs.insert(0, ("Origin", origin))
        return self.server.request("OPTIONS", path, hs)

    def assertCorsHeaders(self, r, origin):
        self.assertEqual(r.headers_all("access-control-allow-origin"), [origin])
        self.assertEqual(r.header("access-control-allow-credentials"), "true")
        self.assertIn("Origin", [v.strip() for v in ",".join(r.headers_all("vary")).split(",")])
        self.assertNotIn(b"*", b"".join(v.encode() for v in r.headers_all("access-control-allow-origin")))

    def test_preflight_allowed(self):
        for path in ("/e", "/f"):
            r = self.preflight(path, ORIGIN)
            self.assertStatus(r, 204)
            self.assertCorsHeaders(r, ORIGIN)
            self.assertIn("POST", r.header("access-control-allow-methods"))
            self.assertIn("content-type", r.header("access-control-allow-headers").lower())
            self.assertEqual(r.header("access-control-max-age"), "600")

    def test_preflight_refused(self):
        before = self.server.metric("leadedge_http_rejected_total", reason="origin")
        bad = ["https://evil.test", "https://WWW.EXAMPLE.COM", ORIGIN + "/", "http://www.example.com",
               ORIGIN + ":443", ORIGIN + ".evil.test", "null", "*", None]
        for origin in bad:
            r = self.preflight("/e", origin)
            self.assertStatus(r, 403)
            self.assertIsNone(r.header("access-control-allow-origin"), origin)
        self.assertEqual(self.server.metric("leadedge_http_rejected_total", reason="origin"),
                         before + len(bad))

    def test_post_allowed_origin(self):
        u = mark()
        r = self.server.post("/e", json.dumps({"e": "pv", "url": u}), "text/plain",
                             {"Origin": ORIGIN})
        self.assertStatus(r, 204)
        self.assertCorsHeaders(r, ORIGIN)
        self.assertEqual(len(self.stored(u)), 1)
        u2 = mark()
        r = self.server.post("/f", urlencode({"_url": u2, "email": "a@b.test"}),
                             "application/x-www-form-urlencoded",
                             {"Origin": ORIGIN, "Accept": "application/json"})
        self.assertStatus(r, 200)
        self.assertCorsHeaders(r, ORIGIN)
        self.assertEqual(len(self.stored(u2)), 1)

    def test_post_other_origin_refused_not_stored(self):
        before = self.server.metric("leadedge_http_rejected_total", reason="origin")
        n0 = len(self.server.events())
        r = self.server.post("/e", json.dumps({"e": "pv", "url": mark()}), "application/json",
                             {"Origin": "https://evil.test"})
        self.assertStatus(r, 403)
        self.assertIsNone(r.header("access-control-allow-origin"))
        r = self.server.post("/f", urlencode({"_url": mark(), "email": "a@b.test"}),
                             "application/x-www-form-urlencoded",
                             {"Origin": "https://evil.test", "Accept": "application/json"})
        self.assertStatus(r, 403)
        self.assertFalse(json.loads(r.body)["ok"])
        self.assertIsNone(r.header("access-control-allow-origin"))
        self.assertEqual(self.server.metric("leadedge_http_rejected_total", reason="origin"),
                         before + 2)
        self.assertEqual(len(self.server.events()), n0)

    def test_post_without_origin_accepted(self):
        u = mark()
        r = self.server.post("/e", json.dumps({"e": "pv", "url": u}), "application/json")
        self.assertStatus(r, 204)
        self.assertIsNone(r.header("access-control-allow-origin"))
        self.assertEqual(len(self.stored(u)), 1)

    def test_pixel_ignores_origin(self):
        u = mark()
        r = self.server.get("/p.gif?e=pv&url=" + quote(u, safe=""), {"Origin": "https://evil.test"})
        self.assertStatus(r, 200)
        self.assertIsNone(r.header("access-control-allow-origin"))
        self.assertEqual(len(self.stored(u)), 1)


class CorsEmptyList(h.ServerTestCase):
    CONFIG = {}

    def test_empty_list_no_cors_preflight_refused(self):
        r = self.server.request("OPTIONS", "/e", [("Origin", ORIGIN),
                                                  ("Access-Control-Request-Method", "POST")])
        self.assertStatus(r, 403)
        self.assertIsNone(r.header("access-control-allow-origin"))
        u = mark()
        r = self.server.post("/e", json.dumps({"e": "pv", "url": u}), "application/json",
                             {"Origin": ORIGIN})
        self.assertStatus(r, 204)
        self.assertIsNone(r.header("access-control-allow-origin"))
        self.assertIsNone(r.header("access-control-allow-credentials"))


if __name__ == "__main__":
    unittest.main()
