import NIOCore
import SpaceportCore

/// What the first bytes at a `listen` address say about the protocol.
enum Sniff: Equatable {
    case http
    case raw
    case undecided

    /// A request line longer than this without its end is taken for HTTP; the decoder judges it.
    static let longestLine = 8 * 1024

    /// HTTP when the bytes start `METHOD target HTTP/1.x` and a line end, or with the HTTP/2
    /// preface; raw as soon as they cannot.
    static func classify(_ bytes: ByteBufferView) -> Sniff {
        switch HTTP2Preface.classify(bytes) {
        case .http2: return .http
        case .undecided: return .undecided
        case .http1: break
        }
        var index = bytes.startIndex
        while index < bytes.endIndex, bytes[index] != UInt8(ascii: " ") {
            guard index - bytes.startIndex < Methods.longest else { return .raw }
            index += 1
        }
        let method = bytes[bytes.startIndex..<index]
        // The proxy's one method table: what is HTTP at the ingress is HTTP here too.
        guard index < bytes.endIndex else { return Methods.isPrefixOfMethod(method) ? .undecided : .raw }
        guard Methods.method(method) != nil else { return .raw }
        guard let lineEnd = bytes[index...].firstIndex(of: UInt8(ascii: "\n")) else {
            return bytes.count > longestLine ? .http : .undecided
        }
        var line = Array(bytes[index..<lineEnd])
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        let text = String(decoding: line, as: UTF8.self)
        return text.hasSuffix(" HTTP/1.1") || text.hasSuffix(" HTTP/1.0") ? .http : .raw
    }
}

