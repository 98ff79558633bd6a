import NIOCore

/// Reads an upstream connection's bytes into responses with `UpstreamResponseParser`, behind
/// SwiftNIO's `ByteToMessageHandler`, and decides which bytes a response may be made of:
/// only those that answer a request written to the connection (`expectResponse`, said by the
/// `UpstreamHandler` as it writes each request head). Bytes past a response's end, or while
/// no request waits, are no response at all: they go on as `.unsolicited`, and the connection
/// is never trusted again. A class, so that the upstream handler behind it can say when a
/// response is owed; it is made for one connection and shared by those two only.
final class UpstreamResponseDecoder: ByteToMessageDecoder {
    typealias InboundOut = UpstreamResponsePart

    private var parser = UpstreamResponseParser()
    /// A request was written and its final response has not ended.
    private var owed = false
    /// Bytes came that no request asked for: from here every byte is dropped.
    private var untrusted = false

    /// A request head has been written: its response may come. `answersHEAD`: it was a HEAD, so
    /// the response has no body whatever its fields say.
    func expectResponse(answersHEAD: Bool) {
        owed = true
        parser.answersHEAD = answersHEAD
    }

    var isUpgraded: Bool { parser.isUpgraded }

    /// Every part the bytes hold, in one call: a body's end needs no bytes of its own, and
    /// `ByteToMessageHandler` calls again only when bytes are left.
    func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        // Past a 101 the parser gives the head's end and then nothing: the rest is the new protocol's.
        while true {
            guard parser.isUpgraded || (owed && !untrusted) else {
                guard buffer.readableBytes > 0 else { break }
                buffer.moveReaderIndex(to: buffer.writerIndex)
                if !untrusted {
                    untrusted = true
                    context.fireChannelRead(wrapInboundOut(.unsolicited))
                }
                break
            }
            guard let part = try parser.next(&buffer) else { break }
            if case .end = part, !parser.isUpgraded { owed = false }
            context.fireChannelRead(wrapInboundOut(part))
        }
        return .needMoreData
    }

    func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        _ = try decode(context: context, buffer: &buffer)
        if seenEOF {
            // A body that runs until the close has ended; anything else ended too soon.
            guard owed, !untrusted, !parser.isUpgraded else { return .needMoreData }
            let rest = buffer.readableBytes > 0 ? buffer : nil
            buffer.moveReaderIndex(to: buffer.writerIndex)
            if let end = try parser.inputClosed(rest) {
                owed = false
                context.fireChannelRead(wrapInboundOut(end))
            }
        } else if parser.isUpgraded, buffer.readableBytes > 0 {
            // Leaving the pipeline after a 101: what followed it is the new protocol's, for the glue.
            context.fireChannelRead(NIOAny(buffer.readSlice(length: buffer.readableBytes)!))
            // The glue writes what it reads once a read is complete.
            context.fireChannelReadComplete()
        }
        return .needMoreData
    }
}
