"""Spaceport with real OpenTelemetry apps: a chain a → b → c of Python services instrumented with
the OpenTelemetry SDK (service.py) behind a real `spaceport proxy`, routed as a grandchild space.

Started by interop/otel/run, which installs the pinned packages into a virtualenv and builds
the binary. The tree: root runs a, b and c; child, root's child, runs its own b; grandchild,
child's child, runs its own c. A request routed as grandchild stays there when the context
survives every hop (a@root → b@child → c@grandchild) and falls to root's b and c when it does not.
Each case starts the five instances with the propagators it names, sends one request from a
client instrumented the same way, and checks the chain's answer and the hops the proxy's feed
reports (`spaceport tail --json`, attached to its socket).
"""

import argparse
import json
import os
import queue
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import requests
from opentelemetry import trace
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.sdk.trace import TracerProvider

HERE = os.path.dirname(os.path.abspath(__file__))
PROXY_NAME = "otel-interop"
HOST = "grandchild.s.root.a.localhost"
# (name, space, the service it calls): every instance of the tree.
INSTANCES = [("a", "root", "b"), ("b", "root", "c"), ("c", "root", None),
             ("b", "child", "c"), ("c", "grandchild", None)]
STAYS = ["a@root", "b@child", "c@grandchild"]


def hop(service, space, route_as, source, propagation=None, **more):
    """What a hop of the chain must say (a field given as None must be absent)."""
    return dict(service=service, space=space, routeAs=route_as, routeAsSource=source, propagation=propagation,
                status=200, **more)


class Case:
    def __init__(self, title, propagators, chain, hops, traced, instrument_client=True):
        self.title, self.propagators, self.chain, self.hops = title, propagators, chain, hops
        # The listeners whose hops carry the client's trace: the services passed traceparent on.
        self.traced = traced
        self.instrument_client = instrument_client


