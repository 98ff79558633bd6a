import NIOCore
import NIOHTTP1

/// Reads a client's bytes into requests with `ClientRequestParser` and hands each part on:
/// the proxy's own decoder, in place of SwiftNIO's, so that a head is read into ranges of
/// its bytes rather than a string per field. A request without a body goes on as its head
/// alone (`ClientHead.isWhole`): no `.end` follows. Leaving the pipeline (after a 101), it hands
/// what it had read past the request to the handler that takes over.
final class RequestDecoder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ClientRequestPart

    private var parser: ClientRequestParser
    /// Bytes read and not yet parsed.
    private var buffered: ByteBuffer?
    private var decoding = false
    private var failed = false
    /// A removal asked for while decoding: it completes, handing on what is left, once decoding stops.
    private var removal: ChannelHandlerContext.RemovalToken?

    init(maxHeaderBytes: Int, maxHeaderCount: Int) {
        parser = ClientRequestParser(maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        var incoming = buffered.takeJoined(with: unwrapInboundIn(data))
        if decoding {
            // A read from within a handler behind this one: the loop below takes these bytes up.
            buffered = incoming
            return
        }
        decode(&incoming, context)
    }

    private func decode(_ bytes: inout ByteBuffer, _ context: ChannelHandlerContext) {
        decoding = true
        defer {
            decoding = false
            if let token = removal {
                removal = nil
                context.leavePipeline(handingOn: buffered.take(), removalToken: token)
            }
        }
        do {
            while true {
                while !failed, removal == nil, let part = try parser.next(&bytes) {
                    // A request without a body ends with its head: the parser's `.end` stays here.
                    if case .head(let head) = part, head.isWhole { _ = try parser.next(&bytes) }
                    context.fireChannelRead(wrapInboundOut(part))
                }
                // Bytes that arrived while the parts went on join the rest.
                guard !failed, removal == nil, var more = buffered else { break }
                buffered = nil
                bytes.writeBuffer(&more)
            }
        } catch {
            failed = true
            buffered = nil
            context.fireErrorCaught(error)
            return
        }
        // Bytes that arrived while a removal stopped the loop go after the ones left unparsed.
        if var more = buffered.take() { bytes.writeBuffer(&more) }
        if bytes.readableBytes > 0 {
            if bytes.readerIndex > 0 && bytes.readableBytes < bytes.readerIndex { bytes.discardReadBytes() }
            buffered = bytes
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event, !failed,
            parser.isMidRequest(buffered: buffered?.readableBytes ?? 0)
        {
            failed = true
            buffered = nil
            context.fireErrorCaught(
                RequestSyntaxError(
                    .badRequest, "the client closed its side of the connection in the middle of it"))
        }
        context.fireUserInboundEventTriggered(event)
    }

    func removeHandler(context: ChannelHandlerContext, removalToken: ChannelHandlerContext.RemovalToken) {
        if decoding {
            removal = removalToken
        } else {
            context.leavePipeline(handingOn: buffered.take(), removalToken: removalToken)
        }
    }
}
