"""Integration: consent, the visitor cookie, cookieless ids, and the stored IP."""

import json
import re
import unittest
import uuid
from urllib.parse import quote, urlencode

import harness as h

HEX32 = re.compile(r"^[0-9a-f]{32}$")
MAX_AGE_395D = 395 * 86400


def mark():
    return "https://consent.test/" + uuid.uuid4().hex


def parse_set_cookie(v):
    """'n=v; A=1; Flag' -> (name, value, {attr_lower: value or True})."""
    parts = [p.strip() for p in v.split(";")]
    name, _, value = parts[0].partition("=")
    attrs = {}
    for p in parts[1:]:
        k, eq, val = p.partition("=")
        attrs[k.lower()] = val if eq else True
    return name, value, attrs


class ConsentRequired(h.ServerTestCase):
    CONFIG = {"privacy.consent": "required"}

    def event(self, url):
        evs = [e for e in self.server.events() if e.get("url") == url]
        self.assertEqual(len(evs), 1, evs)
        return evs[0]

    def pixel(self, url, query="", headers=None):
        r = self.server.get("/p.gif?e=pv&url=%s%s" % (quote(url, safe=""), query), headers)
        self.assertStatus(r, 200)
        return r

    def test_no_consent_no_cookie_cookie_not_used(self):
        sent_id = "0123456789abcdef0123456789abcdef"
        u = mark()
        r = self.pixel(u, headers={"Cookie": "le_vid=" + sent_id, "User-Agent": "ua-1"})
        self.assertIsNone(r.header("set-cookie"))
        e = self.event(u)
        self.assertEqual(e["id_kind"], "cookieless")
        self.assertFalse(e["consent"])
        self.assertRegex(e["id"], HEX32)
        self.assertNotEqual(e["id"], sent_id, "the cookie was read without consent")

    def test_consent_sets_cookie(self):
        u = mark()
        r = self.pixel(u, "&consent=1")
        cookies = r.headers_all("set-cookie")
        self.assertEqual(len(cookies), 1)
        name, value, attrs = parse_set_cookie(cookies[0])
        self.assertEqual(name, "le_vid")
        self.assertRegex(value, HEX32)
        self.assertEqual(attrs.get("max-age"), str(MAX_AGE_395D))
        self.assertEqual(attrs.get("path"), "/")
        self.assertIs(attrs.get("httponly"), True)
        self.assertEqual(attrs.get("samesite"), "Lax")
        self.assertNotIn("secure", attrs)
        self.assertNotIn("domain", attrs)
        self.assertIn("no-store", r.header("cache-control"))
        e = self.event(u)
        self.assertEqual(e["id"], value)
        self.assertEqual(e["id_kind"], "visitor")
        self.assertTrue(e["consent"])

        # The cookie comes back: no new Set-Cookie, the same id.
        u2 = mark()
        r2 = self.pixel(u2, "&consent=1", {"Cookie": "other=1; le_vid=%s; x=y" % value})
        self.assertIsNone(r2.header("set-cookie"))
        self.assertEqual(self.event(u2)["id"], value)

        # The same over /e and /f.
        u3, u4 = mark(), mark()
        r3 = self.server.post("/e", json.dumps({"e": "pv", "url": u3, "consent": 1}),
                              "application/json", {"Cookie": "le_vid=" + value})
        self.assertStatus(r3, 204)
        self.assertIsNone(r3.header("set-cookie"))
        r4 = self.server.post("/f", urlencode({"_url": u4, "_consent": "1", "email": "a@b.test"}),
                              "application/x-www-form-urlencoded",
                              {"Cookie": "le_vid=" + value, "Accept": "application/json"})
        self.assertStatus(r4, 200)
        self.assertIsNone(r4.header("set-cookie"))
        self.assertEqual(self.event(u3)["id"], value)
        self.assertEqual(self.event(u4)["id"], value)

    def test_invalid_cookie_replaced_never_echoed(self):
        for bad in ("<script>", "0123456789ABCDEF0123456789ABCDEF", "0123456789abcdef",
                    "0123456789abcdef0123456789abcdef0", "0123456789abcdeg0123456789abcdef",
                    "\"0123456789abcdef0123456789abcdef\\r\\nX: y\"", "%3Cscript%3E"):
            u = mark()
            r = self.pixel(u, "&consent=1", {"Cookie": "le_vid=" + bad})
            cookies = r.headers_all("set-cookie")
            self.assertEqual(len(cookies), 1, bad)
            name, value, _ = parse_set_cookie(cookies[0])
            self.assertEqual(name, "le_vid")
            self.assertRegex(value, HEX32)
            self.assertNotIn(bad.encode(), r.raw_head)
            self.assertNotIn(b"script", r.raw_head.lower())
            self.assertEqual(self.event(u)["id"], value)

    def test_snippet_vid_adopted_when_valid(self):
        vid = uuid.uuid4().hex
        u = mark()
        r = self.pixel(u, "&consent=1&vid=" + vid)
        name, value, _ = parse_set_cookie(r.header("set-cookie"))
        self.assertEqual(value, vid)
        e = self.event(u)
        self.assertEqual((e["id"], e["vid"]), (vid, vid))
        # A vid that is not a valid id is kept as sent but not used as the id.
        u2 = mark()
        r2 = self.pixel(u2, "&consent=1&vid=abc-123")
        _, value2, _ = parse_set_cookie(r2.header("set-cookie"))
        self.assertNotEqual(value2, "abc-123")
        e2 = self.event(u2)
        self.assertEqual((e2["id"], e2["vid"]), (value2, "abc-123"))

    def test_consent_zero_or_junk_is_no_consent(self):
        for q in ("&consent=0", "&consent=", "&consent=no", "&consent=2", "&consent=1x"):
            u = mark()
            r = self.pixel(u, q)
            self.assertIsNone(r.header("set-cookie"), q)
            self.assertEqual(self.event(u)["id_kind"], "cookieless", q)

    def test_cookieless_id_stable_per_ua(self):
        ids = []
        for ua in ("ua-A", "ua-A", "ua-B"):
            u = mark()
            self.pixel(u, headers={"User-Agent": ua})
            ids.append(self.event(u)["id"])
        self.assertEqual(ids[0], ids[1])
        self.assertNotEqual(ids[0], ids[2])

    def test_ip_truncated_xff_ignored_without_trusted_proxies(self):
        u = mark()
        self.pixel(u, headers={"X-Forwarded-For": "203.0.113.77", "X-Real-IP": "203.0.113.78",
                               "Forwarded": "for=203.0.113.79"})
        e = self.event(u)
        self.assertEqual(e["ip"], "127.0.0.0")

    def test_full_ip_never_stored(self):
        self.pixel(mark(), "&consent=1")
        self.pixel(mark(), headers={"X-Forwarded-For": "127.0.0.1"})
        text = json.dumps(self.server.events())
        self.assertNotIn("127.0.0.1", text)
        self.assertNotIn("203.0.113.7", text)

    def test_gpc_recorded(self):
        u1, u2 = mark(), mark()
        self.pixel(u1, headers={"Sec-GPC": "1"})
        self.pixel(u2)
        self.assertTrue(self.event(u1)["gpc"])
        self.assertFalse(self.event(u2)["gpc"])


    def test_gpc_from_tracker_overrides_consent(self):
        # tracker.js cannot set Sec-GPC on its requests: it sends gpc=1 (pixel, beacon) or
        # _gpc=1 (forms) when navigator.globalPrivacyControl is true.
        u1, u2 = mark(), mark()
        r = self.pixel(u1, "&consent=1&gpc=1")
        self.assertIsNone(r.header("set-cookie"))
        e = self.event(u1)
        self.assertTrue(e["gpc"])
        self.assertFalse(e["consent"])
        self.assertEqual(e["id_kind"], "cookieless")
        r = self.server.post("/e", json.dumps({"e": "clicked", "url": u2, "consent": "1",
                                               "gpc": "1"}), "text/plain")
        self.assertStatus(r, 204)
        self.assertIsNone(r.header("set-cookie"))
        self.assertTrue(self.event(u2)["gpc"])
        r = self.server.post("/f", urlencode({"_form": "f", "_url": u1 + "#form", "_consent": "1",
                                              "_gpc": "1", "email": "a@b.example"}),
                             "application/x-www-form-urlencoded")
        self.assertStatus(r, 200)
        self.assertIsNone(r.header("set-cookie"))
        e = self.event(u1 + "#form")
        self.assertTrue(e["gpc"])
        self.assertEqual(e["id_kind"], "cookieless")

    def test_dnt_ignored_unless_configured(self):
        u = mark()
        r = self.pixel(u, "&consent=1&dnt=1", headers={"DNT": "1"})
        self.assertIsNotNone(r.header("set-cookie"))
        self.assertFalse(self.event(u)["gpc"])


