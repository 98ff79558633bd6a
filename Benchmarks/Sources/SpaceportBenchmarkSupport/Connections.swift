import NIOCore
import NIOEmbedded
import SpaceportCore
@_spi(Benchmarks) import SpaceportProxy

/// A client's keep-alive connection through the proxy's real HTTP pipeline to one upstream
/// connection, on `EmbeddedChannel`s that share a loop: no sockets, nothing but the proxy's own
/// work. Reading what a channel wrote stands for the socket taking the bytes, so the buffers
/// written are free again by the next request, as they are behind a real socket.
final class Connections {
    private let loop = EmbeddedEventLoop()
    private let client: EmbeddedChannel
    private let upstream: EmbeddedChannel
    private let exchange: Traffic.Exchange
    /// The request sent next, of the exchange's requests.
    private var next = 0

    init(_ exchange: Traffic.Exchange, tree: SpaceTree) throws {
        self.exchange = exchange
        client = EmbeddedChannel(loop: loop)
        upstream = EmbeddedChannel(loop: loop)
        client.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 50_000), promise: nil)
        upstream.connect(
            to: try SocketAddress(ipAddress: Traffic.upstream.host, port: Traffic.upstream.port), promise: nil
        )
        try BenchmarkHarness.install(
            client: client, upstream: upstream, at: Traffic.upstream, tree: tree, sink: DiscardingSink())
    }

    /// One request in and its response out; the bytes the upstream and the client received.
    func exchangeOnce() throws -> (upstream: Int, client: Int) {
        try client.writeInbound(nextRequest())
        let sent = try drain(upstream) { _ in }
        for read in exchange.reads { try upstream.writeInbound(read) }
        let received = try drain(client) { _ in }
        return (sent, received)
    }

    /// Why one exchange did not do what the load test checks (a 200 with the whole body, the
    /// route header the upstream must see), or nil when it did.
    func problem() throws -> String? {
        try client.writeInbound(nextRequest())
        var toUpstream = ""
        _ = try drain(upstream) { toUpstream += String(buffer: $0) }
        for read in exchange.reads { try upstream.writeInbound(read) }
        var toClient = ""
        _ = try drain(client) { toClient += String(buffer: $0) }
        guard toUpstream.lowercased().contains("\r\nazds-route-as: \(exchange.routeAs)\r\n") else {
            return "the upstream did not get azds-route-as: \(exchange.routeAs) in:\n\(toUpstream)"
        }
        guard toClient.hasPrefix("HTTP/1.1 200 OK\r\n"),
            let headEnd = toClient.utf8.firstRange(of: "\r\n\r\n".utf8),
            toClient.utf8.distance(from: headEnd.upperBound, to: toClient.utf8.endIndex) == exchange.bodySize
        else {
            return
                "the client did not get a 200 with \(exchange.bodySize) bytes of body:\n\(toClient.prefix(600))"
        }
        return nil
    }

    private func nextRequest() -> ByteBuffer {
        defer { next = (next + 1) % exchange.requests.count }
        return exchange.requests[next]
    }

    func close() throws {
        _ = try client.finish(acceptAlreadyClosed: true)
        _ = try upstream.finish(acceptAlreadyClosed: true)
        try loop.syncShutdownGracefully()
    }

    private func drain(_ channel: EmbeddedChannel, _ each: (ByteBuffer) -> Void) throws -> Int {
        var count = 0
        while let bytes = try channel.readOutbound(as: ByteBuffer.self) {
            count += bytes.readableBytes
            each(bytes)
        }
        return count
    }
}

/// Takes every hop and keeps none: the hop's end is still built as the proxy builds it for its
/// feed, and what the feed does with it is measured on its own.
final class DiscardingSink: EventSink {
    func publish(_ event: FeedEvent) {}
    func publish(hop: consuming HopEvent) {}
    var isWatched: Bool { false }
}

/// A client that opens a connection for each request and asks the proxy to close it (wrk's
/// `Connection: close` run): the listener's accept, the pipeline built, the request, the
/// response and the close, each time; the upstream connection is the pool's, kept alive.
final class ConnectionPerRequest {
    private let loop = EmbeddedEventLoop()
    private let upstream: EmbeddedChannel
    private let listener: BenchmarkHarness.Listener
    private let exchange: Traffic.Exchange
    private let client: SocketAddress

    init(_ exchange: Traffic.Exchange, tree: SpaceTree) throws {
        self.exchange = exchange
        client = try SocketAddress(ipAddress: "127.0.0.1", port: 50_000)
        upstream = EmbeddedChannel(loop: loop)
        upstream.connect(
            to: try SocketAddress(ipAddress: Traffic.upstream.host, port: Traffic.upstream.port), promise: nil
        )
        listener = try BenchmarkHarness.listen(
            upstream: upstream, at: Traffic.upstream, tree: tree, sink: DiscardingSink())
    }

    /// A connection accepted, one request on it, the response read; the bytes the client got,
    /// and whether the proxy closed the connection after it.
    func exchangeOnce() throws -> (client: ByteBuffer, closed: Bool) {
        let channel = EmbeddedChannel(loop: loop)
        channel.remoteAddress = client
        try listener.accept(channel)
        channel.connect(to: client, promise: nil)
        try channel.writeInbound(exchange.requests[0])
        while try upstream.readOutbound(as: ByteBuffer.self) != nil {}
        for read in exchange.reads { try upstream.writeInbound(read) }
        var received = ByteBuffer()
        while var bytes = try channel.readOutbound(as: ByteBuffer.self) { received.writeBuffer(&bytes) }
        loop.run()
        return (received, !channel.isActive)
    }

    /// Why one connection did not do what the load test checks (a 200 with the whole body, then
    /// the connection closed by the proxy), or nil when it did.
    func problem() throws -> String? {
        let (received, closed) = try exchangeOnce()
        let text = String(buffer: received)
        guard text.hasPrefix("HTTP/1.1 200 OK\r\n"),
            text.hasSuffix(String(repeating: "s", count: exchange.bodySize))
        else {
            return
                "the client did not get a 200 with \(exchange.bodySize) bytes of body:\n\(text.prefix(600))"
        }
        guard closed else { return "the proxy kept the connection open after answering Connection: close" }
        return nil
    }

    func close() throws {
        _ = try upstream.finish(acceptAlreadyClosed: true)
        try loop.syncShutdownGracefully()
    }
}
