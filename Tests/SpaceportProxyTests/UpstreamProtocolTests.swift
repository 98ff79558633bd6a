import Foundation
import NIOCore
import SpaceportCore
import SpaceportProxy
import SpaceportTestSupport
import Testing

/// `protocol: h2c` and `protocol: http1` on an instance: the proxy speaks that to the upstream
/// whatever the client speaks, translating each exchange both ways.
@Suite(
    "An instance's protocol: HTTP/1.1 clients to h2c-only upstreams and HTTP/2 clients to HTTP/1-only ones")
struct UpstreamProtocolTests {
    /// A proxy whose one service, in `default`, is at `upstream` and says `protocol: <spoken>`.
    static func proxy(
        _ service: String, at upstream: Address, speaking spoken: String,
        _ body: (RunningProxy) async throws -> Void
    ) async throws {
        try await RunningProxy.with(
            """
            spaces:
              default:
                services:
                  \(service): { upstream: \(upstream), protocol: \(spoken) }
            """, body)
    }

    @Test("an HTTP/1.1 curl reaches an upstream that speaks only h2c through protocol: h2c, bodies both ways")
    func http1ClientToH2C() async throws {
        let greeter = try await H2Upstream.start("greeter-h2c")
        try await Self.proxy("greeter", at: greeter.address, speaking: "h2c") { proxy in
            let get = try await Curl.run([proxy.url("greeter.localhost", "/hello")])
            #expect(get.status == 200)
            #expect(get.text.hasPrefix("server=greeter-h2c authority=greeter.localhost"), "\(get.text)")
            #expect(get.header("x-spaceport-route") == "greeter@default")
            // The upstream gave no length: the body comes in chunks.
            #expect(get.header("transfer-encoding") == "chunked")
            let hop = try await proxy.hops.end()
            #expect(hop.protocol == .http)
            #expect(hop.upstreamProtocol == .h2c)
            #expect(hop.status == 200)

            let body = Data(repeating: UInt8(ascii: "x"), count: 64 * 1024)
            let sized = try await Curl.run(
                ["--data-binary", "@-", proxy.url("greeter.localhost", "/upload")], stdin: body)
            #expect(sized.text.hasSuffix("bytes=65536"), "\(sized.text)")
            let chunked = try await Curl.run(
                [
                    "-H", "Transfer-Encoding: chunked", "--data-binary", "@-",
                    proxy.url("greeter.localhost", "/up"),
                ],
                stdin: body)
            #expect(chunked.text.hasSuffix("bytes=65536"), "\(chunked.text)")
            let down = try await Curl.download([proxy.url("greeter.localhost", "/bytes/65536")])
            #expect(down.status == 200 && down.bytes == 65536)
            // Larger than the stream's window: it comes as the HTTP/1.1 client reads it.
            let streamed = try await Curl.download([proxy.url("greeter.localhost", "/bytes/4194304")])
            #expect(streamed.status == 200 && streamed.bytes == 4_194_304)
            // Two requests on one kept-alive connection: a stream each.
            let client = try RawClient(Address(host: "127.0.0.1", port: proxy.port))
            for path in ["/first", "/second"] {
                try client.send("GET \(path) HTTP/1.1\r\nHost: greeter.localhost\r\n\r\n")
                let answer = try client.readResponse()
                #expect(answer.status == 200 && answer.text.hasPrefix("server=greeter-h2c"), "\(answer.text)")
            }
            // Each request was a stream of its own.
            #expect(greeter.streams == 7)
        }
        await greeter.stop()
    }

