import NIOCore
import NIOHTTP1

/// A request head as the client sent it: its method, target and version, how its body is
/// framed, and where each field sits in its bytes, so forwarding it copies bytes instead of
/// building a string for every name and value. `ClientRequestParser` reads it; each field
/// comes with what the proxy does with it, found once, when the head is read. A class:
/// passed along the pipeline and kept by the routed request, it is one reference, where a
/// struct this size would be boxed on the heap and copied at every handler.
final class ClientHead {
    /// What a field means to the proxy.
    enum Kind: UInt8 {
        case other
        case host
        /// Connection, Keep-Alive, Proxy-Connection, TE, Trailer (RFC 9110 §7.6.1).
        case hopByHop
        case connection
        case upgrade
        case transferEncoding
        case contentLength
        /// Named by the Connection field, so hop-by-hop for this message.
        case named
        case via
        case requestID
        case traceparent
        case baggage
        case forwardedFor
        case forwardedHost
        case forwardedProto
    }

    typealias Field = HeadField<Kind>

    let method: HTTPMethod
    /// 0 or 1: HTTP/1.0 or HTTP/1.1.
    let minorVersion: Int
    /// The head's bytes; the ranges index into them.
    let bytes: ByteBuffer
    let target: Range<Int>
    let fields: [Field]
    let framing: BodyFraming
    let keepAlive: Bool
    /// Upgrade with `Connection: upgrade`: the request asks to switch protocols.
    let isUpgrade: Bool
    /// One of the protocols asked for is `websocket`.
    let upgradesToWebSocket: Bool
    /// The client waits for a 100 Continue before it sends its body (RFC 9110 §10.1.1), and
    /// so may never send it once it gets a final answer instead.
    let expectsContinue: Bool
    /// The body is framed in a way the proxy cannot re-create exactly on the next hop (RFC
    /// 9112 §6), as the answer to give; the parser reads no further on this connection.
    let framingProblem: ErrorAnswer?
    /// No body follows (none declared, or a length of 0): the head is the whole request.
    let isWhole: Bool

    init(
        method: HTTPMethod, minorVersion: Int, bytes: ByteBuffer, target: Range<Int>, fields: [Field],
        framing: BodyFraming, keepAlive: Bool, isUpgrade: Bool, upgradesToWebSocket: Bool,
        expectsContinue: Bool,
        framingProblem: ErrorAnswer?
    ) {
        self.method = method
        self.minorVersion = minorVersion
        self.bytes = bytes
        self.target = target
        self.fields = fields
        self.framing = framing
        self.keepAlive = keepAlive
        self.isUpgrade = isUpgrade
        self.upgradesToWebSocket = upgradesToWebSocket
        self.expectsContinue = expectsContinue
        self.framingProblem = framingProblem
        isWhole = framingProblem == nil && (framing == .none || framing == .length(0))
    }

    var version: HTTPVersion { HTTPVersion(major: 1, minor: minorVersion) }

    /// The request-target as sent (bytes that are not UTF-8 repaired).
    var uri: String { string(target) }

    /// The client takes trailers (`TE: trailers`, RFC 9110 §10.1.4).
    var acceptsTrailers: Bool {
        fields.contains { field in
            (field.kind == .hopByHop || field.kind == .named) && string(field.name).lowercased() == "te"
                && string(field.value).lowercased().split(separator: ",").contains {
                    $0.drop { $0 == " " || $0 == "\t" }.hasPrefix("trailers")
                }
        }
    }

    func string(_ range: Range<Int>) -> String {
        bytes.withUnsafeReadableBytes { String(decoding: $0[range], as: UTF8.self) }
    }

    func name(_ field: Field) -> String { string(field.name) }
    func value(_ field: Field) -> String { string(field.value) }
}

/// What a client connection reads, one event at a time. The parser ends every request with
/// `.end`; behind `RequestDecoder`, a whole request (`ClientHead.isWhole`, no body) is its head
/// alone, which saves every handler an event a request.
enum ClientRequestPart {
    case head(ClientHead)
    case body(ByteBuffer)
    case end(HTTPHeaders?)
}

