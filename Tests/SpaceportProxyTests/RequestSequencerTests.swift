import NIOCore
import NIOEmbedded
import Testing

@testable import SpaceportProxy

/// `RequestSequencer` behind the request decoder, on an `EmbeddedChannel`: what the handlers
/// behind it are given, when the socket is read, and when draining closes.
@Suite("Handing over one request at a time")
struct RequestSequencerTests {
    /// Counts the reads that reach the socket.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var reads = 0

        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    /// Records the events the sequencer passes on to the handlers behind it.
    final class EventRecorder: ChannelInboundHandler {
        typealias InboundIn = ClientRequestPart
        var events: [String] = []

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            events.append(event is ChannelShouldQuiesceEvent ? "quiesce" : "\(event)")
            context.fireUserInboundEventTriggered(event)
        }
    }

    let channel = EmbeddedChannel()
    let socket = ReadCounter()
    let sequencer = RequestSequencer()
    let behind = EventRecorder()

    init() throws {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(socket)
        try pipeline.addHandler(
            ByteToMessageHandler(RequestDecoder(maxHeaderBytes: 65536, maxHeaderCount: 100)))
        try pipeline.addHandler(sequencer)
        try pipeline.addHandler(behind)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
    }

    @Test("a pipelined request waits, decoded, until the response before it has ended")
    func pipelinedWaits() throws {
        try channel.send(
            "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                + "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"
                + "GET /c HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try channel.requestParts() == ["GET /a"])
        sequencer.responseEnded()
        #expect(try channel.requestParts() == ["POST /b", "body hi", "end"])
        sequencer.responseEnded()
        #expect(try channel.requestParts() == ["GET /c"])
        sequencer.responseEnded()
        #expect(try channel.requestParts().isEmpty)
        #expect(channel.isActive)
    }

    @Test("the socket stops being read only while a pipelined request waits")
    func readsHeldWhileWaiting() throws {
        try channel.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try channel.requestParts() == ["GET /a"])
        // A client that waits for its response: its connection is read as usual.
        channel.read()
        #expect(socket.reads == 1)
        sequencer.responseEnded()

        try channel.send("GET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try channel.requestParts() == ["GET /b"])
        channel.read()
        #expect(socket.reads == 1)
        sequencer.responseEnded()
        #expect(try channel.requestParts() == ["GET /c"])
        // The read asked for while /c waited goes to the socket now.
        #expect(socket.reads == 2)
    }

    @Test("a body's parts pass as they come while their request is the one in hand")
    func bodyPasses() throws {
        try channel.send("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
        #expect(try channel.requestParts() == ["POST /a", "body ab"])
        try channel.send("cd")
        #expect(try channel.requestParts() == ["body cd", "end"])
    }

    @Test("a connection told to drain while idle closes")
    func drainWhileIdle() throws {
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(!channel.isActive)
        #expect(behind.events.isEmpty)
    }

    @Test("a connection told to drain after its last response closes")
    func drainAfterResponse() throws {
        try channel.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        sequencer.responseEnded()
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(!channel.isActive)
    }

    @Test(
        "draining during a request is passed on, drops the requests that wait, and closes after the response")
    func drainDuringRequest() throws {
        try channel.send("GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(try channel.requestParts() == ["GET /a"])
        channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        #expect(behind.events == ["quiesce"])
        #expect(channel.isActive)
        try channel.send("GET /c HTTP/1.1\r\nHost: x\r\n\r\n")
        sequencer.responseEnded()
        channel.embeddedEventLoop.run()
        #expect(try channel.requestParts().isEmpty)
        #expect(!channel.isActive)
    }
}
