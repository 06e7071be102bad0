"""Integration: the webhook client (forward/client.h) against crm_receiver.py.

Drives the client through client_probe ($CLIENT_PROBE, else the usual build folders), which
prints one JSON line per answer. Covers signed delivery, headers, keep-alive reuse and the
concurrency bound, Retry-After, non-2xx answers and their bounded error text, timeouts,
refused connections, receivers that close connections (Connection: close, silently, after
an idle time) over http and https, certificate and host name verification, URL checks, and
cancellation when the client is freed. Only 127.0.0.1 (and localhost) is contacted; every
wait is bounded.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import crm_receiver as crm

SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")
PROBE_TIMEOUT = 60.0
SECRETS = ["whsec-new-0123456789", "whsec-old-9876543210"]


def probe_bin():
    b = os.environ.get("CLIENT_PROBE")
    if b:
        return b
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    for d in ("build-client", "build-it", "build"):
        p = os.path.join(root, d, "tests", "integration", "client_probe")
        if os.path.exists(p):
            return p
    raise unittest.SkipTest("client_probe not built: set CLIENT_PROBE")


class Run:
    def __init__(self, rc, results, stderr, seconds):
        self.rc = rc
        self.results = results
        self.stderr = stderr
        self.seconds = seconds


def closed_port():
    """A loopback port nobody listens on (bound, then released)."""
    s = socket.socket()
    s.bind((crm.HOST, 0))
    port = s.getsockname()[1]
    s.close()
    return port


class RawServer:
    """A loopback listener that answers every request with the same raw bytes (None: says
    nothing), then closes the connection when close is set. For answers http.server cannot
    produce."""

    def __init__(self, answer, close=True):
        self.answer = answer
        self.close = close
        self.requests = 0
        self.sock = socket.socket()
        self.sock.bind((crm.HOST, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = "http://%s:%d/hook" % (crm.HOST, self.port)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _read_request(self, c):
        buf = b""
        deadline = time.monotonic() + 5
        while b"\r\n\r\n" not in buf and time.monotonic() < deadline:
            chunk = c.recv(65536)
            if not chunk:
                return False
            buf += chunk
        head, _, body = buf.partition(b"\r\n\r\n")
        m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        want = int(m.group(1)) if m else 0
        while len(body) < want and time.monotonic() < deadline:
            chunk = c.recv(65536)
            if not chunk:
                return False
            body += chunk
        self.requests += 1
        return True

    def _serve(self):
        while not self._stop.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            with c:
                c.settimeout(5)
                try:
                    while self._read_request(c):
                        if self.answer is not None:
                            c.sendall(self.answer)
                        if self.close:
                            break
                except OSError:
                    pass

    def stop(self):
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


class ClientCase(unittest.TestCase):
    def probe(self, url, *args, count=1, concurrency=1, timeout_ms=5000, expect_rc=0):
        argv = [probe_bin(), url, "--count", str(count), "--concurrency", str(concurrency),
                "--timeout", str(timeout_ms)] + [str(a) for a in args]
        t0 = time.monotonic()
        p = subprocess.run(argv, capture_output=True, text=True, timeout=PROBE_TIMEOUT)
        secs = time.monotonic() - t0
        for m in SANITIZER_MARKERS:
            self.assertNotIn(m, p.stderr, p.stderr[-4000:])
        self.assertEqual(p.returncode, expect_rc, "stderr: " + p.stderr[-2000:])
        results = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
        if expect_rc == 0:
            self.assertEqual(sorted(r["seq"] for r in results), list(range(count)), p.stdout)
        return Run(p.returncode, results, p.stderr, secs)

    def receiver(self, **kw):
        rx = crm.CrmReceiver(SECRETS, **kw)
        self.addCleanup(rx.stop)
        return rx

    def assertAllStatus(self, run, status):
        for r in run.results:
            self.assertEqual(r["status"], status, r)

    def assertNothingDelivered(self, rx, settle=0.3):
        time.sleep(settle)
        self.assertEqual(rx.deliveries(), [])


class PlainHttp(ClientCase):
    def test_signed_delivery_and_headers(self):
        rx = self.receiver()
        body = '{"lead":{"email_hash":"ab12"},"score":87}'
        run = self.probe(rx.url, "--secret", SECRETS[0], "--secret", "whsec-unknown",
                         "--body", body, "--header", "X-Tenant:acme")
        r = run.results[0]
        self.assertEqual((r["status"], r["error"], r["retry_after"]), (200, None, None))
        self.assertGreater(r["elapsed_us"], 0)
        d = rx.wait_for(1)[0]
        self.assertTrue(d.sig_ok)
        self.assertEqual(d.path, "/hook")
        self.assertEqual(d.body, body.encode())
        self.assertEqual(d.json, json.loads(body))
        h = d.headers
        self.assertEqual(h["host"], "127.0.0.1:%d" % rx.port)
        self.assertEqual(h["content-type"], "application/json")
        self.assertEqual(h["content-length"], str(len(body)))
        self.assertRegex(h["user-agent"], r"^leadedge/\d+\.\d+\.\d+")
        self.assertEqual(h["x-tenant"], "acme")
        self.assertTrue(h["idempotency-key"].startswith("probe-"))
        self.assertRegex(h["leadedge-signature"], r"^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$")

    def test_signature_with_unknown_secret_is_not_ok(self):
        rx = self.receiver()
        self.probe(rx.url, "--secret", "whsec-someone-else")
        self.assertFalse(rx.wait_for(1)[0].sig_ok)

    def test_path_and_query_are_kept(self):
        rx = self.receiver()
        self.probe(rx.url_for("127.0.0.1", "/in/leads?tenant=7&x=%2F"))
        self.assertEqual(rx.wait_for(1)[0].path, "/in/leads?tenant=7&x=%2F")

    def test_host_name_is_resolved(self):
        rx = self.receiver()
        try:
            socket.getaddrinfo("localhost", rx.port, socket.AF_INET)
        except OSError:
            self.skipTest("localhost does not resolve here")
        run = self.probe(rx.url_for("localhost"), "--secret", SECRETS[1])
        self.assertEqual(run.results[0]["status"], 200, run.results)
        d = rx.wait_for(1)[0]
        self.assertEqual(d.headers["host"], "localhost:%d" % rx.port)
        self.assertTrue(d.sig_ok)

    def test_50_requests_reuse_2_connections(self):
        rx = self.receiver()
        run = self.probe(rx.url, "--secret", SECRETS[0], count=50, concurrency=2)
        self.assertAllStatus(run, 200)
        ds = rx.wait_for(50)
        self.assertEqual(len(ds), 50)
        self.assertTrue(all(d.sig_ok for d in ds))
        self.assertEqual(sorted(d.json["seq"] for d in ds), list(range(50)))
        self.assertLessEqual(rx.connections, 2)
        self.assertEqual(len({d.headers["idempotency-key"] for d in ds}), 50)

    def test_concurrency_bounds_requests_in_flight(self):
        rx = self.receiver()
        rx.set_default(200, delay=0.4)
        run = self.probe(rx.url, count=6, concurrency=3)
        self.assertAllStatus(run, 200)
        ds = rx.wait_for(6)
        self.assertLessEqual(rx.connections, 3)
        # Two waves of three: the fourth arrives only after an answer to the first ones.
        times = sorted(d.time for d in ds)
        self.assertGreaterEqual(times[3] - times[0], 0.3)
        self.assertGreaterEqual(run.seconds, 0.75)

    def test_retry_after_and_error_answers(self):
        rx = self.receiver()
        rx.script([(503, {"Retry-After": "7"}, 0), (500, None, 0),
                   {"status": 429, "headers": {"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"},
                    "body": b""}])
        run = self.probe(rx.url, count=4)
        r = sorted(run.results, key=lambda x: x["seq"])
        self.assertEqual((r[0]["status"], r[0]["retry_after"]), (503, "7"))
        self.assertEqual(r[0]["error"], '{"error":"status 503"}')
        self.assertEqual((r[1]["status"], r[1]["retry_after"]), (500, None))
        self.assertEqual(r[1]["error"], '{"error":"status 500"}')
        self.assertEqual(r[2]["status"], 429)
        self.assertEqual(r[2]["retry_after"], "Wed, 21 Oct 2026 07:28:00 GMT")
        self.assertEqual(r[2]["error"], "Too Many Requests")  # no body: the reason phrase
        self.assertEqual((r[3]["status"], r[3]["error"]), (200, None))
        self.assertEqual(rx.connections, 1)  # error answers keep the connection

    def test_error_text_is_bounded_and_sanitized(self):
        rx = self.receiver()
        rx.script([{"status": 400, "body": b"bad\r\n\x00\xff" + b"x" * 100000}])
        run = self.probe(rx.url, count=2)
        r = sorted(run.results, key=lambda x: x["seq"])
        self.assertEqual(r[0]["status"], 400)
        self.assertEqual(len(r[0]["error"]), 4096)
        self.assertTrue(r[0]["error"].startswith("bad  ??xxx"), r[0]["error"][:20])
        self.assertEqual(r[1]["status"], 200)
        self.assertEqual(rx.connections, 1)  # the whole body was read: still reusable

    def test_huge_body_is_not_read_to_the_end(self):
        rx = self.receiver()
        rx.script([{"status": 200, "body": b"y" * (3 << 20)}])
        run = self.probe(rx.url, count=2)
        self.assertAllStatus(run, 200)
        self.assertEqual(rx.connections, 2)  # given up on after 1 MiB: a new connection

    def test_timeout_when_the_receiver_never_answers(self):
        rx = self.receiver()
        rx.set_default(200, delay=30)
        run = self.probe(rx.url, timeout_ms=600)
        r = run.results[0]
        self.assertEqual((r["status"], r["error"]), (0, "timeout"))
        self.assertGreaterEqual(r["elapsed_us"], 550000)
        self.assertLess(r["elapsed_us"], 3000000)
        self.assertEqual(len(rx.wait_for(1)), 1)  # it got there, it just never answered

    def test_connection_refused(self):
        port = closed_port()
        run = self.probe("http://127.0.0.1:%d/hook" % port, count=2, concurrency=2)
        for r in run.results:
            self.assertEqual(r["status"], 0)
            self.assertEqual(r["error"], "connect 127.0.0.1:%d: Connection refused" % port)
            self.assertLess(r["elapsed_us"], 2000000)

    def test_connection_close_on_every_answer(self):
        rx = self.receiver()
        rx.set_default(200, {"Connection": "close"})
        run = self.probe(rx.url, count=10, concurrency=2)
        self.assertAllStatus(run, 200)
        self.assertEqual(len(rx.wait_for(10)), 10)
        self.assertEqual(rx.connections, 10)

    def test_receiver_silently_closes_kept_alive_connections(self):
        rx = self.receiver()
        rx.set_default(200, close=True)
        run = self.probe(rx.url, count=10, concurrency=1)
        self.assertAllStatus(run, 200)
        ds = rx.wait_for(10)
        time.sleep(0.2)
        self.assertEqual(len(rx.deliveries()), 10)  # nothing sent twice
        self.assertEqual(sorted(d.json["seq"] for d in ds), list(range(10)))

    def test_receiver_closes_idle_connections(self):
        rx = self.receiver(idle_timeout=0.2)
        run = self.probe(rx.url, "--pause-ms", 500, count=3)
        self.assertAllStatus(run, 200)
        self.assertEqual(rx.connections, 3)

    def test_chunked_answers(self):
        rx = self.receiver()
        rx.script([{"status": 200, "headers": {"Transfer-Encoding": "chunked"},
                    "body": b'{"id":"lead-1","accepted":true}'},
                   {"status": 422, "headers": {"Transfer-Encoding": "chunked"},
                    "body": b'{"error":"email is required"}'}])
        run = self.probe(rx.url, count=3)
        r = sorted(run.results, key=lambda x: x["seq"])
        self.assertEqual((r[0]["status"], r[0]["error"]), (200, None))
        self.assertEqual((r[1]["status"], r[1]["error"]), (422, '{"error":"email is required"}'))
        self.assertEqual(r[2]["status"], 200)
        self.assertEqual(rx.connections, 1)

    def raw(self, answer, close=True):
        srv = RawServer(answer, close)
        self.addCleanup(srv.stop)
        return srv

    def test_closed_without_an_answer(self):
        srv = self.raw(None)
        run = self.probe(srv.url)
        self.assertEqual(run.results[0]["status"], 0)
        self.assertEqual(run.results[0]["error"],
                         "connection closed by 127.0.0.1:%d before the answer" % srv.port)
        self.assertEqual(srv.requests, 1)  # a fresh connection: not sent again

    def test_garbage_answer(self):
        srv = self.raw(b"HTTP/1.1 2xx Fine\r\n\r\n")
        r = self.probe(srv.url).results[0]
        self.assertEqual(r["status"], 0)
        self.assertTrue(r["error"].startswith("bad answer from 127.0.0.1:"), r["error"])

    def test_headers_too_large(self):
        srv = self.raw(b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"p" * 20000 + b"\r\n"
                       b"Content-Length: 0\r\n\r\n")
        r = self.probe(srv.url).results[0]
        self.assertEqual(r["status"], 0)
        self.assertIn("answer headers too large", r["error"])

    def test_interim_100_continue_is_skipped(self):
        srv = self.raw(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\n"
                       b"Retry-After: 3 \r\nContent-Length: 2\r\n\r\n{}", close=False)
        run = self.probe(srv.url, count=3)
        for r in run.results:
            self.assertEqual((r["status"], r["error"], r["retry_after"]), (201, None, "3"))
        self.assertEqual(srv.requests, 3)

    def test_body_ended_by_close(self):
        srv = self.raw(b"HTTP/1.1 500 Oops\r\n\r\nno length, ended by the close")
        r = self.probe(srv.url).results[0]
        self.assertEqual((r["status"], r["error"]), (500, "no length, ended by the close"))

    def test_free_cancels_requests_in_flight(self):
        rx = self.receiver()
        rx.set_default(200, delay=30)
        run = self.probe(rx.url, "--free-after-ms", 300, count=2, concurrency=2)
        self.assertEqual([(r["status"], r["error"]) for r in run.results],
                         [(0, "cancelled"), (0, "cancelled")])
        self.assertLess(run.seconds, 10)

    def test_ipv6_literal_url_is_accepted(self):
        self.probe("http://[::1]:9/hook", count=0)
        self.probe("https://[2001:DB8::1]/hook", count=0)


class UrlAndOptions(ClientCase):
    def refused(self, url, *args):
        run = self.probe(url, *args, count=0, expect_rc=2)
        return run.stderr

    def test_bad_urls(self):
        cases = [
            ("ftp://127.0.0.1/hook", "unsupported scheme 'ftp'"),
            ("127.0.0.1:80/hook", "not an absolute"),
            ("http://user:secret@127.0.0.1/hook", "userinfo"),
            ("http://127.0.0.1/hook#frag", "fragments"),
            ("http:///hook", "missing host"),
            ("http://:8080/hook", "missing host"),
            ("http://127.0.0.1:0/hook", "bad port"),
            ("http://127.0.0.1:65536/hook", "bad port"),
            ("http://127.0.0.1:/hook", "bad port"),
            ("http://::1/hook", "brackets"),
            ("http://[::1/hook", "without ']'"),
            ("http://[nope]/hook", "not an IPv6 address"),
            ("http://exa mple.com/hook", "space"),
            ("http://bad!host/hook", "not a valid host name"),
        ]
        for url, want in cases:
            with self.subTest(url=url):
                err = self.refused(url)
                self.assertIn(want, err)
                self.assertNotIn("secret", err)  # the URL is never echoed

    def test_bad_options(self):
        self.assertIn("set by the client", self.refused("http://127.0.0.1/", "--header",
                                                        "Content-Length:5"))
        self.assertIn("not an HTTP token", self.refused("http://127.0.0.1/", "--header",
                                                        "Bad Name:5"))
        self.assertIn("concurrency", self.refused("http://127.0.0.1/", "--concurrency", 0))
        self.assertIn("timeout_ms", self.refused("http://127.0.0.1/", "--timeout", 0))
        self.assertIn("ca_file", self.refused("https://127.0.0.1/", "--ca", "/nonexistent.pem"))


class Https(ClientCase):
    @classmethod
    def setUpClass(cls):
        if not crm.have_openssl():
            raise unittest.SkipTest("the openssl CLI is missing: cannot make test certificates")
        cls.tmp = tempfile.mkdtemp(prefix="le-client-")
        cls.certs = crm.make_certs(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def tls_receiver(self, which="", **kw):
        c = self.certs
        return self.receiver(tls=(c[which + "cert"], c[which + "key"]), **kw)

    def test_https_with_the_ca_reuses_one_connection(self):
        rx = self.tls_receiver()
        run = self.probe(rx.url, "--ca", self.certs["ca"], "--secret", SECRETS[0], count=20)
        self.assertAllStatus(run, 200)
        ds = rx.wait_for(20)
        self.assertTrue(all(d.sig_ok for d in ds))
        self.assertEqual(rx.connections, 1)

    def test_https_by_name(self):
        rx = self.tls_receiver()
        try:
            socket.getaddrinfo("localhost", rx.port, socket.AF_INET)
        except OSError:
            self.skipTest("localhost does not resolve here")
        run = self.probe(rx.url_for("localhost"), "--ca", self.certs["ca"], count=2)
        self.assertAllStatus(run, 200)

    def test_system_bundle_does_not_trust_the_test_ca(self):
        rx = self.tls_receiver()
        run = self.probe(rx.url)
        r = run.results[0]
        self.assertEqual(r["status"], 0)
        self.assertRegex(r["error"], r"^TLS handshake with 127\.0\.0\.1:\d+: certificate verify "
                                     r"failed: ")
        self.assertNothingDelivered(rx)

    def test_wrong_ca(self):
        rx = self.tls_receiver()
        run = self.probe(rx.url, "--ca", self.certs["wrong_ca"])
        self.assertEqual(run.results[0]["status"], 0)
        self.assertIn("certificate verify failed", run.results[0]["error"])
        self.assertNothingDelivered(rx)

    def test_hostname_mismatch(self):
        rx = self.tls_receiver("other_")  # a certificate for other.invalid only
        try:
            socket.getaddrinfo("localhost", rx.port, socket.AF_INET)
            run = self.probe(rx.url_for("localhost"), "--ca", self.certs["ca"])
            self.assertEqual(run.results[0]["status"], 0)
            self.assertIn("certificate verify failed: hostname mismatch",
                          run.results[0]["error"])
        except OSError:
            pass  # localhost does not resolve: the IP case below still runs
        run = self.probe(rx.url, "--ca", self.certs["ca"])
        self.assertEqual(run.results[0]["status"], 0)
        self.assertIn("certificate verify failed: IP address mismatch", run.results[0]["error"])
        self.assertNothingDelivered(rx)

    def test_https_to_a_plain_http_receiver(self):
        rx = self.receiver()
        run = self.probe(rx.url.replace("http:", "https:"), "--ca", self.certs["ca"])
        r = run.results[0]
        self.assertEqual(r["status"], 0)
        self.assertTrue(r["error"].startswith("TLS handshake with "), r["error"])

    def test_connection_close_on_every_answer(self):
        rx = self.tls_receiver()
        rx.set_default(200, {"Connection": "close"})
        run = self.probe(rx.url, "--ca", self.certs["ca"], count=8, concurrency=2)
        self.assertAllStatus(run, 200)
        self.assertEqual(len(rx.wait_for(8)), 8)
        self.assertEqual(rx.connections, 8)

    def test_receiver_silently_closes_kept_alive_connections(self):
        rx = self.tls_receiver()
        rx.set_default(200, close=True)
        run = self.probe(rx.url, "--ca", self.certs["ca"], count=8, concurrency=1)
        self.assertAllStatus(run, 200)
        rx.wait_for(8)
        time.sleep(0.2)
        self.assertEqual(len(rx.deliveries()), 8)

    def test_receiver_closes_idle_connections(self):
        rx = self.tls_receiver(idle_timeout=0.2)
        run = self.probe(rx.url, "--ca", self.certs["ca"], "--pause-ms", 500, count=3)
        self.assertAllStatus(run, 200)
        self.assertEqual(rx.connections, 3)

    def test_timeout(self):
        rx = self.tls_receiver()
        rx.set_default(200, delay=30)
        run = self.probe(rx.url, "--ca", self.certs["ca"], timeout_ms=600)
        r = run.results[0]
        self.assertEqual((r["status"], r["error"]), (0, "timeout"))
        self.assertLess(r["elapsed_us"], 3000000)


if __name__ == "__main__":
    unittest.main()
