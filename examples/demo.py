#!/usr/bin/env python3
"""demo.py: the demo site and the demo CRM receiver that `make run` starts beside leadedge.

Python 3 standard library only. One process, two HTTP servers, loopback only:

* the demo SITE (--site, default 127.0.0.1:8081): "Acme Analytics", the pages in
  examples/site/ under pretty paths (/, /product, /pricing, /careers, /demo, /thanks) and its
  assets. In HTML, {{LEADEDGE}} becomes leadedge's address (--endpoint). POST /demo-request
  is the site's own form backend: it logs the request and answers 303 to /thanks.
* the demo CRM RECEIVER (--crm, default 127.0.0.1:9100, path /mql; --no-crm: off): takes
  leadedge's MQL webhooks, checks their signature (--secret, as in config/leadedge.yaml's
  demo-crm endpoint; docs/webhooks.md) and prints each MQL.

    python3 examples/demo.py [--site H:P] [--endpoint URL] [--crm H:P | --no-crm]
                             [--secret S]... [--quiet]

Ctrl-C or SIGTERM stops it. A port in use: a message and exit status 1.
"""

import argparse
import hashlib
import hmac
import http.server
import ipaddress
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.parse

SITE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "site")
PAGES = {
    "/": "index.html",
    "/product": "product.html",
    "/pricing": "pricing.html",
    "/careers": "careers.html",
    "/demo": "demo.html",
    "/thanks": "thanks.html",
}
ASSETS = {
    "/style.css": ("style.css", "text/css; charset=utf-8"),
    "/consent.js": ("consent.js", "text/javascript; charset=utf-8"),
    "/whitepaper.pdf": ("whitepaper.pdf", "application/pdf"),
}
PLACEHOLDER = b"{{LEADEDGE}}"
FORM_PATH = "/demo-request"
FORM_MAX = 64 * 1024  # bytes of a demo-request body; more gets 413
CRM_PATH = "/mql"
CRM_MAX = 1024 * 1024  # bytes of a webhook body; more gets 413
SIG_TOLERANCE_S = 300  # how far a signature's t may be from this clock
DEFAULT_SECRET = "whsec_demo_change_me_0123456789"  # config/leadedge.yaml, endpoint demo-crm

_out = threading.Lock()
_quiet = False


def say(text, always=False):
    """Print text (lines) at once; --quiet keeps only what is printed with always=True."""
    if _quiet and not always:
        return
    with _out:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        sys.stdout.flush()


def printable(s, limit=200):
    """s without control characters, at most limit characters: safe to print."""
    s = "".join(ch if ch.isprintable() else "?" for ch in str(s))
    return s if len(s) <= limit else s[:limit] + "..."