INGRESS_HOP = hop("a", "root", "grandchild", "host")
CASES = [
    Case("default propagators (tracecontext,baggage): baggage carries the route", None, STAYS, {
        "ingress": INGRESS_HOP,
        "egress:root/a": hop("b", "child", "grandchild", "baggage", "bridged", routeAsCarrier="azds-route-as"),
        "egress:child/b": hop("c", "grandchild", "grandchild", "baggage", "bridged", routeAsCarrier="azds-route-as"),
    }, traced=["ingress", "egress:root/a", "egress:child/b"]),
    Case("OTEL_PROPAGATORS=tracecontext: trace memory restores the route", "tracecontext", STAYS, {
        "ingress": INGRESS_HOP,
        "egress:root/a": hop("b", "child", "grandchild", "trace", "restored", routeAsCarrier=None),
        "egress:child/b": hop("c", "grandchild", "grandchild", "trace", "restored", routeAsCarrier=None),
    }, traced=["ingress", "egress:root/a", "egress:child/b"]),
    # (OTEL_PROPAGATORS=none would say the same, but opentelemetry-api 1.45.2 extracts None with it,
    # and the WSGI middleware fails every request.)
    Case("requests not instrumented: nothing passed on, the route lost at a's call and the hop says so",
         None, ["a@root", "b@root", "c@root"], {
             "ingress": INGRESS_HOP,
             "egress:root/a": hop("b", "root", "root", "caller", "lost", lostBy={"service": "a", "space": "root"},
                                  expected="grandchild"),
             "egress:root/b": hop("c", "root", "root", "caller", None, lostBy=None),
         }, traced=["ingress"], instrument_client=False),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(what, condition, seconds=30, process=None, log=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise Failure(f"{what}: the process exited ({process.returncode}){tail(log)}")
        if condition():
            return
        time.sleep(0.05)
    raise Failure(f"{what}: not within {seconds} s{tail(log)}")


def tail(path):
    if not path or not os.path.exists(path):
        return ""
    with open(path) as f:
        lines = f.read().strip().splitlines()[-10:]
    return "; its log ends:\n  " + "\n  ".join(lines) if lines else ""


def listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Failure(Exception):
    pass


class Feed:
    """`spaceport tail --json` on the proxy's feed socket, its hop ends queued as they come."""

    def __init__(self, binary, socket_path, work):
        self.log = os.path.join(work, "tail.log")
        self.process = subprocess.Popen([binary, "tail", "--json", "--feed", socket_path], stdout=subprocess.PIPE,
                                        stderr=open(self.log, "w"), stdin=subprocess.DEVNULL, text=True)
        self.hops = queue.Queue()
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for line in self.process.stdout:
            event = json.loads(line)
            if event.get("type") == "hop" and event.get("phase") == "end":
                self.hops.put(event)

    def until_ingress_end(self, trace_id, seconds=20):
        """Every hop end that arrives until the ingress hop of `trace_id` ends (a request's last)."""
        hops = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                event = self.hops.get(timeout=0.2)
            except queue.Empty:
                continue
            hops.append(event)
            if event.get("listener") == "ingress" and event.get("traceId") == trace_id:
                return hops
        raise Failure(f"the feed reported no end of the ingress hop of trace {trace_id} within {seconds} s"
                      f"{tail(self.log)}")

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=10)


class Interop:
    def __init__(self, binary, work):
        self.binary, self.work = binary, work
        self.ingress = free_port()
        self.upstreams = {(name, space): free_port() for name, space, _ in INSTANCES}
        self.egresses = {(name, space): free_port() for name, space, after in INSTANCES if after}
        self.proxy = None
        self.feed = None
        self.services = []

    def spaces_file(self):
        def instance(name, space):
            egress = self.egresses.get((name, space))
            return (f"      {name}: {{ upstream: 127.0.0.1:{self.upstreams[(name, space)]}"
                    + (f", egress: 127.0.0.1:{egress}" if egress else "") + " }")

        lines = ["domain: localhost", "default_space: root", f"ingress: 127.0.0.1:{self.ingress}", "spaces:"]
        parents = {"root": None, "child": "root", "grandchild": "child"}
        for space, parent in parents.items():
            lines.append(f"  {space}:")
            if parent:
                lines.append(f"    parent: {parent}")
            lines.append("    services:")
            lines += [instance(name, s) for name, s, _ in INSTANCES if s == space]
        path = os.path.join(self.work, "spaces.yaml")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def start(self):
        runtime = os.path.join(self.work, "run")
        os.makedirs(runtime, mode=0o700)
        log = os.path.join(self.work, "proxy.log")
        environment = dict(os.environ, XDG_RUNTIME_DIR=runtime)
        self.proxy = subprocess.Popen([self.binary, "proxy", "--spaces", self.spaces_file(), "--name", PROXY_NAME,
                                       "--quiet"], stdout=subprocess.DEVNULL, stderr=open(log, "w"),
                                      stdin=subprocess.DEVNULL, env=environment)
        feed_socket = os.path.join(runtime, "spaceport", f"{PROXY_NAME}.sock")
        wait_until("spaceport proxy listening", lambda: listening(self.ingress) and os.path.exists(feed_socket),
                   process=self.proxy, log=log)
        self.feed = Feed(self.binary, feed_socket, self.work)

    def start_services(self, propagators, instrument_client):
        environment = dict(os.environ, PYTHONUNBUFFERED="1")
        # An inherited setting must not decide what the case says the apps propagate.
        for name in ("OTEL_PROPAGATORS", "OTEL_SDK_DISABLED", "NO_PROXY", "no_proxy", "http_proxy", "HTTP_PROXY"):
            environment.pop(name, None)
        if propagators:
            environment["OTEL_PROPAGATORS"] = propagators
        for name, space, after in INSTANCES:
            env = dict(environment)
            if after:
                env["HTTP_PROXY"] = f"http://127.0.0.1:{self.egresses[(name, space)]}"
            log = os.path.join(self.work, f"{name}-{space}.log")
            command = [sys.executable, os.path.join(HERE, "service.py"), name, space,
                       str(self.upstreams[(name, space)])] + ([after] if after else [])
            if not instrument_client:
                command.append("--no-client-instrumentation")
            process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(log, "w"),
                                       stdin=subprocess.DEVNULL, env=env)
            self.services.append((process, log, name, space))
        for process, log, name, space in self.services:
            wait_until(f"service {name}@{space} listening", lambda: listening(self.upstreams[(name, space)]),
                       process=process, log=log)

    def stop_services(self):
        for process, _, _, _ in self.services:
            process.terminate()
        for process, _, _, _ in self.services:
            process.wait(timeout=10)
        self.services = []

    def stop(self):
        self.stop_services()
        if self.feed:
            self.feed.stop()
        if self.proxy and self.proxy.poll() is None:
            self.proxy.terminate()
            self.proxy.wait(timeout=15)

    def request(self, tracer):
        """One request routed as grandchild from a client traced as an app would be: (answer, trace id)."""
        with tracer.start_as_current_span("interop client") as span:
            response = requests.get(f"http://127.0.0.1:{self.ingress}/", headers={"Host": HOST}, timeout=30)
            trace_id = format(span.get_span_context().trace_id, "032x")
        if response.headers.get("content-type") != "application/json":
            raise Failure(f"the chain answered {response.status_code}: {response.text[:300]}")
        return response.json(), trace_id

    def run(self, case, tracer):
        """Runs one case: (problems, the lines that show what happened)."""
        self.start_services(case.propagators, case.instrument_client)
        try:
            answer, trace_id = self.request(tracer)
            hops = {event["listener"]: event for event in self.feed.until_ingress_end(trace_id)}
        finally:
            self.stop_services()
        problems = []
        chain = served(answer)
        if chain != case.chain:
            problems.append(f"the chain was served by {' → '.join(chain)}, expected {' → '.join(case.chain)}")
        shown = []
        for listener, expected in case.hops.items():
            event = hops.get(listener)
            if event is None:
                problems.append(f"no hop through {listener} (hops seen: {', '.join(sorted(hops)) or 'none'})")
                continue
            for field, value in expected.items():
                if event.get(field) != value:
                    problems.append(f"{listener}: {field} is {json.dumps(event.get(field))}, expected {json.dumps(value)}")
            if (event.get("traceId") == trace_id) != (listener in case.traced):
                problems.append(f"{listener}: traceId {event.get('traceId')}, the client's trace is {trace_id}")
            shown.append(describe(listener, event))
        return problems, shown


