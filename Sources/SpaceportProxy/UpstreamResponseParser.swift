import NIOCore
import NIOHTTP1
import SpaceportCore

/// Reads responses from an upstream's bytes: strict about what frames a message (status
/// line, field syntax, Content-Length and Transfer-Encoding, chunk sizes), since a response
/// misread here would be misread by the client too.
struct UpstreamResponseParser {
    /// The longest response head, status line and fields together.
    static let maxHeadBytes = 64 * 1024
    static let maxFields = 1000

    private enum State {
        case head
        case body(remaining: Int)
        case chunked(ChunkedBodyReader)
        case untilClose
        /// A 101 has passed: what follows belongs to the new protocol, not to this parser.
        case upgraded
    }

    private var state = State.head
    /// The last head's fields, whose storage the next head reuses once that head is gone.
    private var spareFields: [UpstreamHead.Field] = []
    /// The request this response answers was a HEAD: its response has no body.
    var answersHEAD = false

    var isUpgraded: Bool {
        if case .upgraded = state { return true }
        return false
    }

    /// The next event from `buffer`, or nil when more bytes are needed.
    mutating func next(_ buffer: inout ByteBuffer) throws(HTTPSyntaxError) -> UpstreamResponsePart? {
        if pendingEnd {
            pendingEnd = false
            return .end(nil)
        }
        switch state {
        case .upgraded:
            return nil
        case .head:
            guard let head = try readHead(&buffer) else { return nil }
            return .head(head)
        case .body(let remaining):
            guard buffer.readableBytes > 0 else { return nil }
            let count = min(remaining, buffer.readableBytes)
            let slice = buffer.readSlice(length: count)!
            if count == remaining {
                state = .head
                pendingEnd = true
            } else {
                state = .body(remaining: remaining - count)
            }
            return .body(slice)
        case .untilClose:
            guard buffer.readableBytes > 0 else { return nil }
            return .body(buffer.readSlice(length: buffer.readableBytes)!)
        case .chunked(var reader):
            let event = try reader.next(&buffer)
            switch event {
            case .data(let data)?:
                state = .chunked(reader)
                return .body(data)
            case .end(let trailers)?:
                state = .head
                return .end(trailers)
            case nil:
                state = .chunked(reader)
                return nil
            }
        }
    }

    /// Set when a body has just been read whole, or a head has none: its end comes next.
    private var pendingEnd = false

    /// The upstream closed its side: the end of a body that runs until close, nothing between
    /// responses, an error in the middle of one.
    mutating func inputClosed(_ buffer: ByteBuffer?) throws(HTTPSyntaxError) -> UpstreamResponsePart? {
        switch state {
        case .untilClose:
            state = .head
            return .end(nil)
        case .head:
            if let buffer, buffer.readableBytes > 0 {
                throw HTTPSyntaxError(
                    "the upstream closed the connection in the middle of the response head", cutOff: true)
            }
            return nil
        case .upgraded:
            return nil
        case .body, .chunked:
            throw HTTPSyntaxError(
                "the upstream closed the connection in the middle of the response", cutOff: true)
        }
    }

    // MARK: - The head

    private mutating func readHead(_ buffer: inout ByteBuffer) throws(HTTPSyntaxError) -> UpstreamHead? {
        guard let end = buffer.withUnsafeReadableBytes({ Bytes.headEnd($0, limit: Self.maxHeadBytes) }) else {
            if buffer.readableBytes >= Self.maxHeadBytes {
                throw HTTPSyntaxError(
                    "the response head is longer than \(Self.maxHeadBytes / 1024) KiB")
            }
            if let first = buffer.readableBytesView.first, first != UInt8(ascii: "H") {
                throw HTTPSyntaxError("the upstream's answer does not start with HTTP/1.x")
            }
            return nil
        }
        let bytes = buffer.readSlice(length: end)!
        var fields = Bytes.reused(&spareFields)
        let head = try bytes.withUnsafeReadableBytes { raw throws(HTTPSyntaxError) in
            try Self.parseHead(raw, bytes, answersHEAD: answersHEAD, into: &fields)
        }
        spareFields = head.fields
        switch head.framing {
        case _ where head.status == 101:
            state = .upgraded
            pendingEnd = true
        case .none:
            // An interim answer (1xx) has no end of its own: the final one follows.
            if !head.isInterim { pendingEnd = true }
        case .length(0):
            pendingEnd = true
        case .length(let count):
            state = .body(remaining: count)
        case .chunked:
            state = .chunked(ChunkedBodyReader(message: "the response"))
        case .untilClose:
            state = .untilClose
        }
        if !head.isInterim && head.status != 101 { answersHEAD = false }
        return head
    }

    /// `answersHEAD`: the request was a HEAD, so whatever the fields say there is no body.
    static func parseHead(_ bytes: ByteBuffer, answersHEAD: Bool = false) throws(HTTPSyntaxError)
        -> UpstreamHead
    {
        var fields: [UpstreamHead.Field] = []
        return try bytes.withUnsafeReadableBytes { raw throws(HTTPSyntaxError) in
            try parseHead(raw, bytes, answersHEAD: answersHEAD, into: &fields)
        }
    }

