import NIOCore
import NIOHTTP1
import SpaceportCore

/// What follows a request head on its way upstream.
enum RequestBodyPart: Equatable {
    case body(ByteBuffer)
    case end(HTTPHeaders?)
}

/// Whoever holds an upstream connection: the exchange handler while a request uses it, the
/// pool while it idles.
protocol UpstreamOwner: AnyObject {
    func upstream(_ upstream: UpstreamHandler, received part: UpstreamResponsePart)
    func upstreamReadComplete(_ upstream: UpstreamHandler)
    func upstreamWritabilityChanged(_ upstream: UpstreamHandler)
    /// The connection closed or failed; `error` says why when it failed.
    func upstreamClosed(_ upstream: UpstreamHandler, error: (any Error)?)
}

/// The proxy's end of one HTTP connection to an upstream, behind its
/// `UpstreamResponseDecoder`: it writes requests as bytes (telling the decoder a response is
/// owed) and hands each part of the response to its owner by a plain call. It reads only
/// while the owner lets it (the client's side of backpressure). A connection is handed out
/// again only when its last response ended exactly, nothing followed it, and the read it
/// ended in is over (`isReady`).
final class UpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = UpstreamResponsePart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let address: Address
    /// Held strongly (a weak reference would put every retain of the owner on the slow
    /// path) and let go whenever the connection changes hands or closes.
    var owner: (any UpstreamOwner)?
    /// Requests sent on this connection so far; above zero, the connection is a reused one.
    private(set) var requestsSent = 0
    private let decoder: UpstreamResponseDecoder
    private var context: ChannelHandlerContext?
    private var readsPaused = false
    private var readPending = false
    private var closed = false
    private var unflushed = false
    /// The request being written is chunked on this hop.
    private var chunked = false
    /// The upstream sent bytes no request asked for: the connection is never used again.
    private var untrusted = false
    /// A response ended in the read going on: the connection is not handed out again until
    /// that read is over, so bytes behind the response in the same read are seen first.
    private var settling = false
    private var connected = false
    /// False for a request carried on an HTTP/2 stream of its own (`HTTP1OverHTTP2Bridge`),
    /// which ends with its response.
    private let reusable: Bool

    init(address: Address, decoder: UpstreamResponseDecoder, reusable: Bool = true) {
        self.address = address
        self.decoder = decoder
        self.reusable = reusable
    }

    var channel: (any Channel)? { context?.channel }
    var isWritable: Bool { context?.channel.isWritable ?? false }
    /// Read with every request (taking a connection, giving it back): kept here from the
    /// channel's events, since asking the channel retains and releases a dozen times.
    var isActive: Bool { connected && !closed }
    /// Open, and nothing came that no request asked for.
    var isReusable: Bool { isActive && !untrusted && reusable }
    /// Reusable, and not in the middle of the read its last response ended in.
    var isReady: Bool { isReusable && !settling }

    /// Writes a request head the exchange handler wrote as bytes; `chunked`: its body goes in
    /// chunks on this hop; `answersHEAD`: the response will have no body whatever its fields say.
    func sendHead(_ head: ByteBuffer, chunked: Bool, answersHEAD: Bool) {
        guard let context else { return }
        unflushed = true
        requestsSent += 1
        self.chunked = chunked
        decoder.expectResponse(answersHEAD: answersHEAD)
        context.write(wrapOutboundOut(head), promise: nil)
    }

    /// Writes a part of the request's body, or its end, framed as the head said.
    func send(_ part: RequestBodyPart) {
        guard let context else { return }
        switch part {
        case .body(let buffer):
            guard buffer.readableBytes > 0 else { return }
            unflushed = true
            if chunked {
                var size = context.channel.allocator.buffer(capacity: 18)
                size.writeChunkSize(buffer.readableBytes)
                context.write(wrapOutboundOut(size), promise: nil)
                context.write(wrapOutboundOut(buffer), promise: nil)
                context.write(
                    wrapOutboundOut(context.channel.allocator.buffer(staticString: "\r\n")), promise: nil)
            } else {
                context.write(wrapOutboundOut(buffer), promise: nil)
            }
        case .end(let trailers):
            // A body framed by its length ends with its last byte: nothing to write, or to flush.
            guard chunked else { return }
            unflushed = true
            var last = context.channel.allocator.buffer(capacity: 64)
            last.writeLastChunk(trailers)
            context.write(wrapOutboundOut(last), promise: nil)
        }
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
        connected = context.channel.isActive
    }

    func channelActive(context: ChannelHandlerContext) {
        connected = true
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        owner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .unsolicited:
            untrusted = true
            let owner = self.owner
            close()
            owner?.upstreamClosed(self, error: nil)
        case .end:
            settling = true
            deliver(part)
        case .head, .body:
            deliver(part)
        }
    }

    private func deliver(_ part: UpstreamResponsePart) {
        guard !closed else { return }
        guard let owner else {
            // A response with no one to take it: the connection cannot be trusted again.
            untrusted = true
            close()
            return
        }
        owner.upstream(self, received: part)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        settling = false
        owner?.upstreamReadComplete(self)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        owner?.upstreamWritabilityChanged(self)
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        connected = false
        if !closed {
            closed = true
            owner?.upstreamClosed(self, error: nil)
            owner = nil
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard !closed else { return }
        closed = true
        owner?.upstreamClosed(self, error: error)
        owner = nil
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // Past a 101 the glue owns the connection and decides about half-closes itself.
        if case ChannelEvent.inputClosed = event, !decoder.isUpgraded {
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
