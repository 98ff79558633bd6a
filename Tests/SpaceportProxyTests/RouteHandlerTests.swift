import NIOCore
import NIOEmbedded
import SpaceportCore
import Testing

@testable import SpaceportProxy

/// `RouteHandler` behind the request decoder, on an `EmbeddedChannel`: what each request
/// becomes for the exchange handler.
@Suite("Routing a request to its exchange")
struct RouteHandlerTests {
    let channel: EmbeddedChannel
    let hops = HopCollector()

    init() throws {
        let loop = EmbeddedEventLoop()
        channel = EmbeddedChannel(loop: loop)
        let info = try EmbeddedConnection.info(on: loop, hops: hops)
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(RequestDecoder(maxHeaderBytes: 65536, maxHeaderCount: 100)))
        try channel.pipeline.syncOperations.addHandler(RouteHandler(info))
    }

    /// The next part routed; fails the test when there is none.
    func next() throws -> ProxyRequestPart {
        try #require(try channel.readInbound(as: ProxyRequestPart.self))
    }

    func nextExchange() throws -> Exchange {
        let part = try next()
        guard case .head(let exchange) = part else { throw TestFailure("expected an exchange, got \(part)") }
        return exchange
    }

    @Test(
        "a head for a known service becomes an exchange forwarded to the upstream of the space that serves it"
    )
    func forwarded() throws {
        try channel.send("GET /x HTTP/1.1\r\nHost: azureuser.s.default.servicea.localhost\r\n\r\n")
        let own = try nextExchange()
        #expect(own.forwarding?.upstream == Address(host: "127.0.0.1", port: 6002))
        #expect(own.forwarding?.routeLabel == "servicea@azureuser")

        try channel.send("GET /y HTTP/1.1\r\nHost: azureuser.s.default.serviceb.localhost\r\n\r\n")
        let inherited = try nextExchange()
        #expect(inherited.forwarding?.upstream == Address(host: "127.0.0.1", port: 6003))
        #expect(inherited.forwarding?.routeLabel == "serviceb@default")
        #expect(inherited.forwarding?.target.forwardedPath == "/y")
        #expect(hops.hops.filter { $0.phase == .start }.map(\.service) == ["servicea", "serviceb"])
    }

    @Test("a head for a service no space on its chain runs is refused 404, naming the chain")
    func unknownService() throws {
        try channel.send("GET / HTTP/1.1\r\nHost: azureuser.s.default.servicez.localhost\r\n\r\n")
        let exchange = try nextExchange()
        #expect(exchange.forwarding == nil)
        guard case .refuse(let answer) = exchange.routing else { throw TestFailure("not refused") }
        #expect(answer.status == .notFound)
        #expect(
            answer.message
                == "no space runs 'servicez'; did you mean servicea or serviceb? (tried azureuser → default)")
        #expect(exchange.head?.uri == "/")
    }

    @Test("bytes that are not a request head become a refused exchange with no head, answered 400")
    func unreadableHead() throws {
        #expect(throws: Never.self) { try channel.send("HELLO there\r\n\r\n") }
        let exchange = try nextExchange()
        #expect(exchange.head == nil)
        #expect(exchange.machine.request == .unreadable)
        guard case .refuse(let answer) = exchange.routing else { throw TestFailure("not refused") }
        #expect(answer.status == .badRequest)
        #expect(answer.message.hasPrefix("the request is not valid HTTP/1.1"))
    }

    @Test("a body's parts and its end pass through as they are")
    func bodyPasses() throws {
        try channel.send("POST /up HTTP/1.1\r\nHost: servicea\r\nContent-Length: 5\r\n\r\nhel")
        #expect(try nextExchange().forwarding?.routeLabel == "servicea@default")
        guard case .body(let first) = try next() else { throw TestFailure("expected a body part") }
        #expect(String(buffer: first) == "hel")
        try channel.send("lo")
        guard case .body(let second) = try next() else { throw TestFailure("expected a body part") }
        #expect(String(buffer: second) == "lo")
        guard case .end = try next() else { throw TestFailure("expected the end") }
        #expect(try channel.readInbound(as: ProxyRequestPart.self) == nil)
    }

    @Test("a syntax error in a body is the exchange's, passed on as an error, not a new exchange")
    func errorInBody() throws {
        try channel.send("PUT /up HTTP/1.1\r\nHost: servicea\r\nTransfer-Encoding: chunked\r\n\r\n")
        _ = try nextExchange()
        #expect(throws: HTTPSyntaxError.self) { try channel.send("zz\r\n") }
        #expect(try channel.readInbound(as: ProxyRequestPart.self) == nil)
    }
}
