import NIOCore
import NIOHTTP1
import SpaceportCore

/// Carries out each exchange's state machine (`ExchangeStateMachine`): it feeds the machine
/// what happens on the client's connection and the upstream's, and does what the machine
/// answers: dial or take a pooled connection, write the request, relay the response with
/// backpressure (it reads from one side only while the other can take more), write the
/// proxy's own answers, end hops, and hand both sockets to the glue after a 101. It is the one
/// handler that writes responses, so it alone tells the head timer and the sequencer when a
/// request has been read and when an exchange is over.
final class ExchangeHandler: ChannelDuplexHandler, RemovableChannelHandler, UpstreamOwner {
    typealias InboundIn = ProxyRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let info: ConnectionInfo
    private let headTimer: HeadTimer
    private let sequencer: RequestSequencer
    private var context: ChannelHandlerContext?
    /// The exchange under way (or the last one, done) and its upstream connection once it has one.
    private var exchange: Exchange?
    private var upstream: UpstreamHandler?
    /// The request head as the upstream receives it, kept while the exchange may send it again.
    private var requestHead = ByteBuffer()
    /// The buffer the last request head was written from, written into again once the socket
    /// is done with it.
    private var spareRequestHead: ByteBuffer?
    private var output = ResponseOutput()
    private var draining = false
    /// The client's connection is closing: nothing more is read, written or answered.
    private var closing = false
    private var readPending = false
    /// Outlives an exchange on a kept-alive connection and re-arms lazily, so requests schedule no timers.
    private var watchdog: Scheduled<Void>?
    private var lastProgress = NIODeadline.now()

    init(_ info: ConnectionInfo, headTimer: HeadTimer, sequencer: RequestSequencer) {
        self.info = info
        self.headTimer = headTimer
        self.sequencer = sequencer
    }

