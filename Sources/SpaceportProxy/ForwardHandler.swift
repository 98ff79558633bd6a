import NIOCore
import NIOHTTP1
import SpaceportCore

/// One request and its response, from the request head to both ends.
final class Exchange {
    let request: RoutedRequest
    /// The request head as the upstream receives it, as bytes (written when forwarding begins).
    var upstreamHead = ByteBuffer()
    /// The body goes upstream in chunks.
    var chunked = false
    /// Request parts that arrived while the upstream connection was being made (empty, and
    /// unallocated, for most requests).
    var pending: [RequestBodyPart] = []
    var requestEnded = false
    var requestSent = false
    var hasBody = false
    var reusedConnection = false
    var attempts = 0
    var responseStarted = false
    var responseEnded = false
    var responseEndWritten = false
    /// The response goes to the client in chunks: its length was not known when its head left.
    var clientChunked = false
    /// A 101 is relayed; the tunnel opens once its end has passed.
    var switching = false
    var status: Int?
    var closeClient = false
    var upstreamReusable = false
    var bytesIn = 0
    var bytesOut = 0
    var lastProgress = NIODeadline.now()

    init(_ request: RoutedRequest) {
        self.request = request
        closeClient = !request.clientKeepAlive
    }

    var hop: Hop { request.hop }

    func progressed() { lastProgress = .now() }

    /// A request that failed on a reused connection before any answer can go again on a new
    /// one: the upstream most likely closed the idle connection as the request left.
    var canRetry: Bool {
        attempts == 1 && reusedConnection && requestSent && !hasBody && !responseStarted
            && [.GET, .HEAD, .OPTIONS, .TRACE, .PUT, .DELETE].contains(request.method)
    }
}

/// Forwards each routed request to its upstream and relays the response, streaming both
/// bodies with backpressure: it reads from the client only while the upstream can take
/// more, and lets the upstream read only while the client can. A 101 hands both sockets
/// to the glue.
final class ForwardHandler: ChannelDuplexHandler, RemovableChannelHandler, UpstreamOwner {
    typealias InboundIn = ProxyRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// Body parts up to this size join the response bytes waiting to be written (a head, say),
    /// so a small response leaves in one write; larger ones are written as they are.
    static let coalesceLimit = 4096

    private enum State {
        case idle
        case connecting(Exchange)
        case forwarding(Exchange, UpstreamHandler)
        case tunnelling
        case closed
    }

    private var state = State.idle
    private var readPending = false
    private var context: ChannelHandlerContext?
    private let info: ConnectionInfo
    private let headGuard: HeadGuard
    private let sequencer: RequestSequencer
    /// Response bytes for the client not written yet.
    private var out: ByteBuffer?
    /// The buffers the last request head and response bytes were written from, kept to write
    /// the next ones into: once the socket has taken them, they are this handler's alone again,
    /// and a request on a kept-alive connection allocates no buffer for either.
    private var spareRequestHead: ByteBuffer?
    private var spareOut: ByteBuffer?
    /// Outlives an exchange on a kept-alive connection and re-arms lazily, so requests schedule no timers.
    private var watchdog: Scheduled<Void>?

    init(_ info: ConnectionInfo, headGuard: HeadGuard, sequencer: RequestSequencer) {
        self.info = info
        self.headGuard = headGuard
        self.sequencer = sequencer
    }

