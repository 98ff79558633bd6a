import NIOCore
import NIOHTTP1
import SpaceportCore

/// A response head as an upstream sent it: its status, how its body is framed, and where
/// each field sits in its bytes, so relaying it copies bytes instead of building strings.
struct UpstreamHead {
    /// What the proxy does with a field when it relays the head.
    enum Role: UInt8 {
        case endToEnd
        /// Hop-by-hop (RFC 9110 §7.6.1), named by Connection, or the proxy's own route field.
        case dropped
        /// `Upgrade`: relayed only with a 101 to an upgrade request.
        case upgrade
    }

    typealias Field = HeadField<Role>

    var status: Int
    /// 0 or 1: HTTP/1.0 or HTTP/1.1.
    var minorVersion: Int
    var framing: BodyFraming
    /// The upstream may take another request on this connection after this response.
    var keepAlive: Bool
    /// The head's bytes; `reason` and the fields' ranges index into them.
    var bytes: ByteBuffer
    var reason: Range<Int>
    var fields: [Field]

    var version: HTTPVersion { HTTPVersion(major: 1, minor: minorVersion) }
    var isInterim: Bool { status < 200 && status != 101 }

    func name(_ field: Field) -> ByteBufferView { bytes.readableBytesView[field.name] }
    func value(_ field: Field) -> ByteBufferView { bytes.readableBytesView[field.value] }
}

/// A response the upstream sent that is not valid HTTP/1.1, or that ended too soon.
struct UpstreamResponseError: Error, CustomStringConvertible {
    var description: String
    /// The upstream closed the connection part way through; the bytes it sent were fine.
    var cutOff = false
    init(_ description: String, cutOff: Bool = false) {
        self.description = description
        self.cutOff = cutOff
    }
}

