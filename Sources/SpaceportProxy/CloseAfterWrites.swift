import NIOCore

extension ChannelHandlerContext {
    /// Writes `last` (nothing when nil), flushes, and closes once everything written so far has
    /// gone out: writes complete in order, so the close waits for all of them. A half-close
    /// (`.output`) that the channel refuses becomes a full one.
    func closeAfterWrites(_ last: ByteBuffer? = nil, mode: CloseMode = .all) {
        writeAndFlush(NIOAny(last ?? channel.allocator.buffer(capacity: 0))).assumeIsolated().whenComplete {
            _ in
            if mode == .all {
                // Nothing to fall back to: no future to make and watch (a connection closed per
                // request pays for each).
                self.close(promise: nil)
            } else {
                self.close(mode: mode).assumeIsolated().whenFailure { _ in self.close(promise: nil) }
            }
        }
    }
}

extension ChannelHandlerContext {
    /// Writes `last`, ends the sending side, and closes only after reading and dropping what
    /// the client still sends, for a bounded time and size (nginx's lingering close). A client
    /// still sending its request when the answer comes would otherwise meet a reset, which
    /// destroys the answer in its receive buffer before it reads it (RFC 9112 §9.6).
    func closeLingering(_ last: ByteBuffer) {
        let discard = LingeringDiscard()
        guard (try? pipeline.syncOperations.addHandler(discard, position: .first)) != nil else {
            closeAfterWrites(last)
            return
        }
        writeAndFlush(NIOAny(last)).assumeIsolated().whenComplete { _ in
            self.close(mode: .output).assumeIsolated().whenFailure { _ in self.close(promise: nil) }
        }
    }
}

/// Reads and drops everything a client sends after its answer, then closes: when the client
/// closes its side, after `maxBytes`, or after `maxTime`, whichever comes first.
final class LingeringDiscard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    static let maxTime = TimeAmount.seconds(5)
    static let maxBytes = 8 << 20

    private var left = LingeringDiscard.maxBytes
    private var timer: Scheduled<Void>?

    func handlerAdded(context: ChannelHandlerContext) {
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: Self.maxTime) {
            context.close(promise: nil)
        }
        context.read()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        left -= unwrapInboundIn(data).readableBytes
        if left <= 0 { context.close(promise: nil) }
    }

    /// Reads go on whatever the handlers behind would say: nothing reaches them any more.
    func channelReadComplete(context: ChannelHandlerContext) {
        context.read()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { context.close(promise: nil) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
