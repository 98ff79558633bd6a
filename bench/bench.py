#!/usr/bin/env python3
"""Spaceport's proxy beside nginx, haproxy, Caddy and a direct connection, in one run.

Started by bench/run, which installs the tools, builds the release binary and compiles the
open-loop generator. This script starts every server in a temporary folder on free loopback
ports, drives each target with wrk (HTTP/1.1), openloop (fixed rates) and h2load (HTTP/2 and
gRPC) in interleaved rounds, and writes bench/results.md.
"""

import argparse
import datetime
import http.client
import json
import os
import math
import platform
import struct
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PROXY_CORE = "0"
CLIENT_CORE = "1"
NICE = os.geteuid() == 0

HOST = "default.svc.localhost"
FALLBACK_HOST = "grandchild.s.default.svc.localhost"
# The HTTP/2 rows' upstream is the upstream nginx's h2c listener, which speaks nothing else, so in
# Spaceport it is the svc of a root space of its own, appended to the spaces file (H2_SPACES).
H2_SPACE = "h2"
H2_HOST = f"{H2_SPACE}.svc.localhost"
# The gRPC rows' upstream is nghttpd, which reads a call's whole request before it answers, as gRPC
# servers do: nginx answers at the request's headers and resets the stream after its answer (RST_STREAM
# NO_ERROR, which RFC 9113 allows), a different load. Spaceport reaches it as svc of a root space of its
# own; the other proxies send the service's path there.
GRPC_SPACE = "grpc"
GRPC_HOST = f"{GRPC_SPACE}.svc.localhost"
GRPC_SERVICE = "/bench.Bench"
GRPC_METHOD = f"{GRPC_SERVICE}/Unary"
# One length-prefixed gRPC message (uncompressed, 18 bytes of protobuf: field 1, a 16-byte string),
# sent by h2load as every call's request and written by the upstream as every call's answer.
GRPC_PAYLOAD = b"\x0a\x10" + b"spaceport-bench."
GRPC_MESSAGE = b"\x00" + struct.pack(">I", len(GRPC_PAYLOAD)) + GRPC_PAYLOAD
GRPC_HEADERS = ["content-type: application/grpc", "te: trailers"]
DEFAULT_OUTPUT = os.path.join(HERE, "results.md")
SMALL_BODY = ("spaceport-bench " * 7)[:99] + "."
# The relay row's listen address belongs to an instance whose `protocol` is `tcp`, so its bytes are
# relayed raw however HTTP they look. A build from before that setting (a baseline may be one) took
# UPnP's NOTIFY for raw bytes instead: wrk checks its request line, so the method must be one it
# knows. `start_proxy` finds which of the two a baseline relays.
LEGACY_RELAY_METHOD = "NOTIFY"
RELAY_METHODS = {}


def relay_method(target):
    """The method the relay row sends to `target`'s listen address; None for wrk's GET."""
    return RELAY_METHODS.get(target)
SIZES = {"/small": len(SMALL_BODY), "/64k": 64 * 1024, "/1m": 1024 * 1024, GRPC_METHOD: len(GRPC_MESSAGE)}
# Every proxy that is not Spaceport, each one process on the proxy core.
OTHER_PROXIES = ("nginx", "haproxy", "caddy")


def pinned(core, command):
    """Pins a command to a core and, as root, lifts its priority above builds sharing the machine.

    The kernel groups CPU time by session (autogroup), so plain nice does nothing against a
    build in another session: each command starts its own session (start_new_session) and
    raises that session's weight before it execs.
    """
    if not NICE:
        return ["taskset", "-c", core] + command
    boost = 'echo -10 > /proc/self/autogroup 2>/dev/null; exec "$@"'
    return ["sh", "-c", boost, "sh", "nice", "-n", "-10", "taskset", "-c", core] + command


class Row:
    """One line of the table: a target driven in one scenario, with its feed state.

    A baseline row's twin is the label of the spaceport row it is compared with.
    """

    def __init__(self, label, target, host=HOST, feed=None, twin=None, relay=False, rate=None, tool=None):
        self.label, self.target, self.host, self.feed, self.twin = label, target, host, feed, twin
        # Sent to the target's `listen` address, whose instance speaks raw TCP: the bytes pass through
        # untouched (routing rule 7, docs/routing.md), while the upstream nginx answers them like any request.
        self.relay = relay
        # The latency scenario's fixed rate in requests a second; the generator check's load tool.
        self.rate, self.tool = rate, tool


def with_baseline_twins(rows, name):
    """Each plain spaceport row (no feed subscriber) followed by the same row on the baseline binary."""
    paired = []
    for row in rows:
        paired.append(row)
        if row.target == "spaceport" and row.feed is None:
            label = row.label.replace("spaceport", f"spaceport (baseline: {name})", 1)
            paired.append(Row(label, "baseline", host=row.host, twin=row.label, relay=row.relay))
    return paired


class Scenario:
    """`traced`: every request carries a traceparent of its own, a new trace (bench/report.lua makes it).

    `kind` says what drives it: "wrk" (HTTP/1.1, closed loop), "latency" (openloop at fixed rates, its
    rows made once each target's maximum is known), "h2" (h2load, `streams` per connection, a gRPC
    call when `grpc`) or "generator" (wrk against openloop's closed loop, the same load).
    """

    def __init__(self, key, title, path, connections, rows, headers=(), traced=False, kind="wrk", streams=1,
                 grpc=False):
        self.key, self.title, self.path, self.connections = key, title, path, connections
        self.rows, self.headers, self.traced = rows, list(headers), traced
        self.kind, self.streams, self.grpc = kind, streams, grpc


def standard_rows():
    return [Row("direct (limit)", "direct"), Row("spaceport", "spaceport"),
            Row("nginx", "nginx"), Row("haproxy", "haproxy"), Row("caddy", "caddy")]


def h2_rows(host=H2_HOST):
    return [Row("direct (limit)", "direct", host=host), Row("spaceport", "spaceport", host=host),
            Row("nginx (grpc_pass)", "nginx", host=host), Row("haproxy", "haproxy", host=host),
            Row("caddy", "caddy", host=host)]


# The fixed rates every target is measured at; each proxy is also measured at half its own maximum.
LATENCY_RATES = (1000, 10000)
LATENCY_SHARE = 0.5
LATENCY_CONNECTIONS = 64
# HTTP/2 load: h2load's clients, each with this many streams open at once.
H2_CLIENTS = 50
H2_STREAMS = 10


# What a browser sends besides Host (Firefox 128 loading a page), about 500 bytes: wrk's default
# request carries Host alone, and real requests cost more per field. The Swift benchmarks
# (Benchmarks/) send the same fields, from the same file.
with open(os.path.join(HERE, "conf", "browser-headers.txt")) as fields:
    BROWSER_HEADERS = [line.rstrip("\n") for line in fields if line.strip()]

# What SwiftNIO's sockets and event loop cost with no HTTP work at all: the same process
# relays the same requests as raw TCP through an instance's `listen` address.
RELAY_ROW = Row("spaceport, raw TCP pass-through (floor: same sockets and loop, no HTTP)", "spaceport",
                relay=True)

# What a traced app's request carries besides its traceparent: baggage members of its own.
APP_BAGGAGE = "userid=alice,tenant=acme,session=8c1f3d2e"
# Every part of route propagation switched off but the route header, which routing rule 5 writes
# anyway: no other carrier headers, no baggage keys read or written, no trace memory.
PROPAGATION_OFF = ("propagation: { write_route_header: true, headers: [], baggage: [], "
                   "trace_memory: { traces: 0 } }\n")
# The proxy with propagation off, beside the default one in the propagation scenario.
NO_PROPAGATION = "nopropagation"
BRIDGE_ON = "spaceport, bridge on (the default)"
BRIDGE_OFF = "spaceport, propagation off"
ADMIN_REFERENCE = "spaceport, admin listener off"

SCENARIOS = [
    Scenario("small", "small (100 B), keep-alive", "/small", 64, standard_rows() + [RELAY_ROW]),
    Scenario("64k", "64 KiB, keep-alive", "/64k", 64, standard_rows()),
    Scenario("1m", "1 MiB, keep-alive", "/1m", 16, standard_rows()),
    Scenario("headers", "small, with a browser's 12 header fields", "/small", 64, standard_rows(),
             headers=BROWSER_HEADERS),
    Scenario("close", "new connection per request", "/small", 32, standard_rows(),
             headers=["Connection: close"]),
    Scenario("c1000", "1,000 connections", "/small", 1000, standard_rows()),
    Scenario("route", "route: direct hit vs fallback", "/small", 64, [
        Row("spaceport, direct hit (default)", "spaceport"),
        Row("spaceport, fallback (grandchild→child→default)", "spaceport", host=FALLBACK_HOST),
        Row("nginx (reference)", "nginx"),
    ]),
    # The admin listener's cost: the same proxy twice, one with --admin scraped every second.
    Scenario("admin", "admin listener", "/small", 64, [
        Row(ADMIN_REFERENCE, "spaceport"),
        Row("spaceport, admin listener on, /metrics scraped every second", "admin"),
        Row("nginx (reference)", "nginx"),
    ]),
    Scenario("feed", "feed subscribers", "/small", 64, [
        Row("spaceport, no subscriber", "spaceport"),
        Row("spaceport, one live subscriber", "spaceport", feed="count"),
        Row("spaceport, one stalled subscriber", "spaceport", feed="stall"),
        Row("spaceport, `spaceport dash --attach` watching (sampled, the default)", "spaceport", feed="dash"),
        Row("spaceport, `spaceport dash --attach --sample-hops 0` watching every hop", "spaceport",
            feed="dash-every-hop"),
        Row("`spaceport dash` (proxy embedded, drawing)", "dash"),
        Row("nginx (reference)", "nginx"),
    ]),
    Scenario("propagation", "route context: baggage and a new trace each request", "/small", 64, [
        Row(BRIDGE_ON, "spaceport"),
        Row(BRIDGE_OFF, NO_PROPAGATION),
        Row("nginx (reference)", "nginx"),
        Row("caddy (reference)", "caddy"),
    ], headers=[f"baggage: {APP_BAGGAGE}"], traced=True),
    # Rows made by Bench.plan_latency once each target's maximum is measured.
    Scenario("latency", "added latency at fixed rates (open loop)", "/small", LATENCY_CONNECTIONS, [],
             kind="latency"),
    Scenario("h2-small", "HTTP/2, small (100 B)", "/small", H2_CLIENTS, h2_rows(), kind="h2", streams=H2_STREAMS),
    Scenario("h2-64k", "HTTP/2, 64 KiB", "/64k", H2_CLIENTS, h2_rows(), kind="h2", streams=H2_STREAMS),
    Scenario("grpc", "gRPC unary calls", GRPC_METHOD, H2_CLIENTS, h2_rows(GRPC_HOST), kind="h2",
             streams=H2_STREAMS, grpc=True),
]
# Not run unless asked for: wrk and openloop's closed loop, one after the other, on the same load.
GENERATOR = Scenario("generator", "load generators agree at saturation", "/small", 64, [], kind="generator")



