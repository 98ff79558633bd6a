import NIOCore
import NIOEmbedded
import Testing

@testable import SpaceportProxy

/// `HeadTimer` at the front of a client connection, on an `EmbeddedEventLoop` whose clock
/// the test moves: how long a connection may say nothing, or take over a head.
@Suite("Timing the wait for a request head")
struct HeadTimerTests {
    static let limits = ["header_timeout_ms": 1000, "idle_timeout_ms": 5000]

    let channel: EmbeddedChannel
    let socket: HalfClosingSocket
    let timer: HeadTimer
    let hops = HopCollector()

    init() throws {
        let loop = EmbeddedEventLoop()
        let timer = try HeadTimer(EmbeddedConnection.info(on: loop, limits: Self.limits, hops: hops))
        (channel, socket) = try EmbeddedConnection.channel(on: loop) { channel in
            try channel.pipeline.syncOperations.addHandler(timer)
        }
        self.timer = timer
    }

    var loop: EmbeddedEventLoop { channel.embeddedEventLoop }

    @Test("a connection that sends nothing is closed after header_timeout_ms, unanswered")
    func silentConnection() throws {
        loop.advanceTime(by: .milliseconds(999))
        #expect(channel.isActive)
        loop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
        #expect(try channel.written().isEmpty)
    }

    @Test("after an exchange the connection waits idle_timeout_ms for the next request, then closes")
    func keptAliveWaitsIdleTimeout() throws {
        try channel.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        timer.note(.headReceived)
        timer.note(.requestRead)
        timer.note(.exchangeDone)
        loop.advanceTime(by: .milliseconds(4999))
        #expect(channel.isActive)
        loop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
        #expect(try channel.written().isEmpty)
    }

    @Test(
        "a head begun and not finished within header_timeout_ms is answered 408 and the connection closes lingering"
    )
    func slowHead() throws {
        try channel.send("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        #expect(try channel.readInbound(as: ByteBuffer.self) != nil)
        loop.advanceTime(by: .milliseconds(999))
        #expect(try channel.written().isEmpty)
        loop.advanceTime(by: .milliseconds(1))
        let answer = try channel.written()
        #expect(answer.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        #expect(answer.contains("connection: close\r\n"))
        #expect(answer.hasSuffix("the request headers did not arrive within 1000 ms\n"))
        #expect(hops.ended.map(\.status) == [408])
        try socket.expectLingeringClose(channel, after: "rest of the head\r\n\r\n")
    }

    @Test("a head that arrives in time is not answered")
    func headInTime() throws {
        try channel.send("GET / HTTP/1.1\r\nHost: x\r\n")
        loop.advanceTime(by: .milliseconds(500))
        try channel.send("\r\n")
        timer.note(.headReceived)
        loop.advanceTime(by: .milliseconds(5000))
        #expect(try channel.written().isEmpty)
        #expect(channel.isActive)
        #expect(!socket.outputClosed)
    }

    @Test("the next request's head, begun while a response was going, is on the clock once the exchange ends")
    func pipelinedHeadTimed() throws {
        try channel.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        timer.note(.headReceived)
        timer.note(.requestRead)
        try channel.send("GET /b HTTP/1.1\r\nHo")
        timer.note(.exchangeDone)
        loop.advanceTime(by: .milliseconds(1000))
        #expect(try channel.written().hasPrefix("HTTP/1.1 408 Request Timeout\r\n"))
        #expect(socket.outputClosed)
    }
}

/// The first handler of an HTTP connection, `HeadTimer`, reads its first bytes for the HTTP/2
/// preface, on an `EmbeddedChannel` with the whole HTTP/1 pipeline behind it.
@Suite("Telling HTTP/2 from HTTP/1 by a connection's first bytes")
struct HTTPVersionTests {
    let channel: EmbeddedChannel

    init() throws {
        let loop = EmbeddedEventLoop()
        let info = try EmbeddedConnection.info(on: loop)
        (channel, _) = try EmbeddedConnection.channel(on: loop) { channel in
            try ProxyConnection.installHTTP(on: channel.pipeline.syncOperations, info)
        }
    }

    @Test("a preface that arrives in pieces waits whole, then the connection speaks HTTP/2")
    func prefaceInPieces() throws {
        let preface = HTTP2Preface.bytes
        try channel.writeInbound(ByteBuffer(bytes: preface[..<10]))
        #expect(channel.has(HeadTimer.self), "ten bytes of the preface cannot tell yet")
        #expect(try channel.written().isEmpty)
        try channel.writeInbound(ByteBuffer(bytes: preface[10...]))
        #expect(!channel.has(HeadTimer.self) && !channel.has(ExchangeHandler.self))
        #expect(channel.has(HTTP2ConnectionKeeper.self))
        // The server's SETTINGS frame: type 4 on stream 0.
        let frame = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(frame.readableBytes >= 9 && frame.getInteger(at: frame.readerIndex + 3, as: UInt8.self) == 4)
        #expect(channel.isActive)
    }

    @Test("a request line beginning with the preface's first letter stays HTTP/1")
    func lookalikeStaysHTTP1() throws {
        try channel.writeInbound(ByteBuffer(string: "P"))
        #expect(channel.has(HeadTimer.self))
        try channel.writeInbound(
            ByteBuffer(string: "UT / HTTP/1.1\r\nHost: servicez\r\nContent-Length: 0\r\n\r\n"))
        #expect(try channel.written().hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        #expect(channel.has(HeadTimer.self) && channel.has(ExchangeHandler.self))
    }
}
