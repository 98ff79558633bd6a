#!/usr/bin/env python3
"""A feed subscriber for the benchmark.

count: reads the feed as fast as it can and, once told to stop (a line or EOF on stdin),
prints how many hop-end events and dropped events it received after it said "ready".
stall: connects, says "ready", and never reads, so the proxy's queue for it fills up.
"""

import json
import selectors
import socket
import sys
import time

END = b'"phase":"end"'
START = b'"phase":"start"'
DROPPED = b'"type":"dropped"'


def connect(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(path)
    return sock


def settle(sock, quiet_seconds=0.3, limit_seconds=10.0):
    """Reads the greeting (hello, spaces, ring replay) until the feed goes quiet."""
    sock.settimeout(quiet_seconds)
    deadline = time.monotonic() + limit_seconds
    received = 0
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(1 << 20)
        except socket.timeout:
            break
        if not chunk:
            raise SystemExit("the feed closed the connection during its greeting")
        received += len(chunk)
    sock.settimeout(None)
    return received


def count(path):
    sock = connect(path)
    greeting = settle(sock)
    print(json.dumps({"ready": True, "greeting_bytes": greeting}), flush=True)
    selector = selectors.DefaultSelector()
    selector.register(sock, selectors.EVENT_READ, "feed")
    selector.register(sys.stdin, selectors.EVENT_READ, "stdin")
    ends = starts = dropped = lines = total = 0
    closed = False
    pending = b""
    began = time.monotonic()
    running = True
    while running:
        for key, _ in selector.select():
            if key.data == "stdin":
                running = False
                break
            chunk = sock.recv(1 << 20)
            if not chunk:
                closed = True
                running = False
                break
            total += len(chunk)
            buffer = pending + chunk
            cut = buffer.rfind(b"\n") + 1
            complete, pending = buffer[:cut], buffer[cut:]
            lines += complete.count(b"\n")
            ends += complete.count(END)
            starts += complete.count(START)
            if DROPPED in complete:
                for line in complete.split(b"\n"):
                    if DROPPED in line:
                        dropped += int(json.loads(line).get("count", 0))
    elapsed = time.monotonic() - began
    print(json.dumps({"ends": ends, "starts": starts, "dropped": dropped, "lines": lines,
                      "bytes": total, "seconds": elapsed, "closed_by_proxy": closed}), flush=True)


def stall(path):
    sock = connect(path)
    print(json.dumps({"ready": True}), flush=True)
    sys.stdin.read()
    sock.close()
    print(json.dumps({"stalled": True}), flush=True)


if __name__ == "__main__":
    mode, path = sys.argv[1], sys.argv[2]
    {"count": count, "stall": stall}[mode](path)
