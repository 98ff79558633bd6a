import NIOCore
import NIOHTTP1
import SpaceportCore

/// Guards the wait for each request head, in front of the HTTP decoder. A connection that
/// says nothing is closed after the idle timeout; a head begun but not finished within the
/// header timeout gets a 408; a head that grows past the limit gets a 431. The handlers
/// behind it say when a head has arrived and when its exchange is over.
final class HeadGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// Sent as outbound user events by the handlers behind the decoder.
    enum Event: Sendable {
        case headReceived
        case exchangeDone
    }

    private enum State {
        case inactive
        case waiting(Scheduled<Void>?)
        case readingHead(bytes: Int, Scheduled<Void>?)
        case busy
        case finished
    }

    /// Room for the request line on top of the header block, which the decoder limits.
    static let requestLineAllowance = 8 * 1024

    private var state = State.inactive
    private let info: ConnectionInfo

    init(_ info: ConnectionInfo) {
        self.info = info
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { wait(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if case .inactive = state { wait(context) }
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimer()
        state = .finished
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let count = unwrapInboundIn(data).readableBytes
        switch state {
        case .finished:
            return
        case .waiting(let timer):
            timer?.cancel()
            let headerTimeout = TimeAmount.milliseconds(Int64(info.limits.headerTimeoutMs))
            state = .readingHead(
                bytes: 0,
                context.eventLoop.assumeIsolated().scheduleTask(in: headerTimeout) {
                    self.headTimedOut(context)
                })
        case .inactive, .readingHead, .busy:
            break
        }
        context.fireChannelRead(data)
        if case .readingHead(let bytes, let timer) = state {
            if bytes + count > info.limits.maxHeaderBytes + Self.requestLineAllowance {
                timer?.cancel()
                refuse(
                    ErrorAnswer(
                        .requestHeaderFieldsTooLarge,
                        "the request head is larger than \(info.limits.maxHeaderBytes) bytes"),
                    context)
            } else {
                state = .readingHead(bytes: bytes + count, timer)
            }
        }
    }

    func triggerUserOutboundEvent(
        context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?
    ) {
        guard let event = event as? Event else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        switch (event, state) {
        case (_, .finished):
            break
        case (.headReceived, _):
            cancelTimer()
            state = .busy
        case (.exchangeDone, .busy):
            wait(context)
        case (.exchangeDone, _):
            break
        }
        promise?.succeed()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            cancelTimer()
            state = .finished
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimer()
        state = .finished
        context.fireChannelInactive()
    }

    private func wait(_ context: ChannelHandlerContext) {
        let idleTimeout = TimeAmount.milliseconds(Int64(info.limits.idleTimeoutMs))
        state = .waiting(
            context.eventLoop.assumeIsolated().scheduleTask(in: idleTimeout) {
                self.state = .finished
                context.close(promise: nil)
            })
    }

    private func headTimedOut(_ context: ChannelHandlerContext) {
        guard case .readingHead = state else { return }
        refuse(
            ErrorAnswer(
                .requestTimeout,
                "the request headers did not arrive within \(info.limits.headerTimeoutMs) ms"),
            context)
    }

    /// Answers straight onto the socket: no request was decoded, so the HTTP handlers have nothing to answer.
    private func refuse(_ answer: ErrorAnswer, _ context: ChannelHandlerContext) {
        state = .finished
        var hop = info.reporter.begin(flow: nil, method: nil, host: nil, path: nil)
        hop.refuse(answer)
        context.writeAndFlush(wrapOutboundOut(.byteBuffer(answer.bytes(context.channel.allocator))))
            .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    private func cancelTimer() {
        switch state {
        case .waiting(let timer), .readingHead(_, let timer): timer?.cancel()
        case .inactive, .busy, .finished: break
        }
    }
}