class HonourDnt(h.ServerTestCase):
    CONFIG = {"privacy.consent": "required", "privacy.honour_dnt": True}

    def test_dnt_header_or_param_opts_out(self):
        for query, headers in (("&dnt=1", None), ("", {"DNT": "1"}), ("&dnt=0", None)):
            u = mark()
            r = self.server.get("/p.gif?e=pv&consent=1&url=%s%s" % (quote(u, safe=""), query),
                                headers)
            self.assertStatus(r, 200)
            e = [x for x in self.server.events() if x.get("url") == u][0]
            opted_out = query != "&dnt=0"
            self.assertEqual(e["gpc"], opted_out, (query, headers))
            self.assertEqual(r.header("set-cookie") is None, opted_out, (query, headers))


class ConsentCookie(h.ServerTestCase):
    CONFIG = {"privacy": {"consent": "required", "consent_cookie": "cmp_ok",
                          "consent_cookie_value": "yes"}}

    def test_consent_via_site_cookie(self):
        cases = [("cmp_ok=yes", True), ("a=1; cmp_ok=yes", True), ("cmp_ok=no", False),
                 ("cmp_ok=1", False), ("cmp_ok=", False), ("xcmp_ok=yes", False), ("", False)]
        for cookie, consent in cases:
            u = mark()
            r = self.server.get("/p.gif?e=pv&url=" + quote(u, safe=""),
                                {"Cookie": cookie} if cookie else None)
            self.assertStatus(r, 200)
            e = [x for x in self.server.events() if x.get("url") == u][0]
            self.assertEqual(e["consent"], consent, cookie)
            if consent:
                name, value, _ = parse_set_cookie(r.header("set-cookie"))
                self.assertEqual(name, "le_vid")
                self.assertEqual(e["id"], value)
                self.assertEqual(e["id_kind"], "visitor")
            else:
                self.assertIsNone(r.header("set-cookie"), cookie)
                self.assertEqual(e["id_kind"], "cookieless")


