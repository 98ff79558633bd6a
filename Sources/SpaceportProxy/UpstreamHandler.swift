import NIOCore
import NIOHTTP1
import SpaceportCore

/// Whoever holds an upstream connection: the forwarder while a request uses it, the pool while it idles.
protocol UpstreamOwner: AnyObject {
    func upstream(_ upstream: UpstreamHandler, received part: HTTPClientResponsePart)
    func upstreamReadComplete(_ upstream: UpstreamHandler)
    func upstreamWritabilityChanged(_ upstream: UpstreamHandler)
    /// The connection closed or failed; `error` says why when it failed.
    func upstreamClosed(_ upstream: UpstreamHandler, error: (any Error)?)
}

/// The proxy's end of one HTTP connection to an upstream. It hands what it reads to its
/// owner, and reads only while the owner lets it (the client's side of backpressure).
final class UpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    let address: Address
    /// Held strongly (a weak reference would put every retain of the forwarder on the slow
    /// path) and let go whenever the connection changes hands or closes.
    var owner: (any UpstreamOwner)?
    /// Requests sent on this connection so far; above zero, the connection is a reused one.
    private(set) var requestsSent = 0
    private var context: ChannelHandlerContext?
    private var readsPaused = false
    private var readPending = false
    private var closed = false
    private var unflushed = false

    init(address: Address) {
        self.address = address
    }

    var channel: (any Channel)? { context?.channel }
    var isWritable: Bool { context?.channel.isWritable ?? false }
    var isActive: Bool { !closed && (context?.channel.isActive ?? false) }

    func send(_ part: HTTPClientRequestPart) {
        if case .head = part { requestsSent += 1 }
        unflushed = true
        context?.write(wrapOutboundOut(part), promise: nil)
    }

    /// Flushes what `send` wrote; a flush with nothing new would still walk the pipeline.
    func flush() {
        guard unflushed else { return }
        unflushed = false
        context?.flush()
    }

    func pauseReads() { readsPaused = true }

    func resumeReads() {
        readsPaused = false
        if readPending, let context {
            readPending = false
            context.read()
        }
    }

    func close() {
        closed = true
        owner = nil
        context?.close(promise: nil)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        owner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let owner else {
            context.close(promise: nil)
            return
        }
        owner.upstream(self, received: unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        owner?.upstreamReadComplete(self)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        owner?.upstreamWritabilityChanged(self)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        owner?.upstreamClosed(self, error: nil)
        owner = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        closed = true
        owner?.upstreamClosed(self, error: error)
        owner = nil
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // The decoder has already turned the EOF into the end of an EOF-delimited body.
        if case ChannelEvent.inputClosed = event {
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func read(context: ChannelHandlerContext) {
        if readsPaused {
            readPending = true
        } else {
            context.read()
        }
    }
}