class Handler(http.server.BaseHTTPRequestHandler):
    """Common parts: HTTP/1.1 keep-alive, every answer with Content-Length, quiet access log."""

    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # the servers print their own lines
        pass

    def reply(self, status, body=b"", ctype="text/plain; charset=utf-8", headers=None,
              head=False):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def read_body(self, limit):
        """The request body, or None after answering 411/413 (the connection is then closed)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self.reply(411, "Content-Length required\n")
            return None
        try:
            n = int(self.headers.get("Content-Length", ""))
        except ValueError:
            n = -1
        if n < 0:
            self.close_connection = True
            self.reply(411, "Content-Length required\n")
            return None
        if n > limit:
            self.close_connection = True
            self.reply(413, "body too large (at most %d bytes)\n" % limit)
            return None
        return self.rfile.read(n)


# ---- the demo site --------------------------------------------------------------------------


class SiteHandler(Handler):
    server_version = "acme-demo-site/1"
    endpoint = b"http://127.0.0.1:8080"

    def do_GET(self, head=False):
        path = urllib.parse.urlsplit(self.path).path
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        if path in PAGES:
            body = self.file(PAGES[path])
            if body is not None:
                body = body.replace(PLACEHOLDER, self.endpoint)
                say("site: GET %s" % path)
                self.reply(200, body, "text/html; charset=utf-8", head=head)
            return
        if path in ASSETS:
            name, ctype = ASSETS[path]
            body = self.file(name)
            if body is not None:
                self.reply(200, body, ctype, head=head)
            return
        self.reply(404, "not found\n", head=head)

    def do_HEAD(self):
        self.do_GET(head=True)

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        if path != FORM_PATH:
            if path in PAGES or path in ASSETS:
                self.close_connection = True  # the body is not read
                self.reply(405, "method not allowed\n", headers={"Allow": "GET, HEAD"})
            else:
                self.close_connection = True
                self.reply(404, "not found\n")
            return
        body = self.read_body(FORM_MAX)
        if body is None:
            return
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        email = (form.get("email") or [""])[0].strip() or "(no e-mail)"
        say("site: demo request from %s" % printable(email, 254), always=True)
        self.reply(303, "see /thanks\n", headers={"Location": "/thanks"})

    def file(self, name):
        try:
            with open(os.path.join(SITE_DIR, name), "rb") as f:
                return f.read()
        except OSError as e:
            say("site: cannot read %s: %s" % (name, e.strerror), always=True)
            self.reply(500, "cannot read %s\n" % name)
            return None


# ---- the demo CRM receiver ------------------------------------------------------------------


def verify(header, body, secrets, now=None):
    """None when header ("t=<unix>,v1=<hex>[,v1=...]") signs body with one of secrets, else
    why not. The signed bytes are "<t>.<body>", HMAC-SHA256, lowercase hex (docs/webhooks.md)."""
    if not header:
        return "no Leadedge-Signature header"
    t, sigs = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            if t is not None or not value.isdigit():
                return "a malformed signature header"
            t = int(value)
        elif key == "v1":
            sigs.append(value)
    if t is None or not sigs:
        return "a malformed signature header"
    skew = (time.time() if now is None else now) - t
    if abs(skew) > SIG_TOLERANCE_S:
        return "a signature %d s away from this clock" % skew
    signed = b"%d." % t + body
    for secret in secrets:
        want = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        if any(hmac.compare_digest(want, s) for s in sigs):
            return None
    return "a signature that no --secret makes"


def clock(ts):
    """"2026-11-18T11:06:40.123Z" -> "11:06:40"; anything else as it is."""
    if isinstance(ts, str) and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", ts):
        return ts[11:19]
    return printable(ts) if ts is not None else "?"


def join(*parts, sep=", "):
    return sep.join(printable(p) for p in parts if p not in (None, "", []))


def describe(p, attempt, key):
    """The payload p (docs/payload.md) as a readable block of lines."""
    def obj(v):
        return v if isinstance(v, dict) else {}

    lead, comp, sc, route = (obj(p.get(k)) for k in ("lead", "company", "scores", "route"))
    geo, vis, acct = obj(comp.get("geo")), obj(p.get("visitor")), obj(p.get("account"))
    kind = printable(p.get("type")).upper() if p.get("type") else "A webhook"
    title = "%s received by the demo CRM" % kind
    if p.get("escalated"):
        title += " (ESCALATION: not accepted within the SLA)"
    bar = "=" * 78
    if not isinstance(p.get("lead"), dict) and not isinstance(p.get("scores"), dict):
        # not the canonical payload (an endpoint's field_map reshaped it): show it whole
        whole = [printable(line, 300) for line in
                 json.dumps(p, indent=2, ensure_ascii=False).splitlines()[:200]]
        tail = "  (delivery %s, attempt %s, signature ok)" % (printable(key), printable(attempt))
        return "\n".join(["", bar, "  %s (reshaped by a field_map)" % title, bar] + whole +
                         [tail, bar, ""])
    rows = []

    def row(label, value):
        if value not in (None, "", []):
            rows.append("  %-10s %s" % (label, value))

    name = join(lead.get("first_name"), lead.get("last_name"), sep=" ")
    email = lead.get("email")
    row("lead", join(name, ("<%s>" if name else "%s") % printable(email) if email else None,
                     sep=" ") or
        "(anonymous visitor %s)" % printable(lead.get("id")))
    row("job title", join(lead.get("job_title"),
                          "role: %s" % lead.get("role") if lead.get("role") else None))
    size = lead.get("company_size")
    row("company", join(lead.get("company"),
                        "%s+ employees" % size if isinstance(size, int) else None))
    row("e-mail", join("%s domain" % lead.get("email_domain") if lead.get("email_domain") else None,
                       "quality: %s" % join(*lead.get("quality") or []) if lead.get("quality")
                       else None))
    row("phone", lead.get("phone"))
    # What leadedge found from the IP address. company.name is the form's company unless the
    # network names one (business, government, education networks); domain is the IP's only.
    network = comp.get("network") if comp.get("network") != "unknown" else None
    named = comp.get("domain") or network in ("business", "government", "education")
    ip_company = comp.get("name") if named else None
    place = join(geo.get("city"), geo.get("region"), geo.get("country"), geo.get("continent"))
    if ip_company or network or geo.get("city") or geo.get("region"):
        row("from IP", join(ip_company, comp.get("domain"),
                            "network: %s" % network if network else None,
                            place))
    else:
        row("from IP", "nothing (a loopback address, or no enrich.databases)")
    devices = vis.get("devices")
    row("browser", join(vis.get("browser"), vis.get("os"), vis.get("device_class"),
                        vis.get("language"),
                        "%s devices" % devices if isinstance(devices, int) and devices > 1
                        else None))
    beh = sc.get("behaviour")
    row("scores", join(
        "behaviour %.1f" % beh if isinstance(beh, (int, float)) else None,
        "band %s" % sc.get("band") if sc.get("band") is not None else None,
        "fit %s" % sc.get("fit") if sc.get("fit") is not None else None,
        "grade %s" % sc.get("grade") if sc.get("grade") else None,
        "cell %s" % sc.get("cell") if sc.get("cell") else None))
    for r in sc.get("rules") or []:
        if isinstance(r, dict):
            pts = r.get("points")
            pts = "%+g" % pts if isinstance(pts, (int, float)) else "?"
            row("  rule", "%-6s %s (%s)" % (pts, printable(r.get("name")),
                                            printable(r.get("kind"))))
    row("route", join(route.get("name"),
                      "team %s" % route.get("team") if route.get("team") else None,
                      "owner %s" % route.get("owner") if route.get("owner") else None,
                      "queue %s" % route.get("queue") if route.get("queue") else None))
    if acct:
        row("account", join(acct.get("name") or acct.get("key"),
                            "%s members" % acct.get("members"),
                            "MQA" if acct.get("mqa") else None))
    row("decided", join(clock(p.get("created_at")) + " UTC" if p.get("created_at") else None,
                        "accept by %s UTC" % clock(p.get("sla_due_at")) if p.get("sla_due_at")
                        else None))
    journey = [j for j in p.get("journey") or [] if isinstance(j, dict)]
    for i, j in enumerate(journey):
        row("journey" if i == 0 else "", "%s  %s" % (clock(j.get("at")), printable(j.get("url"))))
    if not journey:
        row("journey", "(no page views)")
    row("delivery", join("id %s" % printable(key), "attempt %s" % printable(attempt),
                         "signature ok"))
    return "\n".join(["", bar, "  " + title, bar] + rows + [bar, ""])


class CrmHandler(Handler):
    server_version = "demo-crm/1"
    secrets = [DEFAULT_SECRET]
    seen = set()
    seen_lock = threading.Lock()

    def do_POST(self):
        path = urllib.parse.urlsplit(self.path).path
        if path != CRM_PATH:
            self.close_connection = True
            self.reply(404, '{"error":"not found"}', "application/json")
            return
        body = self.read_body(CRM_MAX)
        if body is None:
            say("crm: WARNING: refused a delivery: no length, or too large", always=True)
            return
        why = verify(self.headers.get("Leadedge-Signature"), body, self.secrets)
        if why:
            say("crm: WARNING: refused a delivery with %s (401): check that --secret is the "
                "endpoint's secret in the config" % why, always=True)
            self.reply(401, '{"error":"bad signature"}', "application/json")
            return
        try:
            payload = json.loads(body)
            if not isinstance(payload, dict):
                raise ValueError("not a JSON object")
        except ValueError as e:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
            say("crm: WARNING: refused a delivery that is not a JSON object (400): %s" %
                printable(e), always=True)
            self.reply(400, '{"error":"expected a JSON object"}', "application/json")
            return
        key = self.headers.get("Idempotency-Key") or str(payload.get("id"))
        with self.seen_lock:
            dup = key in self.seen
            self.seen.add(key)
        self.reply(200, '{"ok":true}', "application/json")
        attempt = self.headers.get("Leadedge-Attempt", "?")
        if dup:
            say("crm: %s delivered again (attempt %s): already shown, ignored" %
                (printable(key), printable(attempt)), always=True)
        else:
            try:
                text = describe(payload, attempt, key)
            except Exception as e:  # a payload of another shape: show it as it came
                text = "crm: MQL %s (%s: %s): %s" % (printable(key), type(e).__name__, e,
                                                   printable(body.decode("utf-8", "replace"),
                                                             4000))
            say(text, always=True)

    def do_GET(self):
        self.reply(405, '{"error":"POST only"}', "application/json", headers={"Allow": "POST"})


# ---- main ----------------------------------------------------------------------------------


def host_port(text):
    """"127.0.0.1:8081" or "[::1]:8081" -> (host, port); loopback addresses only."""
    m = re.match(r"^(?:\[([0-9A-Fa-f:.]+)\]|([0-9.]+|localhost)):(\d{1,5})$", text)
    if not m or int(m.group(3)) > 65535:
        raise argparse.ArgumentTypeError("expected HOST:PORT such as 127.0.0.1:8081, not %r"
                                         % text)
    host = m.group(1) or m.group(2)
    if host == "localhost":
        host = "127.0.0.1"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise argparse.ArgumentTypeError("%s is not a loopback address: the demo listens on "
                                         "loopback only" % host)
    return host, int(m.group(3))


def endpoint_url(text):
    if not re.match(r"^https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~/\-]*)?$", text):
        raise argparse.ArgumentTypeError("expected a URL such as http://127.0.0.1:8080, not %r"
                                         % text)
    return text.rstrip("/")


def fmt(addr):
    host, port = addr
    return "[%s]:%d" % (host, port) if ":" in host else "%s:%d" % (host, port)


def listen(addr, handler, what):
    class Server(http.server.ThreadingHTTPServer):
        address_family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
        daemon_threads = True

    try:
        return Server(addr, handler)
    except OSError as e:
        sys.stderr.write("demo: cannot listen on %s for the %s: %s\n" %
                         (fmt(addr), what, e.strerror or e))
        if e.errno == 98:  # EADDRINUSE
            sys.stderr.write("demo: is another demo (or make run) still running? Stop it, or "
                             "pick another port.\n")
        sys.exit(1)


def main(argv=None):
    global _quiet
    ap = argparse.ArgumentParser(
        description="The demo site and demo CRM receiver of leadedge (examples/README.md).")
    ap.add_argument("--site", type=host_port, default=("127.0.0.1", 8081), metavar="HOST:PORT",
                    help="where the demo site listens (default 127.0.0.1:8081)")
    ap.add_argument("--endpoint", type=endpoint_url, default="http://127.0.0.1:8080",
                    metavar="URL", help="leadedge's address as browsers reach it, put into the "
                    "pages' snippet (default http://127.0.0.1:8080)")
    ap.add_argument("--crm", type=host_port, default=("127.0.0.1", 9100), metavar="HOST:PORT",
                    help="where the demo CRM receiver listens, path /mql (default 127.0.0.1:9100)")
    ap.add_argument("--no-crm", action="store_true", help="no CRM receiver, only the site")
    ap.add_argument("--secret", action="append", metavar="SECRET",
                    help="webhook signing secret (repeat for several; default the demo-crm "
                    "endpoint's in config/leadedge.yaml)")
    ap.add_argument("--quiet", action="store_true",
                    help="print only demo requests, MQLs, warnings and errors")
    args = ap.parse_args(argv)
    _quiet = args.quiet

    SiteHandler.endpoint = args.endpoint.encode()
    CrmHandler.secrets = args.secret or [DEFAULT_SECRET]

    # Bind everything first, so that a port in use fails before anything is served.
    servers = [("site", listen(args.site, SiteHandler, "demo site"))]
    if not args.no_crm:
        servers.append(("crm", listen(args.crm, CrmHandler, "demo CRM receiver")))

    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2},
                                name=n, daemon=True) for n, s in servers]
    for t in threads:
        t.start()

    say("demo: site      http://%s/  (its snippet sends to %s)" % (fmt(args.site), args.endpoint))
    if args.no_crm:
        say("demo: CRM receiver off (--no-crm)")
    else:
        say("demo: CRM       http://%s%s  (MQL webhooks, signature checked)" %
            (fmt(args.crm), CRM_PATH))

    while not stop.wait(0.5):
        pass
    for _, s in servers:
        s.shutdown()
        s.server_close()
    say("demo: stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
