import NIOCore
import NIOEmbedded
import SpaceportCore
import Testing

@testable import SpaceportProxy

/// A request that waits in the pool's queue for a connection to its upstream, on
/// `EmbeddedChannel`s: the pool holds one connection (`max_upstream_connections: 1`), which the
/// first client's request has.
@Suite("Waiting for an upstream connection")
struct ConnectionQueueTests {
    /// Counts the reads the handlers behind it let through to the socket.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        private(set) var reads = 0

        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    let loop = EmbeddedEventLoop()
    let upstream: EmbeddedChannel
    let first: EmbeddedChannel
    let second: EmbeddedChannel
    let counter = ReadCounter()

    /// `first` has sent its request, which took the connection.
    init() throws {
        let state = LoopState(
            loop: loop, live: LiveTree(try EmbeddedConnection.tree(limits: ["max_upstream_connections": 1])))
        upstream = EmbeddedChannel(loop: loop)
        let address = Address(host: "127.0.0.1", port: 6001)
        try upstream.connect(to: SocketAddress(ipAddress: address.host, port: address.port)).wait()
        try HTTPUpstream.install(on: upstream, address: address)
        try state.pool.adopt(upstream, limits: state.limits)
        let info = ConnectionInfo(
            role: .ingress, reporter: HopReporter(proxy: "test", listener: .ingress, sink: nil), loop: state,
            clientIP: "127.0.0.1")
        let counter = counter
        (first, _) = try EmbeddedConnection.channel(on: loop) { channel in
            try ProxyConnection.installHTTP(on: channel.pipeline.syncOperations, info)
        }
        (second, _) = try EmbeddedConnection.channel(on: loop) { channel in
            try channel.pipeline.syncOperations.addHandler(counter)
            try ProxyConnection.installHTTP(on: channel.pipeline.syncOperations, info)
        }
        try first.send("GET /first HTTP/1.1\r\nHost: servicea\r\n\r\n")
        #expect(try upstream.written().hasPrefix("GET /first HTTP/1.1\r\n"))
    }

    /// The upstream answers the first request, which gives the connection to the second.
    func answerFirst() throws {
        try upstream.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
        #expect(try first.written().hasSuffix("\r\n\r\nfirst"))
        loop.run()
    }

    @Test(
        "a whole request waiting for a connection leaves its client's connection reading, and goes once one comes free"
    )
    func wholeRequestKeepsReading() throws {
        try second.send("GET /second HTTP/1.1\r\nHost: servicea\r\n\r\n")
        #expect(try upstream.written().isEmpty, "the second request waits: the one connection is busy")
        // Holding the reads of a request that has nothing more to send cost two epoll_ctl calls.
        second.read()
        #expect(counter.reads == 1)

        try answerFirst()
        #expect(try upstream.written().hasPrefix("GET /second HTTP/1.1\r\n"))
        try upstream.send("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond")
        #expect(try second.written().hasSuffix("\r\n\r\nsecond"))
        #expect(first.isActive && second.isActive && upstream.isActive)
    }

    @Test(
        "a request whose body is still to come holds its client's reads while it waits, then sends the body")
    func bodyStillComingHoldsReads() throws {
        try second.send("POST /second HTTP/1.1\r\nHost: servicea\r\nContent-Length: 5\r\n\r\n")
        second.read()
        #expect(counter.reads == 0, "the body would have nowhere to go")
        try answerFirst()
        #expect(counter.reads == 1, "the held read goes once the request has a connection")
        try second.send("hello")
        #expect(try upstream.written().hasSuffix("\r\n\r\nhello"))
    }
}
