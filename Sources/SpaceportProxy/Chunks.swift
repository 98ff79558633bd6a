import NIOCore
import NIOHTTP1
import SpaceportCore

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

/// Reads a chunked body (RFC 9112 §7.1) from the bytes as they come: sizes, data, the CRLF
/// after each chunk, and the trailers. Strict, as a proxy must be, about everything that
/// decides where the body ends: a chunk misread here would be misread by the next hop too.
/// Requests and responses share it; `message` names which one in its errors.
struct ChunkedBodyReader {
    enum Event {
        case data(ByteBuffer)
        case end(HTTPHeaders?)
    }

    static let maxSizeLine = 4096
    static let maxTrailerBytes = 64 * 1024

    private enum State {
        case size
        case data(remaining: Int)
        case dataEnd
        case trailers
    }

    private var state = State.size
    private let message: String

    /// `message`: "the request" or "the response".
    init(message: String) {
        self.message = message
    }

    /// The next part of the body from `buffer`, or nil when more bytes are needed. After
    /// `.end` the reader is done with this body.
    mutating func next(_ buffer: inout ByteBuffer) throws(HTTPSyntaxError) -> Event? {
        while true {
            switch state {
            case .size:
                guard let size = try readSize(&buffer) else { return nil }
                state = size == 0 ? .trailers : .data(remaining: size)
            case .data(let remaining):
                guard buffer.readableBytes > 0 else { return nil }
                let count = min(remaining, buffer.readableBytes)
                let slice = buffer.readSlice(length: count)!
                state = count == remaining ? .dataEnd : .data(remaining: remaining - count)
                return .data(slice)
            case .dataEnd:
                guard buffer.readableBytes >= 2 else { return nil }
                guard buffer.readInteger(as: UInt16.self) == 0x0D0A else {
                    throw HTTPSyntaxError("a chunk of \(message) does not end with CRLF")
                }
                state = .size
            case .trailers:
                guard let trailers = try readTrailers(&buffer) else { return nil }
                state = .size
                return .end(trailers.isEmpty ? nil : trailers)
            }
        }
    }

    private func readSize(_ buffer: inout ByteBuffer) throws(HTTPSyntaxError) -> Int? {
        let message = self.message
        let parsed: (size: Int, length: Int)? = try buffer.withUnsafeReadableBytes {
            raw throws(HTTPSyntaxError) in
            let limit = min(raw.count, Self.maxSizeLine)
            guard let newline = raw[0..<limit].firstIndex(of: UInt8(ascii: "\n")) else {
                if raw.count >= Self.maxSizeLine {
                    throw HTTPSyntaxError("a chunk size line of \(message) is longer than 4 KiB")
                }
                return nil
            }
            guard newline > 0, raw[newline - 1] == UInt8(ascii: "\r") else {
                throw HTTPSyntaxError("a chunk size line of \(message) does not end with CRLF")
            }
            let lineEnd = newline - 1
            var size = 0
            var index = 0
            while index < lineEnd, let digit = Bytes.hexValue(raw[index]) {
                guard size < 1 << 56 else { throw HTTPSyntaxError("a chunk of \(message) is too large") }
                size = size << 4 | digit
                index += 1
            }
            guard index > 0 else {
                throw HTTPSyntaxError("a chunk size of \(message) is not a hexadecimal number")
            }
            // Chunk extensions (`;name=value`) are allowed and ignored; nothing else may follow the size.
            guard Self.isExtensionList(raw, index..<lineEnd) else {
                throw HTTPSyntaxError(
                    "a chunk size line of \(message) has more than a hexadecimal size and extensions")
            }
            return (size, newline + 1)
        }
        guard let parsed else { return nil }
        buffer.moveReaderIndex(forwardBy: parsed.length)
        return parsed.size
    }

    private func readTrailers(_ buffer: inout ByteBuffer) throws(HTTPSyntaxError) -> HTTPHeaders? {
        let message = self.message
        let parsed: (HTTPHeaders, Int)? = try buffer.withUnsafeReadableBytes { raw throws(HTTPSyntaxError) in
            // No trailers: the last chunk's line is followed by an empty line.
            if raw.count >= 2 && raw[0] == UInt8(ascii: "\r") && raw[1] == UInt8(ascii: "\n") {
                return (HTTPHeaders(), 2)
            }
            guard let end = try Self.trailersEnd(raw, message: message) else {
                if raw.count >= Self.maxTrailerBytes {
                    throw HTTPSyntaxError("the trailers of \(message) are longer than 64 KiB")
                }
                return nil
            }
            var trailers = HTTPHeaders()
            var lines = Bytes.Lines(UnsafeRawBufferPointer(rebasing: raw[0..<end]))
            while let line = lines.next(), !line.isEmpty {
                let (name, value) = try Bytes.parseField(raw, line, of: message)
                trailers.add(
                    name: String(decoding: raw[name], as: UTF8.self),
                    value: String(decoding: raw[value], as: UTF8.self))
            }
            return (trailers, end)
        }
        guard let (trailers, length) = parsed else { return nil }
        buffer.moveReaderIndex(forwardBy: length)
        return trailers
    }

    /// `*( BWS ";" BWS token [ BWS "=" BWS ( token / quoted-string ) ] )` (RFC 9112 §7.1.1):
    /// nothing but well-formed extensions may follow a chunk's size.
    static func isExtensionList(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) -> Bool {
        var index = range.lowerBound
        func skipSpace() {
            while index < range.upperBound,
                raw[index] == UInt8(ascii: " ") || raw[index] == UInt8(ascii: "\t")
            {
                index += 1
            }
        }
        func token() -> Bool {
            let start = index
            while index < range.upperBound, HTTPToken.isTokenByte(raw[index]) { index += 1 }
            return index > start
        }
        while true {
            let before = index
            skipSpace()
            // Whitespace may come before a ';', never at the end of the line.
            guard index < range.upperBound else { return index == before }
            guard raw[index] == UInt8(ascii: ";") else { return false }
            index += 1
            skipSpace()
            guard token() else { return false }
            skipSpace()
            guard index < range.upperBound, raw[index] == UInt8(ascii: "=") else { continue }
            index += 1
            skipSpace()
            if index < range.upperBound, raw[index] == UInt8(ascii: "\"") {
                index += 1
                while index < range.upperBound, raw[index] != UInt8(ascii: "\"") {
                    if raw[index] == UInt8(ascii: "\\") { index += 1 }
                    guard index < range.upperBound, Bytes.isFieldValueByte(raw[index]) else { return false }
                    index += 1
                }
                guard index < range.upperBound else { return false }
                index += 1
            } else if !token() {
                return false
            }
        }
    }

    /// The offset just past the empty line that ends the trailer section, each of whose lines
    /// must end in CRLF; nil while it has not all arrived.
    static func trailersEnd(_ raw: UnsafeRawBufferPointer, message: String) throws(HTTPSyntaxError) -> Int? {
        var lineStart = 0
        let end = min(raw.count, maxTrailerBytes)
        while let newline = raw[lineStart..<end].firstIndex(of: UInt8(ascii: "\n")) {
            guard newline > lineStart, raw[newline - 1] == UInt8(ascii: "\r") else {
                throw HTTPSyntaxError("a trailer line of \(message) does not end with CRLF")
            }
            if newline - 1 == lineStart { return newline + 1 }
            lineStart = newline + 1
        }
        return nil
    }
}
