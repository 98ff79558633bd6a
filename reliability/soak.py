#!/usr/bin/env python3
"""Soaks the real `spaceport proxy` binary, a process of its own, so its resident memory can
be read before and after: thousands of connections at once, slowloris clients, a long run
of keep-alive requests and a spray of malformed ones, a fresh client probed throughout.
Appends `case<TAB>tried<TAB>passed<TAB>rss before<TAB>rss after` lines to the report."""

import argparse
import asyncio
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


def rss(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def held(port):
    """Connections the proxy still holds on its ingress port (not listening, not TIME_WAIT)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if fields[3] != "0A" and fields[9] != "0" and int(fields[1].split(":")[1], 16) == port:
                    count += 1
    return count


async def upstream(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if length:
                await reader.readexactly(length)
            writer.write(OK)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    if length:
        await reader.readexactly(length)
    return status


async def get(port, path="/probe"):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: app.localhost\r\nConnection: close\r\n\r\n".encode())
    try:
        return await asyncio.wait_for(response(reader), 30)
    finally:
        writer.close()


async def many(port, count):
    """`count` connections at once, each served once and held open, then a fresh client."""
    clients = []
    served = 0

    async def one(index):
        nonlocal served
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        clients.append(writer)
        writer.write(f"GET /held-{index} HTTP/1.1\r\nHost: app.localhost\r\n\r\n".encode())
        if await asyncio.wait_for(response(reader), 60) == 200:
            served += 1

    results = await asyncio.gather(*(one(index) for index in range(count)), return_exceptions=True)
    probe = await get(port)
    for writer in clients:
        writer.close()
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        print(f"soak: {len(errors)} of {count} connections failed, first: {errors[0]!r}", file=sys.stderr)
    return count + 1, served + (1 if probe == 200 else 0)


async def slowloris(port, count):
    """Clients that trickle header lines forever must each get 408, while a fresh one is served."""
    answered = 0

    async def one():
        nonlocal answered
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /slow HTTP/1.1\r\nHost: app.localhost\r\n")
        status = asyncio.ensure_future(response(reader))
        try:
            while not status.done():
                writer.write(b"X")
                await asyncio.wait([status], timeout=0.1)
            if status.result() == 408:
                answered += 1
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    tasks = [asyncio.ensure_future(one()) for _ in range(count)]
    await asyncio.sleep(0.5)
    probe = await get(port)
    await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 120)
    return count + 1, answered + (1 if probe == 200 else 0)


async def keepalive(port, total, connections=100):
    """`total` requests over `connections` kept-alive connections, ten pipelined at a time."""
    served = 0

    async def worker(share):
        nonlocal served
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        done = 0
        while done < share:
            batch = min(10, share - done)
            writer.write(b"".join(b"GET /k HTTP/1.1\r\nHost: app.localhost\r\n\r\n" for _ in range(batch)))
            for _ in range(batch):
                if await asyncio.wait_for(response(reader), 60) == 200:
                    served += 1
            done += batch
        writer.close()

    await asyncio.gather(*(worker(total // connections) for _ in range(connections)))
    return total, served


async def junk(port, count):
    """Malformed requests each get a 4xx or a close, never a crash; a fresh client is served after."""
    rng = random.Random(0x5EED)
    pieces = [b"GET", b" ", b"/", b"\r\n", b"\n", b"\r", b"\x00", b"Host: app.localhost", b"HTTP/1.1",
              b"Content-Length: 5", b"Transfer-Encoding: chunked", b":", b"\x1b[2J", b"\xff\xfe", b"0\r\n\r\n"]
    survived = 0
    for _ in range(count):
        request = b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 24))) + b"\r\n\r\n"
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            writer.write_eof()
            data = await asyncio.wait_for(reader.read(), 30)
            writer.close()
            if data == b"" or data.startswith(b"HTTP/1.1 "):
                survived += 1
        except (ConnectionError, asyncio.TimeoutError):
            survived += 0
    probe = await get(port)
    return count + 1, survived + (1 if probe == 200 else 0)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--report", required=True)
    parser.add_argument("--connections", type=int, default=5000)
    parser.add_argument("--slowloris", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=50000)
    parser.add_argument("--junk", type=int, default=3000)
    options = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    server = await asyncio.start_server(upstream, "127.0.0.1", 0, backlog=1024)
    upstream_port = server.sockets[0].getsockname()[1]
    folder = tempfile.mkdtemp(prefix="soak.")
    with open(f"{folder}/spaces.yaml", "w") as spaces:
        spaces.write(
            "limits: { header_timeout_ms: 2000 }\n"
            f"spaces:\n  default:\n    services:\n      app: {{ upstream: 127.0.0.1:{upstream_port} }}\n")
    probe_socket = socket.socket()
    probe_socket.bind(("127.0.0.1", 0))
    port = probe_socket.getsockname()[1]
    probe_socket.close()
    environment = dict(os.environ, XDG_RUNTIME_DIR=folder)
    proxy = subprocess.Popen(
        [options.binary, "proxy", "--spaces", f"{folder}/spaces.yaml", "--ingress", f"127.0.0.1:{port}",
         "--name", "soak", "--quiet"], env=environment, stderr=subprocess.DEVNULL,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard)))
    for _ in range(300):
        try:
            if await get(port) == 200:
                break
        except OSError:
            await asyncio.sleep(0.1)
    await keepalive(port, 2000, 20)

    lines = []

    async def phase(name, run):
        before = rss(proxy.pid)
        tried, passed = await run
        for _ in range(600):
            if held(port) == 0:
                break
            await asyncio.sleep(0.1)
        after = rss(proxy.pid)
        lines.append(f"real proxy process: {name}\t{tried}\t{passed}\t{before}\t{after}\n")
        print(f"soak: {name}: {passed}/{tried}, rss {before >> 20} → {after >> 20} MB", file=sys.stderr)

    await phase(f"{options.connections} concurrent connections", many(port, options.connections))
    await phase(f"{options.slowloris} slowloris clients", slowloris(port, options.slowloris))
    await phase(f"{options.requests} kept-alive requests", keepalive(port, options.requests))
    await phase(f"{options.junk} malformed requests", junk(port, options.junk))
    # Memory kept after the first burst is the allocator's; a leak would grow it again here.
    await phase(f"{options.connections} concurrent connections, again", many(port, options.connections))
    proxy.send_signal(signal.SIGINT)
    code = proxy.wait(timeout=30)
    lines.append(f"real proxy process: stops cleanly on SIGINT\t1\t{1 if code == 0 else 0}\t0\t0\n")
    with open(options.report, "a") as report:
        report.writelines(lines)
    server.close()


asyncio.run(main())
