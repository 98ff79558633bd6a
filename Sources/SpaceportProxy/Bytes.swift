import SpaceportCore

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
            guard HTTPToken.isTokenByte(raw[colon]) else {
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

    /// Whether `raw` holds `HTTP/1.` at `start`, the start of every version this proxy speaks,
    /// compared byte by byte (a generic prefix check cost a request line a few hundred instructions).
    static func isHTTP1Prefix(_ raw: UnsafeRawBufferPointer, at start: Int) -> Bool {
        guard raw.count - start >= 7 else { return false }
        return raw[start] == UInt8(ascii: "H") && raw[start + 1] == UInt8(ascii: "T")
            && raw[start + 2] == UInt8(ascii: "T") && raw[start + 3] == UInt8(ascii: "P")
            && raw[start + 4] == UInt8(ascii: "/") && raw[start + 5] == UInt8(ascii: "1")
            && raw[start + 6] == UInt8(ascii: ".")
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
