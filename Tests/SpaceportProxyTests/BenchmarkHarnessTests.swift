import NIOCore
import NIOEmbedded
import SpaceportCore
@_spi(Benchmarks) import SpaceportProxy
import Testing

/// The benchmarks (`Benchmarks/`, a package `swift test` does not build) measure requests through
/// `BenchmarkHarness`: this holds it to serving them as the proxy does, on the upstream connection
/// it gave the pool, so a benchmark never measures a refusal or a dial.
@Suite("The benchmarks' harness")
struct BenchmarkHarnessTests {
    @Test(
        "requests through the harness are routed, forwarded and answered on the one upstream connection it adopted"
    )
    func servesOnTheAdoptedConnection() throws {
        let tree = try SpacesFile.parse(
            text: """
                spaces:
                  default:
                    services:
                      svc: { upstream: 127.0.0.1:9000 }
                  child: { parent: default }
                """, file: "harness.yaml")
        let loop = EmbeddedEventLoop()
        let client = EmbeddedChannel(loop: loop)
        let upstream = EmbeddedChannel(loop: loop)
        client.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 50_000), promise: nil)
        upstream.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 9000), promise: nil)
        try BenchmarkHarness.install(
            client: client, upstream: upstream, at: Address(host: "127.0.0.1", port: 9000), tree: tree,
            sink: nil)

        for _ in 0..<2 {
            try client.writeInbound(
                ByteBuffer(string: "GET /a HTTP/1.1\r\nHost: child.s.default.svc.localhost\r\n\r\n"))
            let forwarded = try Self.written(by: upstream)
            #expect(forwarded.hasPrefix("GET /a HTTP/1.1\r\n"))
            #expect(forwarded.contains("\r\nazds-route-as: child\r\n"))
            try upstream.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"))
            let answer = try Self.written(by: client)
            #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(answer.contains("\r\nx-spaceport-route: svc@default\r\n"))
            #expect(answer.hasSuffix("\r\n\r\nhello"))
        }
        #expect(client.isActive && upstream.isActive, "both connections are kept alive")
        _ = try client.finish(acceptAlreadyClosed: true)
        _ = try upstream.finish(acceptAlreadyClosed: true)
        try loop.syncShutdownGracefully()
    }

    @Test("connections accepted through the harness's listener are answered and closed on Connection: close")
    func acceptsThroughTheListener() throws {
        let tree = try SpacesFile.parse(
            text: "spaces: { default: { services: { svc: { upstream: 127.0.0.1:9000 } } } }",
            file: "harness.yaml")
        let loop = EmbeddedEventLoop()
        let upstream = EmbeddedChannel(loop: loop)
        upstream.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 9000), promise: nil)
        let listener = try BenchmarkHarness.listen(
            upstream: upstream, at: Address(host: "127.0.0.1", port: 9000), tree: tree, sink: nil)

        for port in [50_000, 50_001] {
            let client = EmbeddedChannel(loop: loop)
            let peer = try SocketAddress(ipAddress: "127.0.0.1", port: port)
            client.remoteAddress = peer
            try listener.accept(client)
            client.connect(to: peer, promise: nil)
            try client.writeInbound(
                ByteBuffer(
                    string: "GET /a HTTP/1.1\r\nHost: default.svc.localhost\r\nConnection: close\r\n\r\n"))
            let forwarded = try Self.written(by: upstream)
            #expect(forwarded.contains("\r\nx-forwarded-for: 127.0.0.1\r\n"))
            try upstream.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"))
            let answer = try Self.written(by: client)
            #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(answer.hasSuffix("\r\n\r\nhello"))
            loop.run()
            #expect(!client.isActive, "the proxy closes the client's connection after its answer")
        }
        #expect(upstream.isActive, "the upstream connection is kept for the next client")
        _ = try upstream.finish(acceptAlreadyClosed: true)
        try loop.syncShutdownGracefully()
    }

    private static func written(by channel: EmbeddedChannel) throws -> String {
        var text = ""
        while let bytes = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: bytes) }
        return text
    }
}
