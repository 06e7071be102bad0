#!/usr/bin/env python3
"""make_corpus.py: the hostile-request corpus, as data and as files.

CASES is the list the corpus test (test_corpus.py) replays; running this
script writes each case to corpus/NNN-name.http (the raw bytes sent on a
fresh connection), which also seeds the HTTP fuzzer. The files are committed;
test_corpus.py fails when they drift from this script, so edit here and run

    python3 tests/integration/make_corpus.py

Naming: a case whose name ends in "-ok" is legitimately acceptable and must
be answered with exactly `statuses` and store exactly `stored` events. Every
other case must be refused (4xx, never 2xx/3xx/5xx) or closed, and must store
nothing. `status` (optional) pins the refusal status where the docs define it.
`close_after`: every response must say Connection: close (and nothing after
the listed statuses may be answered).
`forbid` lists bytes that must not appear in any response head. `bug` marks a
case the server currently gets wrong (the test is an expected failure and the
text says why); `fixed` records a bug this case once caught; `note` a deliberate decision.

The replaying server runs with the config in CORPUS_CONFIG.
"""

import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS_DIR = os.path.join(HERE, "corpus")

ALLOWED_ORIGIN = "https://www.example.com"
CORPUS_CONFIG = {
    "server.timeouts": {"header": "2s", "body": "2s"},
    "tracking.allowed_origins": [ALLOWED_ORIGIN],
    "forms.redirect_allowlist": [ALLOWED_ORIGIN],
}

CRLF = b"\r\n"
J = b"Content-Type: application/json\r\n"
T = b"Content-Type: text/plain\r\n"
U = b"Content-Type: application/x-www-form-urlencoded\r\n"
EV = b'{"e":"pv","url":"https://corpus.test/x"}'


def req(head, body=b"", cl=None):
    """head: request line and header lines (each ending CRLF) without the
    final blank line. cl: add a Content-Length (True: the body's length)."""
    if cl is True:
        head += b"Content-Length: %d\r\n" % len(body)
    elif cl is not None:
        head += b"Content-Length: " + cl + CRLF
    return head + CRLF + body


def chunked(body, size=None):
    """body as one chunk and the last chunk; size: a forced chunk-size line."""
    if size is None:
        size = b"%x" % len(body)
    return size + CRLF + body + CRLF + b"0\r\n\r\n"


def post_e(extra=b"", body=EV, cl=True, ctype=J):
    return req(b"POST /e HTTP/1.1\r\nHost: x\r\n" + ctype + extra, body, cl)


def get(target, extra=b"", version=b"HTTP/1.1"):
    return b"GET " + target + b" " + version + b"\r\nHost: x\r\n" + extra + CRLF


def form(body, extra=b""):
    return req(b"POST /f HTTP/1.1\r\nHost: x\r\n" + U + b"Accept: text/html\r\n" + extra, body, True)


def mp(boundary, body):
    return req(b"POST /f HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=" + boundary
               + b"\r\n", body, True)


SMUGGLED = b"GET /p.gif?e=pv&url=https%3A%2F%2Fsmuggled.test%2F HTTP/1.1\r\nHost: x\r\n\r\n"
PIX = b"/p.gif?e=pv&url=https%3A%2F%2Fcorpus.test%2F"


def case(name, raw, **kw):
    d = {"name": name, "raw": raw}
    d.update(kw)
    if name.endswith("-ok"):
        d.setdefault("statuses", [200])
        d.setdefault("stored", 1)
    return d


def _garbage():
    rnd = random.Random(20261126)
    return bytes(rnd.randrange(256) for _ in range(512))


TLS_HELLO = bytes.fromhex(
    "16030100a5010000a10303" + "00" * 32 + "000020c02bc02fc02cc030cca9cca8c009c013c00ac014"
    "009c009d002f0035c012000a0100005800000014001200000f7777772e6578616d706c652e636f6d")

