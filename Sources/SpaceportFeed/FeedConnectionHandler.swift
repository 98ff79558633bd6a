import Dispatch
import Logging
import NIOCore
import SpaceportCore
import SpaceportWire

/// One feed client, from the server's side: authenticates TCP clients, streams the hub
/// to the socket only as fast as the socket takes it, and applies the client's commands.
final class FeedConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Commands of one client waiting for the store; past this the socket is not read.
    static let maxCommandsInFlight = 16

    enum State {
        case awaitingAuth
        case streaming(FeedSubscription)
        case closed
    }

    struct Settings {
        var token: String?
        var queueLimit: Int
        var maxSubscribers: Int
        var authTimeout: TimeAmount
    }

    private let hub: FeedHub
    private let settings: Settings
    private let commands: DispatchQueue
    private let logger: Logger
    private var state = State.closed
    private var context: ChannelHandlerContext?
    private var ready: (@Sendable () -> Void)?
    private var authTimer: Scheduled<Void>?
    private var commandsInFlight = 0
    private var readHeld = false
    /// Entries taken from the hub for one write; kept to reuse its storage.
    private var batch: [FeedEntry] = []
    /// Set by `coalesce-hops`: a hop that ends soon after its start goes out as its end alone.
    private var coalescer: HopCoalescer?
    /// Set by `sample-hops`: the hub samples this client's hops and tallies them all.
    private var sampling = false
    /// A drain is due to send the starts the coalescer holds or the tally, should nothing else arrive.
    private var flushScheduled = false
    static let batchLimit = 256

    init(hub: FeedHub, settings: Settings, commands: DispatchQueue, logger: Logger) {
        self.hub = hub
        self.settings = settings
        self.commands = commands
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        gather(for: HopShaping.none.gathering)
    }

    /// Makes the wake-up closure wait `interval` (`HopShaping.gathering`) before draining.
    private func gather(for interval: TimeAmount) {
        guard let context else { return }
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        ready = { loop.scheduleTask(in: interval) { bound.value.drain() } }
    }

    /// Drops the wake-up closure too: it holds this handler, and must not outlive the channel.
    func handlerRemoved(context: ChannelHandlerContext) {
        end()
        ready = nil
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        if settings.token == nil {
            startStreaming()
        } else {
            state = .awaitingAuth
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            authTimer = context.eventLoop.scheduleTask(in: settings.authTimeout) {
                guard case .awaitingAuth = bound.value.state else { return }
                bound.value.fail(
                    "no auth line arrived in time; send {\"cmd\":\"auth\",\"token\":\"…\"} first")
            }
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        end()
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { drain() }
        context.fireChannelWritabilityChanged()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = String(buffer: unwrapInboundIn(data))
        guard line.contains(where: { !$0.isWhitespace }) else { return }
        let command: FeedCommand
        do {
            command = try FeedCommand.decode(line: line)
        } catch {
            if case .awaitingAuth = state {
                fail("authenticate first: send {\"cmd\":\"auth\",\"token\":\"…\"}")
            } else {
                answer(.error(message: error.message, id: error.id))
            }
            return
        }
        switch (state, command) {
        case (.awaitingAuth, .auth(let token)):
            guard let expected = settings.token, FeedToken.matches(token, expected: expected) else {
                logger.notice("feed client refused: wrong token")
                fail("wrong token")
                return
            }
            authTimer?.cancel()
            startStreaming()
        case (.awaitingAuth, .edit), (.awaitingAuth, .coalesceHops), (.awaitingAuth, .sampleHops),
            (.awaitingAuth, .replay), (.awaitingAuth, .request):
            fail("authenticate first: send {\"cmd\":\"auth\",\"token\":\"…\"}")
        case (.streaming, .auth), (.closed, _):
            break
        case (.streaming, .coalesceHops(let id)):
            if coalescer == nil { coalescer = HopCoalescer() }
            answer(.ack(id: id ?? ""))
        case (.streaming(let subscription), .sampleHops(let id, let perSecond)):
            subscription.sample(perSecond: perSecond)
            sampling = true
            gather(for: HopShaping(perSecond: perSecond).gathering)
            answer(.ack(id: id ?? ""))
        case (.streaming(let subscription), .edit(let id, let edit)):
            apply(edit, id: id, replyingTo: subscription)
        case (.streaming(let subscription), .replay(let id, let hop, let space)):
            ask(id: id, replyingTo: subscription) { replayer in
                switch await replayer.replay(hop: hop, as: space) {
                case .success: return .ack(id: id ?? "")
                case .failure(let error): return .error(message: error.description, id: id)
                }
            }
        case (.streaming(let subscription), .request(let id, let hop)):
            ask(id: id, replyingTo: subscription) { replayer in
                switch await replayer.keptRequest(hop: hop) {
                case .success(let view): return .request(id: id ?? "", view)
                case .failure(let error): return .error(message: error.description, id: id)
                }
            }
        }
    }

    /// A command for the proxy's replayer: it may wait on a whole request, so it runs on its own
    /// and is answered when done (other commands' answers may come first), counted among the
    /// commands in flight so a flood of them stops the reading.
    private func ask(
        id: String?, replyingTo subscription: FeedSubscription,
        _ work: @escaping @Sendable (any RequestReplayer) async -> FeedEvent
    ) {
        guard let context, let replayer = hub.replayer else {
            answer(.error(message: ReplayError.notOffered.description, id: id))
            return
        }
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        commandsInFlight += 1
        Task {
            subscription.reply(await work(replayer))
            loop.execute { bound.value.commandDone() }
        }
    }

    /// Holds reads while the client's commands queue up, so a flood cannot grow memory.
    func read(context: ChannelHandlerContext) {
        if commandsInFlight >= Self.maxCommandsInFlight {
            readHeld = true
        } else {
            context.read()
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let error = error as? LineTooLong {
            fail(error.description)
        } else {
            logger.debug("feed client dropped: \(error)")
            end()
            context.close(promise: nil)
        }
    }

    private func startStreaming() {
        guard hub.subscriberCount < settings.maxSubscribers else {
            fail("this proxy already has \(settings.maxSubscribers) feed subscribers; close one and retry")
            return
        }
        state = .streaming(hub.subscribe(limit: settings.queueLimit))
        drain()
    }

    /// Store writes (and their fsync) happen off the event loop, one command at a time,
    /// so commands apply in the order they arrived and never stall traffic.
    private func apply(_ edit: SpaceEdit, id: String?, replyingTo subscription: FeedSubscription) {
        guard let context else { return }
        let store = hub.store
        let logger = logger
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        commandsInFlight += 1
        commands.async {
            do throws(SpacesError) {
                try store.apply(edit)
                logger.info("feed command applied: \(edit)")
                subscription.reply(.ack(id: id ?? ""))
            } catch {
                subscription.reply(.error(message: error.description, id: id))
            }
            loop.execute { bound.value.commandDone() }
        }
    }

    private func commandDone() {
        commandsInFlight -= 1
        if readHeld && commandsInFlight < Self.maxCommandsInFlight, let context {
            readHeld = false
            context.read()
        }
    }

    /// Replies in order with the stream when streaming, straight to the socket otherwise.
    /// A streaming reply waits its turn behind the commands still being applied, so the
    /// client reads its answers in the order it sent its lines.
    private func answer(_ event: FeedEvent) {
        if case .streaming(let subscription) = state {
            commands.async { subscription.reply(event) }
        } else if let context {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: event.jsonLine())), promise: nil)
        }
    }

    /// Writes only while the socket is writable; the rest waits in the bounded queue. Entries
    /// come out of the hub in batches, one lock each, and go out in one flush. A coalescing
    /// reader takes everything waiting at once, so a hop's start and end meet in one batch.
    private func drain() {
        guard case .streaming(let subscription) = state, let context, let ready else { return }
        var wrote = false
        let limit = coalescer == nil ? Self.batchLimit : settings.queueLimit
        while context.channel.isWritable {
            batch.removeAll(keepingCapacity: true)
            let open = subscription.take(limit: limit, into: &batch, orNotify: ready)
            if batch.isEmpty {
                if !open {
                    end()
                    context.close(promise: nil)
                }
                break
            }
            coalescer?.coalesce(&batch)
            for entry in batch { context.write(wrapOutboundOut(entry.line), promise: nil) }
            wrote = true
        }
        batch.removeAll(keepingCapacity: true)
        if wrote { context.flush() }
        if let due = nextDue(subscription), !flushScheduled { scheduleFlush(context, at: due) }
    }

    /// When a held start or the tally in progress is due, whichever comes first.
    private func nextDue(_ subscription: FeedSubscription) -> NIODeadline? {
        let held = coalescer?.nextDue
        guard sampling, let tally = subscription.tallyDue else { return held }
        return held.map { min($0, tally) } ?? tally
    }

    /// Sends the starts the coalescer holds and the sampler's tally once they are due, should
    /// no batch come to carry them: their hops are still running, or the traffic has stopped.
    private func scheduleFlush(_ context: ChannelHandlerContext, at due: NIODeadline) {
        flushScheduled = true
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(deadline: due) {
            let handler = bound.value
            handler.flushScheduled = false
            // What waits in the hub first: it may hold the ends the starts are waiting for, and
            // taking from the hub releases a tally that is due.
            handler.drain()
            guard case .streaming(let subscription) = handler.state, let context = handler.context else {
                return
            }
            if let due = handler.coalescer?.flush(), !due.isEmpty {
                for entry in due { context.write(handler.wrapOutboundOut(entry.line), promise: nil) }
                context.flush()
            }
            if let next = handler.nextDue(subscription), !handler.flushScheduled {
                handler.scheduleFlush(context, at: next)
            }
        }
    }

    /// Sends one `error` line and closes, whatever was queued.
    private func fail(_ message: String) {
        guard let context else { return }
        end()
        let channel = context.channel
        let line = ByteBuffer(string: FeedEvent.error(message: message, id: nil).jsonLine())
        context.writeAndFlush(wrapOutboundOut(line)).whenComplete { _ in channel.close(promise: nil) }
    }

    private func end() {
        authTimer?.cancel()
        authTimer = nil
        if case .streaming(let subscription) = state { subscription.cancel() }
        state = .closed
    }
}
