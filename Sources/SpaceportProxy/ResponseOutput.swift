import NIOCore
import NIOHTTP1

/// The bytes of a response on their way to the client: small parts join the bytes waiting
/// (a head, say) so a small response leaves in one write, and the buffers written last are
/// written into again once the socket is done with them, so a kept-alive connection allocates
/// none per response.
struct ResponseOutput {
    /// Body parts up to this size join the bytes waiting; larger ones are written as they are.
    static let coalesceLimit = 4096

    /// Bytes for the client not written yet.
    private var out: ByteBuffer?
    /// The buffer the last bytes were written from, kept to write the next ones into.
    private var spare: ByteBuffer?

    /// Starts a response's bytes with its head, written by `write` into a buffer of about `capacity`.
    mutating func head(capacity: Int, _ context: ChannelHandlerContext, _ write: (inout ByteBuffer) -> Void) {
        writeOut(context)
        var bytes = Self.reused(&spare, capacity: capacity, context)
        write(&bytes)
        out = bytes
    }

    /// A body part, framed as its head said (a chunk when `chunked`).
    mutating func body(_ buffer: ByteBuffer, chunked: Bool, _ context: ChannelHandlerContext) {
        guard buffer.readableBytes > 0 else { return }
        if chunked {
            add(context) { $0.writeChunkSize(buffer.readableBytes) }
            append(buffer, context)
            add(context) { $0.writeStaticString("\r\n") }
        } else {
            append(buffer, context)
        }
    }

    /// What ends a body: the last chunk, with its trailers, when it went in chunks.
    mutating func end(_ trailers: HTTPHeaders?, chunked: Bool, _ context: ChannelHandlerContext) {
        if chunked { add(context) { $0.writeLastChunk(trailers) } }
        writeOut(context)
    }

    /// Writes what waits (without flushing).
    mutating func writeOut(_ context: ChannelHandlerContext) {
        guard let pending = out else { return }
        out = nil
        context.write(NIOAny(pending), promise: nil)
        spare = pending
    }

    /// Writes framing onto the bytes waiting (starting them if none wait). The buffer leaves
    /// `out` while it is written, so it is not copied on write.
    private mutating func add(_ context: ChannelHandlerContext, _ write: (inout ByteBuffer) -> Void) {
        var pending = out ?? Self.reused(&spare, capacity: 64, context)
        out = nil
        write(&pending)
        out = pending
    }

    /// Adds `buffer` to the bytes waiting, or writes both when it is large.
    private mutating func append(_ buffer: ByteBuffer, _ context: ChannelHandlerContext) {
        if out != nil, buffer.readableBytes <= Self.coalesceLimit {
            add(context) { $0.writeImmutableBuffer(buffer) }
        } else {
            writeOut(context)
            context.write(NIOAny(buffer), promise: nil)
        }
    }

    /// `spare` emptied for writing into when the socket is done with it (else a new buffer):
    /// a buffer still shared would be copied on the first write.
    static func reused(_ spare: inout ByteBuffer?, capacity: Int, _ context: ChannelHandlerContext)
        -> ByteBuffer
    {
        if var buffer = spare.take() {
            buffer.clear(minimumCapacity: capacity)
            return buffer
        }
        return context.channel.allocator.buffer(capacity: capacity)
    }
}
