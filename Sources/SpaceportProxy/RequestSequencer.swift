import NIOCore

/// Hands the handlers behind it one request at a time: a request a client pipelines waits,
/// decoded, until the response before it has ended. It takes the place of NIO's
/// `HTTPServerPipelineHandler`, which stops reading the socket for every response and starts
/// again after it (two `epoll_ctl` calls per request); this one stops reading only while a
/// pipelined request is actually waiting, so a client that waits for each response costs
/// nothing. Draining (`ChannelShouldQuiesceEvent`) lets the request in hand finish (the
/// exchange handler, told too, answers it with `connection: close`) and closes.
final class RequestSequencer: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ClientRequestPart
    typealias InboundOut = ClientRequestPart
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum Waiting {
        case read(ClientRequestPart)
        case error(any Error)
        case inputClosed
    }

    /// A head has gone on and its end has not (a whole request, `ClientHead.isWhole`, has none).
    private var inRequest = false
    /// A head has gone on and the end of its response has not been written.
    private var responsePending = false
    private var waiting = CircularBuffer<Waiting>(initialCapacity: 0)
    private var readPending = false
    private var draining = false
    private var closed = false
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// The request in hand has been read whole and its response is still going: whatever
    /// arrives now belongs to the next request.
    private var holding: Bool { responsePending && !inRequest }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if closed || (draining && !inRequest) { return }
        if !waiting.isEmpty || holding {
            waiting.append(.read(part))
        } else {
            deliver(part, context)
            if draining && !inRequest && !responsePending { close(context) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if error is HTTPSyntaxError, !waiting.isEmpty || holding {
            waiting.append(.error(error))
        } else {
            context.fireErrorCaught(error)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case ChannelEvent.inputClosed where !waiting.isEmpty:
            waiting.append(.inputClosed)
        case is ChannelShouldQuiesceEvent:
            draining = true
            waiting.removeAll()
            if !inRequest && !responsePending {
                close(context)
            } else {
                // The exchange in hand answers with `connection: close`.
                context.fireUserInboundEventTriggered(event)
            }
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func read(context: ChannelHandlerContext) {
        if waiting.isEmpty {
            context.read()
        } else {
            readPending = true
        }
    }

    /// Whoever wrote the last bytes of a response says so here (responses leave as bytes, so
    /// the sequencer cannot see their ends go by): the requests that waited go on. A writer
    /// that closes the connection after its response need not call it.
    func responseEnded() {
        guard let context, responsePending else { return }
        responsePending = false
        if draining && !inRequest {
            closed = true
            context.closeAfterWrites()
            return
        }
        deliverWaiting(context)
    }

    private func deliver(_ part: ClientRequestPart, _ context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            inRequest = !head.isWhole
            responsePending = true
        case .end:
            inRequest = false
        case .body:
            break
        }
        context.fireChannelRead(wrapInboundOut(part))
    }

    /// The response has ended: the requests that waited go on, up to the end of the next one.
    private func deliverWaiting(_ context: ChannelHandlerContext) {
        var delivered = false
        while !holding, !closed, let next = waiting.popFirst() {
            delivered = true
            switch next {
            case .read(let part): deliver(part, context)
            case .error(let error): context.fireErrorCaught(error)
            case .inputClosed: context.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
            }
        }
        if delivered { context.fireChannelReadComplete() }
        if waiting.isEmpty && readPending {
            readPending = false
            context.read()
        }
    }

    private func close(_ context: ChannelHandlerContext) {
        closed = true
        context.close(promise: nil)
    }
}
