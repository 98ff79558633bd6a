import NIOCore
import SpaceportCore
import Testing

@testable import SpaceportProxy

/// One loop's share of the requests kept for replay, bounded by count and by bytes.
@Suite("Requests kept for replay")
struct KeptRequestsTests {
    static func head(_ path: String, extra: String = "", body: Int? = nil) throws -> ClientHead {
        var parser = ClientRequestParser(maxHeaderBytes: 65536, maxHeaderCount: 100)
        let length = body.map { "content-length: \($0)\r\n" } ?? ""
        var buffer = ByteBuffer(string: "POST \(path) HTTP/1.1\r\nhost: servicea\r\n\(extra)\(length)\r\n")
        guard case .head(let head)? = try parser.next(&buffer) else { throw Unparsed() }
        return head
    }

    struct Unparsed: Error {}

    static func limits(requests: Int = 100, bytes: Int = 1 << 20, body: Int = 0) -> Limits {
        var limits = Limits()
        limits.replayRequests = requests
        limits.replayBytes = bytes
        limits.replayBodyBytes = body
        return limits
    }

    @Test("the latest requests are kept, as many as replay_requests allows, the oldest let go first")
    func count() throws {
        let kept = KeptRequests(loops: 1)
        for index in 0..<5 {
            _ = kept.keep(
                hop: "h\(index)", head: try Self.head("/\(index)"), limits: Self.limits(requests: 3))
        }
        #expect(kept.usage.requests == 3)
        #expect(kept.request(hop: "h1") == nil)
        #expect(kept.request(hop: "h2") != nil)
        #expect(
            String(decoding: try #require(kept.request(hop: "h4")).head, as: UTF8.self).hasPrefix(
                "POST /4 HTTP/1.1\r\n"))
    }

    @Test("the kept heads never take more than replay_bytes, shared among the loops")
    func bytes() throws {
        let kept = KeptRequests(loops: 2)
        let size = try Self.head("/0").bytes.readableBytes
        let limits = Self.limits(bytes: size * 5)
        for index in 0..<10 {
            _ = kept.keep(hop: "h\(index)", head: try Self.head("/\(index)"), limits: limits)
        }
        #expect(kept.usage.bytes <= size * 5 / 2 + 1)
        #expect(kept.usage.requests == 2, "two heads fit in this loop's half")
        #expect(
            kept.keep(
                hop: "big", head: try Self.head("/" + String(repeating: "x", count: size * 3)), limits: limits
            ) == nil)
    }

    @Test("0 keeps nothing, and turning replay off lets go of what was kept")
    func off() throws {
        let kept = KeptRequests(loops: 1)
        _ = kept.keep(hop: "h0", head: try Self.head("/0"), limits: Self.limits())
        #expect(kept.request(hop: "h0") != nil)
        #expect(kept.keep(hop: "h1", head: try Self.head("/1"), limits: Self.limits(requests: 0)) == nil)
        #expect(kept.request(hop: "h0") == nil)
        #expect(kept.usage.bytes == 0)
    }

    @Test("a body is kept whole up to replay_body_bytes, and a larger one says why it was not")
    func bodies() throws {
        let kept = KeptRequests(loops: 1)
        let limits = Self.limits(body: 8)
        let small = try #require(kept.keep(hop: "small", head: try Self.head("/s", body: 6), limits: limits))
        kept.body(ByteBuffer(string: "abc"), for: small)
        kept.body(ByteBuffer(string: "def"), for: small)
        #expect(kept.request(hop: "small")?.body == .kept(Array("abcdef".utf8)))
        _ = kept.keep(hop: "large", head: try Self.head("/l", body: 9), limits: limits)
        #expect(
            kept.request(hop: "large")?.body
                == .notKept("its body (9 bytes) was larger than limits.replay_body_bytes (8)"))
        let late = try #require(kept.keep(hop: "half", head: try Self.head("/h", body: 4), limits: limits))
        kept.body(ByteBuffer(string: "ab"), for: late)
        #expect(kept.request(hop: "half")?.body == .notKept("its body had not all arrived"))
    }

    @Test(
        "a replay's head says the new space on every carrier, starts a new trace, drops the request id, and keeps the rest"
    )
    func rewrite() throws {
        let head = try Self.head(
            "/orders",
            extra:
                "authorization: Bearer t\r\nazds-route-as: azureuser\r\nkubernetes-route-as: azureuser\r\nx-request-id: r-1\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nbaggage: azds-route-as=azureuser,userid=42\r\nexpect: 100-continue\r\nconnection: keep-alive\r\n",
            body: 2)
        var bytes: [UInt8] = []
        head.bytes.withUnsafeReadableBytes { bytes = Array($0) }
        let request = KeptRequest(hop: "h", head: bytes, body: .kept(Array("ok".utf8)))
        let buffer = try ReplayRequest.write(request, as: "hotfix", settings: Settings())
        let text = String(buffer: buffer)
        let lines = text.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
        #expect(lines.first == "POST /orders HTTP/1.1")
        #expect(lines.contains("authorization: Bearer t"))
        #expect(lines.contains("azds-route-as: hotfix"))
        #expect(
            !lines.contains { $0.hasPrefix("kubernetes-route-as") },
            "the proxy writes the other carriers itself")
        #expect(!lines.contains { $0.hasPrefix("x-request-id") })
        #expect(!lines.contains { $0.hasPrefix("expect") })
        #expect(lines.contains("baggage: azds-route-as=hotfix,userid=42,okteto-divert=hotfix"))
        let trace = try #require(lines.first { $0.hasPrefix("traceparent: ") })
        #expect(trace.hasPrefix("traceparent: 00-") && trace.hasSuffix("-01"))
        #expect(!trace.contains("4bf92f3577b34da6a3ce929d0e0e4736"))
        #expect(TraceParent(String(trace.dropFirst("traceparent: ".count))) != nil, "a valid traceparent")
        #expect(lines.contains("connection: close"))
        #expect(text.hasSuffix("\r\n\r\nok"))
    }
}