    private var limits: Limits { info.limits }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let exchange): begin(exchange)
        case .body(let buffer): forwardBody(buffer)
        case .end(let trailers): forwardEnd(trailers)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .forwarding(_, let upstream) = state { upstream.flush() }
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
        if context.channel.isWritable, case .forwarding(_, let upstream) = state {
            upstream.resumeReads()
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            switch state {
            case .idle: context.close(promise: nil)
            case .connecting(let exchange), .forwarding(let exchange, _): exchange.closeClient = true
            case .tunnelling, .closed: break
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        switch state {
        case .connecting(let exchange), .forwarding(let exchange, _):
            if let invalid = error as? RequestSyntaxError, !exchange.responseStarted {
                exchange.closeClient = true
                answer(exchange, invalid.answer)
            } else {
                abort(exchange, "the client connection failed: \(ErrorAnswer.reason(error))")
            }
        case .idle, .tunnelling, .closed:
            state = .closed
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        stopWatchdog()
        switch state {
        case .connecting(let exchange), .forwarding(let exchange, _):
            abort(exchange, "the client closed the connection before the response was complete")
        case .idle, .tunnelling, .closed:
            state = .closed
        }
        context.fireChannelInactive()
    }

    private var holdsClientReads: Bool {
        switch state {
        case .connecting: return true
        case .forwarding(_, let upstream): return !upstream.isWritable
        case .idle, .tunnelling, .closed: return false
        }
    }

    private func resumeClientReads() {
        guard readPending, !holdsClientReads, let context else { return }
        readPending = false
        context.read()
    }

    private func begin(_ exchange: Exchange) {
        guard case .idle = state else {
            state = .closed
            context?.close(promise: nil)
            return
        }
        // Room for a browser's dozen fields and the proxy's own without growing.
        var head = Self.reused(&spareRequestHead, capacity: 1024, context)
        exchange.chunked = ForwardedHeaders.writeRequest(
            exchange.request.head, into: &head, path: exchange.request.target.forwardedPath,
            host: exchange.request.host, routeHeader: exchange.request.routeHeader,
            carriesRouteHeader: exchange.request.carriesRouteHeader,
            routeAs: exchange.request.route.route.routeAs, requestID: exchange.hop.flow,
            clientIP: info.clientIP,
            via: info.reporter.proxy, keepsForwarded: info.keepsForwardedFields)
        exchange.upstreamHead = head
        spareRequestHead = head
        // A request without a body has ended with its head: no `.end` follows it.
        if exchange.request.head.isWhole { exchange.requestEnded = true }
        state = .connecting(exchange)
        connect(exchange, reuse: true)
    }

    /// `reuse`: an idle connection may serve it; `mayWait`: it may wait for one that is about to be idle.
    private func connect(_ exchange: Exchange, reuse: Bool, mayWait: Bool = true) {
        exchange.attempts += 1
        // Most requests find an idle connection: taken at once, with no callback to allocate.
        if reuse, let idle = info.loop.pool.takeIdle(exchange.request.upstream) {
            connected(exchange, .success(idle))
            return
        }
        // A pipelined request, handed on as the response before it ended: that response's
        // connection is ready once the loop has finished the read it ended in.
        if reuse, mayWait, info.loop.pool.hasSettling(exchange.request.upstream) {
            exchange.attempts -= 1
            info.loop.loop.assumeIsolated().execute {
                guard case .connecting(let current) = self.state, current === exchange else { return }
                self.connect(exchange, reuse: true, mayWait: false)
            }
            return
        }
        info.loop.pool.connect(exchange.request.upstream, limits: limits) { result in
            self.connected(exchange, result)
        }
    }

    private func connected(_ exchange: Exchange, _ result: Result<UpstreamHandler, any Error>) {
        guard case .connecting(let current) = state, current === exchange else {
            if case .success(let upstream) = result {
                info.loop.pool.release(upstream, limits: limits)
            }
            return
        }
        switch result {
        case .failure(let error):
            answer(
                exchange,
                .unreachable(
                    exchange.request.routeLabel, at: exchange.request.upstream, error, limits: limits))
        case .success(let upstream):
            upstream.owner = self
            exchange.reusedConnection = upstream.requestsSent > 0
            state = .forwarding(exchange, upstream)
            upstream.sendHead(
                exchange.upstreamHead, chunked: exchange.chunked,
                answersHEAD: exchange.request.method == .HEAD)
            for part in exchange.pending {
                upstream.send(part)
                if case .end = part { exchange.requestSent = true }
            }
            if exchange.request.head.isWhole { exchange.requestSent = true }
            exchange.pending = []
            upstream.flush()
            exchange.progressed()
            // Dialling has its own limit, the connect timeout; from here the upstream has to answer.
            if watchdog == nil { armWatchdog(after: .milliseconds(Int64(limits.upstreamTimeoutMs))) }
            resumeClientReads()
        }
    }

    private func forwardBody(_ buffer: ByteBuffer) {
        switch state {
        case .connecting(let exchange):
            exchange.bytesIn += buffer.readableBytes
            exchange.hasBody = true
            exchange.pending.append(.body(buffer))
        case .forwarding(let exchange, let upstream):
            exchange.bytesIn += buffer.readableBytes
            exchange.hasBody = true
            exchange.progressed()
            upstream.send(.body(buffer))
        case .idle, .tunnelling, .closed:
            break
        }
    }

    private func forwardEnd(_ received: HTTPHeaders?) {
        let trailers = ForwardedHeaders.forwardable(received, routeHeader: info.loop.routeHeader)
        switch state {
        case .connecting(let exchange):
            exchange.requestEnded = true
            exchange.pending.append(.end(trailers))
        case .forwarding(let exchange, let upstream):
            exchange.requestEnded = true
            exchange.requestSent = true
            upstream.send(.end(trailers))
            upstream.flush()
            exchange.progressed()
            if exchange.responseEnded { finish(exchange, upstream, trailers: nil) }
        case .idle, .tunnelling, .closed:
            break
        }
    }

    func upstream(_ upstream: UpstreamHandler, received part: UpstreamResponsePart) {
        guard case .forwarding(let exchange, let current) = state, current === upstream, let context else {
            return
        }
        switch part {
        case .head(let head):
            relayHead(head, exchange, context)
        case .body(let buffer):
            exchange.bytesOut += buffer.readableBytes
            exchange.progressed()
            relayBody(buffer, exchange, context)
            if !context.channel.isWritable { upstream.pauseReads() }
        case .end(let received):
            let trailers = ForwardedHeaders.forwardable(received, routeHeader: exchange.request.routeHeader)
            if exchange.switching {
                join(exchange, upstream, context)
            } else if exchange.requestSent {
                exchange.responseEnded = true
                finish(exchange, upstream, trailers: trailers)
            } else if exchange.closeClient {
                // An early answer on a connection that ends with it: the rest of the request has nowhere to go.
                exchange.responseEnded = true
                exchange.upstreamReusable = false
                finish(exchange, upstream, trailers: trailers)
            } else {
                // An early answer (a 413, say): the rest of the request still goes upstream, but
                // whether the upstream reads it as this request's body or as a new request cannot
                // be known, so the connection is not used again.
                exchange.responseEnded = true
                exchange.upstreamReusable = false
                exchange.responseEndWritten = true
                writeEnd(exchange, trailers, context)
                context.flush()
            }
        }
    }

    func upstreamReadComplete(_ upstream: UpstreamHandler) {
        guard case .forwarding(_, let current) = state, current === upstream, let context else { return }
        writeOut(context)
        context.flush()
    }

    func upstreamWritabilityChanged(_ upstream: UpstreamHandler) {
        resumeClientReads()
    }

    func upstreamClosed(_ upstream: UpstreamHandler, error: (any Error)?) {
        guard case .forwarding(let exchange, let current) = state, current === upstream else { return }
        exchange.upstreamReusable = false
        if let invalid = error as? UpstreamResponseError, !invalid.cutOff {
            // Bytes that are not HTTP/1.1: nothing more from this upstream can be trusted, nor retried.
            if exchange.responseStarted {
                abort(exchange, "the upstream's response stopped being valid HTTP/1.1: \(invalid)")
            } else {
                answer(
                    exchange, .malformed(exchange.request.routeLabel, at: exchange.request.upstream, invalid))
            }
            return
        }
        if exchange.canRetry {
            exchange.pending = [.end(nil)]
            state = .connecting(exchange)
            connect(exchange, reuse: false)
        } else if exchange.responseEnded {
            exchange.closeClient = true
            finish(exchange, upstream, trailers: nil)
        } else if !exchange.responseStarted {
            answer(exchange, .hungUp(exchange.request.routeLabel, at: exchange.request.upstream, error))
        } else {
            abort(exchange, "the upstream closed the connection in the middle of the response")
        }
    }

    private func relayHead(_ head: UpstreamHead, _ exchange: Exchange, _ context: ChannelHandlerContext) {
        let request = exchange.request
        let allocator = context.channel.allocator
        if head.isInterim {
            // Interim answers (100 Continue, 103 Early Hints) go on, except to HTTP/1.0 clients, who cannot read them.
            guard request.clientVersion.isAtLeast11 else { return }
            var interim = allocator.buffer(capacity: head.bytes.readableBytes + 128)
            ForwardedHeaders.writeResponseHead(
                head, into: &interim, version: request.clientVersion, route: request.routeLabel,
                via: info.reporter.proxy, upgrade: false, close: false, chunked: false)
            context.writeAndFlush(wrapOutboundOut(interim), promise: nil)
            return
        }
        guard head.status != 101 || request.isUpgrade else {
            answer(
                exchange,
                ErrorAnswer(
                    .badGateway,
                    "\(request.routeLabel) at \(request.upstream) answered 101 Switching Protocols to a request that did not ask to switch"
                ))
            return
        }
        let switching = request.isUpgrade && head.status == 101
        // A body of unknown length: chunked to HTTP/1.1 clients, ended by closing for HTTP/1.0 ones.
        let unknownLength = head.framing == .chunked || head.framing == .untilClose
        exchange.status = head.status
        exchange.responseStarted = true
        exchange.switching = switching
        exchange.upstreamReusable = head.keepAlive && head.framing != .untilClose && !switching
        // After an upgrade request the decoder reads no further requests, so a refused upgrade ends the connection.
        if request.isUpgrade && !switching { exchange.closeClient = true }
        if unknownLength && !request.clientVersion.isAtLeast11 { exchange.closeClient = true }
        // A client told no before it sent its body may never send it: its next bytes could be either.
        if !exchange.requestEnded && request.head.expectsContinue {
            exchange.closeClient = true
        }
        if sequencer.isDraining { exchange.closeClient = true }
        // A final answer before the request's end, from an upstream that will close: the rest of
        // the request has nowhere to go, so the client's connection ends with this response.
        if !exchange.requestEnded && !head.isInterim && !head.keepAlive && !switching {
            exchange.closeClient = true
        }
        exchange.clientChunked = unknownLength && request.clientVersion.isAtLeast11 && !switching
        var bytes = Self.reused(&spareOut, capacity: head.bytes.readableBytes + 128, context)
        ForwardedHeaders.writeResponseHead(
            head, into: &bytes, version: request.clientVersion, route: request.routeLabel,
            via: info.reporter.proxy, upgrade: switching, close: exchange.closeClient && !switching,
            chunked: exchange.clientChunked)
        writeOut(context)
        out = bytes
    }

    /// A body part for the client, framed as its head said.
    private func relayBody(_ buffer: ByteBuffer, _ exchange: Exchange, _ context: ChannelHandlerContext) {
        guard buffer.readableBytes > 0 else { return }
        if exchange.clientChunked {
            addToOut(context) { $0.writeChunkSize(buffer.readableBytes) }
            append(buffer, context)
            addToOut(context) { $0.writeStaticString("\r\n") }
        } else {
            append(buffer, context)
        }
    }

    /// What ends the response's body on the client's side: the last chunk, with any trailers.
    private func writeEnd(_ exchange: Exchange, _ trailers: HTTPHeaders?, _ context: ChannelHandlerContext) {
        if exchange.clientChunked { addToOut(context) { $0.writeLastChunk(trailers) } }
        writeOut(context)
    }

    /// Writes framing onto the bytes waiting (starting them if none wait). The buffer leaves
    /// `out` while it is written, so it is not copied on write.
    private func addToOut(_ context: ChannelHandlerContext, _ write: (inout ByteBuffer) -> Void) {
        var pending = out ?? Self.reused(&spareOut, capacity: 64, context)
        out = nil
        write(&pending)
        out = pending
    }

    /// Adds `buffer` to the bytes waiting, or writes both when it is large.
    private func append(_ buffer: ByteBuffer, _ context: ChannelHandlerContext) {
        if out != nil, buffer.readableBytes <= Self.coalesceLimit {
            addToOut(context) { $0.writeImmutableBuffer(buffer) }
        } else {
            writeOut(context)
            context.write(wrapOutboundOut(buffer), promise: nil)
        }
    }

    private func writeOut(_ context: ChannelHandlerContext) {
        guard let pending = out else { return }
        out = nil
        context.write(wrapOutboundOut(pending), promise: nil)
        spareOut = pending
    }

    /// `spare` emptied for writing into when the socket is done with it (else a new buffer):
    /// a buffer still shared would be copied on the first write.
    private static func reused(_ spare: inout ByteBuffer?, capacity: Int, _ context: ChannelHandlerContext?)
        -> ByteBuffer
    {
        if var buffer = spare.take() {
            buffer.clear(minimumCapacity: capacity)
            return buffer
        }
        return context?.channel.allocator.buffer(capacity: capacity) ?? ByteBuffer()
    }

    /// Both ends have passed: the upstream goes back to the pool and the hop ends.
    private func finish(_ exchange: Exchange, _ upstream: UpstreamHandler, trailers: HTTPHeaders?) {
        guard let context else { return }
        if exchange.upstreamReusable && upstream.isReusable {
            info.loop.pool.release(upstream, limits: limits)
        } else {
            upstream.close()
        }
        exchange.hop.end(status: exchange.status, bytesIn: exchange.bytesIn, bytesOut: exchange.bytesOut)
        let close = exchange.closeClient
        state = close ? .closed : .idle
        headGuard.note(.exchangeDone)
        resumeClientReads()
        if !exchange.responseEndWritten { writeEnd(exchange, trailers, context) }
        if close && !exchange.requestEnded {
            // An early answer on a connection that ends with it: the client may still be sending.
            context.closeLingering(context.channel.allocator.buffer(capacity: 0))
        } else if close {
            context.closeAfterWrites()
        } else {
            context.flush()
            // This may hand over the next pipelined request, so nothing touches state after it.
            sequencer.responseEnded()
        }
    }

    /// Answers for the upstream (502, 504) while no response has started; otherwise aborts.
    private func answer(_ exchange: Exchange, _ answer: ErrorAnswer) {
        guard let context else { return }
        if exchange.responseStarted {
            abort(exchange, answer.message)
            return
        }
        if case .forwarding(_, let upstream) = state { upstream.close() }
        exchange.hop.end(
            status: Int(answer.status.code), bytesIn: exchange.bytesIn, bytesOut: 0, error: answer.message)
        let close =
            exchange.closeClient || !exchange.requestEnded || exchange.request.isUpgrade
            || sequencer.isDraining
        state = close ? .closed : .idle
        if !close { headGuard.note(.exchangeDone) }
        resumeClientReads()
        context.writeAnswer(
            answer, version: exchange.request.clientVersion, route: exchange.request.routeLabel, close: close,
            bodiless: exchange.request.method == .HEAD, unread: !exchange.requestEnded, sequencer: sequencer)
    }

    /// Ends an exchange that cannot be answered any more: both connections close.
    private func abort(_ exchange: Exchange, _ reason: String) {
        stopWatchdog()
        if case .forwarding(_, let upstream) = state { upstream.close() }
        exchange.hop.end(
            status: exchange.status, bytesIn: exchange.bytesIn, bytesOut: exchange.bytesOut, error: reason)
        state = .closed
        context?.close(promise: nil)
    }

    /// The 101 and its end have gone to the client: from here on, bytes flow raw both ways.
    private func join(_ exchange: Exchange, _ upstream: UpstreamHandler, _ context: ChannelHandlerContext) {
        stopWatchdog()
        state = .tunnelling
        upstream.owner = nil
        writeOut(context)
        context.flush()
        let tunnel = TunnelHop(
            exchange.hop, status: exchange.status, bytesIn: exchange.bytesIn, bytesOut: exchange.bytesOut)
        guard let upstreamChannel = upstream.channel else {
            tunnel.fail("the upstream closed as the protocol switched")
            context.close(promise: nil)
            return
        }
        do {
            try Tunnel.joinUpgraded(client: context.channel, upstream: upstreamChannel, tunnel: tunnel)
        } catch {
            tunnel.fail("could not join the connections: \(error)")
            context.close(promise: nil)
            upstreamChannel.close(promise: nil)
        }
    }

    private func armWatchdog(after delay: TimeAmount) {
        guard let context else { return }
        watchdog = context.eventLoop.assumeIsolated().scheduleTask(in: delay) {
            self.watchdogFired()
        }
    }

    private func stopWatchdog() {
        watchdog?.cancel()
        watchdog = nil
    }

    /// Re-arms itself while bytes move, for whichever exchange is forwarding when it fires; fires
    /// when nothing has moved for the upstream timeout.
    private func watchdogFired() {
        watchdog = nil
        guard case .forwarding(let exchange, let upstream) = state else { return }
        let timeout = TimeAmount.milliseconds(Int64(limits.upstreamTimeoutMs))
        let quiet = NIODeadline.now() - exchange.lastProgress
        if quiet < timeout {
            armWatchdog(after: timeout - quiet)
        } else if exchange.responseStarted {
            abort(exchange, "no bytes moved for \(limits.upstreamTimeoutMs) ms")
        } else if !exchange.requestEnded && upstream.isWritable {
            // The upstream could take more and the client sent nothing: the client is the slow one.
            answer(exchange, .bodyStalled(limits: limits))
        } else {
            answer(
                exchange, .tooSlow(exchange.request.routeLabel, at: exchange.request.upstream, limits: limits)
            )
        }
    }
}

extension HTTPVersion {
    /// HTTP/1.1 or later: interim responses, chunked bodies and keep-alive by default.
    var isAtLeast11: Bool { major > 1 || (major == 1 && minor >= 1) }
}
