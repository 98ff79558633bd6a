import NIOCore
import NIOHPACK
import NIOHTTP2
import SpaceportCore

/// One HTTP/2 stream from a client, on its own child channel: routed by its own header block
/// (by the same rules as an HTTP/1 request, `:authority` as the Host), then relayed frame for
/// frame to a stream of its own on a pooled h2c connection to the upstream (or, to an instance
/// spoken to over HTTP/1.1, through `HTTP1StreamUpstream`): DATA, trailers and resets both
/// ways, each side read only while the other can take more (flow control), or refused with the
/// proxy's own answer (`ErrorAnswer.frames`). Each stream is a hop, `h2` or `grpc`.
final class HTTP2StreamHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private enum State {
        case awaitingHead
        /// Frames read meanwhile wait in `pending`.
        case connecting(pending: [HTTP2Frame.FramePayload])
        case relaying(upstream: StreamUpstream)
        /// Answered by the proxy itself: what the client still sends is dropped.
        case answered
    }

    /// The request frames kept for a retry until the upstream answers; past this, none is.
    static let maxReplayBytes = 1 << 20

    private let info: ConnectionInfo
    private var state = State.awaitingHead
    private var context: ChannelHandlerContext?
    private var hop: Hop?
    private var grpc = false
    private var route: (label: String, upstream: Address)?
    /// What the upstream is spoken to in: h2c unless its instance says `protocol: http1`.
    private var spoken = UpstreamProtocol.h2c
    /// Frames sent upstream before its answer, for one retry on a new connection when the
    /// upstream refused the stream (REFUSED_STREAM, or GOAWAY below its id): it never saw it.
    private var replay: [HTTP2Frame.FramePayload]? = []
    private var replayBytes = 0
    private var retried = false
    private var requestEnded = false
    private var responseStarted = false
    private var responseEnded = false
    private var status: Int?
    private var timer: Scheduled<Void>?
    private var timeout = TimeAmount.seconds(60)
    /// A read the client's side asked for while the upstream could take no more.
    private var readHeld = false

    init(_ info: ConnectionInfo) {
        self.info = info
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        timer?.cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let payload = unwrapInboundIn(data)
        switch state {
        case .awaitingHead:
            guard case .headers(let headers) = payload else {
                context.close(promise: nil)
                return
            }
            requestEnded = headers.endStream
            begin(headers.headers, context)
        case .connecting(var pending):
            count(payload)
            pending.append(payload)
            state = .connecting(pending: pending)
        case .relaying(let upstream):
            if case .rstStream(let code) = payload {
                // The client's cancel reaches the upstream with the client's own code.
                state = .answered
                if !responseEnded {
                    responseEnded = true
                    finish(error: "the client reset the stream (\(code))")
                }
                upstream.write(payload)
                upstream.flush()
                return
            }
            count(payload)
            keep(payload)
            upstream.write(payload)
        case .answered:
            count(payload)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .relaying(let upstream) = state { upstream.flush() }
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        switch state {
        case .connecting:
            readHeld = true
        case .relaying(let upstream) where !upstream.isWritable:
            readHeld = true
        default:
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, case .relaying(let upstream) = state { upstream.read() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset from the client or a stream error: the stream closes next, and that is handled there.
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        let was = state
        state = .answered
        if !responseEnded {
            responseEnded = true
            finish(
                error: responseStarted
                    ? "the client reset the stream" : "the client reset the stream before the answer")
        }
        if case .relaying(let upstream) = was {
            // The client's cancel reaches the upstream as a reset of its stream.
            upstream.close()
        }
        context.fireChannelInactive()
    }

    private func count(_ payload: HTTP2Frame.FramePayload) {
        switch payload {
        case .data(let data):
            hop?.countIn(data.data.readableBytes)
            if data.endStream { requestEnded = true }
        case .headers(let headers):
            if headers.endStream { requestEnded = true }
        default:
            break
        }
    }

    private func keep(_ payload: HTTP2Frame.FramePayload) {
        guard !responseStarted, replay != nil else { return }
        if case .data(let data) = payload { replayBytes += data.data.readableBytes }
        if replayBytes > Self.maxReplayBytes {
            replay = nil
        } else {
            replay!.append(payload)
        }
    }

    private func begin(_ headers: HPACKHeaders, _ context: ChannelHandlerContext) {
        let plan = info.loop.carriers
        let fields = RoutingFields(headers, plan: plan)
        let authority = HTTP2Headers.authority(headers)
        let method = headers.first(name: ":method")
        grpc = HTTP2Headers.isGRPC(headers)
        let trace = fields.traceID
        let hop = info.reporter.begin(
            flow: trace?.description ?? fields.requestID, method: method, host: authority,
            path: headers.first(name: ":path"), protocol: grpc ? .grpc : .h2)
        self.hop = hop
        let limits = info.limits
        if headers.count > limits.maxHeaderCount {
            return answer(
                ErrorAnswer(
                    .requestHeaderFieldsTooLarge,
                    "the request has \(headers.count) header fields, more than max_header_count (\(limits.maxHeaderCount))"
                ), context)
        }
        if method == "CONNECT" {
            return answer(
                ErrorAnswer(
                    .notImplemented, "CONNECT is not supported; send plain requests through Spaceport"),
                context)
        }
        let proxy = info.reporter.proxy
        if HTTP2Headers.timesThrough(headers, via: proxy) >= ForwardedHeaders.maxPassesThrough {
            return answer(
                ErrorAnswer(
                    .loopDetected,
                    "the request has passed through \(proxy) \(ForwardedHeaders.maxPassesThrough) times; an upstream probably points back at the proxy"
                ), context)
        }
        let routed: RouteContext
        do {
            routed = try RouteHandler.resolve(fields, host: authority, trace: trace, info, hop)
        } catch {
            return answer(error, context)
        }
        let known = routed.known
        guard let upstream = known.upstream, let label = known.label else {
            return answer(
                ErrorAnswer(.notFound, Unserved(known.route, in: info.loop.tree).description), context)
        }
        route = (label, upstream)
        spoken = known.upstreamProtocol.towards(client: .h2c)
        hop.spoke(spoken, client: .h2c)
        if grpc, !spoken.carriesGRPC { return answer(.grpcOverHTTP1(label, at: upstream), context) }
        hop.start()
        // The call's own deadline, when it has one, is the wait: the proxy never cuts it shorter.
        timeout =
            headers.first(name: "grpc-timeout").flatMap(GRPCTimeout.parse)
            ?? .milliseconds(Int64(limits.upstreamTimeoutMs))
        let forwarded = HTTP2Headers.forwardedRequest(
            headers, bridge: routed.bridge, requestID: hop.flow, clientIP: info.clientIP, via: proxy,
            keepsForwarded: info.keepsForwardedFields)
        let first = HTTP2Frame.FramePayload.headers(.init(headers: forwarded, endStream: requestEnded))
        connect(sending: [first], context)
    }

    private func connect(sending frames: [HTTP2Frame.FramePayload], _ context: ChannelHandlerContext) {
        guard let route else { return }
        state = .connecting(pending: frames)
        timer?.cancel()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { self.timedOut() }
        if spoken == .http1 {
            let pool = info.loop.pool
            if let idle = pool.takeIdle(route.upstream) {
                return connected(idle)
            }
            pool.connect(route.upstream, limits: info.limits) { result in
                switch result {
                case .success(let connection): self.connected(connection)
                case .failure(let error): self.connectFailed(error)
                }
            }
            return
        }
        let relay = HTTP2UpstreamRelay(self)
        info.loop.http2.openStream(to: route.upstream, limits: info.limits) { channel in
            try channel.pipeline.syncOperations.addHandler(relay)
        }.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let channel): self.connected(.stream(channel))
            case .failure(let error): self.connectFailed(error)
            }
        }
    }

    private func connected(_ connection: UpstreamHandler) {
        guard case .connecting = state, context != nil else {
            info.loop.pool.release(connection, limits: info.limits)
            return
        }
        connected(
            .http1(
                HTTP1StreamUpstream(
                    client: self, connection: connection, pool: info.loop.pool, limits: info.limits)))
    }

    private func connected(_ upstream: StreamUpstream) {
        guard case .connecting(let pending) = state, let context else {
            upstream.close()
            return
        }
        state = .relaying(upstream: upstream)
        replay = []
        replayBytes = 0
        for frame in pending {
            keep(frame)
            upstream.write(frame)
        }
        upstream.flush()
        if readHeld {
            readHeld = false
            read(context: context)
        }
    }

    private func connectFailed(_ error: any Error) {
        guard case .connecting = state, let context, let route else { return }
        if let fault = UpstreamFault(dialing: error) { info.loop.count(fault) }
        answer(.unreachable(route.label, at: route.upstream, error, limits: info.limits), context)
    }

    private func timedOut() {
        guard !responseStarted, let context, let route else { return }
        // Answered first, so the reset's echo finds the stream done.
        var upstream: StreamUpstream?
        if case .relaying(let relaying) = state { upstream = relaying }
        defer { upstream?.close() }
        info.loop.count(.timeout)
        answer(
            ErrorAnswer(
                .gatewayTimeout,
                "\(route.label) at \(route.upstream) did not answer within \(timeout.nanoseconds / 1_000_000) ms"
            ),
            context)
    }

    /// The proxy's own answer, ending the stream; a client still sending is told to stop.
    private func answer(_ answer: ErrorAnswer, _ context: ChannelHandlerContext) {
        timer?.cancel()
        stopRelaying(context)
        responseStarted = true
        responseEnded = true
        status = Int(answer.status.code)
        if grpc { hop?.setGRPCStatus(answer.grpcStatus.rawValue) }
        hop?.refuse(answer)
        for frame in answer.frames(grpc: grpc, context.channel.allocator) {
            context.write(wrapOutboundOut(frame), promise: nil)
        }
        if !requestEnded { context.write(wrapOutboundOut(.rstStream(.noError)), promise: nil) }
        context.flush()
    }

    /// Nothing more goes upstream: what the client still sends is dropped, and a read held
    /// for the upstream's window (which a closed stream never reopens) goes ahead.
    private func stopRelaying(_ context: ChannelHandlerContext) {
        state = .answered
        if readHeld {
            readHeld = false
            context.read()
        }
    }

    private func finish(error: String? = nil) {
        hop?.end(status: status, error: error)
    }

    // MARK: The upstream's side, called by its relay on the same loop.

    func upstreamRead(_ payload: HTTP2Frame.FramePayload) {
        guard let context, case .relaying = state else { return }
        switch payload {
        case .headers(let block):
            let code = block.headers.first(name: ":status").flatMap(Int.init)
            if !responseStarted, let code, (100..<200).contains(code) {
                context.write(
                    wrapOutboundOut(
                        .headers(.init(headers: HTTP2Headers.forwardedResponse(block.headers, route: nil)))),
                    promise: nil)
                return
            }
            var route: String?
            if !responseStarted {
                responseStarted = true
                timer?.cancel()
                status = code
                route = self.route?.label
                replay = nil
            }
            if let grpcStatus = block.headers.first(name: "grpc-status").flatMap(Int.init) {
                hop?.setGRPCStatus(grpcStatus)
            }
            let headers = HTTP2Headers.forwardedResponse(block.headers, route: route)
            context.write(
                wrapOutboundOut(.headers(.init(headers: headers, endStream: block.endStream))), promise: nil)
            if block.endStream { responseEnd() }
        case .data(let data):
            hop?.countOut(data.data.readableBytes)
            context.write(wrapOutboundOut(payload), promise: nil)
            if data.endStream { responseEnd() }
        default:
            break
        }
    }

    private func responseEnd() {
        responseEnded = true
        finish()
    }

    func upstreamReadComplete() {
        context?.flush()
    }

    /// The upstream's stream may be read: the client can take more.
    var clientWritable: Bool { context?.channel.isWritable ?? false }

    func upstreamWritable() {
        guard let context, readHeld else { return }
        readHeld = false
        read(context: context)
    }

    /// The upstream's stream closed: normally after its answer; else reset (`reason`) or gone with its connection.
    func upstreamClosed(reason: HTTP2ErrorCode?) {
        guard let context, case .relaying(let upstream) = state, let route else { return }
        if responseEnded {
            // A complete answer before the whole request (RFC 9113 §8.1): the rest of the body has
            // nowhere to go, so the client is told to stop sending it, without error.
            stopRelaying(context)
            if !requestEnded { context.writeAndFlush(wrapOutboundOut(.rstStream(.noError)), promise: nil) }
            return
        }
        if !responseStarted {
            let refused: Bool
            switch upstream {
            case .stream(let channel): refused = reason == .refusedStream || info.loop.http2.neverSaw(channel)
            case .http1(let exchange): refused = exchange.neverSaw
            }
            if refused, !retried, let replay {
                // The upstream never saw the stream: it goes again, on another connection if need be.
                retried = true
                connect(sending: replay, context)
                return
            }
            info.loop.count(.reset)
            let why = reason.map { "reset the stream (\($0))" } ?? "closed the connection before answering"
            answer(ErrorAnswer(.badGateway, "\(route.label) at \(route.upstream) \(why)"), context)
            return
        }
        stopRelaying(context)
        let why =
            reason.map { "the upstream reset the stream (\($0))" } ?? "the upstream closed the connection"
        responseEnded = true
        if grpc {
            // A gRPC client is owed trailers: the call ends UNAVAILABLE rather than as a broken stream.
            let trailers: HPACKHeaders = [
                "grpc-status": String(GRPCStatus.unavailable.rawValue),
                "grpc-message": ErrorAnswer.percentEncoded("\(route.label) at \(route.upstream): \(why)"),
            ]
            hop?.setGRPCStatus(GRPCStatus.unavailable.rawValue)
            context.writeAndFlush(
                wrapOutboundOut(.headers(.init(headers: trailers, endStream: true))), promise: nil)
            if !requestEnded { context.writeAndFlush(wrapOutboundOut(.rstStream(.noError)), promise: nil) }
        } else {
            context.writeAndFlush(wrapOutboundOut(.rstStream(reason ?? .internalError)), promise: nil)
        }
        finish(error: why)
    }
}

/// The upstream stream's end of the relay: what it reads goes to the client's stream, and it
/// is read only while the client's stream can take more.
final class HTTP2UpstreamRelay: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    private let client: HTTP2StreamHandler
    private var reason: HTTP2ErrorCode?

    fileprivate init(_ client: HTTP2StreamHandler) {
        self.client = client
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        client.upstreamRead(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        client.upstreamReadComplete()
    }

    /// A read held here goes ahead when the client's stream becomes writable (`Channel.read()`).
    func read(context: ChannelHandlerContext) {
        if client.clientWritable { context.read() }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { client.upstreamWritable() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let closed = error as? NIOHTTP2Errors.StreamClosed { reason = closed.errorCode }
    }

    func channelInactive(context: ChannelHandlerContext) {
        client.upstreamClosed(reason: reason)
    }
}
