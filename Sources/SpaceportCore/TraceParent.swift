/// A W3C `traceparent` (Trace Context level 1, https://www.w3.org/TR/trace-context/), read to
/// know which trace a request belongs to. The proxy never changes it: a value that is not one is
/// ignored, and goes on as it came.
public struct TraceParent: Hashable, Sendable {
    public let version: UInt8
    public let traceID: TraceID
    /// The caller's span: the id of this request as the caller knows it.
    public let parentID: ParentID
    public let flags: UInt8

    init(version: UInt8, traceID: TraceID, parentID: ParentID, flags: UInt8) {
        self.version = version
        self.traceID = traceID
        self.parentID = parentID
        self.flags = flags
    }

    /// The length of version 00's value, the shortest any version may have.
    static let length = 55

    /// Whether the caller may have recorded the trace (the flags' lowest bit).
    public var sampled: Bool { flags & 1 == 1 }

    /// The value of one `traceparent` field, or nil when the spec says to ignore it. Version 00 is
    /// exactly `00-<32 hex>-<16 hex>-<2 hex>`, hex in lowercase. A higher version is read as the
    /// spec says: its first three fields as version 00's, then either the end or a dash and
    /// whatever that version adds. Version ff, and an all-zero trace id or parent id, are
    /// invalid. Whitespace around the value is the HTTP parser's to remove: here it is invalid,
    /// as in the spec's test suite.
    public init?(_ value: some StringProtocol) {
        guard let parsed = Self.parse(Array(value.utf8)) else { return nil }
        self = parsed
    }

    /// The trace parent of a request's `traceparent` fields: nil unless exactly one came, since
    /// two cannot both be the parent (the spec's test suite expects a new trace then).
    public init?(fields: some Collection<some StringProtocol>) {
        guard fields.count == 1, let field = fields.first else { return nil }
        self.init(field)
    }

    static func parse(_ bytes: [UInt8]) -> TraceParent? {
        guard bytes.count >= length else { return nil }
        let dash = UInt8(ascii: "-")
        guard let version = hex(bytes[0..<2]), version != 0xFF, bytes[2] == dash,
            let high = hex(bytes[3..<19]), let low = hex(bytes[19..<35]), bytes[35] == dash,
            let parent = hex(bytes[36..<52]), bytes[52] == dash,
            let flags = hex(bytes[53..<55])
        else { return nil }
        // Version 00 ends with its flags; a later version may add fields after a dash.
        if bytes.count > length && (version == 0 || bytes[length] != dash) { return nil }
        guard high != 0 || low != 0, parent != 0 else { return nil }
        return TraceParent(
            version: UInt8(version), traceID: TraceID(high: high, low: low), parentID: ParentID(parent),
            flags: UInt8(flags))
    }

    /// Up to 16 lowercase hex digits (HEXDIGLC) as a number.
    static func hex(_ digits: ArraySlice<UInt8>) -> UInt64? {
        var value: UInt64 = 0
        for digit in digits {
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = value << 4 | UInt64(digit - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"):
                value = value << 4 | UInt64(digit - UInt8(ascii: "a") + 10)
            default: return nil
            }
        }
        return value
    }
}

/// A W3C trace id: 16 bytes, never all zero, held as two numbers so remembering one costs no
/// string. Written as 32 lowercase hex digits.
public struct TraceID: Hashable, Sendable, CustomStringConvertible {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// A trace id written as `traceparent` writes it, or nil.
    public init?(_ text: some StringProtocol) {
        let bytes = Array(text.utf8)
        guard bytes.count == 32, let high = TraceParent.hex(bytes[0..<16]),
            let low = TraceParent.hex(bytes[16..<32]), high != 0 || low != 0
        else { return nil }
        self.init(high: high, low: low)
    }

    /// Written in place: every traced request names its flow and its hop's trace with it.
    public var description: String {
        String(unsafeUninitializedCapacity: 32) { bytes in
            writeHex(high, into: bytes, at: 0)
            writeHex(low, into: bytes, at: 16)
            return 32
        }
    }
}

/// A W3C parent id (a span id): 8 bytes, never all zero. Written as 16 lowercase hex digits.
public struct ParentID: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64

    public init(_ value: UInt64) {
        self.value = value
    }

    public var description: String { hexDigits(value, count: 16) }
}

/// `value` as 16 lowercase hex digits, zeros in front, written at `offset`.
private func writeHex(_ value: UInt64, into bytes: UnsafeMutableBufferPointer<UInt8>, at offset: Int) {
    var value = value
    for index in stride(from: offset + 15, through: offset, by: -1) {
        let digit = UInt8(value & 0xF)
        bytes[index] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
        value >>= 4
    }
}

/// `value` as `count` lowercase hex digits, zeros in front.
private func hexDigits(_ value: UInt64, count: Int) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: count - digits.count) + digits
}
