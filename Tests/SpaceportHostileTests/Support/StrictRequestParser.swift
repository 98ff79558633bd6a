/// A request exactly as an upstream received it.
struct RecordedRequest: Sendable, CustomStringConvertible {
    var method: String
    var target: String
    var headers: [(name: String, value: String)]
    var body: [UInt8]
    /// The trailer fields of a chunked body, as sent.
    var trailers: [(name: String, value: String)] = []

    func values(_ name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    func header(_ name: String) -> String? { values(name).first }

    var description: String { "\(method) \(target) (\(headers.count) headers, \(body.count) body bytes)" }
}

/// The reading of HTTP/1.1 (RFC 9112) a careful upstream would apply: one request line with
/// single spaces, CRLF everywhere, token names with no space before the colon, values with no
/// control characters, one Host, one unambiguous framing. Anything else is malformed, so an
/// upstream behind the proxy can only ever see requests that every server reads the same way.
enum StrictRequestParser {
    enum Outcome {
        case request(RecordedRequest, length: Int)
        case incomplete
        case malformed(String)
    }

    static func parse(_ bytes: ArraySlice<UInt8>) -> Outcome {
        let start = bytes.startIndex
        guard let headEnd = find([13, 10, 13, 10], in: bytes) else {
            if let problem = lineEndingProblem(bytes) { return .malformed(problem) }
            return .incomplete
        }
        let head = bytes[start..<headEnd]
        if let problem = lineEndingProblem(head) { return .malformed(problem) }
        let lines = split(head)
        guard let requestLine = lines.first else { return .malformed("no request line") }
        let parts = requestLine.split(separator: 32, omittingEmptySubsequences: false)
        guard parts.count == 3 else { return .malformed("the request line is not three words") }
        let method = String(decoding: parts[0], as: UTF8.self)
        let target = String(decoding: parts[1], as: UTF8.self)
        guard !parts[0].isEmpty, parts[0].allSatisfy(isTokenByte) else { return .malformed("bad method") }
        guard !parts[1].isEmpty, parts[1].allSatisfy({ $0 > 32 && $0 != 127 }) else {
            return .malformed("bad request target")
        }
        guard target.hasPrefix("/") || (target == "*" && method == "OPTIONS") else {
            return .malformed("a request target that is not origin-form: \(target)")
        }
        guard Array(parts[2]) == Array("HTTP/1.1".utf8) else { return .malformed("not HTTP/1.1") }
        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let first = line.first, first != 32, first != 9 else {
                return .malformed("a folded or empty header line")
            }
            guard let colon = line.firstIndex(of: 58) else {
                return .malformed("a header line without a colon")
            }
            let name = line[line.startIndex..<colon]
            guard !name.isEmpty, name.allSatisfy(isTokenByte) else {
                return .malformed(
                    "a bad header name \(String(decoding: name, as: UTF8.self).debugDescription)")
            }
            var value = line[(colon + 1)...]
            while let byte = value.first, byte == 32 || byte == 9 { value = value.dropFirst() }
            while let byte = value.last, byte == 32 || byte == 9 { value = value.dropLast() }
            guard value.allSatisfy({ $0 == 9 || ($0 >= 32 && $0 != 127) }) else {
                return .malformed(
                    "a control character in the value of \(String(decoding: name, as: UTF8.self))")
            }
            headers.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
        }
        var request = RecordedRequest(method: method, target: target, headers: headers, body: [])
        guard request.values("host").count == 1 else { return .malformed("not exactly one Host") }
        let lengths = request.values("content-length")
        let codings = request.values("transfer-encoding")
        let bodyStart = headEnd + 4
        if !codings.isEmpty {
            guard lengths.isEmpty else { return .malformed("both Content-Length and Transfer-Encoding") }
            guard codings.count == 1, codings[0].lowercased() == "chunked" else {
                return .malformed("a Transfer-Encoding other than one chunked: \(codings)")
            }
            switch chunkedBody(bytes[bodyStart...]) {
            case .malformed(let problem): return .malformed(problem)
            case .incomplete: return .incomplete
            case .complete(let body, let trailers, let end):
                request.body = body
                request.trailers = trailers
                return .request(request, length: end - start)
            }
        }
        guard lengths.count <= 1 else { return .malformed("more than one Content-Length") }
        guard let text = lengths.first else { return .request(request, length: bodyStart - start) }
        guard !text.isEmpty, text.count <= 15, text.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }),
            let length = Int(text)
        else { return .malformed("a bad Content-Length \(text.debugDescription)") }
        guard bytes.endIndex - bodyStart >= length else { return .incomplete }
        request.body = Array(bytes[bodyStart..<(bodyStart + length)])
        return .request(request, length: bodyStart + length - start)
    }

    private enum Body {
        case complete([UInt8], trailers: [(name: String, value: String)], end: Int)
        case incomplete
        case malformed(String)
    }

    private static func chunkedBody(_ bytes: ArraySlice<UInt8>) -> Body {
        var at = bytes.startIndex
        var body: [UInt8] = []
        while true {
            guard let lineEnd = find([13, 10], in: bytes[at...]) else { return .incomplete }
            let line = bytes[at..<lineEnd]
            let sizeText = line.prefix { $0 != 59 }
            guard !sizeText.isEmpty, sizeText.count <= 15, sizeText.allSatisfy(isHexByte),
                let size = Int(String(decoding: sizeText, as: UTF8.self), radix: 16)
            else { return .malformed("a bad chunk size line") }
            guard line.allSatisfy({ $0 >= 32 && $0 != 127 }) else {
                return .malformed("a bad chunk extension")
            }
            at = lineEnd + 2
            if size == 0 {
                var trailers: [(name: String, value: String)] = []
                while true {
                    guard let trailerEnd = find([13, 10], in: bytes[at...]) else { return .incomplete }
                    let trailer = bytes[at..<trailerEnd]
                    at = trailerEnd + 2
                    if trailer.isEmpty { return .complete(body, trailers: trailers, end: at) }
                    guard let colon = trailer.firstIndex(of: 58), colon > trailer.startIndex,
                        trailer[trailer.startIndex..<colon].allSatisfy(isTokenByte)
                    else { return .malformed("a bad trailer line") }
                    let value = String(decoding: trailer[(colon + 1)...], as: UTF8.self)
                    trailers.append(
                        (
                            String(decoding: trailer[trailer.startIndex..<colon], as: UTF8.self),
                            value.trimmingCharacters(in: .whitespaces)
                        ))
                }
            }
            guard bytes.endIndex - at >= size + 2 else { return .incomplete }
            body += bytes[at..<(at + size)]
            at += size
            guard bytes[at] == 13, bytes[at + 1] == 10 else { return .malformed("a chunk without its CRLF") }
            at += 2
        }
    }

    /// A bare CR or a bare LF anywhere in the head.
    private static func lineEndingProblem(_ bytes: ArraySlice<UInt8>) -> String? {
        var previous: UInt8 = 0
        for byte in bytes {
            if byte == 10 && previous != 13 { return "a bare LF" }
            if previous == 13 && byte != 10 { return "a bare CR" }
            if byte == 0 { return "a NUL byte" }
            previous = byte
        }
        return nil
    }

    private static func split(_ head: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var at = head.startIndex
        while let end = find([13, 10], in: head[at...]) {
            lines.append(head[at..<end])
            at = end + 2
        }
        lines.append(head[at...])
        return lines
    }

    static func find(_ needle: [UInt8], in haystack: ArraySlice<UInt8>) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        var index = haystack.startIndex
        while index <= haystack.endIndex - needle.count {
            if haystack[index] == needle[0] && haystack[index..<(index + needle.count)].elementsEqual(needle)
            {
                return index
            }
            index += 1
        }
        return nil
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case 48...57, 65...90, 97...122: return true
        default: return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    private static func isHexByte(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (65...70).contains(byte) || (97...102).contains(byte)
    }
}
