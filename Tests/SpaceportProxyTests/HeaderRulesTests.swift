import NIOCore
import NIOEmbedded
import NIOHTTP1
import SpaceportCore
import Testing

@testable import SpaceportProxy

@Suite("Header rules, request targets and protocol sniffing")
struct HeaderRulesTests {
    /// A GET with these fields, read by the proxy's own parser as a client's request would be.
    private func head(_ uri: String = "/", _ headers: [(String, String)], version: HTTPVersion = .http1_1)
        throws
        -> ClientHead
    {
        let text =
            "GET \(uri) HTTP/\(version.major).\(version.minor)\r\n"
            + headers.map { "\($0.0): \($0.1)\r\n" }.joined() + "\r\n"
        var bytes = ByteBuffer(string: text)
        var parser = ClientRequestParser(maxHeaderBytes: 8192, maxHeaderCount: 100)
        guard case .head(let head) = try parser.next(&bytes) else { throw ForwardedNotDecoded() }
        return head
    }

    /// A tree where `a` runs in default and in bob, with the default carriers.
    private static let tree = try! SpacesFile.parse(
        text: """
            spaces:
              default:
                services:
                  a: 127.0.0.1:1
              bob:
                parent: default
                services:
                  a: 127.0.0.1:2
            """, file: "spaces.yaml")