    @Test(
        "trailers from an h2c upstream reach an HTTP/1.1 client as chunked trailers only when it sent TE: trailers"
    )
    func trailersOnlyWhenAsked() async throws {
        let greeter = try await H2Upstream.start("greeter-h2c")
        try await Self.proxy("greeter", at: greeter.address, speaking: "h2c") { proxy in
            let address = Address(host: "127.0.0.1", port: proxy.port)
            func call(te: Bool) throws -> String {
                let client = try RawClient(address)
                let fields = te ? "TE: trailers\r\nConnection: TE, close\r\n" : "Connection: close\r\n"
                try client.send(
                    "POST /helloworld.Greeter/SayHello HTTP/1.1\r\nHost: greeter.localhost\r\n\(fields)"
                        + "Content-Type: application/grpc\r\nX-Test-Grpc-Status: 5\r\nContent-Length: 7\r\n\r\n"
                )
                try client.send([0, 0, 0, 0, 2, UInt8(ascii: "h"), UInt8(ascii: "i")])
                // The message's zero bytes as dots, so a failure prints it whole.
                return String(
                    decoding: client.readToEnd().map { $0 == 0 ? UInt8(ascii: ".") : $0 }, as: UTF8.self)
            }
            let asked = try call(te: true)
            #expect(asked.hasPrefix("HTTP/1.1 200"), "\(asked)")
            #expect(
                asked.contains("\r\n0\r\ngrpc-status: 5\r\ngrpc-message: from greeter-h2c\r\n\r\n"),
                "\(asked)")
            let unasked = try call(te: false)
            #expect(unasked.hasPrefix("HTTP/1.1 200"), "\(unasked)")
            #expect(unasked.hasSuffix("\r\n0\r\n\r\n"), "\(unasked)")
            #expect(!unasked.contains("grpc-status"))
        }
        await greeter.stop()
    }

    @Test(
        "curl --http2-prior-knowledge reaches an HTTP/1-only upstream through protocol: http1, 64 KiB both ways"
    )
    func http2ClientToHTTP1() async throws {
        let plain = try await TestUpstream.start("plain-http1")
        try await Self.proxy("plain", at: plain.address, speaking: "http1") { proxy in
            let get = try await Curl.run(["--http2-prior-knowledge", proxy.url("plain.localhost", "/hello")])
            #expect(get.status == 200)
            let seen = try get.seen()
            #expect(seen.server == "plain-http1")
            #expect(seen.uri == "/hello")
            #expect(seen.header("host") == "plain.localhost:\(proxy.port)")
            #expect(seen.header("azds-route-as") == "default")
            #expect(get.header("x-spaceport-route") == "plain@default")
            let hop = try await proxy.hops.end()
            #expect(hop.protocol == .h2)
            #expect(hop.upstreamProtocol == .http1)

            let body = Data(repeating: UInt8(ascii: "x"), count: 64 * 1024)
            let sized = try await Curl.run(
                ["--http2-prior-knowledge", "--data-binary", "@-", proxy.url("plain.localhost", "/count")],
                stdin: body)
            #expect(try sized.seen().bodyBytes == 65536)
            #expect(try sized.seen().method == "POST")
            // Of unknown length (an upload from stdin): in chunks on the HTTP/1.1 side.
            let streamedUp = try await Curl.run(
                ["--http2-prior-knowledge", "-T", "-", proxy.url("plain.localhost", "/count")], stdin: body)
            #expect(try streamedUp.seen().bodyBytes == 65536)
            #expect(try streamedUp.seen().header("transfer-encoding") == "chunked")

            let down = try await Curl.download(
                ["--http2-prior-knowledge", proxy.url("plain.localhost", "/bytes/65536")])
            #expect(down.status == 200 && down.bytes == 65536)
            // Streamed in chunks, and larger than both HTTP/2 windows: flow control holds it back.
            let streamed = try await Curl.download(
                ["--http2-prior-knowledge", proxy.url("plain.localhost", "/bytes/4194304?chunked")])
            #expect(streamed.status == 200 && streamed.bytes == 4_194_304)
            let noContent = try await Curl.run([
                "--http2-prior-knowledge", proxy.url("plain.localhost", "/status/204"),
            ])
            #expect(noContent.status == 204)
            let hangup = try await Curl.run([
                "--http2-prior-knowledge", proxy.url("plain.localhost", "/hangup"),
            ])
            #expect(hangup.status == 502)
            #expect(hangup.text.contains("plain@default at \(plain.address)"), "\(hangup.text)")
            // A hang-up on a kept-alive connection sends the GET once more, on a new one; whether the
            // request found one kept alive depends on the event loop it landed on.
            #expect((7...8).contains(plain.requests))
        }
        await plain.stop()
    }

    @Test(
        "an HTTP/1 upstream's chunked trailers reach an HTTP/2 client as trailers, its connection fields do not"
    )
    func http1TrailersToHTTP2() async throws {
        let plain = try await TestUpstream.start("plain-http1")
        try await Self.proxy("plain", at: plain.address, speaking: "http1") { proxy in
            let client = try await H2Client.connect(port: proxy.port)
            let response = try await client.request("/trailers", authority: "plain.localhost")
            #expect(response.status == 200)
            #expect(response.text == "hello")
            #expect(response.trailers?.first(name: "x-checksum") == "42")
            #expect(response.headers.first(name: "connection") == nil)
            #expect(response.headers.first(name: "transfer-encoding") == nil)
            #expect(response.headers.first(name: "x-spaceport-route") == "plain@default")
            await client.close()
        }
        await plain.stop()
    }

    @Test("a gRPC call to an instance configured protocol: http1 is UNAVAILABLE, saying so")
    func grpcToHTTP1() async throws {
        let plain = try await TestUpstream.start("plain-http1")
        try await Self.proxy("greeter", at: plain.address, speaking: "http1") { proxy in
            let client = try await H2Client.connect(port: proxy.port)
            let call = try await client.request(
                "/helloworld.Greeter/SayHello", authority: "greeter.localhost", body: "hi", grpc: true)
            #expect(call.status == 200)
            #expect(call.grpcStatus == GRPCStatus.unavailable.rawValue)
            #expect(
                call.grpcMessage
                    == "greeter@default at \(plain.address) is configured `protocol: http1`, which cannot carry gRPC; set `protocol: h2c` or `auto` on the instance in the spaces file"
            )
            #expect(plain.requests == 0, "nothing was sent that could not work")
            let hop = try await proxy.hops.end()
            #expect(hop.protocol == .grpc && hop.grpcStatus == GRPCStatus.unavailable.rawValue)
            await client.close()
        }
        await plain.stop()
    }
}

