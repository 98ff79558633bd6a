"""Spaceport with real gRPC clients and servers: Python's grpcio (gRPC's C core, its own HTTP/2)
on both sides of a real `spaceport proxy`.

Started by interop/grpc/run, which installs the pinned packages into a virtualenv and builds the
binary. The tree: default runs echo; azureuser, default's child, runs its own echo; bob, also
default's child, runs none. The Echo service has the four kinds of RPC, each answering with the
name of the instance that served it; its messages are JSON bytes, so no protobuf code is needed
(grpcio's generic handlers, with identity serializers). Each case calls through the ingress as a
gRPC client would, with the space in the host (`:authority`) or in the route header (metadata).
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent import futures

import grpc

PROXY_NAME = "grpc-interop"
SERVICE = "spaceport.interop.Echo"
BIG = 4 * 1024 * 1024
OPTIONS = [("grpc.max_send_message_length", 16 * 1024 * 1024),
           ("grpc.max_receive_message_length", 16 * 1024 * 1024)]


def encode(value):
    return json.dumps(value).encode()


def decode(data):
    return json.loads(data)


class Echo:
    """One instance's Echo service: it names itself in every answer, and notes cancelled calls."""

    def __init__(self, name):
        self.name = name
        self.cancelled = threading.Event()
        self.hanging = threading.Event()

    def unary(self, request, context):
        message = decode(request)
        return encode({"server": self.name, "text": message.get("text"), "size": len(message.get("blob", ""))
                       } | ({"blob": message["blob"]} if "blob" in message else {}))

    def server_stream(self, request, context):
        for index in range(decode(request)["count"]):
            yield encode({"server": self.name, "index": index})

    def client_stream(self, requests, context):
        return encode({"server": self.name, "count": sum(1 for _ in requests)})

    def bidi(self, requests, context):
        for request in requests:
            yield encode({"server": self.name, "echo": decode(request)["text"]})

    def hang(self, request, context):
        context.add_callback(self.cancelled.set)
        self.hanging.set()
        while context.is_active():
            time.sleep(0.02)
        return encode({})

    def handler(self):
        identity = {"request_deserializer": None, "response_serializer": None}
        return grpc.method_handlers_generic_handler(SERVICE, {
            "Unary": grpc.unary_unary_rpc_method_handler(self.unary, **identity),
            "ServerStream": grpc.unary_stream_rpc_method_handler(self.server_stream, **identity),
            "ClientStream": grpc.stream_unary_rpc_method_handler(self.client_stream, **identity),
            "Bidi": grpc.stream_stream_rpc_method_handler(self.bidi, **identity),
            "Hang": grpc.unary_unary_rpc_method_handler(self.hang, **identity),
        })


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Failure(Exception):
    pass


class Interop:
    def __init__(self, binary, work):
        self.binary, self.work = binary, work
        self.ingress = free_port()
        self.down = free_port()  # nothing listens there: its instance is unreachable
        self.echoes = {"default": Echo("echo@default"), "azureuser": Echo("echo@azureuser")}
        self.servers = []
        self.proxy = None

    def start(self):
        ports = {}
        for space, echo in self.echoes.items():
            server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), options=OPTIONS)
            server.add_generic_rpc_handlers((echo.handler(),))
            ports[space] = server.add_insecure_port("127.0.0.1:0")
            server.start()
            self.servers.append(server)
        spaces = "\n".join([
            "domain: localhost", f"ingress: 127.0.0.1:{self.ingress}", "limits: { upstream_timeout_ms: 10000 }",
            "spaces:",
            "  default:", "    services:",
            f"      echo: {{ upstream: 127.0.0.1:{ports['default']} }}",
            f"      down: {{ upstream: 127.0.0.1:{self.down} }}",
            # A gRPC server the spaces file says to speak HTTP/1.1 to: the proxy must refuse the call itself.
            f"      legacy: {{ upstream: 127.0.0.1:{ports['default']}, protocol: http1 }}",
            "  azureuser:", "    parent: default", "    services:",
            f"      echo: {{ upstream: 127.0.0.1:{ports['azureuser']} }}",
            "  bob:", "    parent: default", "    services: {}",
        ]) + "\n"
        path = os.path.join(self.work, "spaces.yaml")
        with open(path, "w") as f:
            f.write(spaces)
        runtime = os.path.join(self.work, "run")
        os.makedirs(runtime, mode=0o700)
        self.log = os.path.join(self.work, "proxy.log")
        self.proxy = subprocess.Popen([self.binary, "proxy", "--spaces", path, "--name", PROXY_NAME],
                                      stdout=subprocess.DEVNULL, stderr=open(self.log, "w"),
                                      stdin=subprocess.DEVNULL, env=dict(os.environ, XDG_RUNTIME_DIR=runtime))
        deadline = time.monotonic() + 30
        while not listening(self.ingress):
            if self.proxy.poll() is not None or time.monotonic() > deadline:
                raise Failure(f"spaceport proxy did not start; see {self.log}")
            time.sleep(0.05)

    def channel(self, authority):
        return grpc.insecure_channel(f"127.0.0.1:{self.ingress}",
                                     options=OPTIONS + [("grpc.default_authority", authority)])

    def stop(self):
        if self.proxy:
            self.proxy.terminate()
            self.proxy.wait(10)
        for server in self.servers:
            server.stop(0)


