import Foundation
import NIOCore
import SpaceportCore

/// What the benchmarks send through the proxy: the load test's tree and requests (`bench/`, read
/// from its files so the two measure the same thing) and the answers its nginx upstream gives.
enum Traffic {
    /// One request and the upstream's answer, with what has to come out for it to count.
    struct Exchange: Sendable {
        /// The client's requests, as wrk writes them: one after another, over and over.
        var requests: [ByteBuffer]
        /// The upstream's response as the proxy reads it: one buffer per read.
        var reads: [ByteBuffer]
        /// The route-as the upstream must see, and the body size the client must get.
        var routeAs: String
        var bodySize: Int
    }

    /// Where `svc` listens: the load test puts its nginx's port here.
    static let upstream = Address(host: "127.0.0.1", port: 9000)

    /// `bench/conf/spaces.yaml`: `default` serves `svc`; `child` and `grandchild` below it serve nothing.
    /// - Parameter settings: lines put before the file's own (the load test's propagation-off proxy
    ///   gets its `propagation:` this way).
    static func tree(settings: String = "") throws -> SpaceTree {
        let template = try settings + String(contentsOf: benchFile("conf/spaces.yaml"), encoding: .utf8)
        let text = template.replacingOccurrences(of: "${upstream_port}", with: String(upstream.port))
            .replacingOccurrences(of: "${listen}", with: "")
        return try SpacesFile.parse(text: text, file: "bench/conf/spaces.yaml")
    }

    /// The load test's proxy with every part of propagation off but the route header (bench.py's
    /// PROPAGATION_OFF): what the traced request costs without trace memory and the bridge.
    static let propagationOff =
        "propagation: { write_route_header: true, headers: [], baggage: [], trace_memory: { traces: 0 } }\n"

    static let host = "default.svc.localhost"
    static let fallbackHost = "grandchild.s.default.svc.localhost"

    /// A keep-alive GET with Host alone, answered with 100 bytes.
    static func small(host: String = host, routeAs: String = "default") -> Exchange {
        Exchange(
            requests: [request("/small", host: host)],
            reads: [response(body: 100, type: "text/plain", routeAs: routeAs)],
            routeAs: routeAs, bodySize: 100)
    }

    /// The small request as wrk's `close` run sends it, on a connection of its own.
    static func closing() -> Exchange {
        var exchange = small()
        exchange.requests = [request("/small", host: host, fields: ["Connection: close"])]
        return exchange
    }

    /// The small request with the other 11 fields a browser sends for a page.
    static func browser() throws -> Exchange {
        let fields = try String(contentsOf: benchFile("conf/browser-headers.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        var exchange = small()
        exchange.requests = [request("/small", host: host, fields: fields)]
        return exchange
    }

    /// What the load test's traced app baggage is: members of its own, no route carrier.
    static let appBaggage = "userid=alice,tenant=acme,session=8c1f3d2e"

    /// The small request as a traced app sends it (the load test's propagation scenario): its own
    /// baggage, and a traceparent of a new trace each time, `traces` of them in turn, more than
    /// trace memory keeps (100,000 by default), so every request is a trace it has not seen.
    static func traced(traces: Int = 120_000) -> Exchange {
        var exchange = small()
        exchange.requests = (0..<traces).map { count in
            let id = String(UInt64(count), radix: 16)
            let trace = String(repeating: "0", count: 32 - id.count - 1) + "1" + id
            return request(
                "/small", host: host,
                fields: ["baggage: \(appBaggage)", "traceparent: 00-\(trace)-00f067aa0ba902b7-01"])
        }
        return exchange
    }

    /// A 64 KiB response, read as SwiftNIO reads a busy socket: 64 KiB at most at a time.
    static func large() -> Exchange {
        var bytes = response(
            body: 64 * 1024, type: "application/octet-stream", routeAs: "default",
            fields: [
                "Last-Modified: Fri, 27 Nov 2026 09:00:00 GMT", "ETag: \"6927f2a0-10000\"",
                "Accept-Ranges: bytes",
            ])
        var reads: [ByteBuffer] = []
        while bytes.readableBytes > 0 {
            reads.append(bytes.readSlice(length: min(bytes.readableBytes, 64 * 1024))!)
        }
        return Exchange(
            requests: [request("/64k", host: host)], reads: reads, routeAs: "default", bodySize: 64 * 1024)
    }

    /// A hop as the proxy ends it for the small request.
    static let servedHop = HopEvent(
        id: "1a2b3c4d5e6f708", flow: "0f1e2d3c4b5a697", phase: .end, time: "2026-11-27T10:00:00.123Z",
        proxy: "spaceport", listener: "ingress", routeAs: "default", routeAsSource: .host, service: "svc",
        tried: ["default"], space: "default", upstream: "127.0.0.1:9000", method: "GET", host: host,
        path: "/small", status: 200, durationMs: 0.412, bytesIn: 0, bytesOut: 100)

    private static func request(_ path: String, host: String, fields: [String] = []) -> ByteBuffer {
        let lines = ["GET \(path) HTTP/1.1", "Host: \(host)"] + fields
        return ByteBuffer(string: lines.joined(separator: "\r\n") + "\r\n\r\n")
    }

    /// What the load test's nginx answers, the route header it saw echoed as it is set up to.
    private static func response(body: Int, type: String, routeAs: String, fields: [String] = [])
        -> ByteBuffer
    {
        let head =
            [
                "HTTP/1.1 200 OK", "Server: nginx/1.22.1", "Date: Fri, 27 Nov 2026 10:00:00 GMT",
                "Content-Type: \(type)", "Content-Length: \(body)",
            ] + fields + ["Connection: keep-alive", "x-seen-route-as: \(routeAs)"]
        var bytes = ByteBuffer(string: head.joined(separator: "\r\n") + "\r\n\r\n")
        bytes.writeRepeatingByte(UInt8(ascii: "s"), count: body)
        return bytes
    }

    /// A file of the load test's, found from this one: the benchmarks run from the source tree.
    private static func benchFile(_ path: String) -> URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("bench").appendingPathComponent(path)
    }
}
