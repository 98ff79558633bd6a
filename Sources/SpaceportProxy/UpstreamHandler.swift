import NIOCore
import NIOHTTP1
import SpaceportCore

/// What follows a request head on its way upstream.
enum RequestBodyPart {
    case body(ByteBuffer)
    case end(HTTPHeaders?)
}

/// Whoever holds an upstream connection: the forwarder while a request uses it, the pool while it idles.
protocol UpstreamOwner: AnyObject {
    func upstream(_ upstream: UpstreamHandler, received part: UpstreamResponsePart)
    func upstreamReadComplete(_ upstream: UpstreamHandler)
    func upstreamWritabilityChanged(_ upstream: UpstreamHandler)
    /// The connection closed or failed; `error` says why when it failed.
    func upstreamClosed(_ upstream: UpstreamHandler, error: (any Error)?)
}

/// The proxy's end of one HTTP connection to an upstream, alone in its pipeline: it writes
/// requests as bytes and reads responses from bytes (`UpstreamResponseParser`), handing
/// each part to its owner by a plain call. It reads only while the owner lets it (the
/// client's side of backpressure).
final class UpstreamHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

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
    /// The request being written is chunked on this hop.
    private var chunked = false
    private var parser = UpstreamResponseParser()
    /// Bytes read and not yet parsed.
    private var buffered: ByteBuffer?
    private var parsing = false
    /// A removal asked for while parsing: it completes, handing on what is left, once parsing stops.
    private var removal: ChannelHandlerContext.RemovalToken?
    /// A request was written and its final response has not ended: only then may bytes arrive.
    private var awaitingResponse = false
    /// The upstream sent bytes no request asked for (past a response's end, or while idle):
    /// whatever it sends from here cannot be told apart from an answer, so the connection is never used again.
    private var untrusted = false
    /// A response ended in the read going on: the connection is not handed out again until
    /// that read is over, so bytes behind the response in the same read are seen first.
    private var settling = false

    init(address: Address) {
        self.address = address
    }

    var channel: (any Channel)? { context?.channel }
    var isWritable: Bool { context?.channel.isWritable ?? false }
    /// Read with every request (taking a connection, giving it back): kept here from the
    /// channel's events, since asking the channel retains and releases a dozen times.
    var isActive: Bool { connected && !closed }
    private var connected = false
    /// Open, and its last response ended exactly where its framing said, with nothing after it.
    var isReusable: Bool { isActive && !untrusted }
    /// Reusable, and not in the middle of the read its last response ended in.
    var isReady: Bool { isReusable && !settling }

    /// Writes a request head the forwarder wrote as bytes; `chunked`: its body goes in chunks
    /// on this hop; `answersHEAD`: the response will have no body whatever its fields say.
    func sendHead(_ head: ByteBuffer, chunked: Bool, answersHEAD: Bool) {
        guard let context else { return }
        unflushed = true
        requestsSent += 1
        awaitingResponse = true
        self.chunked = chunked
        parser.answersHEAD = answersHEAD
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

    /// Leaving after a 101: whatever followed it in the upstream's bytes goes to the handler
    /// that takes over (the glue), so none is lost.
    func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        if parsing {
            removal = removalToken
        } else {
            context.leavePipeline(handingOn: buffered.take(), removalToken: removalToken)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard awaitingResponse || parser.isUpgraded else {
            // Bytes no request asked for: read as a response, they would answer the next request.
            distrust()
            return
        }
        var incoming = buffered.takeJoined(with: unwrapInboundIn(data))
        parse(&incoming, context)
    }

    /// Closes the connection for good: the upstream sent what no request asked for.
    private func distrust() {
        untrusted = true
        guard !closed else { return }
        buffered = nil
        let owner = self.owner
        close()
        owner?.upstreamClosed(self, error: nil)
    }

    private func parse(_ bytes: inout ByteBuffer, _ context: ChannelHandlerContext) {
        parsing = true
        defer {
            parsing = false
            if let token = removal {
                removal = nil
                context.leavePipeline(handingOn: buffered.take(), removalToken: token)
            }
        }
        do {
            while !closed, removal == nil, awaitingResponse || parser.isUpgraded,
                let part = try parser.next(&bytes)
            {
                guard let owner else {
                    distrust()
                    return
                }
                if case .end = part, !parser.isUpgraded {
                    awaitingResponse = false
                    settling = true
                    // Bytes past the response's end: said before the owner decides whether to pool it.
                    if bytes.readableBytes > 0 { untrusted = true }
                }
                owner.upstream(self, received: part)
            }
            if !awaitingResponse && !parser.isUpgraded && bytes.readableBytes > 0 {
                distrust()
                return
            }
        } catch {
            fail(error, context)
            return
        }
        if bytes.readableBytes > 0 {
            bytes.discardReadBytes()
            buffered = bytes
        }
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
        if readEndOfInput(context) {
            closed = true
            owner?.upstreamClosed(self, error: nil)
            owner = nil
        }
        context.fireChannelInactive()
    }

    /// The upstream closed its side: a body that runs until the close has ended, anything
    /// else ended too soon. False when that failed the connection.
    private func readEndOfInput(_ context: ChannelHandlerContext) -> Bool {
        guard !closed, let owner else { return true }
        do {
            if let end = try parser.inputClosed(buffered) { owner.upstream(self, received: end) }
            return true
        } catch {
            fail(error, context)
            return false
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(error, context)
    }

    private func fail(_ error: any Error, _ context: ChannelHandlerContext) {
        closed = true
        buffered = nil
        owner?.upstreamClosed(self, error: error)
        owner = nil
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            guard readEndOfInput(context) else { return }
            // Past a 101 the glue owns the connection and decides about half-closes itself.
            if !parser.isUpgraded { context.close(promise: nil) }
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