CASES = [
    # ---- message framing and smuggling shapes
    case("cl-te-both", post_e(b"Transfer-Encoding: chunked\r\n", b"0\r\n\r\n", cl=b"5"), status=400),
    case("cl-duplicate-equal", post_e(b"Content-Length: %d\r\n" % len(EV)), status=400),
    case("cl-duplicate-different", post_e(b"Content-Length: 5\r\n"), status=400),
    case("cl-negative", post_e(cl=b"-1"), status=400),
    case("cl-plus-sign", post_e(cl=b"+%d" % len(EV)), status=400),
    case("cl-inner-space", post_e(cl=b"4 0"), status=400),
    case("cl-hex", post_e(cl=b"0x28"), status=400),
    case("cl-overflow", post_e(cl=b"184467440737095516160")),
    case("cl-trailing-space-ok", post_e(cl=b"%d " % len(EV)), statuses=[204],
         note="OWS after a field value is not part of it (RFC 9110 5.5)"),
    case("te-chunked-identity", post_e(b"Transfer-Encoding: chunked, identity\r\n", chunked(EV), cl=None),
         status=400),
    case("te-identity", post_e(b"Transfer-Encoding: identity\r\n", EV, cl=None), status=400),
    case("te-xchunked", post_e(b"Transfer-Encoding: xchunked\r\n", chunked(EV), cl=None), status=400),
    case("te-two-headers-chunked-first", post_e(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n",
                                                chunked(EV), cl=None), status=400),
    case("te-trailing-space-ok", post_e(b"Transfer-Encoding: chunked \r\n", chunked(EV), cl=None),
         statuses=[204]),
    case("te-uppercase-ok", post_e(b"Transfer-Encoding: CHUNKED\r\n", chunked(EV), cl=None), statuses=[204]),
    case("te-tab-ows-ok", post_e(b"Transfer-Encoding:\tchunked\r\n", chunked(EV), cl=None), statuses=[204]),
    case("te-space-before-colon", post_e(b"Transfer-Encoding : chunked\r\n", chunked(EV), cl=None),
         status=400,
         fixed="server/http.c accepts whitespace between a header name and its colon (RFC 9112 5.1: a "
             "server MUST reject it with 400). http-parser (non-strict build) still honours "
             "'Transfer-Encoding :' as chunked and 'Content-Length :' as a length, while a front "
             "proxy may ignore such a header: a request-smuggling shape. Fix: in on_header_field "
             "refuse (400, malformed) any byte that is not an RFC 9110 tchar."),
    case("te-http10-ok", req(b"POST /e HTTP/1.0\r\nHost: x\r\n" + J + b"Transfer-Encoding: chunked\r\n",
                             chunked(EV)) + b"GET /healthz HTTP/1.0\r\n\r\n",
         statuses=[204], close_after=True,
         note="RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing: close "
              "after processing it (the pipelined GET behind it must not be served)"),
    case("te-http10-keepalive-ok", req(b"POST /e HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n" + J
                                       + b"Transfer-Encoding: chunked\r\n", chunked(EV))
         + b"GET /healthz HTTP/1.0\r\n\r\n",
         statuses=[204], close_after=True,
         fixed="RFC 9112 6.1: a server that receives an HTTP/1.0 message with Transfer-Encoding MUST "
             "treat the framing as faulty and close the connection after processing it. "
             "server/http.c keeps an HTTP/1.0 keep-alive connection open after such a request "
             "(response 'Connection: keep-alive') and serves the next request on it. Fix: in "
             "on_headers_complete, when http_major/minor is 1.0 and F_CHUNKED (or any "
             "Transfer-Encoding) is set, mark the request close (or refuse it with 400; then "
             "change this case's statuses to [400])."),
    case("chunk-size-overflow", post_e(b"Transfer-Encoding: chunked\r\n", b"ffffffffffffffffff\r\n" + EV,
                                       cl=None), status=400),
    case("chunk-size-invalid", post_e(b"Transfer-Encoding: chunked\r\n", chunked(EV, b"zz"), cl=None),
         status=400),
    case("chunk-size-negative", post_e(b"Transfer-Encoding: chunked\r\n", chunked(EV, b"-1"), cl=None),
         status=400),
    case("chunk-lines-bare-lf", post_e(b"Transfer-Encoding: chunked\r\n",
                                       b"%x\n" % len(EV) + EV + b"\n0\n\n", cl=None), status=400),
    case("chunked-over-body-limit", post_e(b"Transfer-Encoding: chunked\r\n",
                                           (b"4000\r\n" + b" " * 0x4000 + CRLF) * 5 + b"0\r\n\r\n",
                                           cl=None), status=413),
    case("chunk-missing-terminator", post_e(b"Transfer-Encoding: chunked\r\n",
                                            b"%x\r\n" % len(EV) + EV + CRLF, cl=None)),
    case("smuggle-request-in-body", post_e(body=SMUGGLED, ctype=T), status=400),
    case("smuggle-te-cl", post_e(b"Transfer-Encoding: chunked\r\n", b"0\r\n\r\n" + SMUGGLED, cl=b"4"),
         status=400),
    case("smuggle-cl0-then-chunk", post_e(body=b"", ctype=T) + b"0\r\n\r\n" + SMUGGLED),
    case("smuggle-te-leading-space-line", req(b"POST /e HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: x\r\n" + T,
                                              b"0\r\n\r\n" + SMUGGLED, True),
         note="a whitespace-led first header line is taken as an unknown header named "
              "' Transfer-Encoding' and ignored (RFC 9112 2.2 allows ignoring it); Content-Length rules"),
    case("cl-short-then-eof", post_e(body=EV[:10], cl=b"%d" % len(EV))),
    case("body-over-limit-cl", post_e(body=b"", cl=b"100000"), status=413),
    case("expect-100-oversize", post_e(b"Expect: 100-continue\r\n", b"", cl=b"1000000"), status=413,
         forbid=[b"100 Continue"]),
    case("expect-unknown", post_e(b"Expect: 200-ok\r\n"), status=417),

    # ---- request line
    case("bare-cr-request-line", b"GET " + PIX + b" HTTP/1.1\rHost: x\r\n\r\n", status=400),
    case("bare-lf-everywhere-ok", b"GET " + PIX + b"bare-lf HTTP/1.1\nHost: x\n\n",
         note="RFC 9112 2.2: a recipient MAY recognise a single LF as a line terminator"),
    case("lf-inside-request-line", b"GET " + PIX + b"\n HTTP/1.1\r\nHost: x\r\n\r\n", status=400),
    case("request-line-overlong", get(b"/p.gif?e=pv&url=" + b"a" * 9000), status=414),
    case("pixel-10k-params", get(b"/p.gif?" + b"a=1&" * 10000), status=414),
    case("absolute-form", get(b"http://leadedge.test" + PIX), status=400),
    case("connect", b"CONNECT leadedge.test:443 HTTP/1.1\r\nHost: leadedge.test:443\r\n\r\n", status=400),
    case("method-unknown", b"FOO " + PIX + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
    case("method-lowercase", b"get " + PIX + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
    case("method-overlong", b"GET" * 3000 + b" " + PIX + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
    case("http2-preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    case("http09-style", b"GET " + PIX + b"\r\n"),
    case("http09-with-blank-line-ok", b"GET " + PIX + b"http09\r\n\r\n",
         note="http-parser reads a request line without a version as HTTP/0.9; it is answered "
              "(HTTP/1.1 status line, Connection: close). Lenient but harmless."),
    case("http-version-1-10", get(PIX, version=b"HTTP/1.10"), status=400),
    case("http-version-9-9-ok", get(PIX + b"v99", version=b"HTTP/9.9"),
         note="lenient: RFC 9110 suggests 505 for an unsupported major version"),
    case("options-asterisk", b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n", status=400),
    case("path-traversal", get(b"/../p.gif?e=pv"), status=404),
    case("path-traversal-encoded", get(b"/%2e%2e/p.gif?e=pv"), status=404),
    case("path-encoded-dot", get(b"/p%2egif?e=pv"), status=404),
    case("space-in-target", get(PIX + b"a b"), status=400),
    case("nul-in-target", get(PIX + b"a\x00b")),
    case("empty-request", b"\r\n\r\n"),
    case("spaces-only", b"   \r\n\r\n"),
    case("leading-crlf-ok", b"\r\n" + get(PIX + b"leading-crlf"),
         note="RFC 9112 2.2: a server SHOULD ignore at least one empty line before the request line"),
    case("tls-client-hello", TLS_HELLO),
    case("binary-garbage", _garbage()),

    # ---- header fields
    case("nul-in-header-name", get(PIX, b"X-A\x00b: c\r\n"), status=400),
    case("nul-in-header-value", get(PIX, b"X-A: b\x00c\r\n"), status=400),
    case("bare-cr-in-header", get(PIX, b"X-A: b\rX-B: c\r\n"), status=400),
    case("ctl-in-header-value", get(PIX, b"User-Agent: a\x01b\r\n"), status=400),
    case("del-in-header-value", get(PIX, b"User-Agent: a\x7fb\r\n"), status=400),
    case("obs-fold", get(PIX, b"User-Agent: a\r\n folded\r\n"), status=400,
         fixed="docs/tracking-api.md and the comment in server/http.c on_headers_complete say obs-fold "
             "is refused with 400, but http-parser unfolds it before the callbacks see it (the value "
             "arrives as 'a folded', no CR/LF left for the check), so the request is served (200, "
             "event stored). Either refuse it (detect a header line starting with SP/HTAB in the "
             "raw bytes) or change the docs to say folds are replaced by a space (RFC 9112 5.2 "
             "allows both)."),
    case("header-without-colon", get(PIX, b"X-No-Colon\r\n"), status=400),
    case("space-before-colon", get(PIX + b"sp-colon", b"User-Agent : evil\r\n"), status=400,
         fixed="RFC 9112 5.1: whitespace between a field name and the colon MUST be answered 400; "
             "server/http.c accepts it (http-parser non-strict passes 'User-Agent ' as a name). "
             "See te-space-before-colon for the smuggling consequence."),
    case("header-name-invalid-char", get(PIX, b"X(A): b\r\n"), status=400),
    case("header-empty-name", get(PIX, b": value\r\n"), status=400),
    case("leading-whitespace-first-header", b"GET " + PIX + b"ws-first HTTP/1.1\r\n X-Ignored: 1\r\nHost: x\r\n\r\n",
         status=400, note="RFC 9112 2.2 lets a server reject whitespace before the first field; we do"),
    case("header-value-overlong", get(PIX, b"X-Big: " + b"v" * 20000 + CRLF), status=431),
    case("header-name-overlong", get(PIX, b"X-" + b"n" * 20000 + b": v\r\n"), status=431),
    case("headers-1000", get(PIX, b"X-A: 1\r\n" * 1000), status=431),
    case("huge-cookie", get(PIX, b"Cookie: le_vid=" + b"a" * 100000 + CRLF), status=431),
    case("no-host-ok", b"GET " + PIX + b"no-host HTTP/1.1\r\n\r\n",
         note="DECISION: accepted. RFC 9112 3.2 says a server MUST answer 400 to an HTTP/1.1 "
              "request without Host; leadedge serves one fixed set of paths and never uses Host, "
              "so it does not enforce it."),
    case("host-duplicate-ok", get(PIX + b"two-hosts", b"Host: y\r\n"),
         note="DECISION: accepted, as no-host-ok (RFC 9112 3.2 would want 400)"),
    case("upgrade-websocket-ok", get(PIX + b"upgrade", b"Upgrade: websocket\r\nConnection: Upgrade\r\n"),
         note="answered as plain HTTP/1.1, then the connection is closed (no protocol switch)"),
    case("incomplete-headers-then-eof", b"GET " + PIX + b" HTTP/1.1\r\nHost: x\r\nX-A: "),
    case("cookie-script-never-echoed-ok", get(PIX + b"cookie-script&consent=1", b"Cookie: le_vid=<script>\r\n"),
         forbid=[b"<script>", b"script"]),

    # ---- parameters and bodies
    case("pixel-bad-percent-ok", get(b"/p.gif?e=pv&url=%zz"), stored=0),
    case("pixel-utf8-overlong-ok", get(b"/p.gif?e=pv&url=%C0%AF"), stored=0),
    case("pixel-utf8-surrogate-ok", get(b"/p.gif?e=pv&url=%ED%A0%80"), stored=0),
    case("pixel-utf8-ff-ok", get(b"/p.gif?e=pv&url=%FF"), stored=0),
    case("pixel-raw-high-bytes-ok", get(b"/p.gif?e=pv&url=\xff\xfe"), stored=0),
    case("pixel-nul-param-ok", get(b"/p.gif?e=pv&url=a%00b"), stored=0),
    case("pixel-crlf-param-ok", get(b"/p.gif?e=pv&url=a%0d%0aSet-Cookie:%20pwned=1"), stored=0,
         forbid=[b"pwned"]),
    case("pixel-missing-e-ok", get(b"/p.gif?url=https%3A%2F%2Fcorpus.test%2F"), stored=0),
    case("form-10k-params", form(b"a=1&" * 10000), status=413),
    case("form-bad-percent", form(b"email=%zz"), status=400),
    case("form-invalid-utf8", form(b"email=%C0%AF"), status=400),
    case("form-next-crlf-injection-ok",
         form(b"email=a%40b.test&_next=https%3A%2F%2Fwww.example.com%2F%0d%0aSet-Cookie%3A%20pwned%3D1"),
         forbid=[b"pwned", b"Location"]),
    case("form-next-javascript-ok", form(b"email=a%40b.test&_next=javascript%3Aalert(1)"),
         forbid=[b"Location", b"javascript"]),
    case("form-next-other-host-ok", form(b"email=a%40b.test&_next=https%3A%2F%2Fevil.test%2F"),
         forbid=[b"Location", b"evil"]),
    case("form-next-userinfo-ok", form(b"email=a%40b.test&_next=https%3A%2F%2Fwww.example.com%40evil.test%2F"),
         forbid=[b"Location", b"evil"]),
    case("form-next-suffix-host-ok", form(b"email=a%40b.test&_next=https%3A%2F%2Fwww.example.com.evil.test%2F"),
         forbid=[b"Location", b"evil"]),
    case("form-next-allowed-ok", form(b"email=a%40b.test&_next=https%3A%2F%2Fwww.example.com%2Fthanks"),
         statuses=[303], forbid=[b"evil"]),
    case("multipart-missing-boundary", req(b"POST /f HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data\r\n",
                                           b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--\r\n",
                                           True), status=400),
    case("multipart-huge-boundary", mp(b"b" * 200, b"--" + b"b" * 200 + b"\r\nContent-Disposition: form-data; "
                                       b"name=\"a\"\r\n\r\n1\r\n--" + b"b" * 200 + b"--\r\n"), status=400),
    case("multipart-no-closing-delimiter", mp(b"xyz", b"--xyz\r\nContent-Disposition: form-data; name=\"a\""
                                              b"\r\n\r\n1\r\n"), status=400),
    case("multipart-part-without-disposition", mp(b"xyz", b"--xyz\r\nX-Foo: bar\r\n\r\n1\r\n--xyz--\r\n"),
         status=400),
    case("json-deep-nesting", post_e(body=b"[" * 10000 + b"]" * 10000), status=400),
    case("json-object-deep-nesting", post_e(body=b'{"a":' * 5000 + b"1" + b"}" * 5000), status=400),
    case("json-nul-escape", post_e(body=b'{"e":"pv","url":"a\\u0000b"}'), status=400),
    case("json-invalid-utf8", post_e(body=b'{"e":"pv","url":"\xc0\xaf"}'), status=400),
    case("json-lone-surrogate-escape", post_e(body=b'{"e":"pv","url":"\\ud800"}'), status=400),
    case("json-duplicate-keys", post_e(body=b'{"e":"pv","e":"signup"}'), status=400),
    case("json-form-nested", req(b"POST /f HTTP/1.1\r\nHost: x\r\n" + J, b'{"a":{"b":1}}', True), status=400),
    case("beacon-batch-over-max", post_e(body=b"[" + b",".join([EV] * 51) + b"]"), status=413),
    case("beacon-wrong-content-type", post_e(ctype=b"Content-Type: application/xml\r\n"), status=415),
    case("beacon-evil-origin", post_e(b"Origin: https://evil.test\r\n"), status=403),
    case("preflight-evil-origin", b"OPTIONS /e HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.test\r\n"
                                  b"Access-Control-Request-Method: POST\r\n\r\n", status=403),
    case("pipelined-good-then-malformed-ok", get(PIX + b"pipelined") + get(PIX, b"X-No-Colon\r\n")
         + get(PIX + b"never"), statuses=[200, 400]),
    case("pipelined-good-then-garbage-ok", get(PIX + b"pipelined2") + b"\x16\x03\x01garbage\r\n\r\n",
         statuses=[200, 400], note="a bad method byte is answered 400 and the connection closed"),
]


def filename(i, c):
    return "%03d-%s.http" % (i + 1, c["name"])


def files():
    return {filename(i, c): c["raw"] for i, c in enumerate(CASES)}


def check_names():
    names = [c["name"] for c in CASES]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise SystemExit("duplicate case names: %s" % sorted(dup))


def main():
    check_names()
    os.makedirs(CORPUS_DIR, exist_ok=True)
    want = files()
    for f in os.listdir(CORPUS_DIR):
        # Only files this script names (NNN-name.http); others (fuzzer finds) stay.
        if re.match(r"^\d{3}-[a-z0-9-]+\.http$", f) and f not in want:
            os.remove(os.path.join(CORPUS_DIR, f))
    for f, raw in want.items():
        with open(os.path.join(CORPUS_DIR, f), "wb") as fh:
            fh.write(raw)
    print("wrote %d files to %s" % (len(want), CORPUS_DIR))


if __name__ == "__main__":
    sys.exit(main())
