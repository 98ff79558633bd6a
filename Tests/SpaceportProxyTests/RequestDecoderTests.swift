import NIOCore
import NIOEmbedded
import Testing

@testable import SpaceportProxy

/// `RequestDecoder` behind SwiftNIO's `ByteToMessageHandler`, as a client connection has it.
@Suite("Decoding a client's requests")
struct RequestDecoderTests {
    static func channel(maxHeaderBytes: Int = 65536) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            ByteToMessageHandler(RequestDecoder(maxHeaderBytes: maxHeaderBytes, maxHeaderCount: 100)))
        return channel
    }

    @Test("requests pipelined in one read come out as their parts, in order")
    func pipelined() throws {
        let channel = try Self.channel()
        try channel.send(
            "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                + "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                + "PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
                + "GET /d HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(
            try channel.requestParts() == [
                "GET /a", "POST /b", "body hello", "end", "PUT /c", "body abc", "end", "GET /d",
            ])
        #expect(try channel.finish().isClean)
    }

    @Test("a request without a body is its head alone: no end follows it")
    func wholeRequest() throws {
        let channel = try Self.channel()
        try channel.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        let head = try #require(try channel.readInbound(as: ClientRequestPart.self))
        guard case .head(let whole) = head else {
            Issue.record("expected a head, got \(head)")
            return
        }
        #expect(whole.isWhole)
        #expect(try channel.readInbound(as: ClientRequestPart.self) == nil)
        try channel.send("POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        #expect(try channel.requestParts() == ["POST /b"])
    }

    @Test("the bytes after an upgrade request go, untouched, to the handler behind once the decoder leaves")
    func upgradeLeftovers() throws {
        let channel = try Self.channel()
        let raw = "\u{81}\u{05}hello GET /not-a-request HTTP/1.1\r\n\r\n"
        try channel.send(
            "GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n" + raw)
        #expect(try channel.requestParts() == ["GET /chat"])
        let decoder = try channel.pipeline.syncOperations.handler(
            type: ByteToMessageHandler<RequestDecoder>.self)
        let removed = channel.pipeline.syncOperations.removeHandler(decoder)
        channel.embeddedEventLoop.run()
        try removed.wait()
        let handedOn = try #require(try channel.readInbound(as: ByteBuffer.self))
        #expect(String(buffer: handedOn) == raw)
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil)
    }

    @Test("a client that stops sending in the middle of a request raises an HTTPSyntaxError")
    func endOfInputMidRequest() throws {
        for partial in [
            "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhel",
            "GET /a HTTP/1.1\r\nHos",
            "PUT /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab",
        ] {
            let channel = try Self.channel()
            try channel.send(partial)
            _ = try channel.requestParts()
            channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            #expect(throws: HTTPSyntaxError.self, "\(partial)") { try channel.throwIfErrorCaught() }
        }
    }

    @Test("a client that stops sending between requests raises nothing")
    func endOfInputBetweenRequests() throws {
        let channel = try Self.channel()
        try channel.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        try channel.throwIfErrorCaught()
        #expect(try channel.requestParts() == ["GET /a"])
    }

    @Test("a head larger than max_header_bytes is a 431, and one within it is read")
    func headTooLarge() throws {
        let field = "X-Big: " + String(repeating: "a", count: 900) + "\r\n"
        let within = try Self.channel(maxHeaderBytes: 1024)
        try within.send("GET /a HTTP/1.1\r\nHost: x\r\n" + field + "\r\n")
        #expect(try within.requestParts() == ["GET /a"])

        let complete = try Self.channel(maxHeaderBytes: 1024)
        let error = #expect(throws: HTTPSyntaxError.self) {
            try complete.send("GET /a HTTP/1.1\r\nHost: x\r\n" + field + field + "\r\n")
        }
        #expect(error?.status == .requestHeaderFieldsTooLarge)
        #expect(error?.description.contains("1024 bytes") == true)

        // A head still arriving is refused as soon as it is past the limit.
        let arriving = try Self.channel(maxHeaderBytes: 1024)
        let early = #expect(throws: HTTPSyntaxError.self) {
            try arriving.send("GET /a HTTP/1.1\r\nHost: x\r\n" + field + field)
        }
        #expect(early?.status == .requestHeaderFieldsTooLarge)
        #expect(try arriving.requestParts().isEmpty)
    }
}