def log(message):
    print(message, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fill(text, values, source):
    """Fills ${name} placeholders (nginx's own $variables are left alone)."""
    def value(match):
        name = match.group(1)
        if name not in values:
            raise SystemExit(f"{source}: no value for ${{{name}}}")
        return str(values[name])

    return re.sub(r"\$\{([a-z0-9_]+)\}", value, text)


def render(template_name, values, destination):
    with open(os.path.join(HERE, "conf", template_name)) as f:
        text = f.read()
    with open(destination, "w") as f:
        f.write(fill(text, values, template_name))
    return destination


# Appended to a Spaceport's spaces file when an HTTP/2 scenario runs (conf/spaces.yaml is shared with
# Benchmarks/, which fills only its own placeholders).
H2_SPACES = f"""  # The HTTP/2 rows: root spaces whose svc is the upstream's h2c listener, and the gRPC upstream.
  {H2_SPACE}:
    services:
      svc: {{ upstream: 127.0.0.1:${{upstream_h2_port}} }}
  {GRPC_SPACE}:
    services:
      svc: {{ upstream: 127.0.0.1:${{upstream_grpc_port}} }}
"""


def run_text(command):
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        return (result.stdout + result.stderr).strip()
    except (OSError, subprocess.SubprocessError) as error:
        return f"unavailable ({error})"


class Server:
    """A process this run started, pinned to a core, stopped by its own pid at the end."""

    def __init__(self, name, command, core, workdir, env=None, threads=""):
        self.name, self.threads = name, threads
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.log = open(self.log_path, "w")
        self.core = core
        self.command = pinned(core, command)
        self.process = subprocess.Popen(self.command, stdout=self.log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, env=env, start_new_session=True)

    @property
    def pid(self):
        return self.process.pid

    def alive(self):
        return self.process.poll() is None

    def pids(self):
        """This process and its children (nginx's workers)."""
        found = [self.pid]
        try:
            for task in os.listdir(f"/proc/{self.pid}/task"):
                with open(f"/proc/{self.pid}/task/{task}/children") as f:
                    found += [int(p) for p in f.read().split()]
        except OSError:
            pass
        return found

    def memory(self):
        """(VmRSS, VmHWM) in KiB summed over this process and its children."""
        rss = hwm = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            rss += int(line.split()[1])
                        elif line.startswith("VmHWM:"):
                            hwm += int(line.split()[1])
            except OSError:
                pass
        return rss, hwm

    def cpu_seconds(self):
        """User and system CPU time of this process and its children, in seconds: (user, system)."""
        user = system = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                user += int(fields[11])
                system += int(fields[12])
            except (OSError, IndexError, ValueError):
                pass
        tick = os.sysconf("SC_CLK_TCK")
        return user / tick, system / tick

    def sleeps(self):
        """Each thread's voluntary context switches so far (this process and its children), by thread id:
        a thread that blocks, in epoll_wait or on a lock, switches once and is woken once."""
        counts = {}
        for pid in self.pids():
            try:
                tasks = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            for task in tasks:
                try:
                    with open(f"/proc/{pid}/task/{task}/status") as f:
                        for line in f:
                            if line.startswith("voluntary_ctxt_switches:"):
                                counts[int(task)] = int(line.split()[1])
                except OSError:
                    pass
        return counts

    def thread_count(self):
        total = 0
        for pid in self.pids():
            try:
                total += len(os.listdir(f"/proc/{pid}/task"))
            except OSError:
                pass
        return total

    def tail(self, lines=15):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def stop(self):
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class TmuxServer(Server):
    """A process that needs a terminal (the dashboard), run in a private tmux server.

    The tmux server is this run's own (-L NAME), so nobody's tmux sessions are touched.
    """

    def __init__(self, name, command, core, workdir, socket_name, env=None, threads=""):
        self.name, self.threads, self.core = name, threads, core
        self.socket_name, self.session = socket_name, name
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.log = open(self.log_path, "w")
        self.command = pinned(core, command)
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        shell = f"exec env {exports} {shlex.join(self.command)} 2>{shlex.quote(self.log_path)}"
        out = subprocess.run(["tmux", "-L", socket_name, "-f", "/dev/null", "new-session", "-d", "-s",
                              self.session, "-x", "200", "-y", "50", "-P", "-F", "#{pane_pid}", shell],
                             capture_output=True, text=True, check=True, env=dict(os.environ, TERM="xterm-256color"))
        self._pid = int(out.stdout.strip())

    @property
    def pid(self):
        return self._pid

    def alive(self):
        try:
            with open(f"/proc/{self._pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    def stop(self):
        subprocess.run(["tmux", "-L", self.socket_name, "kill-session", "-t", self.session],
                       capture_output=True)
        deadline = time.monotonic() + 10
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        if self.alive():
            os.kill(self._pid, signal.SIGKILL)
        self.log.close()


class MemorySampler:
    """Samples a server's resident memory during one wrk run; keeps the peak."""

    def __init__(self, server, interval=0.05):
        self.server, self.interval = server, interval
        self.peak = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while not self.stopping.is_set():
            self.peak = max(self.peak, self.server.memory()[0])
            self.stopping.wait(self.interval)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join()
        self.peak = max(self.peak, self.server.memory()[0])


def wait_for_port(port, server, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server is not None and not server.alive():
            raise SystemExit(f"{server.name} exited while starting:\n{server.tail()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


def probe(port, path, host, expected_route_as, method="GET", headers=None):
    """One request: checks status, body length, and that the route header reached the upstream."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, headers=dict(headers or {}, Host=host))
        response = connection.getresponse()
        body = response.read()
        return response_problems(response.status, body, path, response.getheader("x-seen-route-as"),
                                 expected_route_as), dict(response.getheaders())
    finally:
        connection.close()


def response_problems(status, body, path, seen, expected_route_as):
    """What is wrong with one answer: its status, its body's length, the route header the upstream saw."""
    problems = []
    if status != 200:
        problems.append(f"status {status}: {body[:200]!r}")
    elif len(body) != SIZES[path]:
        problems.append(f"body of {len(body)} bytes, expected {SIZES[path]}")
    if expected_route_as and seen != expected_route_as:
        problems.append(f"upstream saw azds-route-as={seen!r}, expected {expected_route_as!r}")
    return problems


def probe_h2(port, path, host, expected_route_as, workdir):
    """One HTTP/2 request with prior knowledge (curl), checked as probe checks one; a gRPC call's answer
    must also end with `grpc-status: 0` as a trailer (nghttp, which prints trailers)."""
    body_path = os.path.join(workdir, "probe-h2.body")
    command = ["curl", "-sS", "--http2-prior-knowledge", "--max-time", "10", "-H", f"Host: {host}",
               "-D", "-", "-o", body_path]
    grpc = path == GRPC_METHOD
    request = os.path.join(workdir, "grpc-request.bin")
    if grpc:
        command += ["--data-binary", f"@{request}"] + [a for h in GRPC_HEADERS for a in ("-H", h)]
    result = subprocess.run(command + [f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        return [f"curl --http2-prior-knowledge failed: {result.stderr.strip()}"]
    lines = result.stdout.splitlines()
    status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/2") else 0
    fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    with open(body_path, "rb") as f:
        body = f.read()
    problems = response_problems(status, body, path, fields.get("x-seen-route-as"), expected_route_as)
    if grpc:
        command = ["nghttp", "-nv", "-H", f":authority: {host}", "-d", request] + \
                  [a for h in GRPC_HEADERS for a in ("-H", h)] + [f"http://127.0.0.1:{port}{path}"]
        trailers = subprocess.run(command, capture_output=True, text=True, timeout=30).stdout
        if not re.search(r"\) grpc-status: 0$", trailers, re.MULTILINE):
            problems.append("no `grpc-status: 0` in the answer")
    return problems


def upstream_accepts(port):
    """Connections the upstream has accepted so far (nginx stub_status), this query's own included."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/status")
        text = connection.getresponse().read().decode()
    finally:
        connection.close()
    return int(text.splitlines()[2].split()[0])


def parse_wrk(output):
    for line in output.splitlines():
        if line.startswith("BENCH "):
            return json.loads(line[len("BENCH "):])
    return None


def run_wrk(port, scenario, row, duration, log_file):
    headers = [f"Host: {row.host}"] + scenario.headers
    threads = 1
    command = pinned(CLIENT_CORE, ["wrk", f"-t{threads}", f"-c{scenario.connections}",
               f"-d{duration}s", "--timeout", "10s", "--latency", "-s", os.path.join(HERE, "report.lua")])
    for header in headers:
        command += ["-H", header]
    command.append(f"http://127.0.0.1:{port}{scenario.path}")
    env = None
    if row.relay and relay_method(row.target):
        env = dict(os.environ, BENCH_METHOD=relay_method(row.target))
    elif scenario.traced:
        env = dict(os.environ, BENCH_TRACES="1")
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60,
                            start_new_session=True, env=env)
    log_file.write(f"$ {shlex.join(command)}\n{result.stdout}{result.stderr}\n")
    log_file.flush()
    figures = parse_wrk(result.stdout)
    if figures is None:
        raise RuntimeError(f"wrk printed no figures: {result.stdout}{result.stderr}")
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    figures["command"] = shlex.join(command)
    return figures


def run_openloop(openloop, port, scenario, row, duration, log_file, rate=None):
    """bench/openloop.c against one target: at `rate` requests a second (open loop), or closed loop when None."""
    command = pinned(CLIENT_CORE, [openloop, "-c", str(scenario.connections), "-d", str(duration), "-t", "10",
                                   "-H", f"Host: {row.host}"] + (["-R", f"{rate:.0f}"] if rate else []))
    for header in scenario.headers:
        command += ["-H", header]
    command.append(f"http://127.0.0.1:{port}{scenario.path}")
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, start_new_session=True)
    log_file.write(f"$ {shlex.join(command)}\n{result.stdout}{result.stderr}\n")
    log_file.flush()
    figures = parse_wrk(result.stdout)
    if figures is None:
        raise RuntimeError(f"openloop printed no figures: {result.stdout}{result.stderr}")
    # What the target kept up with: answers inside the run's window (an open loop's late answers come after it).
    figures["rps"] = figures["answered_in_window"] / (figures["duration_us"] / 1e6)
    figures["command"] = shlex.join(command)
    return figures


def percentile(ordered, share):
    """The nearest-rank percentile of a sorted list (share 0.99 for p99), as openloop computes it."""
    if not ordered:
        return 0
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def run_h2load(port, scenario, row, duration, log_file, workdir):
    """h2load against one target over h2c (prior knowledge): figures shaped like wrk's, percentiles from
    its per-request log (h2load itself prints no percentiles)."""
    request_log = os.path.join(workdir, "h2load-requests.log")
    command = pinned(CLIENT_CORE, ["h2load", "-t1", f"-c{scenario.connections}", f"-m{scenario.streams}",
                                   f"-D{duration}", "--warm-up-time=1", "-T10", "-N10",
                                   f"--log-file={request_log}", "-H", f":authority: {row.host}"])
    if scenario.grpc:
        for header in GRPC_HEADERS:
            command += ["-H", header]
        command += ["-d", os.path.join(workdir, "grpc-request.bin")]
    command.append(f"http://127.0.0.1:{port}{scenario.path}")
    result = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, start_new_session=True)
    output = result.stdout + result.stderr
    log_file.write(f"$ {shlex.join(command)}\n{output}\n")
    log_file.flush()
    finished = re.search(r"finished in ([\d.]+)(m?s), ([\d.]+) req/s", output)
    counts = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                       r"(\d+) errored, (\d+) timeout", output)
    codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", output)
    traffic = re.search(r"traffic: \S+ \((\d+)\) total", output)
    if not (finished and counts and codes):
        raise RuntimeError(f"h2load printed no figures: {output}")
    latencies = []
    with open(request_log) as f:
        for line in f:
            fields = line.split()
            if len(fields) == 3:
                latencies.append(int(fields[2]))
    os.unlink(request_log)
    latencies.sort()
    seconds = float(finished.group(1)) / (1000 if finished.group(2) == "ms" else 1)
    done, failed, errored, timeout = (int(counts.group(i)) for i in (3, 5, 6, 7))
    if done == 0:
        # h2load counts no stream it never saw end: none ending in the whole run means every stream open
        # when the measuring began hung to the end, which it would otherwise report as no error at all.
        timeout = scenario.connections * scenario.streams
    refused = int(codes.group(3)) + int(codes.group(4))
    return {"requests": int(codes.group(1)), "duration_us": seconds * 1e6, "rps": float(finished.group(3)),
            "bytes": int(traffic.group(1)) if traffic else 0, "connect": 0,
            "read": errored + max(failed - errored - timeout - refused, 0), "write": 0, "status": refused,
            "timeout": timeout,
            "p50_us": percentile(latencies, 0.50), "p90_us": percentile(latencies, 0.90),
            "p99_us": percentile(latencies, 0.99), "max_us": latencies[-1] if latencies else 0,
            "mean_us": sum(latencies) / len(latencies) if latencies else 0, "command": shlex.join(command)}


class AttachedDashboard:
    """`spaceport dash --attach SOCKET` in a 200×50 tmux window on the client core."""

    def __init__(self, bench, every_hop=False):
        command = [bench.options.binary, "dash", "--attach", bench.feed_socket]
        if every_hop:
            command += ["--sample-hops", "0"]
        self.server = TmuxServer("dash-attached", command, CLIENT_CORE, bench.dir, bench.tmux_socket)
        time.sleep(2.0)  # lets it attach and draw its first frames
        if not self.server.alive():
            raise RuntimeError(f"spaceport dash --attach exited:\n{self.server.tail()}")

    def finish(self):
        alive = self.server.alive()
        self.server.stop()
        return {"alive_until_end": alive}


class Scraper:
    """Prometheus's part: GET /metrics on the admin listener every second, on a thread of its own."""

    def __init__(self, port, every=1.0):
        self.port, self.every = port, every
        self.scrapes, self.failures, self.bytes = 0, 0, 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("GET", "/metrics")
                response = connection.getresponse()
                body = response.read()
                connection.close()
                if response.status == 200 and b"spaceport_requests_total" in body:
                    self.scrapes += 1
                    self.bytes = len(body)
                else:
                    self.failures += 1
            except OSError:
                self.failures += 1
            if self.stopping.wait(self.every):
                return

    def finish(self):
        self.stopping.set()
        self.thread.join()
        return {"scrapes": self.scrapes, "failures": self.failures, "exposition_bytes": self.bytes}


class FeedClient:
    """A feed_reader.py process on the client core, in count or stall mode."""

    def __init__(self, mode, socket_path):
        self.process = subprocess.Popen(
            pinned(CLIENT_CORE, [sys.executable, os.path.join(HERE, "feed_reader.py"), mode, socket_path]),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            start_new_session=True)
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"feed reader failed: {self.process.stderr.read()}")
        self.greeting = json.loads(line)

    def finish(self):
        try:
            out, err = self.process.communicate(input="stop\n", timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
        lines = [l for l in out.splitlines() if l.strip()]
        if not lines:
            return {"error": err.strip() or "no output"}
        return json.loads(lines[-1])


class Bench:
    def __init__(self, options):
        self.options = options
        self.dir = tempfile.mkdtemp(prefix="spaceport-bench-")
        os.chmod(self.dir, 0o755)
        self.servers = {}
        self.ports = {}
        self.feed_socket = None
        self.notes = []
        self.memory_marks = {}
        self.latency_maxima = {}
        self.tmux_socket = f"spaceport-bench-{os.getpid()}"

    # -- servers --

    def start(self):
        d = self.dir
        os.makedirs(os.path.join(d, "www"))
        os.makedirs(os.path.join(d, "tmp"))
        for path, size in SIZES.items():
            if path not in ("/small", GRPC_METHOD):
                with open(os.path.join(d, "www", path.lstrip("/")), "wb") as f:
                    f.write(b"s" * size)
        os.makedirs(os.path.join(d, "www", os.path.dirname(GRPC_METHOD).lstrip("/")))
        for name in ("www" + GRPC_METHOD, "grpc-request.bin"):
            with open(os.path.join(d, name), "wb") as f:
                f.write(GRPC_MESSAGE)
        os.chmod(os.path.join(d, "www"), 0o755)
        self.ports = {name: free_port() for name in ("upstream", "nginx", "haproxy", "caddy", "spaceport", "baseline",
                                                      "dash", "spaceport_relay", "baseline_relay", NO_PROPAGATION,
                                                      NO_PROPAGATION + "_relay", "admin", "admin_relay",
                                                      "admin_listener", "upstream_h2", "upstream_grpc", "nginx_h2",
                                                      "haproxy_h2", "caddy_h2")}
        values = {"dir": d, "small_body": SMALL_BODY, "upstream_port": self.ports["upstream"],
                  "nginx_port": self.ports["nginx"], "haproxy_port": self.ports["haproxy"],
                  "caddy_port": self.ports["caddy"], "upstream_h2_port": self.ports["upstream_h2"],
                  "nginx_h2_port": self.ports["nginx_h2"], "haproxy_h2_port": self.ports["haproxy_h2"],
                  "caddy_h2_port": self.ports["caddy_h2"], "upstream_grpc_port": self.ports["upstream_grpc"],
                  "h2_space": H2_SPACE, "grpc_space": GRPC_SPACE, "grpc_service": GRPC_SERVICE}
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"

        up_conf = render("upstream.nginx.conf", values, os.path.join(d, "upstream.nginx.conf"))
        self.servers["upstream"] = Server(
            "upstream", [nginx, "-e", "stderr", "-p", d, "-c", up_conf], CLIENT_CORE, d,
            threads="nginx, 1 worker")
        wait_for_port(self.ports["upstream"], self.servers["upstream"])
        wait_for_port(self.ports["upstream_h2"], self.servers["upstream"])
        if any(s.grpc for s in self.chosen()):
            nghttpd = shutil.which("nghttpd") or "/usr/sbin/nghttpd"
            self.servers["upstream-grpc"] = Server(
                "upstream-grpc", [nghttpd, "--no-tls", "-a", "127.0.0.1", "-d", os.path.join(d, "www"),
                                  "--trailer", "grpc-status: 0", str(self.ports["upstream_grpc"])],
                CLIENT_CORE, d, threads="nghttpd, 1 worker")
            wait_for_port(self.ports["upstream_grpc"], self.servers["upstream-grpc"])

        targets = self.options.targets
        if "nginx" in targets:
            conf = render("proxy.nginx.conf", values, os.path.join(d, "proxy.nginx.conf"))
            self.servers["nginx"] = Server("nginx", [nginx, "-e", "stderr", "-p", d, "-c", conf],
                                           PROXY_CORE, d, threads="1 worker process")
        if "haproxy" in targets:
            conf = render("haproxy.cfg", values, os.path.join(d, "haproxy.cfg"))
            self.servers["haproxy"] = Server("haproxy", [haproxy, "-db", "-f", conf], PROXY_CORE, d,
                                             threads="nbthread 1")
        if "caddy" in targets:
            conf = render("Caddyfile", values, os.path.join(d, "Caddyfile"))
            # One OS thread runs Go code (GOMAXPROCS=1), the one core every proxy gets; its state stays in the folder.
            env = dict(os.environ, GOMAXPROCS="1", XDG_CONFIG_HOME=os.path.join(d, "caddy-config"),
                       XDG_DATA_HOME=os.path.join(d, "caddy-data"))
            self.servers["caddy"] = Server("caddy", ["caddy", "run", "--config", conf, "--adapter", "caddyfile"],
                                           PROXY_CORE, d, env=env, threads="GOMAXPROCS=1")
        if "spaceport" in targets:
            self.servers["spaceport"] = self.start_proxy("spaceport", self.options.binary, "run", "bench", values)
            self.feed_socket = os.path.join(d, "run", "spaceport", "bench.sock")
        if NO_PROPAGATION in targets:
            self.servers[NO_PROPAGATION] = self.start_proxy(NO_PROPAGATION, self.options.binary, "run-nopropagation",
                                                            "benchnoprop", values, spaces_prefix=PROPAGATION_OFF)
        if "baseline" in targets:
            self.servers["baseline"] = self.start_proxy("baseline", self.options.baseline, "run-baseline",
                                                        "benchbase", values)
        if "admin" in targets:
            self.servers["admin"] = self.start_proxy(
                "admin", self.options.binary, "run-admin", "benchadmin", values,
                extra=["--admin", f"127.0.0.1:{self.ports['admin_listener']}"])
        if "dash" in targets:
            runtime = os.path.join(d, "run-dash")
            os.makedirs(runtime, mode=0o700)
            env = {"XDG_RUNTIME_DIR": runtime, "NIO_SINGLETON_GROUP_LOOP_COUNT": str(self.options.spaceport_loops)}
            command = [self.options.binary, "dash", "--spaces", os.path.join(d, "spaces.yaml"),
                       "--ingress", f"127.0.0.1:{self.ports['dash']}", "--name", "benchdash"]
            render("spaces.yaml", dict(values, listen=""), command[3])
            self.servers["dash"] = TmuxServer("dash", command, PROXY_CORE, d, self.tmux_socket, env=env)
        for name in ("nginx", "haproxy", "caddy", "spaceport", NO_PROPAGATION, "baseline", "dash", "admin"):
            if name in self.servers:
                wait_for_port(self.ports[name], self.servers[name])
                if name in OTHER_PROXIES:
                    wait_for_port(self.ports[name + "_h2"], self.servers[name])
        self.check_targets()
        for name in ("spaceport", NO_PROPAGATION, "baseline", "dash", "admin"):
            if name in self.servers:
                server = self.servers[name]
                server.threads = (f"NIO_SINGLETON_GROUP_LOOP_COUNT={self.options.spaceport_loops}, "
                                  f"{server.thread_count()} OS threads in all"
                                  + (", dashboard drawn in a 200×50 tmux window" if name == "dash" else ""))
        if "spaceport" in self.servers:
            deadline = time.monotonic() + 10
            while not os.path.exists(self.feed_socket) and time.monotonic() < deadline:
                time.sleep(0.1)
            if not os.path.exists(self.feed_socket):
                self.notes.append(f"Spaceport's feed socket never appeared at {self.feed_socket}; "
                                  "feed rows were skipped.")
                self.feed_socket = None
        for name, server in self.servers.items():
            self.memory_marks[name] = {"idle_rss": server.memory()[0]}

    def start_proxy(self, name, binary, runtime_name, feed_name, values, spaces_prefix="", extra=()):
        """`BINARY proxy` on its own port, runtime folder and feed socket name, pinned to the proxy core.

        Its spaces file gives the default svc instance a `listen` address of its own, for the relay row,
        and begins with `spaces_prefix` (settings of its own).
        """
        spaces = os.path.join(self.dir, f"spaces-{name}.yaml")
        listen = f", listen: 127.0.0.1:{self.ports[name + '_relay']}"
        render("spaces.yaml", dict(values, listen=listen + ", protocol: tcp"), spaces)
        # A baseline built before `protocol:` refuses the file: it relays the legacy method instead.
        if name == "baseline" and subprocess.run([binary, "tree", "--spaces", spaces],
                                                 capture_output=True).returncode != 0:
            render("spaces.yaml", dict(values, listen=listen), spaces)
            RELAY_METHODS[name] = LEGACY_RELAY_METHOD
        with open(spaces) as f:
            text = spaces_prefix + f.read()
        if any(s.kind == "h2" for s in self.chosen()):
            text += fill(H2_SPACES, values, "H2_SPACES")
        with open(spaces, "w") as f:
            f.write(text)
        runtime = os.path.join(self.dir, runtime_name)
        os.makedirs(runtime, mode=0o700)
        # Same CPU budget as the others: one event loop (if the proxy uses NIO's singleton group).
        env = dict(os.environ, XDG_RUNTIME_DIR=runtime,
                   NIO_SINGLETON_GROUP_LOOP_COUNT=str(self.options.spaceport_loops))
        command = [binary, "proxy", "--spaces", spaces,
                   "--ingress", f"127.0.0.1:{self.ports[name]}", "--name", feed_name, "--quiet", *extra]
        return Server(name, command, PROXY_CORE, self.dir, env=env)

    def port_of(self, target):
        return self.ports["upstream" if target == "direct" else target]

    def port_h2(self, target, scenario):
        """Where a target takes HTTP/2: Spaceport on its one ingress, the others on a listener of their own."""
        if target in ("spaceport", NO_PROPAGATION, "baseline", "dash", "admin"):
            return self.port_of(target)
        if target == "direct":
            return self.ports["upstream_grpc" if scenario.grpc else "upstream_h2"]
        return self.ports[target + "_h2"]

    def chosen(self):
        return [s for s in SCENARIOS + [GENERATOR] if s.key in self.options.scenarios]

    def port_for(self, row):
        return self.ports[row.target + "_relay"] if row.relay else self.port_of(row.target)

    def check_targets(self):
        for target in self.options.targets:
            for path in ("/small", "/64k", "/1m"):
                hosts = [(HOST, "default")]
                if target in ("spaceport", NO_PROPAGATION, "baseline", "dash", "admin"):
                    hosts.append((FALLBACK_HOST, "grandchild"))
                for host, route_as in hosts:
                    problems, headers = probe(self.port_of(target), path, host,
                                              None if target == "direct" else route_as)
                    if problems:
                        server = self.servers.get(target)
                        raise SystemExit(f"{target} {host}{path}: {'; '.join(problems)}\n"
                                         f"{server.tail() if server else ''}")
            if target in ("spaceport", NO_PROPAGATION, "baseline", "admin"):
                route = {k.lower(): v for k, v in headers.items()}.get("x-spaceport-route")
                log(f"{target} answers with x-spaceport-route: {route}")
                self.check_relay(target)
            if target in ("spaceport", NO_PROPAGATION) and "propagation" in self.options.scenarios:
                self.check_propagation(target)
        for scenario in self.chosen():
            if scenario.kind != "h2":
                continue
            for row in scenario.rows:
                if row.target not in self.options.targets:
                    continue
                # nghttpd, the gRPC upstream, cannot echo the route header it saw.
                problems = probe_h2(self.port_h2(row.target, scenario), scenario.path, row.host,
                                    None if row.target == "direct" or scenario.grpc else H2_SPACE, self.dir)
                if problems:
                    server = self.servers.get(row.target)
                    raise SystemExit(f"{row.target} over HTTP/2, {row.host}{scenario.path}: {'; '.join(problems)}\n"
                                     f"{server.tail() if server else ''}")

    def check_propagation(self, target):
        """The propagation rows must be what they say: the bridge adds the route to the app's baggage, and
        with propagation off the upstream sees the app's baggage as it was sent."""
        traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        problems, headers = probe(self.port_of(target), "/small", HOST, "default",
                                  headers={"baggage": APP_BAGGAGE, "traceparent": traceparent})
        seen = {k.lower(): v for k, v in headers.items()}.get("x-seen-baggage")
        expected = APP_BAGGAGE if target == NO_PROPAGATION else APP_BAGGAGE + ",azds-route-as=default,okteto-divert=default"
        if seen != expected:
            problems.append(f"the upstream saw baggage {seen!r}, expected {expected!r}")
        if problems:
            raise SystemExit(f"{target} with baggage and traceparent: " + "; ".join(problems))

    def check_relay(self, target):
        """The relay row's requests must pass through untouched: the upstream's answer, no route header."""
        method = relay_method(target) or "GET"
        problems, headers = probe(self.ports[target + "_relay"], "/small", HOST, None, method=method)
        route = {k.lower(): v for k, v in headers.items()}.get("x-spaceport-route")
        if route:
            problems.append(f"x-spaceport-route {route!r}: the proxy routed it")
        if problems:
            raise SystemExit(f"{target}'s listen address did not relay a {method} request as raw TCP: "
                             + "; ".join(problems))

    def stop(self):
        for name in reversed(list(self.servers)):
            self.servers[name].stop()
        subprocess.run(["tmux", "-L", self.tmux_socket, "kill-server"], capture_output=True)
        tmux_dir = os.path.join(os.environ.get("TMUX_TMPDIR", "/tmp"), f"tmux-{os.geteuid()}")
        try:
            os.unlink(os.path.join(tmux_dir, self.tmux_socket))
        except OSError:
            pass

    def check_alive(self):
        for name, server in self.servers.items():
            if not server.alive():
                raise SystemExit(f"{name} exited during the run:\n{server.tail()}")

    # -- runs --

    def plan(self):
        chosen = self.chosen()
        for scenario in chosen:
            if scenario.kind == "generator":
                # The limit (direct) is where a generator's own speed shows; a proxy row checks it on a slower target.
                scenario.rows = [Row(f"{target}, {tool}", target, tool=tool)
                                 for target in ("direct", "spaceport", "nginx") if target in self.options.targets
                                 for tool in ("wrk", "openloop closed loop")]
            if "baseline" in self.options.targets and scenario.kind == "wrk":
                scenario.rows = with_baseline_twins(scenario.rows, self.options.baseline_name)
            scenario.rows = [r for r in scenario.rows if r.target in self.options.targets
                             and (r.feed is None or self.feed_socket)]
        return [s for s in chosen if s.rows or (s.kind == "latency" and self.latency_targets())]

    def latency_targets(self):
        return [t for t in ("direct", "spaceport") + OTHER_PROXIES if t in self.options.targets]

    def plan_latency(self, scenario, log_file):
        """Measures each proxy's maximum (wrk, closed loop, as the small scenario) and makes the rows: every
        target at each fixed rate, each proxy at half its maximum, and direct at every rate a proxy gets."""
        maxima = {}
        for target in self.latency_targets():
            if target != "direct":
                maxima[target] = run_wrk(self.port_of(target), scenario, Row(target, target),
                                         self.options.duration, log_file)["rps"]
                log(f"latency: {target}'s maximum {maxima[target]:.0f} req/s")
        self.latency_maxima = maxima
        rows = []
        for rate in LATENCY_RATES:
            rows += [Row(f"{target}, {rate:,} req/s", target, rate=rate) for target in self.latency_targets()]
        for target, maximum in maxima.items():
            rate = round(maximum * LATENCY_SHARE / 100) * 100
            if "direct" in self.options.targets:
                rows.append(Row(f"direct, {rate:,} req/s ({LATENCY_SHARE:.0%} of {target}'s maximum)", "direct",
                                rate=rate))
            rows.append(Row(f"{target}, {rate:,} req/s ({LATENCY_SHARE:.0%} of its maximum)", target, rate=rate))
        scenario.rows = rows

    def load(self, scenario, row, duration, log_file):
        """One run of the scenario's load tool against the row's target."""
        if scenario.kind == "h2":
            return run_h2load(self.port_h2(row.target, scenario), scenario, row, duration, log_file, self.dir)
        if scenario.kind == "latency":
            return run_openloop(self.options.openloop, self.port_of(row.target), scenario, row,
                                self.options.latency_duration, log_file, rate=row.rate)
        if row.tool == "openloop closed loop":
            return run_openloop(self.options.openloop, self.port_of(row.target), scenario, row, duration, log_file)
        return run_wrk(self.port_for(row), scenario, row, duration, log_file)

    def measure(self, scenario, row, duration, log_file):
        server = self.servers.get(row.target)
        accepts_before = upstream_accepts(self.ports["upstream"])
        if row.feed in ("dash", "dash-every-hop"):
            feed = AttachedDashboard(self, every_hop=row.feed == "dash-every-hop")
        else:
            feed = FeedClient(row.feed, self.feed_socket) if row.feed else None
        scraper = Scraper(self.ports["admin_listener"]) if row.target == "admin" else None
        if server is not None:
            cpu_before = server.cpu_seconds()
            sleeps_before = server.sleeps()
            with MemorySampler(server) as sampler:
                figures = self.load(scenario, row, duration, log_file)
            figures["peak_rss_kib"] = sampler.peak
            user, system = (after - before for after, before in zip(server.cpu_seconds(), cpu_before))
            requests = max(figures["requests"], 1)
            woken = {tid: count - sleeps_before.get(tid, 0) for tid, count in server.sleeps().items()}
            figures["wakeups_per_request"] = sum(woken.values()) / requests
            # A thread that slept at least once every 100 requests takes part in serving them.
            figures["threads_woken"] = sum(1 for count in woken.values() if count * 100 >= requests)
            figures["cpu_us_per_request"] = (user + system) * 1e6 / requests
            figures["user_us_per_request"] = user * 1e6 / requests
            figures["system_us_per_request"] = system * 1e6 / requests
        else:
            figures = self.load(scenario, row, duration, log_file)
            figures["peak_rss_kib"] = None
            figures["cpu_us_per_request"] = None
        # Minus one: the second status query's own connection. nghttpd, the gRPC upstream, counts none.
        figures["upstream_dials"] = None if scenario.grpc else upstream_accepts(self.ports["upstream"]) - accepts_before - 1
        if scraper is not None:
            figures["scrape"] = scraper.finish()
        if feed is not None:
            time.sleep(1.0)  # lets the last hops of the load reach the reader
            figures["feed"] = feed.finish()
        self.check_alive()
        return figures

    def run(self):
        scenarios = self.plan()
        rounds, duration = self.options.rounds, self.options.duration
        results = {}
        log_path = os.path.join(self.dir, "wrk.log")
        with open(log_path, "w") as log_file:
            log("warming up every target for 1 s ...")
            for target in self.options.targets:
                row = Row(target, target)
                run_wrk(self.port_of(target), SCENARIOS[0], row, 1, log_file)
            for scenario in scenarios:
                if scenario.kind == "latency":
                    self.plan_latency(scenario, log_file)
            for round_index in range(rounds):
                for scenario in scenarios:
                    # Rotate the order each round so no target always runs first or last.
                    shift = round_index % len(scenario.rows)
                    rows = scenario.rows[shift:] + scenario.rows[:shift]
                    for row in rows:
                        figures = self.measure(scenario, row, duration, log_file)
                        results.setdefault((scenario.key, row.label), []).append(figures)
                        log(f"round {round_index + 1}/{rounds} {scenario.key:6} {row.label:48} "
                            f"{figures['rps']:>10.0f} req/s  p99 {figures['p99_us'] / 1000:7.2f} ms"
                            + (f"  errors {describe_errors(figures)}" if has_errors(figures) else ""))
                for name, server in self.servers.items():
                    self.memory_marks[name][f"after_round_{round_index + 1}"] = server.memory()[0]
        for name, server in self.servers.items():
            rss, hwm = server.memory()
            self.memory_marks[name].update(end_rss=rss, hwm=hwm)
        return scenarios, results


def has_errors(figures):
    return any(figures[k] for k in ("connect", "read", "write", "status", "timeout"))


def describe_errors(figures):
    parts = [f"{k}={figures[k]}" for k in ("status", "connect", "read", "write", "timeout") if figures[k]]
    return ", ".join(p.replace("status=", "non-2xx=") for p in parts) or "0"


def median_round(runs):
    """The run whose requests/s is the median (the lower middle for an even count)."""
    ordered = sorted(runs, key=lambda r: r["rps"])
    return ordered[(len(ordered) - 1) // 2]


def ratio(value, reference):
    if value is None or not reference:
        return "–"
    return f"{value / reference:.2f}×"


def mib(kib):
    return "–" if kib is None else f"{kib / 1024:.1f}"


def micros(us):
    return "–" if us is None else f"{us:.1f}"


def ms(us):
    return f"{us / 1000:.2f}"


def nginx_row(scenario):
    for row in scenario.rows:
        if row.target == "nginx":
            return row
    return None


def throughput(scenarios):
    """The scenarios whose rows are as fast as they go (wrk and h2load): the latency and generator ones are not."""
    return [s for s in scenarios if s.kind in ("wrk", "h2")]


def table(scenarios, results):
    lines = ["| scenario | target | req/s | ×nginx | p50 ms | ×nginx | p99 ms | ×nginx | peak RSS MiB | ×nginx | CPU µs/req | ×nginx | upstream dials | errors |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for scenario in throughput(scenarios):
        reference_row = nginx_row(scenario)
        reference = median_round(results[(scenario.key, reference_row.label)]) if reference_row else None
        for row in scenario.rows:
            m = median_round(results[(scenario.key, row.label)])
            ref = reference or {}
            lines.append(
                f"| {scenario.title} | {row.label} | {m['rps']:.0f} | {ratio(m['rps'], ref.get('rps'))} "
                f"| {ms(m['p50_us'])} | {ratio(m['p50_us'], ref.get('p50_us'))} "
                f"| {ms(m['p99_us'])} | {ratio(m['p99_us'], ref.get('p99_us'))} "
                f"| {mib(m['peak_rss_kib'])} | {ratio(m['peak_rss_kib'], ref.get('peak_rss_kib'))} "
                f"| {micros(m['cpu_us_per_request'])} | {ratio(m['cpu_us_per_request'], ref.get('cpu_us_per_request'))} "
                f"| {dials(m)} | {describe_errors(m)} |")
    return "\n".join(lines)


def baseline_table(scenarios, results):
    """Each spaceport row divided by its twin on the baseline binary, in the same rounds."""
    lines = ["| scenario | row | req/s ÷ baseline | p99 ÷ baseline | CPU µs/req ÷ baseline | req/s ÷ baseline per round |",
             "|---|---|---:|---:|---:|---|"]
    for scenario in scenarios:
        for row in scenario.rows:
            if row.twin is None or (scenario.key, row.twin) not in results:
                continue
            ours, theirs = results[(scenario.key, row.twin)], results[(scenario.key, row.label)]
            a, b = median_round(ours), median_round(theirs)
            per_round = ", ".join(ratio(x["rps"], y["rps"]) for x, y in zip(ours, theirs))
            lines.append(f"| {scenario.title} | {row.twin} | {ratio(a['rps'], b['rps'])} "
                         f"| {ratio(a['p99_us'], b['p99_us'])} "
                         f"| {ratio(a['cpu_us_per_request'], b['cpu_us_per_request'])} | {per_round} |")
    return "\n".join(lines) if len(lines) > 2 else ""


WATCHING_REFERENCE = "spaceport, no subscriber"


def cost_table(scenarios, results, key, reference_label, targets):
    """What each row of scenario `key` costs against its reference row, round by round.

    Each round's ratio uses the reference run of the same round, so the machine's drift between
    rounds cancels; the median of those ratios is the figure to quote.
    """
    scenario = next((s for s in scenarios if s.key == key), None)
    reference = results.get((key, reference_label)) if scenario else None
    if not reference:
        return ""
    lines = ["| row | req/s change (median of rounds) | per round | CPU µs/req change (median of rounds) |",
             "|---|---:|---|---:|"]
    for row in scenario.rows:
        if row.label == reference_label or row.target not in targets:
            continue
        runs = results.get((key, row.label), [])
        pairs = [(run, ref) for run, ref in zip(runs, reference) if ref["rps"] and ref.get("cpu_us_per_request")]
        if not pairs:
            continue
        rps = sorted(run["rps"] / ref["rps"] - 1 for run, ref in pairs)
        cpu = sorted(run["cpu_us_per_request"] / ref["cpu_us_per_request"] - 1 for run, ref in pairs
                     if run.get("cpu_us_per_request"))
        per_round = ", ".join(f"{run['rps'] / ref['rps'] - 1:+.1%}" for run, ref in pairs)
        middle = lambda values: values[(len(values) - 1) // 2] if values else None
        cpu_text = f"{middle(cpu):+.1%}" if cpu else "–"
        lines.append(f"| {row.label} | {middle(rps):+.1%} | {per_round} | {cpu_text} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def propagation_cost(results):
    """The bridge on against propagation off, round by round: (req/s ratios, CPU µs/req ratios), each sorted.

    Both proxies ran in the same rounds, so each round's ratio cancels the machine's drift between rounds.
    """
    on, off = results.get(("propagation", BRIDGE_ON), []), results.get(("propagation", BRIDGE_OFF), [])
    pairs = list(zip(on, off))
    rps = [a["rps"] / b["rps"] for a, b in pairs if b["rps"]]
    cpu = [a["cpu_us_per_request"] / b["cpu_us_per_request"] for a, b in pairs
           if a.get("cpu_us_per_request") and b.get("cpu_us_per_request")]
    return rps, cpu


def propagation_summary(results):
    """One line: what the bridge costs in requests per second, or "" when the scenario did not run."""
    rps, cpu = propagation_cost(results)
    if not rps:
        return ""
    middle = lambda values: sorted(values)[(len(values) - 1) // 2]
    text = (f"propagation: bridge on ÷ off = {middle(rps):.3f}× requests per second "
            f"({1 - middle(rps):+.1%} cost; median of {len(rps)} round(s): {', '.join(f'{r:.3f}' for r in rps)})")
    if cpu:
        text += f", {middle(cpu):.3f}× CPU µs per request"
    return text


def watching_table(scenarios, results):
    return cost_table(scenarios, results, "feed", WATCHING_REFERENCE, ("spaceport", "dash"))


def admin_table(scenarios, results):
    """The admin listener scraped every second against the same proxy without it, and the scrapes made."""
    table = cost_table(scenarios, results, "admin", ADMIN_REFERENCE, ("admin",))
    scrapes = [run.get("scrape", {}) for run in results.get(("admin", "spaceport, admin listener on, /metrics scraped "
                                                                       "every second"), [])]
    if not table or not scrapes:
        return table
    made = sum(s.get("scrapes", 0) for s in scrapes)
    failed = sum(s.get("failures", 0) for s in scrapes)
    size = max(s.get("exposition_bytes", 0) for s in scrapes)
    return table + f"\n\nScrapes during the runs: {made} answered, {failed} failed; the exposition was {size} bytes."


def cpu_split_table(scenarios, results):
    """Each proxy's CPU per request split into its own code (user) and the kernel's (system)."""
    lines = ["| scenario | target | user µs/req | ×nginx | kernel µs/req | ×nginx | user share |",
             "|---|---|---:|---:|---:|---:|---:|"]
    for scenario in throughput(scenarios):
        reference_row = nginx_row(scenario)
        ref = median_round(results[(scenario.key, reference_row.label)]) if reference_row else {}
        for row in scenario.rows:
            m = median_round(results[(scenario.key, row.label)])
            user, system = m.get("user_us_per_request"), m.get("system_us_per_request")
            if user is None or system is None:
                continue
            share = f"{user / (user + system):.0%}" if user + system else "–"
            lines.append(
                f"| {scenario.title} | {row.label} | {micros(user)} | {ratio(user, ref.get('user_us_per_request'))} "
                f"| {micros(system)} | {ratio(system, ref.get('system_us_per_request'))} | {share} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def pipeline_table(results):
    lines = ["| round | wrk requests | hop-end events received | received / requests | hops/s received | dropped reported |",
             "|---:|---:|---:|---:|---:|---:|"]
    runs = results.get(("feed", "spaceport, one live subscriber"), [])
    for index, run in enumerate(runs, 1):
        feed = run.get("feed", {})
        if "error" in feed:
            lines.append(f"| {index} | {run['requests']} | reader failed: {feed['error']} | | | |")
            continue
        seconds = run["duration_us"] / 1e6
        lines.append(f"| {index} | {run['requests']} | {feed['ends']} | {feed['ends'] / max(run['requests'], 1):.3f} "
                     f"| {feed['ends'] / seconds:.0f} | {feed['dropped']} |")
    return "\n".join(lines) if runs else ""


def all_rounds(scenarios, results):
    lines = ["| scenario | target | req/s per round | p99 ms per round | peak RSS MiB per round | CPU µs/req per round |",
             "|---|---|---|---|---|---|"]
    for scenario in scenarios:
        if scenario.kind == "generator":
            continue
        for row in scenario.rows:
            runs = results[(scenario.key, row.label)]
            lines.append(f"| {scenario.key} | {row.label} | {', '.join('%.0f' % r['rps'] for r in runs)} "
                         f"| {', '.join(ms(r['p99_us']) for r in runs)} "
                         f"| {', '.join(mib(r['peak_rss_kib']) for r in runs)} "
                         f"| {', '.join(micros(r['cpu_us_per_request']) for r in runs)} |")
    return "\n".join(lines)


def dials(figures):
    value = figures.get("upstream_dials")
    return "–" if value is None else value


def wakeups(figures):
    value = figures.get("wakeups_per_request")
    return "–" if value is None else f"{value:.2f}"


def middle(values):
    """The median of a list (the lower middle for an even count), None for none."""
    ordered = sorted(v for v in values if v is not None)
    return ordered[(len(ordered) - 1) // 2] if ordered else None


LATENCY_PERCENTILES = (("p50", "p50_us"), ("p99", "p99_us"), ("p99.9", "p999_us"))


def added_latency(results, key, row, direct_rows):
    """Per percentile: the row's figure minus direct's at the same rate, round by round (direct of the same
    round), and their median; None when direct did not run at that rate."""
    direct = next((d for d in direct_rows if d.rate == row.rate), None)
    if direct is None:
        return None
    pairs = list(zip(results[(key, row.label)], results[(key, direct.label)]))
    return {name: middle([ours[field] - theirs[field] for ours, theirs in pairs])
            for name, field in LATENCY_PERCENTILES} | {
        "per_round_p99": [ours["p99_us"] - theirs["p99_us"] for ours, theirs in pairs]}


def us(value):
    return "–" if value is None else f"{value:,.0f}"


def positive_ratio(value, reference):
    """value ÷ reference when both are above zero (an added latency within the noise can come out negative)."""
    if value is None or reference is None or value <= 0 or reference <= 0:
        return "–"
    return f"{value / reference:.2f}×"


def latency_tables(scenarios, results, maxima):
    """The latency scenario: added p50/p99/p99.9 per proxy per rate side by side, then each row in full."""
    scenario = next((s for s in scenarios if s.kind == "latency" and s.rows), None)
    if scenario is None:
        return ""
    key = scenario.key
    direct_rows = [r for r in scenario.rows if r.target == "direct"]
    proxies = [t for t in ("spaceport",) + OTHER_PROXIES if any(r.target == t for r in scenario.rows)]
    added = {r.label: added_latency(results, key, r, direct_rows) for r in scenario.rows if r.target != "direct"}

    def row_for(target, group):
        for r in scenario.rows:
            if r.target == target and (r.rate == group if group else "maximum)" in r.label):
                return r
        return None

    groups = [(f"{rate:,} req/s", rate) for rate in LATENCY_RATES] + [(f"{LATENCY_SHARE:.0%} of each one's maximum", None)]
    side = ["| rate | added | " + " | ".join(proxies) + " | spaceport ÷ nginx |",
            "|---|---|" + "---:|" * len(proxies) + "---:|"]
    for title, group in groups:
        for name, _ in LATENCY_PERCENTILES:
            cells = []
            for target in proxies:
                r = row_for(target, group)
                figures = added.get(r.label) if r else None
                cell = us(figures[name]) + " µs" if figures else "–"
                if r and group is None and name == "p50":
                    cell += f" (at {r.rate:,})"
                cells.append(cell)
            ours, theirs = row_for("spaceport", group), row_for("nginx", group)
            quotient = positive_ratio(added[ours.label][name] if ours and added.get(ours.label) else None,
                                      added[theirs.label][name] if theirs and added.get(theirs.label) else None)
            side.append(f"| {title if name == 'p50' else ''} | {name} | " + " | ".join(cells) + f" | {quotient} |")
    full = ["| row | achieved req/s | p50 µs | p99 µs | p99.9 µs | max µs | added p50 µs | added p99 µs "
            "| added p99.9 µs | added p99 per round | late sends | CPU µs/req | wakeups/req | threads woken "
            "| upstream dials | errors |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|"]
    for r in scenario.rows:
        runs = results[(key, r.label)]
        m = {field: middle([run[field] for run in runs]) for field in ("rps", "p50_us", "p99_us", "p999_us", "max_us",
                                                                        "late")}
        m_round = median_round(runs)
        a = added.get(r.label)
        over = " (above its maximum)" if r.target in maxima and r.rate > maxima[r.target] else ""
        full.append(f"| {r.label}{over} | {m['rps']:,.0f} | {us(m['p50_us'])} | {us(m['p99_us'])} | {us(m['p999_us'])} "
                    f"| {us(m['max_us'])} | {us(a['p50']) if a else '–'} | {us(a['p99']) if a else '–'} "
                    f"| {us(a['p99.9']) if a else '–'} | {', '.join(us(v) for v in a['per_round_p99']) if a else '–'} "
                    f"| {m['late']:.0f} | {micros(m_round['cpu_us_per_request'])} | {wakeups(m_round)} "
                    f"| {m_round.get('threads_woken', '–')} | {dials(m_round)} "
                    f"| {describe_errors(m_round)} |")
    maxima_text = ", ".join(f"{t} {v:,.0f}" for t, v in maxima.items())
    return "\n".join(side), "\n".join(full), maxima_text


def generator_table(scenarios, results):
    """wrk against openloop's closed loop on the same target and load, round by round."""
    scenario = next((s for s in scenarios if s.kind == "generator"), None)
    if scenario is None:
        return ""
    lines = ["| target | wrk req/s per round | openloop req/s per round | openloop ÷ wrk (median of rounds) "
             "| p50 µs, wrk / openloop | p99 µs, wrk / openloop |",
             "|---|---|---|---:|---|---|"]
    for target in dict.fromkeys(r.target for r in scenario.rows):
        wrk = results.get((scenario.key, f"{target}, wrk"), [])
        ours = results.get((scenario.key, f"{target}, openloop closed loop"), [])
        if not wrk or not ours:
            continue
        quotient = middle([b["rps"] / a["rps"] for a, b in zip(wrk, ours) if a["rps"]])
        a, b = median_round(wrk), median_round(ours)
        lines.append(f"| {target} | {', '.join('%.0f' % r['rps'] for r in wrk)} "
                     f"| {', '.join('%.0f' % r['rps'] for r in ours)} | {quotient:.3f}× "
                     f"| {a['p50_us']:.0f} / {b['p50_us']:.0f} | {a['p99_us']:.0f} / {b['p99_us']:.0f} |")
    return "\n".join(lines)


def memory_table(bench):
    lines = ["| process | idle RSS MiB | " + " | ".join(f"after round {i}" for i in range(1, bench.options.rounds + 1))
             + " | end RSS MiB | VmHWM (peak since start) MiB |",
             "|---|---:|" + "---:|" * bench.options.rounds + "---:|---:|"]
    for name, marks in bench.memory_marks.items():
        rounds = " | ".join(mib(marks.get(f"after_round_{i}")) for i in range(1, bench.options.rounds + 1))
        lines.append(f"| {name} | {mib(marks['idle_rss'])} | {rounds} | {mib(marks.get('end_rss'))} "
                     f"| {mib(marks.get('hwm'))} |")
    return "\n".join(lines)


def latest_ratios(scenarios, results, started, load_before, options):
    """Spaceport's rows as ratios to nginx and to the direct limit, for the README."""
    lines = [f"From `bench/run{' --quick' if options.quick else ''}` on {started.strftime('%Y-%m-%d')}, "
             f"load average {load_before} at the start ({options.rounds} round(s) × {options.duration} s); "
             "full figures in [results.md](results.md).", "",
             "| scenario | Spaceport row | req/s ×nginx | req/s ×direct | req/s ×caddy | p99 ×nginx | CPU/req ×nginx | peak RSS ×nginx |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for scenario in throughput(scenarios):
        def find(target):
            # The row on the bench's usual host, else (the HTTP/2 scenarios use their own) any.
            rows = [row for row in scenario.rows if row.target == target and row.feed is None]
            for row in sorted(rows, key=lambda row: row.host != HOST):
                return median_round(results[(scenario.key, row.label)])
            return {}
        nginx, direct, caddy = find("nginx"), find("direct"), find("caddy")
        small = next((s for s in scenarios if s.key == "small"), None)
        if not direct and small and (small.path, small.connections) == (scenario.path, scenario.connections):
            # Same requests as the small scenario: its direct run is this row's limit too.
            direct = next((median_round(results[("small", r.label)]) for r in small.rows
                           if r.target == "direct"), {})
        for row in scenario.rows:
            if row.target not in ("spaceport", NO_PROPAGATION, "dash"):
                continue
            m = median_round(results[(scenario.key, row.label)])
            lines.append(f"| {scenario.title} | {row.label} | {ratio(m['rps'], nginx.get('rps'))} "
                         f"| {ratio(m['rps'], direct.get('rps'))} | {ratio(m['rps'], caddy.get('rps'))} "
                         f"| {ratio(m['p99_us'], nginx.get('p99_us'))} "
                         f"| {ratio(m['cpu_us_per_request'], nginx.get('cpu_us_per_request'))} "
                         f"| {ratio(m['peak_rss_kib'], nginx.get('peak_rss_kib'))} |")
    return "\n".join(lines)


def update_readme(text):
    path = os.path.join(HERE, "README.md")
    with open(path) as f:
        readme = f.read()
    start, end = "<!-- latest:start -->", "<!-- latest:end -->"
    if start not in readme or end not in readme:
        return
    head, rest = readme.split(start, 1)
    tail = rest.split(end, 1)[1]
    with open(path, "w") as f:
        f.write(f"{head}{start}\n{text}\n{end}{tail}")


FRAME_HOPS = 10_000
FRAME_COUNT = 300
FRAME_TIMEOUT = 300


def frame_bench_command(frame_bench, *extra):
    """`frame-bench` with 10,000 hops in the ring (pinned by the caller)."""
    return [frame_bench, "--hops", str(FRAME_HOPS), "--frames", str(FRAME_COUNT), "--json", *extra]


def frame_bench_off_screen(frame_bench):
    """Frames rendered onto the in-memory canvas: the report as a dict."""
    result = subprocess.run(pinned(PROXY_CORE, frame_bench_command(frame_bench)), capture_output=True, text=True,
                            timeout=FRAME_TIMEOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    if result.returncode != 0:
        raise RuntimeError(f"exited {result.returncode}: {(result.stderr or result.stdout).strip()}")
    return json.loads(result.stdout)


def frame_bench_terminal(frame_bench):
    """Frames drawn through curses in a 200×50 window of a private tmux server: the report as a dict."""
    if not shutil.which("tmux"):
        raise RuntimeError("tmux is not installed")
    workdir = tempfile.mkdtemp(prefix="spaceport-frames-")
    socket_name = f"spaceport-frames-{os.getpid()}"
    try:
        output = os.path.join(workdir, "frames.json")
        server = TmuxServer("frames", frame_bench_command(frame_bench, "--terminal", "--output", output),
                            PROXY_CORE, workdir, socket_name)
        deadline = time.monotonic() + FRAME_TIMEOUT
        while server.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        finished = not server.alive()
        server.stop()
        if not finished:
            raise RuntimeError(f"did not finish within {FRAME_TIMEOUT} s")
        if not os.path.exists(output):
            raise RuntimeError(f"wrote no report: {server.tail().strip() or 'no error printed'}")
        with open(output) as f:
            return json.load(f)
    finally:
        subprocess.run(["tmux", "-L", socket_name, "kill-server"], capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)


def dashboard_frame_time(frame_bench):
    """The dashboard's frame time with 10,000 hops in its ring, as markdown for the report.

    Runs `frame-bench` twice on the proxy core (where `spaceport dash` draws with its
    proxy embedded): off-screen, and through curses in a 200×50 window of a private tmux server.
    A variant that cannot run becomes a line saying why, never an exception.
    """
    if not frame_bench:
        return "Not measured: no frame-bench executable (pass --frame-bench)."
    variants = [("off-screen: render onto the in-memory canvas", frame_bench_off_screen),
                ("terminal: curses in a {width}×{height} tmux window", frame_bench_terminal)]
    rows, problems = [], []
    for label, measure in variants:
        try:
            report = measure(frame_bench)
            rows.append(f"| {label.format(**report)} | {report['hopsInRing']:,} | {report['frames']} | {report['medianMs']:.3f} | "
                        f"{report['p99Ms']:.3f} | {report['maxMs']:.3f} | {report['corePercentAt30fps']:.1f}% |")
            per_frame, build = report["hopsPerFrame"], report["build"]
        except Exception as error:  # the bench must finish whatever this measurement does
            problems.append(f"The {label.split(':')[0]} variant was not measured: {error}")
    text = ""
    if rows:
        text = ("| variant | hops in ring | frames | median ms | p99 ms | max ms | core at 30 fps |\n"
                "|---|---:|---:|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n\n")
        text += (f"A frame is what the dashboard's screen thread does per redraw: take the {per_frame} new hops "
                 f"waiting in its inbox (a start and an end event each), lay out and render the whole 200×50 "
                 f"screen, and in the terminal variant write the changed cells through curses and refresh; "
                 f"`frame-bench` ({build} build) on core {PROXY_CORE}, after one untimed first frame, "
                 f"with `core at 30 fps` the mean frame's share of a core at the dashboard's 30 frames a second.")
    if problems:
        text += ("\n\n" if text else "") + "\n".join(f"- {p}" for p in problems)
    return text


def machine():
    cpu = "unknown"
    memory = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory": memory,
            "kernel": platform.release()}


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def describe_binary(path):
    """The path as given (relative to the repository when inside it) and what `--version` prints."""
    shown = os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path
    return shown, run_text([path, "--version"])


def baseline_name(binary, baseline):
    """The baseline's --version when it tells the two builds apart, its path otherwise."""
    shown, version = describe_binary(baseline)
    if binary and version and "\n" not in version and not version.startswith("unavailable") \
            and version != describe_binary(binary)[1]:
        return version
    return shown


def versions(binary):
    found = {
        "swift": run_text(["swift", "--version"]).splitlines()[0],
        "nginx": run_text(["nginx", "-v"]),
        "haproxy": run_text(["haproxy", "-v"]).splitlines()[0],
        "wrk": run_text(["wrk", "-v"]).splitlines()[0],
        "caddy": "Caddy " + run_text(["caddy", "version"]).split()[0],
        "h2load": run_text(["h2load", "--version"]).splitlines()[0],
        "python": platform.python_version(),
    }
    if binary:
        found["spaceport"] = run_text([binary, "--version"])
        found["commit"] = run_text(["git", "-C", ROOT, "describe", "--always", "--dirty"])
    return found


def write_results(bench, scenarios, results, started, load_before, load_after, command):
    info = machine()
    found = versions(bench.options.binary if {"spaceport", "dash"} & set(bench.options.targets) else None)
    threads = "\n".join(f"- {name}: {server.threads} (pid {server.pid}, pinned to core "
                        f"{server.core})" for name, server in bench.servers.items())
    frame = dashboard_frame_time(bench.options.frame_bench)
    pipeline = pipeline_table(results)
    watching = watching_table(scenarios, results)
    admin = admin_table(scenarios, results)
    against = baseline_table(scenarios, results)
    carrying = propagation_summary(results)
    compared = ""
    if bench.options.baseline:
        described = [("spaceport", bench.options.binary), ("baseline", bench.options.baseline)]
        compared = "\n- binaries compared: " + "; ".join(
            "%s `%s` (`--version`: %s)" % ((name,) + describe_binary(path)) for name, path in described if path)
    no_nginx = ""
    if "nginx" not in bench.options.targets:
        no_nginx = " nginx was not among the targets, so the ×nginx columns show –."
    text = f"""# Benchmark results

Written by `bench/run`; every run overwrites this file. Figures are the median of
{bench.options.rounds} interleaved round(s) of {bench.options.duration} s per target (the round
with the median req/s supplies all of that row's figures). Ratios are to nginx in the same
scenario: above 1× is better for req/s, below 1× is better for latency and memory.{no_nginx}

- date: {started.strftime('%Y-%m-%d %H:%M:%S %Z').strip()}
- command: `{command}`
- build: `{os.environ.get('SPACEPORT_BUILD', 'not recorded (binary passed with --binary)')}`{compared}
- machine: {info['nproc']} cores, {info['cpu']}, {info['memory']} memory, Linux {info['kernel']}
- load average before / after: {load_before} / {load_after} (other work on this machine shares the cores: treat figures as indicative)
- versions: {found['swift']}; {found['nginx']}; {found['haproxy']}; {found['caddy']}; {found['wrk']}; {found['h2load']}; Python {found['python']}"""
    if "spaceport" in found:
        text += f"; spaceport {found['spaceport']} at {found['commit']}"
    text += f"""
- pinning: every proxy on core {PROXY_CORE}; wrk (1 thread), openloop and h2load (1 thread each), the upstream nginx, the feed reader and the attached dashboard on core {CLIENT_CORE}{"; all at nice -10, session (autogroup) included, so builds sharing the machine disturb less" if NICE else ""}
{threads}

## Requests

{table(scenarios, results)}

`upstream dials` is how many connections the upstream accepted during the run (its
stub_status): wrk's own connections for direct, the proxy's pool misses otherwise. `errors`
counts wrk's non-2xx answers and socket errors (connect, read, write, timeout). Both are
for the median round.

The raw TCP pass-through row is the floor of Spaceport's design: the same process, event loop
and SwiftNIO sockets relay the same requests byte for byte (sent with a method its `listen`
address does not take for HTTP), with no parsing, routing, rewriting or hop events. What
Spaceport's HTTP row costs beyond it is the HTTP layer's own.
"""
    if any(s.kind == "h2" for s in scenarios):
        text += f"""
The HTTP/2 rows (`h2-small`, `h2-64k`, `grpc`) are h2load's: `h2load -t1 -c{H2_CLIENTS} -m{H2_STREAMS}`, so
{H2_CLIENTS} connections with {H2_STREAMS} streams open on each, with prior knowledge (h2c), after a 1 s
warm-up; p50 and p99 come from its per-request log. Every proxy forwards them over h2c to the upstream
nginx's HTTP/2 listener (`direct` is h2load straight to it): Spaceport from its one ingress port,
nginx through `grpc_pass` (its `proxy_pass` speaks only HTTP/1.x upstream), haproxy with `proto h2`
on both sides, Caddy with `h2c` among its protocols and an `h2c://` upstream. The gRPC rows are one
unary call, `{GRPC_METHOD}`, with an 18-byte message each way and `grpc-status: 0` as a trailer.
"""
    latency = latency_tables(scenarios, results, bench.latency_maxima)
    if latency:
        side, full, maxima = latency
        text += f"""
## Added latency per hop at fixed rates

{side}

What a hop adds at a steady load, the figure a developer feels: each target at a fixed rate,
the same rate straight to the upstream (`direct`), and the difference of their percentiles, each
round's own direct run subtracted, median of rounds. (A difference of percentiles, not a
percentile of differences: it says how much later the p99 answer comes, not what the p99 hop
costs.) The generator is `bench/openloop.c`, open loop: request *i* is due at start + *i*/rate
whatever came before, goes out on the first idle one of {LATENCY_CONNECTIONS} keep-alive
connections, and its latency runs from when it was due, so a stall is charged to every request
it held back. `GET /small`, {bench.options.latency_duration} s a run. Each proxy's maximum (wrk,
as the small scenario, measured once before the rounds): {maxima} req/s; its last rate is half of
that, with direct at the same rate.

{full}

`late sends` counts requests that went out more than 1 ms after they were due (no idle
connection, or the generator itself held up); a rate above a target's maximum cannot be kept
and its latency grows with the run, as the row then says. `wakeups/req` is the proxy's voluntary
context switches (each a sleep, in epoll_wait or on a lock, and the wake-up after it) over the
run, all its threads, per request; `threads woken` counts its threads that slept at least once
every 100 requests: what takes part in serving one, a count the machine's noise hardly moves.
"""
    generators = generator_table(scenarios, results)
    if generators:
        text += f"""
## Load generators at saturation

{generators}

wrk (`-t1`) and `bench/openloop.c` without a rate (closed loop: each connection sends its next
request when the last answer ends, as wrk does), one after the other on the same target, the
same {GENERATOR.connections} connections and `GET /small`, pinned to the same core. The ratio
near 1× says openloop's own cost does not lower what the latency scenario measures.
"""
    split = cpu_split_table(scenarios, results)
    if split:
        text += f"""
## Where a request's CPU goes

{split}

The CPU column above, split by the kernel's accounting (`utime` and `stime` of the proxy's
processes, in clock ticks, so short rows are coarse). Kernel time is the sockets' work, about
the same for every proxy moving the same bytes; user time is the proxy's own code. A proxy
that matches nginx's req/s on one core has to match its sum, and on small responses the
kernel's share leaves little room: compare Spaceport's user time with the raw TCP
pass-through's, which is SwiftNIO's event loop and sockets alone.
"""
    if against:
        text += f"""
## Against the baseline

{against}

Spaceport's figures divided by the baseline binary's, measured in the same interleaved rounds
(median round of each). Above 1× is better for req/s; below 1× is better for p99 and CPU. The
per-round column shows how far the machine's noise moves the ratio.
"""
    if watching:
        text += f"""
## What watching costs

{watching}

Each feed row against `{WATCHING_REFERENCE}` measured in the same round (the rounds interleave
every row), so the drift of a shared machine between rounds cancels; the issue's goal for an
attached dashboard is a change above -5%. The embedded dashboard's CPU is the proxy's and the
dashboard's together, on the proxy's core; the attached one runs on the client core.
"""
    if carrying:
        text += f"""
## What carrying the route costs

{carrying}.

The same request, `GET /small` with `baggage: {APP_BAGGAGE}` and a `traceparent` of a new trace
each time (a Lua `request` hook in `report.lua` writes it, for these rows alone), to the proxy as
it runs by default (every carrier read, the bridge adding `azds-route-as` and `okteto-divert` to
the baggage and the carrier headers to the request, trace memory asked and told, the hop marked)
and to a second proxy in the same rounds whose spaces file switches it off:
`{PROPAGATION_OFF.strip()}`. The issue's goal is a cost under 5%.
"""
    if admin:
        text += f"""
## What the admin listener costs

{admin}

The same proxy binary twice, measured in the same interleaved rounds: one started with
`--admin` and its `/metrics` read every second while wrk runs (as Prometheus would, more often
than its usual 15 s), against `{ADMIN_REFERENCE}`. The issue's goal is a change above -3%.
"""
    if pipeline:
        text += f"""
## Event pipeline: one live feed subscriber during the small keep-alive load

{pipeline}
"""
    text += f"\n## Dashboard frame time\n\n{frame}\n"
    text += f"""
## Memory over the run (resident set, sampled after each round)

{memory_table(bench)}

## All rounds

{all_rounds(scenarios, results)}
"""
    if bench.notes:
        text += "\n## Notes\n\n" + "\n".join(f"- {n}" for n in bench.notes) + "\n"
    with open(bench.options.output, "w") as f:
        f.write(text)
    return text


def parse_options(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one round of 2 s per target, 3 s per fixed-rate run (about 4 minutes)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3, quick 1)")
    parser.add_argument("--duration", type=int, help="seconds per wrk or h2load run (default 5, quick 2)")
    parser.add_argument("--latency-duration", type=int,
                        help="seconds per open-loop run of the latency scenario (default 10, quick 3): at "
                             "1,000 req/s, 10 s puts 10 samples beyond p99.9")
    parser.add_argument("--targets", default="direct,spaceport,nginx,haproxy,caddy,dash,admin",
                        help="comma-separated subset of direct,spaceport,nginx,haproxy,caddy,dash,admin,baseline "
                             "(dash: `spaceport dash` with its embedded proxy, feed scenario only; "
                             "nopropagation, the proxy with propagation off, joins spaceport in the propagation "
                             "scenario by itself; "
                             "admin: the proxy with its admin listener scraped every second, admin scenario only; "
                             "baseline: the --baseline binary, added whenever --baseline is given)")
    parser.add_argument("--scenarios", default=",".join(s.key for s in SCENARIOS),
                        help="comma-separated subset of " + ",".join(s.key for s in SCENARIOS) +
                             f" (all by default), or {GENERATOR.key}: wrk and openloop's closed loop one after "
                             "the other on the same load, to show the latency scenario's generator keeps up")
    parser.add_argument("--binary", help="the spaceport executable (bench/run builds and passes it)")
    parser.add_argument("--openloop", metavar="PATH",
                        help="the open-loop generator, bench/openloop.c compiled (bench/run compiles and passes it)")
    parser.add_argument("--frame-bench", metavar="PATH",
                        help="the frame-bench executable that times the dashboard's frames (bench/run builds and "
                             "passes it)")
    parser.add_argument("--baseline", metavar="PATH",
                        help="another spaceport executable (an earlier build) measured beside --binary "
                             "in the same rounds, with its ratios in 'Against the baseline'")
    parser.add_argument("--spaceport-loops", type=int, default=1,
                        help="event loops for Spaceport (NIO_SINGLETON_GROUP_LOOP_COUNT, default 1)")
    parser.add_argument("--output", default=DEFAULT_OUTPUT)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (configs, logs)")
    parser.add_argument("--command", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    options.rounds = options.rounds or (1 if options.quick else 3)
    options.duration = options.duration or (2 if options.quick else 5)
    options.latency_duration = options.latency_duration or (3 if options.quick else 10)
    options.targets = [t for t in options.targets.split(",") if t]
    options.scenarios = [s for s in options.scenarios.split(",") if s]
    if options.baseline:
        if not (os.path.isfile(options.baseline) and os.access(options.baseline, os.X_OK)):
            parser.error(f"--baseline {options.baseline}: not an executable file")
        options.baseline = os.path.abspath(options.baseline)
        if "baseline" not in options.targets:
            options.targets.append("baseline")
    elif "baseline" in options.targets:
        parser.error("the baseline target needs --baseline PATH")
    unknown = set(options.targets) - {"direct", "spaceport", "nginx", "haproxy", "caddy", "dash", "baseline",
                                      "admin", NO_PROPAGATION}
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")
    unknown = set(options.scenarios) - {s.key for s in SCENARIOS + [GENERATOR]}
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    # The proxy with propagation off runs beside the default one for the propagation scenario alone.
    if "propagation" in options.scenarios and "spaceport" in options.targets and NO_PROPAGATION not in options.targets:
        options.targets.append(NO_PROPAGATION)
    if "propagation" not in options.scenarios and NO_PROPAGATION in options.targets:
        options.targets.remove(NO_PROPAGATION)
    if "feed" not in options.scenarios and "dash" in options.targets:
        options.targets.remove("dash")
    if "admin" not in options.scenarios and "admin" in options.targets:
        options.targets.remove("admin")
    if {"spaceport", "dash", "admin"} & set(options.targets) and not options.binary:
        parser.error("--binary is required when spaceport is a target")
    if {"latency", GENERATOR.key} & set(options.scenarios) and not options.openloop:
        parser.error("--openloop is required for the latency and generator scenarios")
    options.baseline_name = baseline_name(options.binary, options.baseline) if options.baseline else None
    return options


def interrupted(*_):
    raise KeyboardInterrupt


def main(argv):
    options = parse_options(argv)
    command = (options.command or shlex.join(["bench/bench.py"] + argv)).strip()
    started = datetime.datetime.now().astimezone()
    load_before = load_average()
    if float(load_before.split()[0]) > 1.0:
        log(f"note: load average is {load_before}; other work shares the cores, figures will be noisy")
    bench = Bench(options)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        bench.start()
        log("pinning: proxies on core %s; wrk, upstream, feed reader and attached dashboard on core %s"
            % (PROXY_CORE, CLIENT_CORE))
        for name, server in bench.servers.items():
            log(f"  {name}: {server.threads}, pid {server.pid}")
        scenarios, results = bench.run()
    finally:
        bench.stop()
        if options.keep:
            log(f"kept {bench.dir}")
        else:
            shutil.rmtree(bench.dir, ignore_errors=True)
    text = write_results(bench, scenarios, results, started, load_before, load_average(), command)
    print(text)
    log(f"wrote {os.path.relpath(options.output)}")
    if propagation_summary(results):
        log(propagation_summary(results))
    # The README's ratios are to nginx: a run without it (an A/B of two builds) leaves them alone.
    if {"spaceport", "nginx"} <= set(options.targets) and options.output == DEFAULT_OUTPUT:
        update_readme(latest_ratios(scenarios, results, started, load_before, options))
        log("updated the latest ratios in bench/README.md")


if __name__ == "__main__":
    main(sys.argv[1:])