class ConsentNotRequired(h.ServerTestCase):
    CONFIG = {
        "privacy.consent": "not_required",
        "tracking.cookie": {"name": "vis", "max_age": "1h", "same_site": "none",
                            "domain": "example.test"},
    }

    def test_cookie_without_consent_samesite_none_secure(self):
        u = mark()
        r = self.server.get("/p.gif?e=pv&url=" + quote(u, safe=""))
        self.assertStatus(r, 200)
        name, value, attrs = parse_set_cookie(r.header("set-cookie"))
        self.assertEqual(name, "vis")
        self.assertRegex(value, HEX32)
        self.assertEqual(attrs.get("max-age"), "3600")
        self.assertEqual(attrs.get("samesite"), "None")
        self.assertIs(attrs.get("secure"), True)
        self.assertEqual(attrs.get("domain"), "example.test")
        self.assertIs(attrs.get("httponly"), True)
        e = [x for x in self.server.events() if x.get("url") == u][0]
        self.assertEqual((e["id"], e["id_kind"], e["consent"]), (value, "visitor", True))
        # The configured name is the one read back; le_vid means nothing here.
        r2 = self.server.get("/p.gif?e=pv", {"Cookie": "le_vid=%s; vis=%s" % ("f" * 32, value)})
        self.assertIsNone(r2.header("set-cookie"))


class TrustedProxy(h.ServerTestCase):
    CONFIG = {"server.trusted_proxies": ["127.0.0.1/32", "10.0.0.0/8"]}

    def ip_for(self, headers):
        u = mark()
        r = self.server.get("/p.gif?e=pv&url=" + quote(u, safe=""), headers)
        self.assertStatus(r, 200)
        return [x for x in self.server.events() if x.get("url") == u][0]["ip"]

    def test_forwarded_client_ip_truncated(self):
        cases = [
            ({"X-Forwarded-For": "203.0.113.77"}, "203.0.0.0"),
            ({"X-Forwarded-For": "198.51.100.1, 203.0.113.77"}, "203.0.0.0"),
            ({"X-Forwarded-For": "203.0.113.77, 10.1.2.3"}, "203.0.0.0"),
            ({"Forwarded": "for=203.0.113.77;proto=https"}, "203.0.0.0"),
            ({"X-Real-IP": "198.51.100.9"}, "198.51.0.0"),
            ({"X-Forwarded-For": "2001:db8:1234:5678:9abc:def0:1:2"}, "2001:db8:1234::"),
            ({}, "127.0.0.0"),
        ]
        for headers, want in cases:
            self.assertEqual(self.ip_for(headers), want, headers)

    def test_garbage_forwarded_for(self):
        for xff in ("not-an-ip", "", "999.1.1.1", "unknown", "203.0.113"):
            ip = self.ip_for({"X-Forwarded-For": xff})
            self.assertIn(ip, ("127.0.0.0",), xff)


class IpMask(h.ServerTestCase):
    CONFIG = {"server.trusted_proxies": ["127.0.0.1"], "privacy.ip_mask_v4": 24,
              "privacy.ip_mask_v6": 120}

    def test_masks(self):
        for xff, want in (("198.51.100.9", "198.0.0.0"), ("2001:db8::1", "2000::")):
            u = mark()
            self.assertStatus(self.server.get("/p.gif?e=pv&url=" + quote(u, safe=""),
                                              {"X-Forwarded-For": xff}), 200)
            ip = [x for x in self.server.events() if x.get("url") == u][0]["ip"]
            self.assertEqual(ip, want, xff)


if __name__ == "__main__":
    unittest.main()
