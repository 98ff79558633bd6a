"""One instance of a service in the interop chain: a small HTTP server as an app would be, with
OpenTelemetry as its team would set it up and no code of its own for context.

The OpenTelemetry SDK is its tracer provider, OpenTelemetry's WSGI middleware reads the
incoming context (with whatever propagators OTEL_PROPAGATORS names, `tracecontext,baggage` when
unset) and the requests instrumentation writes it on the call to the next service. That call
goes to `http://<next>/` through HTTP_PROXY, the instance's egress listener in Spaceport. The
answer is JSON: who answered, the route fields it received, and the next service's answer.
`--no-client-instrumentation` leaves requests uninstrumented, as an app whose team set up only
the server side: its calls carry no context at all.

    service.py NAME SPACE PORT [NEXT] [--no-client-instrumentation]
"""

import json
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

import requests
from opentelemetry import trace
from opentelemetry.instrumentation.requests import RequestsInstrumentor
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider

# The fields that carry a request's route or trace, as a service sees them arrive.
RECEIVED = ("azds-route-as", "kubernetes-route-as", "baggage", "traceparent")


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


def application(name, space, next_service):
    def app(environ, start_response):
        received = {field: environ.get("HTTP_" + field.upper().replace("-", "_")) for field in RECEIVED}
        answer = {"service": name, "space": space, "received": received}
        if next_service:
            # No headers of its own: whatever context goes on, OpenTelemetry puts there.
            response = requests.get(f"http://{next_service}/", timeout=15)
            answer["next"] = {"status": response.status_code,
                              "route": response.headers.get("x-spaceport-route")}
            if response.headers.get("content-type") == "application/json":
                answer["next"]["answer"] = response.json()
            else:
                answer["next"]["body"] = response.text[:300]
        body = json.dumps(answer).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    return app


def main(argv):
    instrument_client = "--no-client-instrumentation" not in argv
    argv = [arg for arg in argv if arg != "--no-client-instrumentation"]
    name, space, port = argv[0], argv[1], int(argv[2])
    next_service = argv[3] if len(argv) > 3 else None
    trace.set_tracer_provider(TracerProvider())
    if instrument_client:
        RequestsInstrumentor().instrument()
    server = make_server("127.0.0.1", port, OpenTelemetryMiddleware(application(name, space, next_service)),
                         handler_class=QuietHandler)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
