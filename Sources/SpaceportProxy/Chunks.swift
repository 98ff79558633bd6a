import NIOCore
import NIOHTTP1

/// Chunked transfer coding (RFC 9112 §7.1) as the proxy writes it, towards the upstream
/// (a chunked request) and towards the client (a body whose length is not known).
extension ByteBuffer {
    /// The line that opens a chunk of `size` bytes.
    mutating func writeChunkSize(_ size: Int) {
        writeString(String(size, radix: 16))
        writeStaticString("\r\n")
    }

    /// The last chunk, its trailer fields, and the empty line that ends the message.
    mutating func writeLastChunk(_ trailers: HTTPHeaders?) {
        writeStaticString("0\r\n")
        for (name, value) in trailers ?? [:] { writeField(name, value) }
        writeStaticString("\r\n")
    }
}
