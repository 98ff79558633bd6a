import NIOCore

/// Reads a client's bytes into requests with `ClientRequestParser`, behind SwiftNIO's
/// `ByteToMessageHandler` (which buffers, guards re-entrancy and hands on what is left when
/// the decoder leaves the pipeline). A request without a body goes on as its head alone
/// (`ClientHead.isWhole`): no `.end` follows it. Removed after a 101, it hands the bytes read
/// past the request to the handler that takes over (the glue), so none is lost.
struct RequestDecoder: ByteToMessageDecoder {
    typealias InboundOut = ClientRequestPart

    private var parser: ClientRequestParser

    init(maxHeaderBytes: Int, maxHeaderCount: Int) {
        parser = ClientRequestParser(maxHeaderBytes: maxHeaderBytes, maxHeaderCount: maxHeaderCount)
    }

    /// Every part the bytes hold, in one call: a body's end needs no bytes of its own, and
    /// `ByteToMessageHandler` calls again only when bytes are left.
    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        while let part = try parser.next(&buffer) {
            // A request without a body ends with its head: the parser's `.end` stays here.
            if case .head(let head) = part, head.isWhole { _ = try parser.next(&buffer) }
            context.fireChannelRead(wrapInboundOut(part))
        }
        return .needMoreData
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        _ = try decode(context: context, buffer: &buffer)
        if seenEOF {
            if parser.isMidRequest(buffered: buffer.readableBytes) {
                buffer.clear()
                throw HTTPSyntaxError.request(
                    .badRequest, "the client closed its side of the connection in the middle of it")
            }
        } else if buffer.readableBytes > 0 {
            // Leaving the pipeline: what follows an upgrade request is the new protocol's, for the glue.
            context.fireChannelRead(NIOAny(buffer.readSlice(length: buffer.readableBytes)!))
            // The glue writes what it reads once a read is complete.
            context.fireChannelReadComplete()
        }
        return .needMoreData
    }
}