def served(answer):
    """The chain an answer tells of, as service@space from the first service to the last."""
    chain = []
    while answer:
        chain.append(f"{answer['service']}@{answer['space']}")
        answer = answer.get("next", {}).get("answer")
    return chain


def describe(listener, event):
    mark = event.get("propagation") or "-"
    if event.get("lostBy"):
        mark += f" (by {event['lostBy']['service']}@{event['lostBy']['space']}, expected {event.get('expected')})"
    carrier = f" {event['routeAsCarrier']}" if event.get("routeAsCarrier") else ""
    return (f"{listener:15} → {event.get('service')}@{event.get('space')}  route-as {event.get('routeAs')} "
            f"({event.get('routeAsSource')}{carrier})  {mark}")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True, help="the spaceport executable")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (spaces file and every log)")
    options = parser.parse_args(argv)
    trace.set_tracer_provider(TracerProvider())
    RequestsInstrumentor().instrument()
    tracer = trace.get_tracer("spaceport-interop")
    work = tempfile.mkdtemp(prefix="spaceport-otel-")
    interop = Interop(options.binary, work)
    passed = failed = 0
    started = time.monotonic()
    try:
        interop.start()
        for case in CASES:
            try:
                problems, shown = interop.run(case, tracer)
            except Failure as error:
                problems, shown = [str(error)], []
            print(f"{'ok  ' if not problems else 'FAIL'} {case.title}")
            for line in shown:
                print(f"       {line}")
            for problem in problems:
                print(f"       ✘ {problem}")
            passed, failed = (passed + 1, failed) if not problems else (passed, failed + 1)
    except Failure as error:
        print(f"interop/otel: {error}")
        failed = len(CASES) - passed
    finally:
        interop.stop()
        if options.keep or failed:
            print(f"interop/otel: logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"interop/otel: {len(CASES)} cases in {time.monotonic() - started:.1f} s, through spaceport proxy "
          f"with opentelemetry-sdk {version('opentelemetry-sdk')}")
    print(f"otel-interop: {passed} passed, {failed} failed")
    return 1 if failed else 0


def version(package):
    from importlib.metadata import version as installed
    return installed(package)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
