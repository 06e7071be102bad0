#!/usr/bin/env python3
"""mql_receiver.py: a fast stand-in CRM for bench/mql_bench.py (Python 3 standard library only).

An asyncio HTTP/1.1 server on 127.0.0.1 (port 0 unless --port), keep-alive, no pipelining
tricks. Every POST is answered `200 {}` at once; in the hot path the receiver only takes
time.time() when the request's last byte has arrived and keeps (time, body). Nothing is parsed,
signatures are not verified (tests/integration/crm_receiver.py does that; here it would be
measured as latency).

Control requests (GET, same port, used by the bench between runs):

    GET /_count    {"count": N, "connections": C}   deliveries so far
    GET /_dump     {"records": [[time, id, created_at, email, bytes], ...], "bad": n}
                   every delivery since the last reset, parsed only now
    GET /_reset    forget the deliveries (connections stay open)

It prints "port N" on stdout once it listens and runs until SIGTERM/SIGINT or stdin closes
(so it never outlives a bench that died).
"""

import argparse
import asyncio
import json
import signal
import sys
import time

HOST = "127.0.0.1"
MAX_HEAD = 65536

OK = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
      b"Connection: keep-alive\r\n\r\n{}")


class State:
    def __init__(self):
        self.records = []  # (time, body)
        self.connections = 0


def _reply_json(obj):
    body = json.dumps(obj, separators=(",", ":")).encode()
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
            % len(body)) + body


def _dump(state):
    out, bad = [], 0
    for t, body in state.records:
        try:
            p = json.loads(body)
            lead = p.get("lead") or {}
            out.append([t, p.get("id"), p.get("created_at"), lead.get("email"), len(body)])
        except (ValueError, AttributeError):
            bad += 1
            out.append([t, None, None, None, len(body)])
    return {"records": out, "bad": bad}


class Proto(asyncio.Protocol):
    def __init__(self, state):
        self.state = state
        self.buf = b""
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        self.state.connections += 1

    def data_received(self, data):
        now = time.time()  # the request's last byte is in this segment (checked below)
        buf = self.buf + data if self.buf else data
        while True:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD:
                    self.transport.close()
                    return
                break
            head = buf[:end]
            clen = 0
            i = head.lower().find(b"\r\ncontent-length:")
            if i >= 0:
                j = head.find(b"\r\n", i + 2)
                clen = int(head[i + 17:j if j >= 0 else len(head)].strip() or 0)
            total = end + 4 + clen
            if len(buf) < total:
                break
            body = buf[end + 4:total]
            method, _, rest = head.partition(b" ")
            if method == b"POST":
                self.state.records.append((now, body))
                self.transport.write(OK)
            else:
                path = rest.split(b" ", 1)[0]
                if path == b"/_count":
                    self.transport.write(_reply_json({"count": len(self.state.records),
                                                      "connections": self.state.connections}))
                elif path == b"/_dump":
                    self.transport.write(_reply_json(_dump(self.state)))
                elif path == b"/_reset":
                    self.state.records = []
                    self.transport.write(_reply_json({"ok": True}))
                else:
                    self.transport.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            buf = buf[total:]
            if not buf:
                break
        self.buf = buf


async def main(port):
    loop = asyncio.get_running_loop()
    state = State()
    server = await loop.create_server(lambda: Proto(state), HOST, port, backlog=1024)
    stop = loop.create_future()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, lambda: stop.done() or stop.set_result(None))

    # stdin closed (the bench is gone): stop too
    def on_stdin():
        if not sys.stdin.buffer.read1(4096) and not stop.done():
            stop.set_result(None)

    try:
        loop.add_reader(sys.stdin.fileno(), on_stdin)
    except (OSError, ValueError):
        pass
    print("port %d" % server.sockets[0].getsockname()[1], flush=True)
    await stop
    server.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0)
    asyncio.run(main(ap.parse_args().port))