def method(channel, name, kind):
    make = {"unary": channel.unary_unary, "server": channel.unary_stream, "client": channel.stream_unary,
            "bidi": channel.stream_stream}[kind]
    return make(f"/{SERVICE}/{name}", request_serializer=None, response_deserializer=None)


def expect(condition, problem):
    if not condition:
        raise Failure(problem)


def expect_status(interop, authority, code, fragment, metadata=(), service="Unary"):
    with interop.channel(authority) as channel:
        try:
            method(channel, service, "unary")(encode({"text": "x"}), metadata=metadata, timeout=10)
        except grpc.RpcError as error:
            expect(error.code() == code, f"the client saw {error.code()} ({error.details()}), not {code}")
            expect(fragment in (error.details() or ""), f"the message '{error.details()}' does not name {fragment}")
            return f"{error.code().name}: {error.details()}"
    raise Failure(f"the call succeeded; expected {code}")


def cases(interop):
    def unary(authority, metadata=(), text="hi"):
        with interop.channel(authority) as channel:
            return decode(method(channel, "Unary", "unary")(encode({"text": text}), metadata=metadata, timeout=10))

    def by_host():
        answer = unary("azureuser.s.default.echo.localhost")
        expect(answer["server"] == "echo@azureuser", f"served by {answer['server']}")
        return "azureuser.s.default.echo.localhost → echo@azureuser"

    def by_metadata():
        answer = unary("echo.localhost", metadata=(("azds-route-as", "azureuser"),))
        expect(answer["server"] == "echo@azureuser", f"served by {answer['server']}")
        plain = unary("echo.localhost")
        expect(plain["server"] == "echo@default", f"without metadata, served by {plain['server']}")
        return "azds-route-as: azureuser → echo@azureuser; none → echo@default"

    def to_parent():
        answer = unary("echo.localhost", metadata=(("azds-route-as", "bob"),))
        expect(answer["server"] == "echo@default", f"served by {answer['server']}")
        return "bob has no echo: echo@default served it"

    def server_streaming():
        with interop.channel("azureuser.s.default.echo.localhost") as channel:
            answers = [decode(a) for a in method(channel, "ServerStream", "server")(encode({"count": 50}), timeout=10)]
        expect([a["index"] for a in answers] == list(range(50)), f"got {len(answers)} answers")
        expect(all(a["server"] == "echo@azureuser" for a in answers), "served by another instance")
        return "50 answers from echo@azureuser"

    def client_streaming():
        with interop.channel("echo.localhost") as channel:
            call = method(channel, "ClientStream", "client")
            answer = decode(call(iter([encode({"text": str(i)}) for i in range(50)]),
                                 metadata=(("azds-route-as", "azureuser"),), timeout=10))
        expect(answer == {"server": "echo@azureuser", "count": 50}, f"got {answer}")
        return "50 requests counted by echo@azureuser"

    def bidirectional():
        with interop.channel("azureuser.s.default.echo.localhost") as channel:
            answers = [decode(a)["echo"] for a in method(channel, "Bidi", "bidi")(
                iter([encode({"text": f"m{i}"}) for i in range(50)]), timeout=10)]
        expect(answers == [f"m{i}" for i in range(50)], f"got {answers[:3]}…")
        return "50 messages echoed in order"

    def large_messages():
        blob = "x" * BIG
        with interop.channel("azureuser.s.default.echo.localhost") as channel:
            answer = decode(method(channel, "Unary", "unary")(encode({"blob": blob}), timeout=30))
        expect(answer["size"] == BIG and len(answer["blob"]) == BIG, "the 4 MB message did not come back whole")
        return "4 MB up and 4 MB back"

    def cancel():
        echo = interop.echoes["azureuser"]
        with interop.channel("azureuser.s.default.echo.localhost") as channel:
            future = method(channel, "Hang", "unary").future(encode({}), timeout=30)
            expect(echo.hanging.wait(10), "the call never reached the server")
            future.cancel()
            expect(echo.cancelled.wait(10), "the server never learned of the client's cancel")
        return "the client's cancel ended the server's call"

    def deadline():
        started = time.monotonic()
        with interop.channel("echo.localhost") as channel:
            try:
                method(channel, "Hang", "unary")(encode({}), timeout=0.5)
                raise Failure("the hanging call returned")
            except grpc.RpcError as error:
                expect(error.code() == grpc.StatusCode.DEADLINE_EXCEEDED, f"the client saw {error.code()}")
        took = time.monotonic() - started
        expect(took < 5, f"the deadline of 0.5 s took {took:.1f} s")
        return f"DEADLINE_EXCEEDED after {took:.2f} s"

    return [
        ("unary, routed by the host (:authority)", by_host),
        ("unary, routed by the route header in metadata", by_metadata),
        ("a child with no instance: the parent's serves", to_parent),
        ("server streaming", server_streaming),
        ("client streaming", client_streaming),
        ("bidirectional streaming", bidirectional),
        ("4 MB messages both ways", large_messages),
        ("a client's cancel reaches the server", cancel),
        ("a deadline exceeded", deadline),
        ("no space serves the service: UNIMPLEMENTED naming the chain",
         lambda: expect_status(interop, "nothing.localhost", grpc.StatusCode.UNIMPLEMENTED, "nothing")),
        ("an unreachable upstream: UNAVAILABLE",
         lambda: expect_status(interop, "down.localhost", grpc.StatusCode.UNAVAILABLE, "down@default")),
        ("an instance configured protocol: http1: UNAVAILABLE, saying so",
         lambda: expect_status(interop, "legacy.localhost", grpc.StatusCode.UNAVAILABLE, "`protocol: http1`")),
        ("a bad route-as: INVALID_ARGUMENT",
         lambda: expect_status(interop, "echo.localhost", grpc.StatusCode.INVALID_ARGUMENT, "azds-route-as",
                               metadata=(("azds-route-as", "not a space!"),))),
    ]


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True, help="the spaceport executable")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (spaces file and proxy log)")
    options = parser.parse_args(argv)
    work = tempfile.mkdtemp(prefix="spaceport-grpc-")
    interop = Interop(options.binary, work)
    passed = failed = 0
    started = time.monotonic()
    try:
        interop.start()
        for title, case in cases(interop):
            try:
                shown, problem = case(), None
            except (Failure, grpc.RpcError) as error:
                shown, problem = None, str(error)
            print(f"{'ok  ' if not problem else 'FAIL'} {title}" + (f": {shown}" if shown else ""))
            if problem:
                print(f"       ✘ {problem}")
            passed, failed = (passed + 1, failed) if not problem else (passed, failed + 1)
    except Failure as error:
        print(f"interop/grpc: {error}")
        failed = max(failed, 1)
    finally:
        interop.stop()
        if options.keep or failed:
            print(f"interop/grpc: logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"interop/grpc: through spaceport proxy with grpcio {grpc.__version__} in {time.monotonic() - started:.1f} s")
    print(f"grpc-interop: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
