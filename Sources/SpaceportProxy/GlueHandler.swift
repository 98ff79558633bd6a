import NIOCore
import SpaceportCore

/// A tunnel's hop: it ends once both sides have closed, with the bytes each side sent.
final class TunnelHop {
    private var hop: Hop
    private let status: Int?
    /// Bytes from the client, and bytes to it.
    var bytesIn: Int
    var bytesOut: Int
    private var open = 2
    private var error: String?

    init(_ hop: Hop, status: Int?, bytesIn: Int = 0, bytesOut: Int = 0) {
        self.hop = hop
        self.status = status
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
    }

    func sideClosed() {
        open -= 1
        if open == 0 { hop.end(status: status, bytesIn: bytesIn, bytesOut: bytesOut, error: error) }
    }

    /// Ends the hop now with `reason`: the tunnel never opened.
    func fail(_ reason: String) {
        error = reason
        hop.end(status: status, bytesIn: bytesIn, bytesOut: bytesOut, error: reason)
    }
}

/// One side of two channels joined byte for byte. Each side reads only while the other
/// can write, and a half-close on one side becomes a half-close on the other.
final class GlueHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Side {
        case client
        case upstream
    }

    private let side: Side
    private let tunnel: TunnelHop
    private var partner: GlueHandler?
    private var context: ChannelHandlerContext?
    private var readPending = false
    private var inputClosed = false

    private init(side: Side, tunnel: TunnelHop) {
        self.side = side
        self.tunnel = tunnel
    }

    static func pair(_ tunnel: TunnelHop) -> (client: GlueHandler, upstream: GlueHandler) {
        let client = GlueHandler(side: .client, tunnel: tunnel)
        let upstream = GlueHandler(side: .upstream, tunnel: tunnel)
        client.partner = upstream
        upstream.partner = client
        return (client, upstream)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let count = unwrapInboundIn(data).readableBytes
        switch side {
        case .client: tunnel.bytesIn += count
        case .upstream: tunnel.bytesOut += count
        }
        partner?.context?.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.context?.flush()
    }

    func channelInactive(context: ChannelHandlerContext) {
        tunnel.sideClosed()
        partner?.closeAfterWrites(.all)
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case ChannelEvent.inputClosed:
            inputClosed = true
            partner?.peerInputClosed()
        case is ChannelShouldQuiesceEvent:
            context.close(promise: nil)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.peerBecameWritable() }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if partner?.context?.channel.isWritable ?? true {
            context.read()
        } else {
            readPending = true
        }
    }

    /// The other side will send nothing more, so this side's peer hears an EOF too, once it
    /// has everything that came before; when neither side will send more, both close.
    private func peerInputClosed() {
        if inputClosed {
            closeAfterWrites(.all)
            partner?.closeAfterWrites(.all)
        } else {
            closeAfterWrites(.output)
        }
    }

    /// Closes once everything already written here has gone out.
    private func closeAfterWrites(_ mode: CloseMode) {
        context?.closeAfterWrites(mode: mode)
    }

    private func peerBecameWritable() {
        guard readPending, let context else { return }
        readPending = false
        context.read()
    }
}