/// Reads requests from a client's bytes (RFC 9112): strict about everything that decides
/// where a request ends or where it goes (CRLF line ends, field syntax, Content-Length and
/// Transfer-Encoding, chunk sizes), since a request misread here would be read differently
/// by the upstream. After an upgrade, a CONNECT, a request that closes the connection or a
/// framing it refuses it reads no further: what follows is left in the buffer, for the glue
/// or for no one.
struct ClientRequestParser {
    /// Room for the request line on top of the header block, which `maxHeaderBytes` limits.
    static let requestLineAllowance = 8 * 1024

    private enum State {
        /// `scanned`: how far the head's bytes have been checked already, so bytes that come
        /// one at a time are each looked at once.
        case head(scanned: Int)
        case body(remaining: Int)
        case chunked(ChunkedBodyReader)
        case stopped
    }

    private var state = State.head(scanned: 0)
    /// The head just read has no body, or its body was read whole: its end comes next.
    private var pendingEnd = false
    /// Reading stops once this request has ended.
    private var stopAfterEnd = false
    /// The last head's fields, whose storage the next head reuses once that head is gone.
    private var spareFields: [ClientHead.Field] = []
    let maxHeaderBytes: Int
    let maxHeaderCount: Int

    init(maxHeaderBytes: Int, maxHeaderCount: Int) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxHeaderCount = maxHeaderCount
    }

    /// Part of a request has been read and not its end (the bytes of a head begun count).
    func isMidRequest(buffered: Int) -> Bool {
        switch state {
        case .head: return buffered > 0 || pendingEnd
        case .body, .chunked: return true
        case .stopped: return false
        }
    }

    /// The next event from `buffer`, or nil when more bytes are needed (or reading has stopped).
    mutating func next(_ buffer: inout ByteBuffer) throws(HTTPSyntaxError) -> ClientRequestPart? {
        if pendingEnd {
            pendingEnd = false
            if stopAfterEnd { state = .stopped }
            return .end(nil)
        }
        switch state {
        case .stopped:
            return nil
        case .head(let scanned):
            guard let head = try readHead(&buffer, scanned: scanned) else { return nil }
            return .head(head)
        case .body(let remaining):
            guard buffer.readableBytes > 0 else { return nil }
            let count = min(remaining, buffer.readableBytes)
            let slice = buffer.readSlice(length: count)!
            if count == remaining {
                state = .head(scanned: 0)
                pendingEnd = true
            } else {
                state = .body(remaining: remaining - count)
            }
            return .body(slice)
        case .chunked(var reader):
            let event: ChunkedBodyReader.Event?
            do {
                event = try reader.next(&buffer)
            } catch {
                state = .stopped
                throw HTTPSyntaxError.request(.badRequest, error.description)
            }
            switch event {
            case .data(let data)?:
                state = .chunked(reader)
                return .body(data)
            case .end(let trailers)?:
                state = stopAfterEnd ? .stopped : .head(scanned: 0)
                return .end(trailers)
            case nil:
                state = .chunked(reader)
                return nil
            }
        }
    }

    // MARK: - The head

    private mutating func readHead(_ buffer: inout ByteBuffer, scanned: Int) throws(HTTPSyntaxError)
        -> ClientHead?
    {
        // Empty lines before a request line are allowed (RFC 9112 §2.2): a client may end a body with one.
        while buffer.readableBytes >= 2, buffer.getInteger(at: buffer.readerIndex, as: UInt16.self) == 0x0D0A
        {
            buffer.moveReaderIndex(forwardBy: 2)
        }
        // A CR that may be the start of one more empty line.
        if buffer.readableBytes == 1, buffer.readableBytesView.first == UInt8(ascii: "\r") { return nil }
        let maxHeaderBytes = self.maxHeaderBytes
        let scan: Scan
        do {
            scan = try buffer.withUnsafeReadableBytes { raw throws(HTTPSyntaxError) in
                try Self.scanHead(raw, from: scanned, maxHeaderBytes: maxHeaderBytes)
            }
        } catch {
            state = .stopped
            throw error
        }
        guard case .complete(let end) = scan else {
            if case .partial(let checked) = scan { state = .head(scanned: checked) }
            return nil
        }
        let bytes = buffer.readSlice(length: end)!
        let head: ClientHead
        var fields = Bytes.reused(&spareFields)
        do {
            head = try bytes.withUnsafeReadableBytes { raw throws(HTTPSyntaxError) in
                try parseHead(raw, bytes, into: &fields)
            }
            spareFields = head.fields
        } catch {
            state = .stopped
            throw error
        }
        if head.framingProblem != nil {
            state = .stopped
            return head
        }
        // After a CONNECT or an upgrade the bytes belong to whatever protocol follows; after a
        // request that closes the connection there is nothing more to read.
        stopAfterEnd = head.isUpgrade || head.method == .CONNECT || !head.keepAlive
        switch head.framing {
        case .none, .length(0), .untilClose:
            state = stopAfterEnd ? .stopped : .head(scanned: 0)
            pendingEnd = true
        case .length(let count):
            state = .body(remaining: count)
        case .chunked:
            state = .chunked(ChunkedBodyReader(message: "the request"))
        }
        return head
    }

    private static var requestLineTooLong: HTTPSyntaxError {
        HTTPSyntaxError.request(
            .requestHeaderFieldsTooLarge, "the request line is longer than \(requestLineAllowance / 1024) KiB"
        )
    }

    private enum Scan {
        /// The head ends this many bytes in.
        case complete(Int)
        /// No end yet; the bytes up to this offset are fine.
        case partial(Int)
    }

    /// Finds the empty line that ends the head, checking on the way that every line ends in
    /// CRLF (a bare LF would be read as a line end by some and not by others), that the
    /// method is made of capitals, and that the head keeps within its limits.
    private static func scanHead(_ raw: UnsafeRawBufferPointer, from scanned: Int, maxHeaderBytes: Int)
        throws(HTTPSyntaxError) -> Scan
    {
        // The method, checked as soon as it arrives: a client speaking another protocol (TLS, say)
        // hears so at once instead of after the header timeout.
        if scanned == 0 {
            for byte in raw {
                if byte == UInt8(ascii: " ") { break }
                guard (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) || byte == UInt8(ascii: "-")
                else {
                    throw HTTPSyntaxError.request(
                        .badRequest, "it does not start with an HTTP method")
                }
            }
        }
        var lineStart = scanned
        var index = scanned
        let end = raw.count
        while index < end {
            guard let newline = raw[index..<end].firstIndex(of: UInt8(ascii: "\n")) else { break }
            guard newline > 0, raw[newline - 1] == UInt8(ascii: "\r") else {
                throw HTTPSyntaxError.request(.badRequest, "a line of its head ends with a bare LF, not CRLF")
            }
            if newline - 1 == lineStart {
                return .complete(newline + 1)
            }
            if lineStart == 0 && newline - 1 > requestLineAllowance { throw requestLineTooLong }
            lineStart = newline + 1
            index = newline + 1
        }
        if lineStart == 0 {
            if end > requestLineAllowance { throw requestLineTooLong }
        } else if let firstLineEnd = raw.firstIndex(of: UInt8(ascii: "\n")),
            end - firstLineEnd - 1 > maxHeaderBytes
        {
            throw HTTPSyntaxError.request(
                .requestHeaderFieldsTooLarge, "the request's headers are larger than \(maxHeaderBytes) bytes")
        }
        return .partial(lineStart)
    }

    /// Ranges are offsets into `raw`, the readable bytes of `bytes`; the lines are known to end in CRLF.
    private func parseHead(
        _ raw: UnsafeRawBufferPointer, _ bytes: ByteBuffer, into fields: inout [ClientHead.Field]
    )
        throws(HTTPSyntaxError)
        -> ClientHead
    {
        var lines = Bytes.Lines(raw)
        let requestLine = lines.next()!
        let (method, target, minor) = try Self.parseRequestLine(raw, requestLine)
        var connection = ConnectionOptions()
        var hasUpgrade = false
        var webSocket = false
        var expectContinue = false
        var lengths = 0
        var length: Int?
        var lengthInvalid: Range<Int>?
        var codings = Codings()
        let fieldsStart = requestLine.upperBound + 2
        while let line = lines.next(), !line.isEmpty {
            guard fields.count < maxHeaderCount else {
                throw HTTPSyntaxError.request(
                    .requestHeaderFieldsTooLarge, "the request has more than \(maxHeaderCount) header fields")
            }
            guard line.upperBound - fieldsStart <= maxHeaderBytes else {
                throw HTTPSyntaxError.request(
                    .requestHeaderFieldsTooLarge,
                    "the request's headers are larger than \(maxHeaderBytes) bytes")
            }
            let (nameRange, valueRange): (Range<Int>, Range<Int>)
            do {
                (nameRange, valueRange) = try Bytes.parseField(raw, line, of: "the request")
            } catch {
                throw HTTPSyntaxError.request(.badRequest, error.description)
            }
            var kind = ClientHead.Kind.other
            switch FieldName.lookup(raw[nameRange]) {
            case .te?, .trailer?, .keepAlive?, .proxyConnection?: kind = .hopByHop
            case .via?: kind = .via
            case .host?: kind = .host
            case .expect?:
                expectContinue = expectContinue || Bytes.sameName(raw[valueRange], "100-continue".utf8)
            case .upgrade?:
                kind = .upgrade
                hasUpgrade = true
                Bytes.forEachToken(raw, valueRange) { token in
                    if Bytes.sameName(raw[token], "websocket".utf8) { webSocket = true }
                }
            case .connection?:
                kind = .connection
                connection.read(raw, valueRange)
            case .requestID?: kind = .requestID
            case .traceparent?: kind = .traceparent
            case .baggage?: kind = .baggage
            case .contentLength?:
                kind = .contentLength
                lengths += 1
                // Digits alone, as llhttp reads them: whitespace after them is refused too.
                if valueRange.upperBound == line.upperBound, let value = Bytes.decimal(raw[valueRange]) {
                    length = value
                } else {
                    lengthInvalid = valueRange
                }
            case .forwardedFor?: kind = .forwardedFor
            case .forwardedHost?: kind = .forwardedHost
            case .forwardedProto?: kind = .forwardedProto
            case .transferEncoding?:
                kind = .transferEncoding
                Bytes.forEachToken(raw, valueRange) { codings.add(raw, $0) }
            case .spaceportRoute?, nil: break
            }
            fields.append(ClientHead.Field(name: nameRange, value: valueRange, kind: kind))
        }
        // x-request-id stays what it is, whatever Connection says: it names the flow end to end.
        Bytes.markNamedByConnection(connection.named, in: &fields, raw, as: .named) {
            $0 == .connection || $0 == .requestID || $0 == .traceparent || $0 == .baggage
        }
        var framing = BodyFraming.none
        var problem: ErrorAnswer?
        if codings.count > 0 {
            framing = .chunked
            if lengths > 0 {
                problem = ErrorAnswer(
                    .badRequest, "the request has both Content-Length and Transfer-Encoding")
            } else {
                problem = codings.problem(raw, minorVersion: minor)
            }
        } else if lengths > 1 {
            problem = ErrorAnswer(.badRequest, "the request has \(lengths) Content-Length headers; send one")
        } else if let lengthInvalid {
            problem = ErrorAnswer(
                .badRequest,
                "the request's Content-Length '\(Bytes.quoted(raw[lengthInvalid]))' is not a number")
        } else if let length {
            framing = .length(length)
        }
        let declaresBody = framing == .chunked || (length ?? 0) > 0
        // A TRACE's body would reach the upstream as a request of its own: nothing frames it there.
        if problem == nil && method == .TRACE && declaresBody {
            problem = ErrorAnswer(.badRequest, "a TRACE request cannot carry a body")
        }
        return ClientHead(
            method: method, minorVersion: minor, bytes: bytes, target: target, fields: fields,
            framing: framing,
            keepAlive: connection.keepsAlive(minorVersion: minor),
            isUpgrade: hasUpgrade && connection.upgrade, upgradesToWebSocket: hasUpgrade && webSocket,
            expectsContinue: declaresBody && expectContinue, framingProblem: problem)
    }

    /// `METHOD SP target SP HTTP/1.x`; more than one space between them is read as one, as
    /// RFC 9112 §3 allows.
    private static func parseRequestLine(_ raw: UnsafeRawBufferPointer, _ line: Range<Int>)
        throws(HTTPSyntaxError) -> (HTTPMethod, Range<Int>, Int)
    {
        let space = UInt8(ascii: " ")
        var index = line.lowerBound
        while index < line.upperBound && raw[index] != space { index += 1 }
        let methodBytes = raw[line.lowerBound..<index]
        guard let method = Methods.method(methodBytes) else {
            throw HTTPSyntaxError.request(
                .badRequest, "its method '\(Bytes.quoted(methodBytes))' is not an HTTP method")
        }
        while index < line.upperBound && raw[index] == space { index += 1 }
        let targetStart = index
        while index < line.upperBound && raw[index] != space {
            let byte = raw[index]
            // Visible ASCII only (RFC 3986): anything else is sent percent-encoded.
            guard byte > 0x20 && byte < 0x7F else {
                throw HTTPSyntaxError.request(
                    .badRequest, "its target has a byte that is not visible ASCII (send it percent-encoded)")
            }
            index += 1
        }
        let target = targetStart..<index
        guard !target.isEmpty else {
            throw HTTPSyntaxError.request(.badRequest, "its request line has no target")
        }
        while index < line.upperBound && raw[index] == space { index += 1 }
        let version = raw[index..<line.upperBound]
        guard version.count == 8, Bytes.isHTTP1Prefix(raw, at: index) else {
            let shown = version.isEmpty ? "no version" : "the version '\(Bytes.quoted(version))'"
            throw HTTPSyntaxError.request(
                .badRequest, "its request line has \(shown); Spaceport speaks HTTP/1.0 and 1.1")
        }
        switch version.last {
        case UInt8(ascii: "1"): return (method, target, 1)
        case UInt8(ascii: "0"): return (method, target, 0)
        default:
            throw HTTPSyntaxError.request(
                .badRequest,
                "its request line has the version '\(Bytes.quoted(version))'; Spaceport speaks HTTP/1.0 and 1.1"
            )
        }
    }
}

