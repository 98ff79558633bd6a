import NIOCore
import SpaceportCore

/// Times the wait for each request head, in front of the decoder. A new connection that says
/// nothing is closed after the header timeout, a kept-alive one after the idle timeout; a head
/// begun but not finished within the header timeout gets a 408. (How large a head may grow is
/// the parser's to say, with a 431.) The exchange handler tells it when a head has arrived,
/// when its request has been read and when the exchange is over (`note`), by a direct call:
/// an outbound event would pass every handler in between, three times a request.
///
/// Being first, it also reads a connection's first bytes for the HTTP/2 preface
/// (`HTTP2Preface`): a client that opens with it gets `HTTP2Connection`'s pipeline in place of
/// the HTTP/1 one; any other first bytes leave HTTP/1 as it is. Deciding here rather than in a
/// handler of its own spares every connection adding one and taking it out again.
final class HeadTimer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// What the exchange handler tells it.
    enum Event: Sendable {
        case headReceived
        /// The request has been read to its end; bytes from here on begin the next one.
        case requestRead
        case exchangeDone
    }

    private enum State {
        case inactive
        case waiting
        case readingHead(Scheduled<Void>?)
        /// An exchange is under way; once its request has been read, `next` counts the bytes of
        /// the one after it, which a pipelining client may send before the response ends.
        case busy(next: Int?)
        case finished
    }

    private enum Version {
        /// The first bytes have not told yet: those held so far (a beginning of the preface), and
        /// the HTTP/1 handlers behind this one, which the HTTP/2 pipeline replaces.
        case undecided(ByteBuffer?, http1: [any RemovableChannelHandler])
        case decided
    }

    private var state = State.inactive
    private var version = Version.decided
    private let info: ConnectionInfo
    private var context: ChannelHandlerContext?
    /// Outlives the wait it was armed for and re-arms lazily, so a kept-alive request schedules no timer.
    private var idleTimer: Scheduled<Void>?
    /// When the armed timer fires: a wait that must end sooner arms it again.
    private var idleTimerFires = NIODeadline.now()
    private var idleDeadline = NIODeadline.now()
    /// A request has been answered on this connection: from then on it waits as a kept-alive one.
    private var keptAlive = false

    init(_ info: ConnectionInfo) {
        self.info = info
    }

    /// Watches the first bytes for the HTTP/2 preface; `http1`: the handlers behind this one.
    func watchForHTTP2(replacing http1: [any RemovableChannelHandler]) {
        version = .undecided(nil, http1: http1)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { wait(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        if case .inactive = state { wait(context) }
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
        state = .finished
        version = .decided
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var data = data
        if case .undecided(let held, let http1) = version {
            var bytes = unwrapInboundIn(data)
            if var held {
                held.writeBuffer(&bytes)
                bytes = held
            }
            switch HTTP2Preface.classify(bytes.readableBytesView) {
            case .undecided:
                version = .undecided(bytes, http1: http1)
                return
            case .http2:
                version = .decided
                switchToHTTP2(context, bytes, replacing: http1)
                return
            case .http1:
                version = .decided
                data = wrapInboundOut(bytes)
            }
        }
        switch state {
        case .finished:
            return
        case .waiting:
            // The header timer starts only if this read leaves the head unfinished, which is rare.
            state = .readingHead(nil)
        case .busy(let next?):
            state = .busy(next: next + unwrapInboundIn(data).readableBytes)
        case .inactive, .readingHead, .busy:
            break
        }
        context.fireChannelRead(data)
        if case .readingHead(nil) = state { state = .readingHead(headTimer(context)) }
    }

    /// A beginning of the preface is held: nothing was passed on to complete.
    func channelReadComplete(context: ChannelHandlerContext) {
        if case .undecided(_?, _) = version { return }
        context.fireChannelReadComplete()
    }

    private func switchToHTTP2(
        _ context: ChannelHandlerContext, _ bytes: ByteBuffer, replacing http1: [any RemovableChannelHandler]
    ) {
        let pipeline = context.pipeline.syncOperations
        do {
            for handler in http1 { pipeline.removeHandler(handler, promise: nil) }
            try HTTP2Connection.install(on: pipeline, info)
        } catch {
            context.close(promise: nil)
            return
        }
        pipeline.removeHandler(context: context, promise: nil)
        // HTTP/2 sits at the front of the pipeline: the HTTP/1 decoder may take a moment to leave.
        context.pipeline.fireChannelRead(NIOAny(bytes))
    }

    /// Called on the loop by the exchange handler; does nothing once removed.
    func note(_ event: Event) {
        guard let context else { return }
        switch (event, state) {
        case (_, .finished):
            break
        case (.headReceived, _):
            if case .readingHead(let timer) = state { timer?.cancel() }
            state = .busy(next: nil)
        case (.requestRead, .busy):
            state = .busy(next: 0)
        case (.exchangeDone, .busy(let next?)) where next > 0:
            keptAlive = true
            // Part of the next request is here already: its head is on the clock.
            state = .readingHead(headTimer(context))
        case (.exchangeDone, .busy):
            keptAlive = true
            wait(context)
        case (.requestRead, _), (.exchangeDone, _):
            break
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            cancelTimers()
            state = .finished
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        state = .finished
        context.fireChannelInactive()
    }

    private func wait(_ context: ChannelHandlerContext) {
        state = .waiting
        // Until its first byte a connection has shown nothing of a client: the header timeout holds.
        let wait = keptAlive ? info.limits.idleTimeoutMs : info.limits.headerTimeoutMs
        // The loop's clock, on which the timer runs (a test's loop keeps time of its own).
        idleDeadline = context.eventLoop.now + .milliseconds(Int64(wait))
        if idleTimer == nil || idleTimerFires > idleDeadline {
            idleTimer?.cancel()
            armIdleTimer(context)
        }
    }

    private func armIdleTimer(_ context: ChannelHandlerContext) {
        idleTimerFires = idleDeadline
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(deadline: idleDeadline) {
            self.idleTimer = nil
            guard case .waiting = self.state else { return }
            if context.eventLoop.now < self.idleDeadline {
                self.armIdleTimer(context)
            } else {
                self.state = .finished
                context.close(promise: nil)
            }
        }
    }

    private func headTimer(_ context: ChannelHandlerContext) -> Scheduled<Void> {
        let headerTimeout = TimeAmount.milliseconds(Int64(info.limits.headerTimeoutMs))
        return context.eventLoop.assumeIsolated().scheduleTask(in: headerTimeout) {
            self.headTimedOut(context)
        }
    }

    /// Answers straight onto the socket: no request was decoded, so no exchange can answer.
    private func headTimedOut(_ context: ChannelHandlerContext) {
        guard case .readingHead = state else { return }
        state = .finished
        let answer = ErrorAnswer(
            .requestTimeout, "the request headers did not arrive within \(info.limits.headerTimeoutMs) ms")
        let hop = info.reporter.begin(flow: nil, method: nil, host: nil, path: nil)
        hop.refuse(answer)
        context.closeLingering(answer.bytes(context.channel.allocator))
    }

    private func cancelTimers() {
        idleTimer?.cancel()
        idleTimer = nil
        if case .readingHead(let timer) = state { timer?.cancel() }
    }
}
