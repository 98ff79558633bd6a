import NIOCore
import NIOEmbedded
import SpaceportCore
import Testing

@testable import SpaceportProxy

/// `ExchangeHandler` in a client connection's pipeline, as `ProxyConnection.installHTTP`
/// builds it, on an `EmbeddedChannel`: the answers the proxy gives itself, and what becomes
/// of the connection after each. (Forwarding dials real sockets; the proxy tests cover it.)
@Suite("Answering on a client connection")
struct ExchangeHandlerTests {
    let channel: EmbeddedChannel
    let socket: HalfClosingSocket
    let hops = HopCollector()

    init() throws {
        let loop = EmbeddedEventLoop()
        let info = try EmbeddedConnection.info(on: loop, hops: hops)
        (channel, socket) = try EmbeddedConnection.channel(on: loop) { channel in
            try ProxyConnection.installHTTP(on: channel.pipeline.syncOperations, info)
        }
    }

    static let unknown = "GET / HTTP/1.1\r\nHost: servicez\r\n\r\n"
    static let notFound = "HTTP/1.1 404 Not Found\r\n"

    /// The status lines in `text`.
    static func statusLines(_ text: String) -> [String] {
        text.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("HTTP/") }.map(String.init)
    }

    @Test("a refused request without a body is answered and the connection stays for the next")
    func refusedWhole() throws {
        try channel.send(Self.unknown)
        let answer = try channel.written()
        #expect(answer.hasPrefix(Self.notFound))
        #expect(
            answer.hasSuffix(
                "\r\n\r\nno space runs 'servicez'; did you mean servicea or serviceb? (tried default)\n"))
        #expect(!answer.contains("connection: close"))
        #expect(channel.isActive)
        #expect(!socket.outputClosed)
        try channel.send(Self.unknown)
        #expect(Self.statusLines(try channel.written()) == ["HTTP/1.1 404 Not Found"])
        // Two in one read: the second waits for the first's answer, then is answered too.
        try channel.send(Self.unknown + Self.unknown)
        let both = try channel.written()
        #expect(Self.statusLines(both) == ["HTTP/1.1 404 Not Found", "HTTP/1.1 404 Not Found"], "\(both)")
        #expect(channel.isActive)
        #expect(hops.ended.map(\.status) == [404, 404, 404, 404])
        #expect(
            hops.ended.first?.error
                == "no space runs 'servicez'; did you mean servicea or serviceb? (tried default)")
    }

    @Test("a refused request with a body is answered at once, its body dropped, and the connection kept")
    func refusedWithBody() throws {
        try channel.send("POST /up HTTP/1.1\r\nHost: servicez\r\nContent-Length: 10\r\n\r\nhel")
        #expect(Self.statusLines(try channel.written()) == ["HTTP/1.1 404 Not Found"])
        #expect(channel.isActive)
        // The body's rest and the next request in one read: the body goes nowhere, the request is answered.
        try channel.send("lo worl" + Self.unknown)
        #expect(Self.statusLines(try channel.written()) == ["HTTP/1.1 404 Not Found"])
        #expect(channel.isActive)
        #expect(!socket.outputClosed)
    }

    @Test("a refused request whose body stops arriving does not hold its connection open past every limit")
    func refusedBodyStalls() throws {
        try channel.send("POST /up HTTP/1.1\r\nHost: servicez\r\nContent-Length: 100\r\n\r\nhel")
        #expect(Self.statusLines(try channel.written()) == ["HTTP/1.1 404 Not Found"])
        // Longer than header_timeout_ms, idle_timeout_ms and upstream_timeout_ms (10 s, 60 s, 60 s).
        channel.embeddedEventLoop.advanceTime(by: .minutes(10))
        #expect(!channel.isActive)
    }

    @Test(
        "a refused HTTP/1.0 request that asks for keep-alive is answered with connection: keep-alive, and its connection stays"
    )
    func refusedHTTP10KeepAlive() throws {
        try channel.send("GET / HTTP/1.0\r\nHost: servicez\r\nConnection: keep-alive\r\n\r\n")
        let answer = try channel.written()
        #expect(answer.hasPrefix("HTTP/1.0 404 Not Found\r\n"))
        #expect(answer.contains("\r\nconnection: keep-alive\r\n"))
        #expect(channel.isActive)
    }

    @Test(
        "a refused request that ends its connection (Connection: close, or HTTP/1.0 without keep-alive) is answered with connection: close and the connection closes",
        arguments: [
            ("GET / HTTP/1.1\r\nHost: servicez\r\nConnection: close\r\n\r\n", "HTTP/1.1 404 Not Found\r\n"),
            ("GET / HTTP/1.0\r\nHost: servicez\r\n\r\n", "HTTP/1.0 404 Not Found\r\n"),
        ])
    func refusedClose(request: String, statusLine: String) throws {
        try channel.send(request)
        let answer = try channel.written()
        #expect(answer.hasPrefix(statusLine))
        #expect(answer.contains("\r\nconnection: close\r\n"))
        #expect(!channel.isActive)
    }

    @Test("an unreadable head is answered 400 and the connection closes lingering")
    func unreadable() throws {
        try channel.send("HELLO there\r\n\r\n")
        let answer = try channel.written()
        #expect(answer.hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(answer.contains("\r\nconnection: close\r\n"))
        #expect(
            answer.hasSuffix("the request is not valid HTTP/1.1: its method 'HELLO' is not an HTTP method\n"))
        #expect(hops.ended.map(\.status) == [400])
        try socket.expectLingeringClose(channel, after: Self.unknown)
    }

    @Test("a connection told to drain answers its request with connection: close and closes")
    func draining() throws {
        // The sequencer passes draining on only while a request is in hand; here it reaches the exchange handler straight.
        let route = try channel.pipeline.syncOperations.context(handlerType: RouteHandler.self)
        route.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        try channel.send(Self.unknown)
        let answer = try channel.written()
        #expect(answer.hasPrefix(Self.notFound))
        #expect(answer.contains("\r\nconnection: close\r\n"))
        #expect(!channel.isActive)
    }
}