/// The transfer codings of a request, across its Transfer-Encoding fields, in order.
private struct Codings {
    var count = 0
    var chunked = 0
    var lastIsChunked = false
    var firstOther: Range<Int>?

    mutating func add(_ raw: UnsafeRawBufferPointer, _ token: Range<Int>) {
        count += 1
        lastIsChunked = Bytes.sameName(raw[token], "chunked".utf8)
        if lastIsChunked {
            chunked += 1
        } else if firstOther == nil {
            firstOther = token
        }
    }

    /// The proxy forwards one framing only, chunked once (RFC 9112 §6.3, §7).
    func problem(_ raw: UnsafeRawBufferPointer, minorVersion: Int) -> ErrorAnswer? {
        if minorVersion == 0 {
            return ErrorAnswer(
                .badRequest, "Transfer-Encoding is not HTTP/1.0; send the body with a Content-Length")
        }
        if count > 1 && !lastIsChunked {
            return ErrorAnswer(
                .badRequest,
                "the request's last transfer coding is not chunked, so where its body ends is unknown")
        }
        if let other = firstOther {
            return ErrorAnswer(
                .notImplemented,
                "the transfer coding '\(Bytes.quoted(raw[other]))' is not supported; Spaceport forwards chunked bodies only"
            )
        }
        if chunked > 1 {
            return ErrorAnswer(.badRequest, "the request body is chunked \(chunked) times; chunk it once")
        }
        return nil
    }
}
