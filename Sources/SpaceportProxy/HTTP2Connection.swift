import NIOCore
import NIOHTTP2
import SpaceportCore

/// A client's HTTP/2 connection: swift-nio-http2's handler with its inline multiplexer, each
/// stream a child channel with its own `HTTP2StreamHandler`, and `HTTP2ConnectionKeeper` beside
/// it for the connection's life (drain, idle).
enum HTTP2Connection {
    /// Streams a client may have open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS).
    static let maxConcurrentStreams = 100

    static func install(on pipeline: ChannelPipeline.SynchronousOperations, _ info: ConnectionInfo) throws {
        let limits = info.limits
        var connection = NIOHTTP2Handler.ConnectionConfiguration()
        connection.initialSettings = [
            HTTP2Setting(parameter: .maxConcurrentStreams, value: maxConcurrentStreams),
            HTTP2Setting(parameter: .maxHeaderListSize, value: limits.maxHeaderBytes),
            HTTP2Setting(parameter: .initialWindowSize, value: windowSize),
        ]
        connection.maximumSequentialContinuationFrames = 5
        connection.targetWindowSize = windowSize
        var stream = NIOHTTP2Handler.StreamConfiguration()
        stream.targetWindowSize = windowSize
        // Stream channels live on their connection's loop, where the info belongs.
        let bound = NIOLoopBound(info, eventLoop: pipeline.eventLoop)
        // At the front, so the connection's bytes reach it first, then the keeper behind it.
        let keeper = HTTP2ConnectionKeeper(idle: .milliseconds(Int64(limits.idleTimeoutMs)))
        try pipeline.addHandler(keeper, position: .first)
        _ = try pipeline.configureHTTP2Pipeline(
            mode: .server, connectionConfiguration: connection, streamConfiguration: stream,
            streamDelegate: HTTP2ConnectionKeeper.Delegate(
                NIOLoopBound(keeper, eventLoop: pipeline.eventLoop)),
            position: .first
        ) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(HTTP2StreamHandler(bound.value))
            }
        }
    }

    /// Each stream's and connection's receive window: big enough that one stream of a large
    /// message is not throttled to a round trip per 64 KiB.
    static let windowSize = 1 << 20
}

/// Watches an HTTP/2 connection's streams: on drain it sends GOAWAY naming the last stream it
/// took (RFC 9113 §6.8), lets those finish and closes; a connection with no stream open for the
/// idle timeout is closed the same way.
final class HTTP2ConnectionKeeper: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    /// swift-nio-http2 tells of streams opening and closing through a delegate, on the connection's loop.
    struct Delegate: NIOHTTP2StreamDelegate {
        let keeper: NIOLoopBound<HTTP2ConnectionKeeper>

        init(_ keeper: NIOLoopBound<HTTP2ConnectionKeeper>) {
            self.keeper = keeper
        }

        func streamCreated(_ id: HTTP2StreamID, channel: any Channel) { keeper.value.created(id) }
        func streamClosed(_ id: HTTP2StreamID, channel: any Channel) { keeper.value.closed() }
    }

    private let idle: TimeAmount
    private var open = 0
    private var lastStreamID = HTTP2StreamID(0)
    private var goingAway = false
    private var idleTimer: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(idle: TimeAmount) {
        self.idle = idle
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        armIdleTimer(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleTimer?.cancel()
        self.context = nil
    }

    private func created(_ id: HTTP2StreamID) {
        open += 1
        if id > lastStreamID { lastStreamID = id }
        idleTimer?.cancel()
        idleTimer = nil
    }

    private func closed() {
        open -= 1
        guard open == 0, let context else { return }
        if goingAway {
            closeSoon(context)
        } else {
            armIdleTimer(context)
        }
    }

    /// The last stream's closing frames may still wait in swift-nio-http2's buffer: they go out
    /// first, and the connection closes on the next tick.
    private func closeSoon(_ context: ChannelHandlerContext) {
        context.flush()
        context.eventLoop.assumeIsolated().execute { context.close(promise: nil) }
    }

    /// swift-nio-http2 has sent GOAWAY for these and leaves closing to its user: a peer that
    /// floods, breaks the framing or opens more streams than SETTINGS_MAX_CONCURRENT_STREAMS is not
    /// kept waiting for the idle timeout (RFC 9113 §5.4.1), nor are its streams.
    static func endsConnection(_ error: any Error) -> Bool {
        switch error {
        case is NIOHTTP2Errors.ExcessiveRSTFrames, is NIOHTTP2Errors.ExcessiveControlFrames,
            is NIOHTTP2Errors.ExcessiveEmptyDataFrames, is NIOHTTP2Errors.ExcessiveStreamErrors,
            is NIOHTTP2Errors.ExcessiveContinuationFrames, is NIOHTTP2Errors.ExcessiveNumberOfGlitches,
            is NIOHTTP2Errors.ExcessiveOutboundFrameBuffering, is NIOHTTP2Errors.ExcessivelyLargeHeaderBlock,
            is NIOHTTP2Errors.UnableToParseFrame, is NIOHTTP2Errors.BadClientMagic,
            is NIOHTTP2Errors.MaxStreamsViolation:
            return true
        default:
            return false
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if Self.endsConnection(error) { closeSoon(context) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent { goAway(context) }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Connection frames (SETTINGS, PING, GOAWAY) end here: swift-nio-http2 has acted on them.
    }

    private func armIdleTimer(_ context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: idle) {
            self.goAway(context)
        }
    }

    private func goAway(_ context: ChannelHandlerContext) {
        guard !goingAway else { return }
        goingAway = true
        let frame = HTTP2Frame(
            streamID: .rootStream,
            payload: .goAway(lastStreamID: lastStreamID, errorCode: .noError, opaqueData: nil))
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        if open == 0 { closeSoon(context) }
    }
}