@Suite("Where an instance's protocol shows: route, tree and the feed's snapshot")
struct UpstreamProtocolShownTests {
    static let tree = try! SpacesFile.parse(
        text: """
            spaces:
              default:
                services:
                  greeter: { upstream: 127.0.0.1:50051, protocol: h2c }
                  legacy: { upstream: 127.0.0.1:8081, protocol: http1 }
                  plain: 127.0.0.1:8082
            """, file: "spaces.yaml")

    @Test(
        "route says which HTTP goes upstream when it is not the client's, and refuses gRPC to an http1 instance"
    )
    func routeExplains() throws {
        let tree = Self.tree
        func explain(_ host: String, http2: Bool, grpc: Bool = false) throws -> RouteExplanation {
            try RouteExplanation.explain(
                host: host, headers: grpc ? [("content-type", "application/grpc")] : [], from: nil,
                traceKnown: nil, tree: tree, http2: http2)
        }
        #expect(try explain("greeter.localhost", http2: false).upstreamProtocol == .h2c)
        #expect(try explain("greeter.localhost", http2: true).upstreamProtocol == nil)
        #expect(try explain("legacy.localhost", http2: true).upstreamProtocol == .http1)
        #expect(try explain("plain.localhost", http2: true).upstreamProtocol == nil)
        #expect(try explain("legacy.localhost", http2: true).grpcRefusal == nil)
        let refusal = try explain("legacy.localhost", http2: true, grpc: true).grpcRefusal
        #expect(refusal?.status == 502)
        #expect(refusal?.message.contains("is configured `protocol: http1`") == true)
    }

    @Test("tree and the feed's snapshot carry an instance's protocol")
    func treeAndSnapshot() throws {
        let report = TreeReport(Self.tree)
        let services = report.spaces[0].services
        #expect(services.first { $0.name == "greeter" }?.upstreamProtocol == "h2c")
        #expect(services.first { $0.name == "plain" }?.upstreamProtocol == nil)
        let again = try SpacesSnapshot(Self.tree).tree()
        #expect(again.space("default")?.instance("legacy")?.upstreamProtocol == .http1)
        #expect(again == Self.tree)
    }
}
