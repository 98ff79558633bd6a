import NIOCore
import NIOEmbedded
import SpaceportCore
import Testing

@testable import SpaceportProxy

/// An upstream connection's `UpstreamResponseDecoder` and `UpstreamHandler` on an
/// `EmbeddedChannel`, owned by a recording owner in place of the exchange handler.
@Suite("An upstream connection")
struct UpstreamHandlerTests {
    /// Records what the connection hands its owner, as words: `head 200`, `body hello`, `end`,
    /// `read complete`, `closed`, `closed cut off`, `closed with <error>`.
    final class RecordingOwner: UpstreamOwner {
        var events: [String] = []
        /// Runs as each part arrives, inside the read it came in.
        var onPart: ((UpstreamHandler, UpstreamResponsePart) -> Void)?

        func upstream(_ upstream: UpstreamHandler, received part: UpstreamResponsePart) {
            switch part {
            case .head(let head): events.append("head \(head.status)")
            case .body(let body): events.append("body \(String(buffer: body))")
            case .end: events.append("end")
            case .unsolicited: events.append("unsolicited")
            }
            onPart?(upstream, part)
        }

        func upstreamReadComplete(_ upstream: UpstreamHandler) { events.append("read complete") }

        func upstreamWritabilityChanged(_ upstream: UpstreamHandler) {}

        func upstreamClosed(_ upstream: UpstreamHandler, error: (any Error)?) {
            switch error {
            case nil: events.append("closed")
            case let invalid as HTTPSyntaxError where invalid.cutOff: events.append("closed cut off")
            case let error?: events.append("closed with \(error)")
            }
        }
    }

    let channel = EmbeddedChannel()
    let upstream: UpstreamHandler
    let owner = RecordingOwner()

    init() throws {
        let decoder = UpstreamResponseDecoder()
        upstream = UpstreamHandler(address: Address(host: "127.0.0.1", port: 6001), decoder: decoder)
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(decoder))
        try channel.pipeline.syncOperations.addHandler(upstream)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6001)).wait()
        upstream.owner = owner
    }

    /// Writes a request head the way the exchange handler does.
    func sendHead(_ head: String = "GET / HTTP/1.1\r\nHost: x\r\n\r\n") {
        upstream.sendHead(ByteBuffer(string: head), chunked: false, answersHEAD: false)
        upstream.flush()
    }

    @Test("a response after a request head reaches the owner as head, body and end")
    func response() throws {
        sendHead()
        #expect(try channel.written() == "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        try channel.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        #expect(owner.events == ["head 200", "body hello", "end", "read complete"])
        #expect(upstream.isReady)
        #expect(channel.isActive)
        #expect(upstream.requestsSent == 1)
    }

    @Test("bytes while no request is owed close the connection, which is never reused")
    func bytesWhileIdle() throws {
        try channel.send("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        #expect(owner.events == ["closed"])
        #expect(!channel.isActive)
        #expect(!upstream.isReusable)
    }

    @Test("bytes past a response's end in the same read close the connection, which is never reused")
    func bytesPastTheEnd() throws {
        sendHead()
        try channel.send(
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
                + "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged")
        #expect(owner.events == ["head 200", "body hello", "end", "closed"])
        #expect(!channel.isActive)
        #expect(!upstream.isReusable)
    }

    @Test("a response's body longer than its length closes the connection")
    func bodyPastItsLength() throws {
        sendHead()
        try channel.send("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhello")
        #expect(owner.events == ["head 200", "body he", "end", "closed"])
        #expect(!upstream.isReusable)
    }

    @Test("a connection is not ready again until the read its response ended in is complete")
    func readyAfterTheRead() throws {
        sendHead()
        var readyAtEnd: Bool?
        owner.onPart = { upstream, part in
            if case .end = part { readyAtEnd = upstream.isReady }
        }
        channel.pipeline.fireChannelRead(ByteBuffer(string: "HTTP/1.1 204 No Content\r\n\r\n"))
        #expect(readyAtEnd == false)
        #expect(!upstream.isReady)
        #expect(upstream.isReusable)
        channel.pipeline.fireChannelReadComplete()
        #expect(upstream.isReady)
    }

    @Test("after a 101 the bytes that came with it are handed on as the decoder leaves")
    func switchingProtocols() throws {
        sendHead("GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
        let raw = "\u{81}\u{05}hello HTTP/1.1 200 OK\r\n\r\n"
        try channel.send(
            "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n" + raw)
        #expect(owner.events == ["head 101", "end", "read complete"])
        #expect(channel.isActive)
        // As `Tunnel.joinUpgraded` does: the handler goes, then the decoder, which hands on what it holds.
        let pipeline = channel.pipeline.syncOperations
        let decoder = try pipeline.handler(type: ByteToMessageHandler<UpstreamResponseDecoder>.self)
        let removed = [pipeline.removeHandler(upstream), pipeline.removeHandler(decoder)]
        channel.embeddedEventLoop.run()
        for removal in removed { try removal.wait() }
        let handedOn = try #require(try channel.readInbound(as: ByteBuffer.self))
        #expect(String(buffer: handedOn) == raw)
    }

    @Test("an upstream that stops sending in the middle of a body fails the exchange as cut off")
    func cutOffBody() throws {
        sendHead()
        try channel.send("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhel")
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(owner.events == ["head 200", "body hel", "read complete", "closed cut off"])
        #expect(!channel.isActive)
        #expect(!upstream.isReusable)
    }

    @Test("a body that runs until the upstream closes ends when it does")
    func untilCloseBody() throws {
        sendHead()
        try channel.send("HTTP/1.1 200 OK\r\n\r\nall of it")
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        #expect(owner.events == ["head 200", "body all of it", "read complete", "end", "closed"])
        #expect(!channel.isActive)
    }
}