/// The front of a connection to a `listen` address: HTTP is routed as the instance's space;
/// anything else goes, unmodified, to the instance's own upstream (everything does, for an
/// instance whose `protocol` is `tcp`). A client that sends
/// nothing for a moment is taken for a protocol where the server speaks first.
final class ProtocolSniffer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer

    /// How long a silent client is waited for before the connection is taken for raw TCP.
    static let silence = TimeAmount.milliseconds(300)

    private enum State {
        case sniffing(ByteBuffer?, Scheduled<Void>?)
        case connecting(ByteBuffer?)
        case done
    }

    private var state = State.sniffing(nil, nil)
    private var inputClosed = false
    private let info: ConnectionInfo
    private let instance: InstanceRef

    init(_ info: ConnectionInfo, instance: InstanceRef) {
        self.info = info
        self.instance = instance
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startClock(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        startClock(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        switch state {
        case .sniffing(var buffered, let timer):
            if buffered == nil {
                buffered = incoming
            } else {
                buffered!.writeBuffer(&incoming)
            }
            switch Sniff.classify(buffered!.readableBytesView) {
            case .undecided:
                state = .sniffing(buffered, timer)
            case .http:
                timer?.cancel()
                becomeHTTP(buffered, context)
            case .raw:
                timer?.cancel()
                becomeRaw(buffered, context)
            }
        case .connecting(var buffered):
            if buffered == nil {
                buffered = incoming
            } else {
                buffered!.writeBuffer(&incoming)
            }
            state = .connecting(buffered)
        case .done:
            context.fireChannelRead(data)
        }
    }

    /// No reads while the upstream is being dialled: the bytes would have nowhere to go.
    func read(context: ChannelHandlerContext) {
        if case .connecting = state { return }
        context.read()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch (event, state) {
        case (is ChannelShouldQuiesceEvent, .sniffing), (is ChannelShouldQuiesceEvent, .connecting):
            context.close(promise: nil)
        case (ChannelEvent.inputClosed, .sniffing(let buffered, let timer)):
            inputClosed = true
            timer?.cancel()
            becomeRaw(buffered, context)
        case (ChannelEvent.inputClosed, .connecting):
            inputClosed = true
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .sniffing(_, let timer) = state { timer?.cancel() }
        state = .done
        context.fireChannelInactive()
    }

    private func startClock(_ context: ChannelHandlerContext) {
        guard case .sniffing(let buffered, nil) = state else { return }
        // An instance that speaks raw TCP is relayed at once: nothing it sends is looked at.
        if info.loop.tree.space(instance.space)?.instance(instance.service)?.protocol == .tcp {
            becomeRaw(buffered, context)
            return
        }
        let timer = context.eventLoop.assumeIsolated().scheduleTask(in: Self.silence) {
            self.silenceEnded(context)
        }
        state = .sniffing(buffered, timer)
    }

    private func silenceEnded(_ context: ChannelHandlerContext) {
        guard case .sniffing(let buffered, _) = state else { return }
        // Undecided bytes that hold a space began with a whole method: a slow HTTP client.
        if let buffered, buffered.readableBytesView.contains(UInt8(ascii: " ")) {
            becomeHTTP(buffered, context)
        } else {
            becomeRaw(buffered, context)
        }
    }

    private func becomeHTTP(_ buffered: ByteBuffer?, _ context: ChannelHandlerContext) {
        state = .done
        do {
            try ProxyConnection.installHTTP(on: context.pipeline.syncOperations, info)
        } catch {
            context.close(promise: nil)
            return
        }
        if let buffered { context.fireChannelRead(wrapInboundOut(buffered)) }
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func becomeRaw(_ buffered: ByteBuffer?, _ context: ChannelHandlerContext) {
        state = .connecting(buffered)
        let tree = info.loop.tree
        let hop = info.reporter.begin(flow: nil, method: nil, host: nil, path: nil, protocol: .tcp)
        guard let upstream = tree.space(instance.space)?.instance(instance.service)?.upstream else {
            hop.refuse(ErrorAnswer(.notFound, "\(instance) is no longer in the spaces file"))
            state = .done
            context.close(promise: nil)
            return
        }
        hop.served(by: instance, upstream: upstream)
        hop.start()
        let timeout = TimeAmount.milliseconds(Int64(info.limits.connectTimeoutMs))
        HTTPUpstream.connectRaw(to: upstream, on: context.eventLoop, timeout: timeout).assumeIsolated()
            .whenComplete {
                result in
                switch result {
                case .success(let channel):
                    self.joined(channel, hop, context)
                case .failure(let error):
                    if let fault = UpstreamFault(dialing: error) { self.info.loop.count(fault) }
                    let answer = ErrorAnswer.unreachable(
                        "\(self.instance.service)@\(self.instance.space)", at: upstream, error,
                        limits: self.info.limits)
                    hop.end(status: nil, bytesIn: 0, bytesOut: 0, error: answer.message)
                    self.state = .done
                    context.close(promise: nil)
                }
            }
    }

    private func joined(_ upstream: any Channel, _ hop: Hop, _ context: ChannelHandlerContext) {
        guard case .connecting(let buffered) = state, context.channel.isActive else {
            upstream.close(promise: nil)
            hop.end(status: nil, bytesIn: 0, bytesOut: 0, error: "the client closed the connection first")
            return
        }
        state = .done
        let tunnel = TunnelHop(hop, status: nil)
        do {
            try Tunnel.joinRaw(client: context, upstream: upstream, tunnel: tunnel)
        } catch {
            tunnel.fail("could not join the connections: \(error)")
            upstream.close(promise: nil)
            context.close(promise: nil)
            return
        }
        if let buffered, buffered.readableBytes > 0 {
            context.fireChannelRead(wrapInboundOut(buffered))
            context.fireChannelReadComplete()
        }
        // A client that already said all it will say: the upstream hears the EOF too.
        if inputClosed { context.fireUserInboundEventTriggered(ChannelEvent.inputClosed) }
        let channel = context.channel
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        // Reads held while connecting start again from the glue, now that the sniffer has gone.
        channel.read()
        upstream.read()
    }
}
