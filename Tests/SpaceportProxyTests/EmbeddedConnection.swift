import NIOCore
import NIOEmbedded
import SpaceportCore
import Testing

@testable import SpaceportProxy

/// What the handler tests share: a client connection's `ConnectionInfo` on an
/// `EmbeddedEventLoop` and a channel to drive it, with no sockets.
enum EmbeddedConnection {
    /// servicea in default and in azureuser (each at its own upstream), serviceb in default only.
    static func tree(limits: [String: Int] = [:]) throws -> SpaceTree {
        let limitLines = limits.sorted { $0.key < $1.key }.map { "  \($0.key): \($0.value)\n" }.joined()
        return try SpacesFile.parse(
            text: (limitLines.isEmpty ? "" : "limits:\n" + limitLines) + """
                spaces:
                  default:
                    services:
                      servicea: 127.0.0.1:6001
                      serviceb: 127.0.0.1:6003
                  azureuser:
                    parent: default
                    services:
                      servicea: 127.0.0.1:6002
                """, file: "embedded.yaml")
    }

    /// What every handler of a connection on `loop` shares, its hops going to `hops`.
    static func info(on loop: any EventLoop, limits: [String: Int] = [:], hops: HopCollector? = nil) throws
        -> ConnectionInfo
    {
        ConnectionInfo(
            role: .ingress, reporter: HopReporter(proxy: "test", listener: .ingress, sink: hops),
            loop: LoopState(loop: loop, live: LiveTree(try tree(limits: limits))), clientIP: "127.0.0.1")
    }

    /// A connected channel on `loop` whose front plays a socket's half-close
    /// (`HalfClosingSocket`), with the handlers `handlers` adds behind it.
    static func channel(on loop: EmbeddedEventLoop, _ handlers: (EmbeddedChannel) throws -> Void) throws
        -> (EmbeddedChannel, HalfClosingSocket)
    {
        let channel = EmbeddedChannel(loop: loop)
        let socket = HalfClosingSocket()
        try channel.pipeline.syncOperations.addHandler(socket)
        try handlers(channel)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
        return (channel, socket)
    }
}

extension EmbeddedChannel {
    /// Everything written to the wire since the last call, as text.
    func written() throws -> String {
        var text = ""
        while let buffer = try readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        return text
    }

    /// The request parts the handlers in front passed on, as words: `GET /a`, `body hello`, `end`.
    func requestParts() throws -> [String] {
        var parts: [String] = []
        while let part = try readInbound(as: ClientRequestPart.self) {
            switch part {
            case .head(let head): parts.append("\(head.method.rawValue) \(head.uri)")
            case .body(let body): parts.append("body \(String(buffer: body))")
            case .end: parts.append("end")
            }
        }
        return parts
    }

    /// Sends `text` as one read from the peer.
    func send(_ text: String) throws {
        try writeInbound(ByteBuffer(string: text))
    }

    /// The handler of `type` is in the pipeline.
    func has<Handler: ChannelHandler>(_ type: Handler.Type) -> Bool {
        (try? pipeline.syncOperations.handler(type: type)) != nil
    }
}

/// Plays a TCP socket's half-close at the front of an `EmbeddedChannel`, which closes whole
/// whatever the mode: `close(mode: .output)` ends the sending side only (later writes fail)
/// and the channel goes on reading, as a socket that allows half-closure does.
final class HalfClosingSocket: ChannelOutboundHandler {
    typealias OutboundIn = ByteBuffer

    private(set) var outputClosed = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !outputClosed else {
            promise?.fail(ChannelError.outputClosed)
            return
        }
        context.write(data, promise: promise)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode == .output else {
            context.close(mode: mode, promise: promise)
            return
        }
        outputClosed = true
        promise?.succeed()
    }

    /// `channel` is closing lingering: the proxy has stopped writing, and `more` from the
    /// client reaches no handler and gets no answer; the connection closes after
    /// `LingeringDiscard.maxTime`.
    func expectLingeringClose(
        _ channel: EmbeddedChannel, after more: String,
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) throws {
        #expect(outputClosed, sourceLocation: sourceLocation)
        #expect(channel.has(LingeringDiscard.self), sourceLocation: sourceLocation)
        try channel.send(more)
        #expect(try channel.readInbound(as: ByteBuffer.self) == nil, sourceLocation: sourceLocation)
        #expect(try channel.requestParts().isEmpty, sourceLocation: sourceLocation)
        #expect(try channel.written().isEmpty, sourceLocation: sourceLocation)
        #expect(channel.isActive, sourceLocation: sourceLocation)
        channel.embeddedEventLoop.advanceTime(by: LingeringDiscard.maxTime)
        #expect(!channel.isActive, sourceLocation: sourceLocation)
    }
}