    /// The forwarded request as its bytes, read back by SwiftNIO's decoder: routed by the
    /// proxy's own rules on `tree`, its carriers bridged as the proxy bridges them.
    private func forwarded(
        _ head: ClientHead, host: String? = "a.localhost", clientIP: String? = "127.0.0.1"
    ) throws -> (head: HTTPRequestHead, chunked: Bool) {
        var bytes = ByteBuffer()
        let plan = CarrierPlan(Self.tree.settings)
        let fields = RoutingFields(head, plan: plan)
        let context = try RouteContext(
            fields: fields, host: host ?? "a", caller: nil, trace: nil, plan: plan, remembered: { _ in nil },
            route: { request throws(RouteError) in KnownRoute(try Self.tree.route(request), in: Self.tree) })
        let chunked = ForwardedHeaders.writeRequest(
            head, into: &bytes, path: head.uri, host: host, bridge: context.bridge, requestID: "r1",
            clientIP: clientIP,
            via: "sp")
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder()))
        try channel.writeInbound(bytes)
        guard case .head(let decoded) = try channel.readInbound(as: HTTPServerRequestPart.self) else {
            throw ForwardedNotDecoded()
        }
        _ = try? channel.finish()
        return (decoded, chunked)
    }

    private struct ForwardedNotDecoded: Error {}

    @Test("hop-by-hop headers, and those Connection names, do not leave their hop")
    func hopByHop() throws {
        let sent = try head(
            "/",
            [
                ("Host", "a.localhost"), ("Connection", "keep-alive, X-Private"), ("X-Private", "1"),
                ("Keep-Alive", "5"), ("TE", "trailers"), ("Trailer", "X-Sum"), ("Upgrade", "websocket"),
                ("Proxy-Connection", "keep-alive"), ("X-Kept", "yes"),
            ])
        let names = try forwarded(sent).head.headers.map { $0.name.lowercased() }
        #expect(
            names == [
                "x-kept", "host", "azds-route-as", "kubernetes-route-as", "baggage", "x-request-id",
                "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "via",
            ])
    }

    @Test("an upgrade keeps Upgrade and says so in Connection")
    func upgradeKept() throws {
        let sent = try head(
            "/",
            [
                ("Host", "a.localhost"), ("Connection", "Upgrade"), ("Upgrade", "websocket"),
                ("Sec-WebSocket-Key", "k"),
            ])
        let headers = try forwarded(sent).head.headers
        #expect(headers["upgrade"] == ["websocket"])
        #expect(headers["connection"] == ["upgrade"])
        #expect(headers["sec-websocket-key"] == ["k"])
    }

    @Test("the forwarded request keeps a route header that was sent and adds one that was not")
    func routeHeader() throws {
        let kept = try forwarded(
            try head("/", [("Host", "a.localhost"), ("azds-route-as", "bob")]))
        #expect(kept.head.headers["azds-route-as"] == ["bob"])
        let added = try forwarded(try head("/", [("Host", "a.localhost")])).head
        #expect(added.headers["azds-route-as"] == ["default"])
        #expect(added.headers["x-request-id"] == ["r1"])
        #expect(added.headers["via"] == ["1.1 sp"])
        #expect(added.headers["x-forwarded-for"] == ["127.0.0.1"])
        #expect(added.version == .http1_1)
        let older = try forwarded(try head("/", [("Host", "a.localhost")], version: .http1_0)).head
        #expect(older.headers["via"] == ["1.0 sp"])
    }

    @Test("a chunked request stays chunked on its next hop")
    func chunkedRequest() throws {
        let sent = try head("/", [("Host", "a"), ("Transfer-Encoding", "chunked")])
        let result = try forwarded(sent, host: "a", clientIP: nil)
        #expect(result.chunked)
        #expect(result.head.headers["transfer-encoding"] == ["chunked"])
    }

    @Test("responses say which instance served them, and close when asked; hop-by-hop fields stay behind")
    func response() throws {
        let upstream = try UpstreamResponseParser.parseHead(
            ByteBuffer(
                string: "HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Private\r\nKeep-Alive: 5\r\n"
                    + "X-Private: secret\r\nContent-Length: 2\r\nX-Spaceport-Route: forged\r\nServer: up\r\n\r\n"
            ))
        var relayed = ByteBuffer()
        ForwardedHeaders.writeResponseHead(
            upstream, into: &relayed, version: .http1_0, route: "servicea@azureuser", via: "sp",
            upgrade: false,
            close: true, chunked: false)
        #expect(
            String(buffer: relayed)
                == "HTTP/1.0 200 OK\r\nContent-Length: 2\r\nServer: up\r\nx-spaceport-route: servicea@azureuser\r\n"
                + "via: 1.1 sp\r\nconnection: close\r\n\r\n")
    }

    @Test("request targets: paths, absolute URLs as sent to a proxy, * and CONNECT's host:port")
    func targets() {
        #expect(RequestTarget("/a?b", isConnect: false) == .origin("/a?b"))
        #expect(
            RequestTarget("http://serviceb/api?x=1", isConnect: false)
                == .absolute(authority: "serviceb", path: "/api?x=1"))
        #expect(
            RequestTarget("HTTP://user@serviceb:80", isConnect: false)
                == .absolute(authority: "serviceb:80", path: "/"))
        #expect(
            RequestTarget("http://serviceb?q", isConnect: false)
                == .absolute(authority: "serviceb", path: "/?q"))
        #expect(RequestTarget("*", isConnect: false) == .asterisk)
        #expect(RequestTarget("serviceb:443", isConnect: true) == .authority("serviceb:443"))
        #expect(RequestTarget("ftp://x/", isConnect: false) == nil)
        #expect(RequestTarget("http://", isConnect: false) == nil)
    }

    @Test("a request line and the HTTP/2 preface are HTTP; TLS and Redis are not; a partial line waits")
    func sniffing() {
        func classify(_ text: String) -> Sniff { Sniff.classify(ByteBuffer(string: text).readableBytesView) }
        #expect(classify("GET / HTTP/1.1\r\n") == .http)
        #expect(classify("POST /x HTTP/1.0\n") == .http)
        #expect(classify("GE") == .undecided)
        #expect(classify("GET /path/with/no/end") == .undecided)
        #expect(classify("GET key\r\n") == .raw)
        #expect(classify("*2\r\n$3\r\nGET\r\n") == .raw)
        #expect(classify("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") == .http)
        #expect(classify("PRI * HTTP/2.0\r\n") == .undecided)
        #expect(Sniff.classify(ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x02, 0x00]).readableBytesView) == .raw)
        #expect(classify("get / HTTP/1.1\r\n") == .raw)
    }

    @Test("a hop's log line names the request, the instance that served it, and how it was routed")
    func logLine() {
        var hop = HopEvent(
            id: "h", flow: "f", phase: .end, time: "t", proxy: "p", listener: "egress:azureuser/servicea",
            from: HopCaller(space: "azureuser", service: "servicea"), routeAs: "azureuser",
            routeAsSource: .header,
            service: "serviceb", tried: ["azureuser", "default"], space: "default",
            upstream: "127.0.0.1:5002",
            method: "GET", host: "serviceb", path: "/api", status: 200, durationMs: 3.25)
        #expect(
            HopLogSink.line(hop)
                == "GET serviceb/api → serviceb@default 200 3.2 ms · route-as azureuser (header) · tried azureuser → default · from azureuser/servicea"
        )
        hop.error = "boom"
        hop.status = 502
        #expect(HopLogSink.line(hop).hasSuffix("· error: boom"))
    }
}