/// What an upstream connection reads, one event at a time.
enum UpstreamResponsePart {
    case head(UpstreamHead)
    case body(ByteBuffer)
    case end(HTTPHeaders?)
}

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
    mutating func next(_ buffer: inout ByteBuffer) throws -> UpstreamResponsePart? {
        do {
            return try step(&buffer)
        } catch let error as HTTPSyntaxError {
            throw UpstreamResponseError(error.description)
        }
    }

    private mutating func step(_ buffer: inout ByteBuffer) throws -> UpstreamResponsePart? {
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
    mutating func inputClosed(_ buffer: ByteBuffer?) throws -> UpstreamResponsePart? {
        switch state {
        case .untilClose:
            state = .head
            return .end(nil)
        case .head:
            if let buffer, buffer.readableBytes > 0 {
                throw UpstreamResponseError(
                    "the upstream closed the connection in the middle of the response head", cutOff: true)
            }
            return nil
        case .upgraded:
            return nil
        case .body, .chunked:
            throw UpstreamResponseError(
                "the upstream closed the connection in the middle of the response", cutOff: true)
        }
    }

    // MARK: - The head

    private mutating func readHead(_ buffer: inout ByteBuffer) throws -> UpstreamHead? {
        guard let end = buffer.withUnsafeReadableBytes({ Bytes.headEnd($0, limit: Self.maxHeadBytes) }) else {
            if buffer.readableBytes >= Self.maxHeadBytes {
                throw UpstreamResponseError(
                    "the response head is longer than \(Self.maxHeadBytes / 1024) KiB")
            }
            if let first = buffer.readableBytesView.first, first != UInt8(ascii: "H") {
                throw UpstreamResponseError("the upstream's answer does not start with HTTP/1.x")
            }
            return nil
        }
        let bytes = buffer.readSlice(length: end)!
        var fields = Bytes.reused(&spareFields)
        let head = try bytes.withUnsafeReadableBytes { raw in
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
    static func parseHead(_ bytes: ByteBuffer, answersHEAD: Bool = false) throws -> UpstreamHead {
        var fields: [UpstreamHead.Field] = []
        return try bytes.withUnsafeReadableBytes { raw in
            try parseHead(raw, bytes, answersHEAD: answersHEAD, into: &fields)
        }
    }

    /// Ranges are offsets into `raw`, the readable bytes of `bytes`.
    private static func parseHead(
        _ raw: UnsafeRawBufferPointer, _ bytes: ByteBuffer, answersHEAD: Bool,
        into fields: inout [UpstreamHead.Field]
    )
        throws
        -> UpstreamHead
    {
        var lines = Bytes.Lines(raw)
        guard let statusLine = lines.next() else { throw UpstreamResponseError("the response head is empty") }
        let (status, minor, reason) = try parseStatusLine(raw, statusLine)
        var connection = ConnectionOptions()
        var length: Int?
        var lengthsDiffer = false
        var lastEncoding: Range<Int>?
        while let line = lines.next(), !line.isEmpty {
            guard fields.count < maxFields else {
                throw UpstreamResponseError("the response has more than \(maxFields) header fields")
            }
            let (nameRange, valueRange) = try Bytes.parseField(raw, line, of: "the response")
            let name = raw[nameRange]
            var role = UpstreamHead.Role.endToEnd
            switch name.count {
            case 2 where Bytes.sameName(name, "te".utf8): role = .dropped
            case 7 where Bytes.sameName(name, "trailer".utf8): role = .dropped
            case 7 where Bytes.sameName(name, "upgrade".utf8): role = .upgrade
            case 10 where Bytes.sameName(name, "connection".utf8):
                role = .dropped
                connection.read(raw, valueRange)
            case 10 where Bytes.sameName(name, "keep-alive".utf8): role = .dropped
            case 14 where Bytes.sameName(name, "content-length".utf8):
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
                    throw UpstreamResponseError(
                        "the response's Content-Length '\(Bytes.quoted(raw[valueRange]))' is not a number")
                }
            case 16 where Bytes.sameName(name, "proxy-connection".utf8): role = .dropped
            case 17 where Bytes.sameName(name, "transfer-encoding".utf8):
                role = .dropped
                Bytes.forEachToken(raw, valueRange) { lastEncoding = $0 }
            case 17 where Bytes.sameName(name, ForwardedHeaders.routeResponseHeader.utf8): role = .dropped
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
                throw UpstreamResponseError("the response has both Content-Length and Transfer-Encoding")
            }
            framing = Bytes.sameName(raw[lastEncoding], "chunked".utf8) ? .chunked : .untilClose
        } else if let length {
            guard !lengthsDiffer else {
                throw UpstreamResponseError("the response has Content-Lengths that differ")
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

    private static func parseStatusLine(_ raw: UnsafeRawBufferPointer, _ line: Range<Int>) throws
        -> (Int, Int, Range<Int>)
    {
        let prefix = "HTTP/1.".utf8
        guard line.count >= 12, raw[line].starts(with: prefix) else {
            throw UpstreamResponseError(
                "the upstream's status line '\(Bytes.quoted(raw[line]))' is not HTTP/1.x")
        }
        var index = line.lowerBound + prefix.count
        let minorByte = raw[index]
        guard minorByte == UInt8(ascii: "0") || minorByte == UInt8(ascii: "1"),
            raw[index + 1] == UInt8(ascii: " ")
        else {
            throw UpstreamResponseError("the upstream answered in an HTTP version other than 1.0 or 1.1")
        }
        index += 2
        var status = 0
        for offset in 0..<3 {
            let digit = raw[index + offset]
            guard digit >= UInt8(ascii: "0") && digit <= UInt8(ascii: "9") else {
                throw UpstreamResponseError("the upstream's status code is not three digits")
            }
            status = status * 10 + Int(digit - UInt8(ascii: "0"))
        }
        guard status >= 100 else {
            throw UpstreamResponseError("the upstream's status code \(status) is below 100")
        }
        index += 3
        var reasonStart = index
        if index < line.upperBound {
            guard raw[index] == UInt8(ascii: " ") else {
                throw UpstreamResponseError("the upstream's status code is not three digits")
            }
            reasonStart = index + 1
        }
        for byte in raw[reasonStart..<line.upperBound] where !Bytes.isFieldValueByte(byte) {
            throw UpstreamResponseError("the upstream's reason phrase has a control character")
        }
        return (status, Int(minorByte - UInt8(ascii: "0")), reasonStart..<line.upperBound)
    }
}

/// Byte-level helpers for reading HTTP/1.1 text.
enum Bytes {
    /// Lines ending in CRLF (a bare LF is accepted as a line end too; a CR elsewhere is not).
    struct Lines {
        private let raw: UnsafeRawBufferPointer
        private var index = 0

        init(_ raw: UnsafeRawBufferPointer) {
            self.raw = raw
        }

        mutating func next() -> Range<Int>? {
            guard index < raw.count else { return nil }
            var newline = index
            while newline < raw.count && raw[newline] != UInt8(ascii: "\n") { newline += 1 }
            var lineEnd = newline
            if lineEnd > index && raw[lineEnd - 1] == UInt8(ascii: "\r") { lineEnd -= 1 }
            defer { index = newline + 1 }
            return index..<lineEnd
        }
    }

    /// One field line's name and value (its optional whitespace trimmed), checked: a token
    /// for a name, nothing before the colon, no line folding, no control characters.
    /// `message` ("the request", "the response") names where the line was, in errors.
    static func parseField(_ raw: UnsafeRawBufferPointer, _ line: Range<Int>, of message: String)
        throws(HTTPSyntaxError) -> (name: Range<Int>, value: Range<Int>)
    {
        let first = raw[line.lowerBound]
        guard first != UInt8(ascii: " ") && first != UInt8(ascii: "\t") else {
            throw HTTPSyntaxError("\(message) folds a header over lines (obsolete, and refused)")
        }
        var colon = line.lowerBound
        while colon < line.upperBound && raw[colon] != UInt8(ascii: ":") {
            guard isTokenByte(raw[colon]) else {
                throw HTTPSyntaxError("the header name '\(quoted(raw[line]))' of \(message) is not a token")
            }
            colon += 1
        }
        guard colon < line.upperBound else {
            throw HTTPSyntaxError("the header line '\(quoted(raw[line]))' of \(message) has no colon")
        }
        guard colon > line.lowerBound else { throw HTTPSyntaxError("\(message) has a header with no name") }
        var start = colon + 1
        var end = line.upperBound
        while start < end, raw[start] == UInt8(ascii: " ") || raw[start] == UInt8(ascii: "\t") { start += 1 }
        while end > start, raw[end - 1] == UInt8(ascii: " ") || raw[end - 1] == UInt8(ascii: "\t") {
            end -= 1
        }
        for index in start..<end where !isFieldValueByte(raw[index]) {
            throw HTTPSyntaxError(
                "the header '\(quoted(raw[line.lowerBound..<colon]))' of \(message) has a control character in its value"
            )
        }
        return (line.lowerBound..<colon, start..<end)
    }

    /// The offset just past the empty line that ends a head, if the bytes hold one.
    static func headEnd(_ raw: UnsafeRawBufferPointer, limit: Int) -> Int? {
        let end = min(raw.count, limit)
        var index = 0
        while index < end {
            if raw[index] == UInt8(ascii: "\n") {
                let next = index + 1
                if next < raw.count && raw[next] == UInt8(ascii: "\n") { return next + 1 }
                if next + 1 < raw.count && raw[next] == UInt8(ascii: "\r")
                    && raw[next + 1] == UInt8(ascii: "\n")
                {
                    return next + 2
                }
            }
            index += 1
        }
        return nil
    }

    /// Calls `body` with each comma-separated element of a field value, trimmed, empty ones skipped.
    static func forEachToken(_ raw: UnsafeRawBufferPointer, _ value: Range<Int>, _ body: (Range<Int>) -> Void)
    {
        var start = value.lowerBound
        while start < value.upperBound {
            var comma = start
            while comma < value.upperBound && raw[comma] != UInt8(ascii: ",") { comma += 1 }
            var low = start
            var high = comma
            while low < high, raw[low] == UInt8(ascii: " ") || raw[low] == UInt8(ascii: "\t") { low += 1 }
            while high > low, raw[high - 1] == UInt8(ascii: " ") || raw[high - 1] == UInt8(ascii: "\t") {
                high -= 1
            }
            if low < high { body(low..<high) }
            start = comma + 1
        }
    }

    static func sameName<A: Collection, B: Collection>(_ name: A, _ other: B) -> Bool
    where A.Element == UInt8, B.Element == UInt8 {
        guard name.count == other.count else { return false }
        // Both sides are nearly always contiguous (received bytes, a string's UTF-8): compare
        // them as buffers, without a generic iterator over each.
        let contiguous = name.withContiguousStorageIfAvailable { left in
            other.withContiguousStorageIfAvailable { right in sameName(left, right) }
        }
        if let result = contiguous ?? nil { return result }
        return zip(name, other).allSatisfy { folded($0) == folded($1) }
    }

    private static func sameName(_ left: UnsafeBufferPointer<UInt8>, _ right: UnsafeBufferPointer<UInt8>)
        -> Bool
    {
        for index in left.indices where folded(left[index]) != folded(right[index]) { return false }
        return true
    }

    static func folded(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }

    /// A non-negative decimal of at most 18 digits.
    static func decimal<C: Collection>(_ digits: C) -> Int? where C.Element == UInt8 {
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var value = 0
        for digit in digits {
            guard digit >= UInt8(ascii: "0") && digit <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(digit - UInt8(ascii: "0"))
        }
        return value
    }

    static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    /// tchar (RFC 9110 §5.6.2), looked up: every byte of every field name is checked.
    static func isTokenByte(_ byte: UInt8) -> Bool { tokenBytes[Int(byte)] }

    private static let tokenBytes: [Bool] = (0...255).map { value in
        let byte = UInt8(value)
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// A byte a field value may hold: visible ASCII, space, tab, or obs-text.
    static func isFieldValueByte(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\t") || (byte >= 0x20 && byte != 0x7F)
    }

    /// Bytes from the upstream quoted in a message: escaped and shortened as Core's `Printable`
    /// does for every text that comes from outside.
    static func quoted<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        Printable.clip(String(decoding: bytes, as: UTF8.self), max: 40)
    }
}