    private var limits: Limits { info.limits }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: - The client's side

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        switch unwrapInboundIn(data) {
        case .head(let next):
            begin(next)
        case .body(let buffer):
            guard let exchange else { return }
            exchange.hop.countIn(buffer.readableBytes)
            noteProgress()
            run(exchange.machine.requestBody(buffer), exchange)
        case .end(let trailers):
            guard let exchange else { return }
            headTimer.note(.requestRead)
            noteProgress()
            let forwardable = ForwardedHeaders.forwardable(trailers, carriers: info.loop.carriers)
            run(exchange.machine.requestEnd(forwardable), exchange)
        }
    }

    private func begin(_ next: Exchange) {
        if let exchange, !exchange.machine.isDone {
            // A head while an exchange is under way: the sequencer lets none through, so this is a bug.
            abort(exchange, "a second request arrived before the first had ended")
            return
        }
        exchange = next
        headTimer.note(.headReceived)
        if next.machine.requestRead { headTimer.note(.requestRead) }
        if draining { next.machine.drain() }
        switch next.routing {
        case .forward(let forwarding):
            if let instance = forwarding.route.watched {
                let routeAs = forwarding.route.route.routeAs
                info.loop.inFlight.started(instance, routeAs: routeAs)
                next.serving = (instance, routeAs)
            }
            next.hop.spoke(forwarding.route.upstreamProtocol.towards(client: .http1), client: .http1)
            writeRequestHead(next, forwarding)
            run(next.machine.forward(), next)
        case .refuse(let answer):
            run(next.machine.refuse(answer), next)
        }
    }

    /// The request head as the upstream receives it, written once, kept for a retry.
    private func writeRequestHead(_ exchange: Exchange, _ forwarding: Forwarding) {
        guard let head = exchange.head, let context else { return }
        // The last head's buffer is reused only once nothing else holds it: not the last exchange.
        requestHead = ByteBuffer()
        // Room for a browser's dozen fields and the proxy's own without growing.
        var bytes = ResponseOutput.reused(&spareRequestHead, capacity: 1024, context)
        ForwardedHeaders.writeRequest(
            head, into: &bytes, path: forwarding.target.forwardedPath, host: forwarding.host,
            bridge: forwarding.bridge, requestID: exchange.hop.flow, clientIP: info.clientIP,
            via: info.reporter.proxy, keepsForwarded: info.keepsForwardedFields)
        requestHead = bytes
        spareRequestHead = bytes
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        upstream?.flush()
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if holdsClientReads {
            readPending = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { upstream?.resumeReads() }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case ChannelEvent.inputClosed:
            if let exchange, !exchange.machine.isDone {
                exchange.machine.clientInputClosed()
            } else if !closing {
                closing = true
                context.close(promise: nil)
            }
        case is ChannelShouldQuiesceEvent:
            draining = true
            exchange?.machine.drain()
        default:
            break
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard !closing else { return }
        if let exchange, !exchange.machine.isDone, let invalid = error as? HTTPSyntaxError {
            run(exchange.machine.clientError(invalid), exchange)
        } else if let exchange, !exchange.machine.isDone {
            abort(exchange, "the client connection failed: \(ErrorAnswer.reason(error))")
        } else {
            closing = true
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopWatchdog()
        if let exchange { run(exchange.machine.clientClosed(), exchange) }
        closing = true
        context.fireChannelInactive()
    }

    private var holdsClientReads: Bool {
        guard let exchange, !exchange.machine.isDone else { return false }
        if exchange.machine.isConnecting { return exchange.machine.awaitsConnectionForBytes }
        if let upstream { return !upstream.isWritable }
        return false
    }

    private func resumeClientReads() {
        guard readPending, !holdsClientReads, let context else { return }
        readPending = false
        context.read()
    }

    // MARK: - The upstream's side

    private func connect(_ exchange: Exchange, reuse: Bool, mayWait: Bool = true) {
        guard let forwarding = exchange.forwarding else { return }
        if !reuse {
            // A retry: the connection that failed it goes.
            upstream?.close()
            upstream = nil
        }
        if forwarding.route.upstreamProtocol.towards(client: .http1) == .h2c {
            return openStream(exchange, forwarding)
        }
        let pool = info.loop.pool
        // Most requests find an idle connection: taken at once, with no callback to allocate.
        if reuse, let idle = pool.takeIdle(forwarding.upstream) {
            connected(exchange, .success(idle))
            return
        }
        // A pipelined request, handed on as the response before it ended: that response's
        // connection is ready once the loop has finished the read it ended in.
        if reuse, mayWait, pool.hasSettling(forwarding.upstream) {
            info.loop.loop.assumeIsolated().execute {
                guard self.exchange === exchange, exchange.machine.isConnecting else { return }
                self.connect(exchange, reuse: true, mayWait: false)
            }
            return
        }
        pool.connect(forwarding.upstream, limits: limits) { result in
            self.connected(exchange, result)
        }
    }

    /// The request goes on a stream of its own to an instance spoken to over h2c, translated
    /// both ways by `HTTP1OverHTTP2Bridge` under the handlers of any upstream connection.
    private func openStream(_ exchange: Exchange, _ forwarding: Forwarding) {
        let wantsTrailers = exchange.head?.acceptsTrailers ?? false
        let address = forwarding.upstream
        info.loop.http2.openStream(to: address, limits: limits) { channel in
            try channel.pipeline.syncOperations.addHandler(HTTP1OverHTTP2Bridge(wantsTrailers: wantsTrailers))
            try HTTPUpstream.install(on: channel, address: address, reusable: false)
        }.assumeIsolated().whenComplete { result in
            self.connected(
                exchange,
                result.flatMap { channel in
                    Result { try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) }
                })
        }
    }

    private func connected(_ exchange: Exchange, _ result: Result<UpstreamHandler, any Error>) {
        guard self.exchange === exchange, exchange.machine.isConnecting, !closing,
            let forwarding = exchange.forwarding
        else {
            if case .success(let upstream) = result { info.loop.pool.release(upstream, limits: limits) }
            return
        }
        switch result {
        case .failure(let error):
            let answer = ErrorAnswer.unreachable(
                forwarding.routeLabel, at: forwarding.upstream, error, limits: limits)
            if let fault = UpstreamFault(dialing: error) { info.loop.count(fault) }
            run(exchange.machine.connectFailed(answer), exchange)
        case .success(let upstream):
            upstream.owner = self
            self.upstream = upstream
            run(exchange.machine.connected(reused: upstream.requestsSent > 0), exchange)
        }
    }

    func upstream(_ upstream: UpstreamHandler, received part: UpstreamResponsePart) {
        guard upstream === self.upstream, let exchange, let forwarding = exchange.forwarding else { return }
        switch part {
        case .head(let head):
            let action = exchange.machine.upstreamHead(
                head, forwarding.routeLabel, forwarding.upstream.description)
            run(counting(.badResponse, action), exchange)
        case .body(let buffer):
            exchange.hop.countOut(buffer.readableBytes)
            noteProgress()
            run(exchange.machine.upstreamBody(buffer), exchange)
        case .end(let trailers):
            let forwardable = ForwardedHeaders.forwardable(trailers, carriers: info.loop.carriers)
            run(exchange.machine.upstreamEnd(forwardable), exchange)
        case .unsolicited:
            break
        }
    }

    func upstreamReadComplete(_ upstream: UpstreamHandler) {
        guard upstream === self.upstream, let context else { return }
        output.writeOut(context)
        context.flush()
    }

    func upstreamWritabilityChanged(_ upstream: UpstreamHandler) {
        resumeClientReads()
    }

    func upstreamClosed(_ upstream: UpstreamHandler, error: (any Error)?) {
        guard upstream === self.upstream, let exchange, let forwarding = exchange.forwarding else { return }
        self.upstream = nil
        let problem: ExchangeStateMachine.UpstreamProblem
        if let invalid = error as? HTTPSyntaxError, !invalid.cutOff {
            problem = .malformed(invalid.description)
        } else {
            problem = .closed(reason: error.map { ErrorAnswer.reason($0) })
        }
        let action = exchange.machine.upstreamClosed(
            problem, forwarding.routeLabel, forwarding.upstream.description)
        if case .malformed = problem {
            run(counting(.badResponse, action), exchange)
        } else {
            run(counting(.reset, action), exchange)
        }
    }

    /// Counts `fault` against the upstream when `action` ends the exchange on the proxy's own
    /// answer or an abort: a retry, or a response that ends with its connection, is no fault.
    private func counting(_ fault: UpstreamFault, _ action: ExchangeStateMachine.Action)
        -> ExchangeStateMachine.Action
    {
        switch action {
        case .answer, .abort: info.loop.count(fault)
        default: break
        }
        return action
    }

    // MARK: - Doing what the machine says

    /// Carries out `action` for `exchange`. An action that ends an exchange on a kept-alive
    /// connection may hand over the next pipelined request as its last step, so nothing
    /// follows a call of this in the same path.
    private func run(_ action: ExchangeStateMachine.Action, _ exchange: Exchange) {
        guard let context else { return }
        switch action {
        case .none:
            break
        case .connect(let reuse):
            connect(exchange, reuse: reuse)
        case .sendRequest(let parts):
            guard let upstream else { return }
            upstream.sendHead(
                requestHead, chunked: exchange.head?.framing == .chunked,
                answersHEAD: exchange.method == .HEAD)
            for part in parts { upstream.send(part) }
            upstream.flush()
            noteProgress()
            // Dialling has its own limit, the connect timeout; from here the upstream has to answer.
            if watchdog == nil { armWatchdog(after: .milliseconds(Int64(limits.upstreamTimeoutMs))) }
            resumeClientReads()
        case .sendPart(let part):
            upstream?.send(part)
            if case .end = part { upstream?.flush() }
        case .sendEndAndFinish(let trailers, let finish):
            upstream?.send(.end(trailers))
            upstream?.flush()
            self.finish(exchange, finish, context)
        case .relayInterim(let head):
            guard let forwarding = exchange.forwarding else { return }
            var interim = context.channel.allocator.buffer(capacity: head.bytes.readableBytes + 128)
            ForwardedHeaders.writeResponseHead(
                head, into: &interim, version: exchange.version, route: forwarding.routeLabel,
                via: info.reporter.proxy, upgrade: false, close: false, chunked: false)
            context.writeAndFlush(wrapOutboundOut(interim), promise: nil)
        case .relayHead(let head, let chunked, let close, let switching):
            guard let forwarding = exchange.forwarding else { return }
            output.head(capacity: head.bytes.readableBytes + 128, context) { bytes in
                ForwardedHeaders.writeResponseHead(
                    head, into: &bytes, version: exchange.version, route: forwarding.routeLabel,
                    via: info.reporter.proxy, upgrade: switching, close: close, chunked: chunked)
            }
        case .relayBody(let buffer, let chunked):
            output.body(buffer, chunked: chunked, context)
            if !context.channel.isWritable { upstream?.pauseReads() }
        case .endResponse(let trailers, let chunked):
            output.end(trailers, chunked: chunked, context)
            context.flush()
        case .finish(let finish):
            self.finish(exchange, finish, context)
        case .answer(let answer, let finish):
            self.answer(exchange, answer, finish, context)
        case .abort(let reason, let status):
            abort(exchange, reason, status: status)
        case .joinTunnel(let status):
            join(exchange, status: status, context)
        case .requestDropped:
            self.exchange = nil
            headTimer.note(.exchangeDone)
        }
    }

    /// Both ends have passed: the upstream connection goes back to the pool or closes, the
    /// hop ends, and the client's connection waits for the next request or closes.
    private func finish(
        _ exchange: Exchange, _ finish: ExchangeStateMachine.Finish, _ context: ChannelHandlerContext
    ) {
        if let upstream {
            self.upstream = nil
            switch finish.upstream {
            case .release where upstream.isReusable: info.loop.pool.release(upstream, limits: limits)
            case .release, .close, .none: upstream.close()
            }
        }
        if finish.writeEnd {
            output.end(finish.trailers, chunked: true, context)
        } else {
            output.writeOut(context)
        }
        exchange.hop.end(status: finish.status)
        stopServing(exchange)
        settle(finish.client, context, written: nil)
    }

    /// The proxy's own answer, in place of the upstream's.
    private func answer(
        _ exchange: Exchange, _ answer: ErrorAnswer, _ finish: ExchangeStateMachine.Finish,
        _ context: ChannelHandlerContext
    ) {
        upstream?.close()
        upstream = nil
        exchange.hop.start()
        exchange.hop.end(status: finish.status, error: answer.message)
        stopServing(exchange)
        let closes = finish.client == .close || finish.client == .closeLingering
        let bytes = answer.response(
            version: exchange.version, route: exchange.hop.routeLabel ?? exchange.forwarding?.routeLabel,
            close: closes, bodiless: exchange.answersBodiless, context.channel.allocator)
        settle(finish.client, context, written: bytes)
    }

    /// What becomes of the client's connection once a response (and `written`, its last
    /// bytes) has gone. Telling the sequencer comes last: it may hand over the next request.
    private func settle(
        _ disposal: ExchangeStateMachine.ClientDisposal, _ context: ChannelHandlerContext,
        written: ByteBuffer?
    ) {
        switch disposal {
        case .close:
            closing = true
            context.closeAfterWrites(written)
        case .closeLingering:
            closing = true
            context.closeLingering(written ?? context.channel.allocator.buffer(capacity: 0))
        case .keepAlive, .keepAliveAfterRequest:
            // A finished exchange is let go at once: its head's field list is then the parser's to
            // reuse for the next request.
            if disposal == .keepAlive { exchange = nil }
            if let written {
                context.writeAndFlush(wrapOutboundOut(written), promise: nil)
            } else {
                context.flush()
            }
            if disposal == .keepAlive {
                headTimer.note(.exchangeDone)
            } else {
                // The rest of a refused request is still to come: it must keep coming.
                noteProgress()
                if watchdog == nil { armWatchdog(after: .milliseconds(Int64(limits.upstreamTimeoutMs))) }
            }
            resumeClientReads()
            sequencer.responseEnded()
        }
    }

    /// Ends an exchange that cannot be answered any more: both connections close.
    private func abort(_ exchange: Exchange, _ reason: String, status: Int? = nil) {
        stopWatchdog()
        upstream?.close()
        upstream = nil
        exchange.hop.end(status: status, error: reason)
        stopServing(exchange)
        closing = true
        context?.close(promise: nil)
    }

    /// The 101 and its end have gone to the client: from here on, bytes flow raw both ways.
    private func join(_ exchange: Exchange, status: Int, _ context: ChannelHandlerContext) {
        stopWatchdog()
        output.writeOut(context)
        context.flush()
        stopServing(exchange)
        let tunnel = TunnelHop(
            exchange.hop, status: status, bytesIn: exchange.hop.bytesIn,
            bytesOut: exchange.hop.bytesOut)
        guard let upstream, let upstreamChannel = upstream.channel else {
            tunnel.fail("the upstream closed as the protocol switched")
            context.close(promise: nil)
            return
        }
        upstream.owner = nil
        self.upstream = nil
        do {
            try Tunnel.joinUpgraded(client: context.channel, upstream: upstreamChannel, tunnel: tunnel)
        } catch {
            tunnel.fail("could not join the connections: \(error)")
            context.close(promise: nil)
            upstreamChannel.close(promise: nil)
        }
    }

    /// The exchange no longer counts among the requests its instance serves.
    private func stopServing(_ exchange: Exchange) {
        guard let serving = exchange.serving else { return }
        exchange.serving = nil
        info.loop.inFlight.ended(serving.instance, routeAs: serving.routeAs)
    }

    // MARK: - Time

    private func armWatchdog(after delay: TimeAmount) {
        guard let context else { return }
        watchdog = context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
            self.watchdogFired()
        }
    }

    /// Bytes moved: the watchdog measures quiet from here, on the loop's clock.
    private func noteProgress() {
        lastProgress = context?.eventLoop.now ?? .now()
    }

    private func stopWatchdog() {
        watchdog?.cancel()
        watchdog = nil
    }

    /// Re-arms itself while bytes move, for whichever exchange is under way when it fires;
    /// tells the machine when nothing has moved for the upstream timeout.
    private func watchdogFired() {
        watchdog = nil
        guard let exchange, !exchange.machine.isDone, !exchange.machine.isConnecting else { return }
        let timeout = TimeAmount.milliseconds(Int64(limits.upstreamTimeoutMs))
        let quiet = (context?.eventLoop.now ?? .now()) - lastProgress
        if quiet < timeout {
            armWatchdog(after: timeout - quiet)
            return
        }
        let action = exchange.machine.timedOut(
            limits: limits, upstreamWritable: upstream?.isWritable ?? false,
            exchange.forwarding?.routeLabel ?? "", exchange.forwarding?.upstream.description ?? "")
        // Only a 504 is the upstream's: a 408 or a stalled body may be the client's.
        if case .answer(let answer, _) = action, answer.status == .gatewayTimeout {
            info.loop.count(.timeout)
        }
        run(action, exchange)
    }
}
