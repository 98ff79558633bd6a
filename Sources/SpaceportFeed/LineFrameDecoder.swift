import NIOCore

/// Splits a byte stream into lines (without `\n` or a trailing `\r`), refusing any line
/// longer than `maxLength` bytes so a peer cannot make us buffer without end.
struct LineFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    let maxLength: Int
    /// Bytes already searched for a newline, so a line arriving in pieces is scanned once.
    private var scanned = 0

    init(maxLength: Int) {
        self.maxLength = maxLength
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        guard let newline = view.dropFirst(scanned).firstIndex(of: UInt8(ascii: "\n")) else {
            scanned = view.count
            if view.count > maxLength { throw LineTooLong(limit: maxLength) }
            return .needMoreData
        }
        let length = newline - view.startIndex
        if length > maxLength { throw LineTooLong(limit: maxLength) }
        var line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        scanned = 0
        if line.readableBytesView.last == UInt8(ascii: "\r") {
            line = line.getSlice(at: line.readerIndex, length: line.readableBytes - 1)!
        }
        context.fireChannelRead(wrapInboundOut(line))
        return .continue
    }

    /// A last line without its newline is incomplete, so it is dropped.
    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws
        -> DecodingState
    {
        while try decode(context: context, buffer: &buffer) == .continue {}
        buffer.moveReaderIndex(to: buffer.writerIndex)
        return .needMoreData
    }
}

public struct LineTooLong: Error, Equatable, Sendable, CustomStringConvertible {
    public var limit: Int

    public var description: String {
        "a line is longer than \(limit) bytes; one command per line, each shorter"
    }
}