    /// Ranges are offsets into `raw`, the readable bytes of `bytes`.
    private static func parseHead(
        _ raw: UnsafeRawBufferPointer, _ bytes: ByteBuffer, answersHEAD: Bool,
        into fields: inout [UpstreamHead.Field]
    )
        throws(HTTPSyntaxError)
        -> UpstreamHead
    {
        var lines = Bytes.Lines(raw)
        guard let statusLine = lines.next() else { throw HTTPSyntaxError("the response head is empty") }
        let (status, minor, reason) = try parseStatusLine(raw, statusLine)
        var connection = ConnectionOptions()
        var length: Int?
        var lengthsDiffer = false
        var lastEncoding: Range<Int>?
        while let line = lines.next(), !line.isEmpty {
            guard fields.count < maxFields else {
                throw HTTPSyntaxError("the response has more than \(maxFields) header fields")
            }
            let (nameRange, valueRange) = try Bytes.parseField(raw, line, of: "the response")
            var role = UpstreamHead.Role.endToEnd
            switch FieldName.lookup(raw[nameRange]) {
            case .te?, .trailer?, .keepAlive?, .proxyConnection?, .spaceportRoute?: role = .dropped
            case .upgrade?: role = .upgrade
            case .connection?:
                role = .dropped
                connection.read(raw, valueRange)
            case .contentLength?:
                var invalid = false
                Bytes.forEachToken(raw, valueRange) { token in
                    guard let value = Bytes.decimal(raw[token]) else {
                        invalid = true
                        return
                    }
                    if let length, length != value { lengthsDiffer = true }
                    length = value
                }
                if invalid {
                    throw HTTPSyntaxError(
                        "the response's Content-Length '\(Bytes.quoted(raw[valueRange]))' is not a number")
                }
            case .transferEncoding?:
                role = .dropped
                Bytes.forEachToken(raw, valueRange) { lastEncoding = $0 }
            default: break
            }
            fields.append(UpstreamHead.Field(name: nameRange, value: valueRange, kind: role))
        }
        Bytes.markNamedByConnection(connection.named, in: &fields, raw, as: .dropped)
        let framing: BodyFraming
        if answersHEAD || status < 200 || status == 204 || status == 304 {
            framing = .none
        } else if let lastEncoding {
            guard length == nil else {
                throw HTTPSyntaxError("the response has both Content-Length and Transfer-Encoding")
            }
            framing = Bytes.sameName(raw[lastEncoding], "chunked".utf8) ? .chunked : .untilClose
        } else if let length {
            guard !lengthsDiffer else {
                throw HTTPSyntaxError("the response has Content-Lengths that differ")
            }
            framing = .length(length)
        } else {
            framing = .untilClose
        }
        let keepAlive = connection.keepsAlive(minorVersion: minor) && framing != .untilClose
        return UpstreamHead(
            status: status, minorVersion: minor, framing: framing, keepAlive: keepAlive, bytes: bytes,
            reason: reason, fields: fields)
    }

    private static func parseStatusLine(_ raw: UnsafeRawBufferPointer, _ line: Range<Int>)
        throws(HTTPSyntaxError) -> (Int, Int, Range<Int>)
    {
        guard line.count >= 12, Bytes.isHTTP1Prefix(raw, at: line.lowerBound) else {
            throw HTTPSyntaxError(
                "the upstream's status line '\(Bytes.quoted(raw[line]))' is not HTTP/1.x")
        }
        var index = line.lowerBound + "HTTP/1.".utf8.count
        let minorByte = raw[index]
        guard minorByte == UInt8(ascii: "0") || minorByte == UInt8(ascii: "1"),
            raw[index + 1] == UInt8(ascii: " ")
        else {
            throw HTTPSyntaxError("the upstream answered in an HTTP version other than 1.0 or 1.1")
        }
        index += 2
        var status = 0
        for offset in 0..<3 {
            let digit = raw[index + offset]
            guard digit >= UInt8(ascii: "0") && digit <= UInt8(ascii: "9") else {
                throw HTTPSyntaxError("the upstream's status code is not three digits")
            }
            status = status * 10 + Int(digit - UInt8(ascii: "0"))
        }
        guard status >= 100 else {
            throw HTTPSyntaxError("the upstream's status code \(status) is below 100")
        }
        index += 3
        var reasonStart = index
        if index < line.upperBound {
            guard raw[index] == UInt8(ascii: " ") else {
                throw HTTPSyntaxError("the upstream's status code is not three digits")
            }
            reasonStart = index + 1
        }
        for byte in raw[reasonStart..<line.upperBound] where !Bytes.isFieldValueByte(byte) {
            throw HTTPSyntaxError("the upstream's reason phrase has a control character")
        }
        return (status, Int(minorByte - UInt8(ascii: "0")), reasonStart..<line.upperBound)
    }
}
