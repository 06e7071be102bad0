"""Integration: replay the hostile-request corpus (corpus/NNN-name.http).

Each file is sent on a fresh connection, then our side is shut down for
writing, and everything the server answers is read (bounded). Pass criteria:

* a file whose name ends in "-ok" is answered with exactly the statuses its
  case lists and stores exactly the events it says (make_corpus.py);
* any other file is refused (4xx only) or the connection is closed without
  an answer, and stores nothing; never 2xx/3xx/5xx;
* every response is well formed (Date, Content-Length), forbidden bytes never
  appear in a response head, the server stays alive and sanitizer-clean;
* after the whole corpus a normal request is still served.

Cases marked `bug` in make_corpus.py are expected failures (see the text).
"""

import os
import socket
import sys
import time
import unittest

import harness as h
import make_corpus

READ_TIMEOUT = 5.0


def load_files():
    out = {}
    for f in sorted(os.listdir(make_corpus.CORPUS_DIR)):
        if f.endswith(".http"):
            with open(os.path.join(make_corpus.CORPUS_DIR, f), "rb") as fh:
                out[f] = fh.read()
    return out


class Corpus(h.ServerTestCase):
    CONFIG = make_corpus.CORPUS_CONFIG
    outcomes = {}

    def replay(self, raw):
        """Send raw, half-close, read until the server closes: (responses, closed, leftover)."""
        responses = []
        with self.server.conn(READ_TIMEOUT) as c:
            c.try_send(raw)
            c.shut_wr()
            deadline = time.monotonic() + READ_TIMEOUT
            for _ in range(64):
                left = deadline - time.monotonic()
                if left <= 0:
                    return responses, False, c.buf
                try:
                    responses.append(c.read_response(timeout=left))
                except h.Closed as e:
                    return responses, True, e.partial
                except socket.timeout:
                    return responses, False, c.buf
        return responses, False, b""

    def run_case(self, fname, raw, spec):
        s = self.server
        n0 = len(s.events())
        responses, closed, leftover = self.replay(raw)
        statuses = [r.status for r in responses]
        self.assertTrue(closed, "%s: neither closed nor finished within %ss (got %r)"
                        % (fname, READ_TIMEOUT, statuses))
        self.assertEqual(leftover, b"", "%s: a response was cut short or not HTTP" % fname)
        for r in responses:
            h.check_response(self, r)
            for x in [r] + r.interim:
                for b in spec.get("forbid", []):
                    self.assertNotIn(b, x.raw_head, "%s: %r in a response head" % (fname, b))
        stored = len(s.events()) - n0
        ok = fname[:-len(".http")].endswith("-ok")
        if spec.get("close_after"):
            for r in responses:
                self.assertEqual(r.header("connection"), "close", "%s: %r" % (fname, r))
        if ok:
            self.assertEqual(statuses, spec.get("statuses", [200]), fname)
            self.assertEqual(stored, spec.get("stored", 1), "%s: events stored" % fname)
            outcome = "accepted"
        else:
            for st in statuses:
                self.assertTrue(400 <= st < 500, "%s: answered %r, want 4xx or close" % (fname, statuses))
            if spec.get("status"):
                self.assertTrue(statuses, "%s: closed without the %d" % (fname, spec["status"]))
                self.assertEqual(statuses[0], spec["status"], fname)
            self.assertEqual(stored, 0, "%s: a refused request stored %d events" % (fname, stored))
            outcome = "refused" if statuses else "closed"
        self.assertTrue(s.alive(), "%s: the server died\n%s" % (fname, s.stderr_tail()))
        rep = s.sanitizer_report()
        self.assertIsNone(rep, "%s: sanitizer report:\n%s" % (fname, rep))
        Corpus.outcomes[fname] = outcome

    # ---- bookkeeping tests

    def test_000_corpus_files_match_generator(self):
        on_disk = load_files()
        want = make_corpus.files()
        self.assertGreaterEqual(len(want), 45)
        for f, raw in want.items():
            self.assertIn(f, on_disk, "corpus file missing: run make_corpus.py")
            self.assertEqual(on_disk[f], raw, "%s differs from make_corpus.py: rerun it" % f)

    def test_001_extra_files(self):
        """Files in corpus/ that the generator does not know (fuzzer finds):
        refused or closed (or, for -ok, answered 2xx/3xx); the server survives."""
        want = make_corpus.files()
        for f, raw in load_files().items():
            if f in want:
                continue
            ok = f[:-len(".http")].endswith("-ok")
            responses, closed, _ = self.replay(raw)
            self.assertTrue(closed, f)
            for r in responses:
                h.check_response(self, r)
                self.assertTrue((200 <= r.status < 400) if ok else (400 <= r.status < 500), (f, r))
            self.assertTrue(self.server.alive(), f)

    def test_zzz_alive_after_corpus(self):
        s = self.server
        r = s.get("/p.gif?e=pv&url=https%3A%2F%2Fcorpus.test%2Fafter")
        self.assertStatus(r, 200)
        self.assertEqual(len(r.body), 43)
        self.assertTrue(s.alive())
        evs = [e for e in s.events() if e.get("url") == "https://corpus.test/after"]
        self.assertEqual(len(evs), 1)
        self.assertNotIn("smuggled", "".join(e.get("url", "") for e in s.events()))
        o = Corpus.outcomes
        n = len(make_corpus.CASES)
        known = sum(1 for c in make_corpus.CASES if c.get("bug"))
        refused = sum(1 for v in o.values() if v in ("refused", "closed"))
        line = ("corpus: %d requests, %d refused or closed, %d accepted as -ok, %d known bugs "
                "(expected failures), server alive" % (n, refused,
                                                       sum(1 for v in o.values() if v == "accepted"),
                                                       known))
        print("\n" + line, file=sys.stderr)


def _make(fname, spec):
    def t(self):
        raw = load_files().get(fname)
        self.assertIsNotNone(raw, "%s missing: run make_corpus.py" % fname)
        self.run_case(fname, raw, spec)
    t.__doc__ = spec.get("bug") and ("BUG: " + spec["bug"]) or spec.get("note")
    if spec.get("bug"):
        # BUG: see the case's `bug` text in make_corpus.py (also the docstring).
        t = unittest.expectedFailure(t)
    return t


for _i, _c in enumerate(make_corpus.CASES):
    _f = make_corpus.filename(_i, _c)
    setattr(Corpus, "test_%s" % _f[:-len(".http")].replace("-", "_"), _make(_f, _c))


if __name__ == "__main__":
    unittest.main()
