import SpaceportCore

/// Reads a hop's feed line straight from its UTF-8 bytes. A proxy under load publishes two
/// hops per request, and an attached reader spent a whole core on them in Foundation's decoder.
/// It answers only when sure: nil hands the line to `JSONDecoder`, which reads every other
/// event and every oddity (duplicate keys, `1.0` for a count, trailing commas) and names errors.
extension HopJSON {
    /// The hop on this line, or nil when the line is another event or anything unusual.
    public static func decode(line: some StringProtocol) -> HopEvent? {
        if let answer = line.utf8.withContiguousStorageIfAvailable({ decode(utf8: $0) }) {
            return answer
        }
        var copy = String(line)
        return copy.withUTF8 { decode(utf8: $0) }
    }

    /// The hop on this line of bytes, or nil when the line is another event or anything unusual.
    public static func decode(bytes: UnsafeRawBufferPointer) -> HopEvent? {
        bytes.withMemoryRebound(to: UInt8.self) { decode(utf8: $0) }
    }

    private static func decode(utf8: UnsafeBufferPointer<UInt8>) -> HopEvent? {
        var reader = Reader(utf8)
        var draft = Draft()
        var guess = 0
        let fields = Field.named
        let read = reader.object { reader, key in
            let position =
                guess < fields.count && key.is(fields[guess].name)
                ? guess : fields.firstIndex { key.is($0.name) }
            guard let position else { return reader.skipValue(depth: 1) }
            guess = position + 1
            return draft.read(fields[position].field, from: &reader)
        }
        guard read, reader.finished() else { return nil }
        return draft.hop()
    }
}

/// A hop's keys, in the order the proxy writes them, so each is found at the first guess.
private enum Field: String, CaseIterable {
    case bridgeProblem, bytesIn, bytesOut, conflicts, durationMs, error, expected, flow, from, grpcStatus
    case host, id, listener, lostBy, method, path, phase, propagation, `protocol`, proxy, replayOf, routeAs
    case routeAsCarrier
    case routeAsSource, service, space, status, time, traceId, tried, type, unknownRouteAs, upstream
    case upstreamProtocol, v

    /// Each key's bytes, made once, to compare with a line's.
    static let named = allCases.map { (field: $0, name: Array($0.rawValue.utf8)) }
}

/// The fields read so far: nil until read, so a key given twice is noticed. Optional fields
/// hold `.some(nil)` once read as null, as `decodeIfPresent` reads them.
private struct Draft {
    var type: String?
    var id: String?
    var flow: String?
    var phase: HopPhase?
    var time: String?
    var proxy: String?
    var listener: String?
    var from: HopCaller??
    var routeAs: String??
    var unknownRouteAs: String??
    var routeAsSource: RouteAsSource??
    var routeAsCarrier: String??
    var conflicts: [HopConflict]?
    var traceId: String??
    var propagation: HopPropagation??
    var lostBy: HopCaller??
    var expected: String??
    var bridgeProblem: String??
    var replayOf: String??
    var service: String??
    var tried: [String]?
    var space: String??
    var upstream: String??
    var upstreamProtocol: UpstreamProtocol??
    var transport: HopProtocol?
    var method: String??
    var host: String??
    var path: String??
    var status: Int??
    var grpcStatus: Int??
    var durationMs: Double??
    var bytesIn: Int?
    var bytesOut: Int?
    var error: String??

    mutating func read(_ field: Field, from reader: inout Reader) -> Bool {
        switch field {
        case .bridgeProblem: return fill(&bridgeProblem, reader.nullable { $0.string() })
        case .conflicts: return fill(&conflicts, reader.conflicts())
        case .expected: return fill(&expected, reader.nullable { $0.string() })
        case .lostBy: return fill(&lostBy, reader.nullable { $0.caller() })
        case .propagation:
            return fill(&propagation, reader.nullable { $0.string().flatMap(HopPropagation.init(rawValue:)) })
        case .routeAsCarrier: return fill(&routeAsCarrier, reader.nullable { $0.string() })
        case .replayOf: return fill(&replayOf, reader.nullable { $0.string() })
        case .traceId: return fill(&traceId, reader.nullable { $0.string() })
        case .bytesIn: return fill(&bytesIn, reader.int())
        case .bytesOut: return fill(&bytesOut, reader.int())
        case .durationMs: return fill(&durationMs, reader.nullable { $0.double() })
        case .error: return fill(&error, reader.nullable { $0.string() })
        case .flow: return fill(&flow, reader.string())
        case .from: return fill(&from, reader.nullable { $0.caller() })
        case .host: return fill(&host, reader.nullable { $0.string() })
        case .id: return fill(&id, reader.string())
        case .listener: return fill(&listener, reader.string())
        case .method: return fill(&method, reader.nullable { $0.string() })
        case .path: return fill(&path, reader.nullable { $0.string() })
        case .phase: return fill(&phase, reader.string().flatMap(HopPhase.init(rawValue:)))
        case .protocol: return fill(&transport, reader.string().flatMap(HopProtocol.init(rawValue:)))
        case .proxy: return fill(&proxy, reader.string())
        case .routeAs: return fill(&routeAs, reader.nullable { $0.string() })
        case .unknownRouteAs: return fill(&unknownRouteAs, reader.nullable { $0.string() })
        case .routeAsSource:
            return fill(
                &routeAsSource, reader.nullable { $0.string().flatMap(RouteAsSource.init(rawValue:)) })
        case .service: return fill(&service, reader.nullable { $0.string() })
        case .space: return fill(&space, reader.nullable { $0.string() })
        case .status: return fill(&status, reader.nullable { $0.int() })
        case .grpcStatus: return fill(&grpcStatus, reader.nullable { $0.int() })
        case .time: return fill(&time, reader.string())
        case .tried: return fill(&tried, reader.strings())
        case .upstream: return fill(&upstream, reader.nullable { $0.string() })
        case .upstreamProtocol:
            return fill(
                &upstreamProtocol, reader.nullable { $0.string().flatMap(UpstreamProtocol.init(rawValue:)) })
        // Any other event is left to JSONDecoder as soon as its type is known.
        case .type: return fill(&type, reader.string()) && type == "hop"
        // `FeedEvent` never reads the version, so any value is as good as 1.
        case .v: return reader.skipValue(depth: 1)
        }
    }

    /// The hop, when every field `HopEvent` requires was read.
    func hop() -> HopEvent? {
        guard type == "hop", let id, let flow, let phase, let time, let proxy, let listener, let tried,
            let transport, let bytesIn, let bytesOut
        else { return nil }
        return HopEvent(
            id: id, flow: flow, phase: phase, time: time, proxy: proxy, listener: listener,
            from: from ?? nil, routeAs: routeAs ?? nil, unknownRouteAs: unknownRouteAs ?? nil,
            routeAsSource: routeAsSource ?? nil, routeAsCarrier: routeAsCarrier ?? nil,
            conflicts: conflicts ?? [], traceId: traceId ?? nil, propagation: propagation ?? nil,
            lostBy: lostBy ?? nil, expected: expected ?? nil, bridgeProblem: bridgeProblem ?? nil,
            replayOf: replayOf ?? nil, service: service ?? nil, tried: tried, space: space ?? nil,
            upstream: upstream ?? nil, upstreamProtocol: upstreamProtocol ?? nil,
            protocol: transport, method: method ?? nil, host: host ?? nil, path: path ?? nil,
            status: status ?? nil, grpcStatus: grpcStatus ?? nil, durationMs: durationMs ?? nil,
            bytesIn: bytesIn, bytesOut: bytesOut,
            error: error ?? nil)
    }
}

/// Sets a field read for the first time; false when the value is missing or the key came before.
private func fill<Value>(_ slot: inout Value?, _ value: Value?) -> Bool {
    guard case .none = slot, let value else { return false }
    slot = value
    return true
}

/// An object's key: its bytes as written, or its text once escapes are decoded.
private enum Key {
    case written(UnsafeBufferPointer<UInt8>)
    case decoded(String)

    func `is`(_ name: [UInt8]) -> Bool {
        switch self {
        case .written(let bytes):
            guard bytes.count == name.count else { return false }
            for index in 0..<name.count where bytes[index] != name[index] { return false }
            return true
        case .decoded(let text): return text.utf8.elementsEqual(name)
        }
    }
}

/// A string's bytes between its quotes.
private struct Token {
    var start: Int
    var end: Int
    var escaped: Bool
    var ascii: Bool
}

/// A number's bytes, which follow JSON's grammar.
private struct Number {
    var start: Int
    var end: Int
    var integral: Bool
    var exponent: Bool
}

/// A cursor over one line. Every read checks its bounds and answers nil or false on anything
/// it does not expect, which ends the fast path for that line.
private struct Reader {
    /// Deeper values are left to JSONDecoder, so hostile nesting cannot exhaust the stack.
    static let maxDepth = 64
    /// A caller's keys, as bytes to compare with a line's.
    static let space = Array("space".utf8)
    static let service = Array("service".utf8)
    static let carrier = Array("carrier".utf8)
    static let value = Array("value".utf8)

    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0
    /// A string's bytes with escapes decoded; allocated only by lines that have escapes.
    var unescaped: [UInt8] = []

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func finished() -> Bool {
        skipSpace()
        return index == bytes.count
    }

    mutating func peek() -> UInt8? {
        skipSpace()
        return index < bytes.count ? bytes[index] : nil
    }

    mutating func take(_ ascii: Unicode.Scalar) -> Bool {
        guard peek() == UInt8(ascii: ascii) else { return false }
        index += 1
        return true
    }

    mutating func take(literal word: StaticString) -> Bool {
        skipSpace()
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { return false }
        for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] {
            return false
        }
        index += count
        return true
    }

    /// Reads `null` as `.some(nil)`, else the value `read` reads.
    mutating func nullable<Value>(_ read: (inout Reader) -> Value?) -> Value?? {
        if take(literal: "null") { return .some(nil) }
        guard let value = read(&self) else { return nil }
        return .some(value)
    }

    mutating func object(_ member: (inout Reader, Key) -> Bool) -> Bool {
        guard take("{") else { return false }
        if take("}") { return true }
        repeat {
            guard let token = token(), let key = key(token), take(":"), member(&self, key) else {
                return false
            }
        } while take(",")
        return take("}")
    }

    mutating func key(_ token: Token) -> Key? {
        if !token.escaped && token.ascii {
            return .written(UnsafeBufferPointer(rebasing: bytes[token.start..<token.end]))
        }
        return text(token).map(Key.decoded)
    }

    mutating func caller() -> HopCaller? {
        var space: String?
        var service: String?
        let read = object { reader, key in
            if key.is(Self.space) { return fill(&space, reader.string()) }
            if key.is(Self.service) { return fill(&service, reader.string()) }
            return reader.skipValue(depth: 2)
        }
        guard read, let space, let service else { return nil }
        return HopCaller(space: space, service: service)
    }

    /// `[{"carrier":…,"value":…},…]`.
    mutating func conflicts() -> [HopConflict]? {
        guard take("[") else { return nil }
        var list: [HopConflict] = []
        if take("]") { return list }
        repeat {
            var carrier: String?
            var value: String?
            let read = object { reader, key in
                if key.is(Self.carrier) { return fill(&carrier, reader.string()) }
                if key.is(Self.value) { return fill(&value, reader.string()) }
                return reader.skipValue(depth: 2)
            }
            guard read, let carrier, let value else { return nil }
            list.append(HopConflict(carrier: carrier, value: value))
        } while take(",")
        return take("]") ? list : nil
    }

    mutating func strings() -> [String]? {
        guard take("[") else { return nil }
        var list: [String] = []
        if take("]") { return list }
        list.reserveCapacity(4)
        repeat {
            guard let text = string() else { return nil }
            list.append(text)
        } while take(",")
        return take("]") ? list : nil
    }

    mutating func string() -> String? {
        guard let token = token() else { return nil }
        return text(token)
    }

    /// Finds a string's closing quote. Escapes are checked when the string is decoded.
    mutating func token() -> Token? {
        guard take("\"") else { return nil }
        let start = index
        var escaped = false
        var ascii = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                index += 1
                return Token(start: start, end: index - 1, escaped: escaped, ascii: ascii)
            }
            if byte < 0x20 { return nil }
            if byte == UInt8(ascii: "\\") {
                escaped = true
                index += 2
                continue
            }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        return nil
    }

    /// A string's text; nil for a bad escape, a lone surrogate or bytes that are not UTF-8.
    mutating func text(_ token: Token) -> String? {
        let raw = UnsafeBufferPointer(rebasing: bytes[token.start..<token.end])
        // ASCII needs no validating, and `String(validating:)` is generic, so slower.
        if token.ascii && !token.escaped { return String(decoding: raw, as: UTF8.self) }
        guard token.escaped else { return String(validating: raw, as: UTF8.self) }
        unescaped.removeAll(keepingCapacity: true)
        var position = token.start
        while position < token.end {
            let byte = bytes[position]
            guard byte == UInt8(ascii: "\\") else {
                unescaped.append(byte)
                position += 1
                continue
            }
            guard token.end - position >= 2 else { return nil }
            let escape = bytes[position + 1]
            position += 2
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): unescaped.append(escape)
            case UInt8(ascii: "b"): unescaped.append(0x08)
            case UInt8(ascii: "f"): unescaped.append(0x0C)
            case UInt8(ascii: "n"): unescaped.append(0x0A)
            case UInt8(ascii: "r"): unescaped.append(0x0D)
            case UInt8(ascii: "t"): unescaped.append(0x09)
            case UInt8(ascii: "u"):
                guard let unit = hex(at: position, end: token.end) else { return nil }
                position += 4
                var code = unit
                if (0xD800..<0xDC00).contains(unit) {
                    guard token.end - position >= 6, bytes[position] == UInt8(ascii: "\\"),
                        bytes[position + 1] == UInt8(ascii: "u"),
                        let low = hex(at: position + 2, end: token.end), (0xDC00..<0xE000).contains(low)
                    else { return nil }
                    position += 6
                    code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                }
                // A lone low surrogate is no scalar, and JSONDecoder refuses it too.
                guard let scalar = Unicode.Scalar(code) else { return nil }
                UTF8.encode(scalar) { unescaped.append($0) }
            default: return nil
            }
        }
        return String(validating: unescaped, as: UTF8.self)
    }

    func hex(at position: Int, end: Int) -> UInt32? {
        guard end - position >= 4 else { return nil }
        var value: UInt32 = 0
        for byte in bytes[position..<position + 4] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    mutating func number() -> Number? {
        skipSpace()
        let start = index
        var integral = true
        var exponent = false
        if index < bytes.count && bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count else { return nil }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            guard digits() > 0 else { return nil }
        }
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            index += 1
            integral = false
            guard digits() > 0 else { return nil }
        }
        if index < bytes.count && (bytes[index] | 0x20) == UInt8(ascii: "e") {
            index += 1
            integral = false
            exponent = true
            if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-"))
            {
                index += 1
            }
            guard digits() > 0 else { return nil }
        }
        return Number(start: start, end: index, integral: integral, exponent: exponent)
    }

    mutating func digits() -> Int {
        let start = index
        while index < bytes.count && (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
            index += 1
        }
        return index - start
    }

    /// An integer written as one; `1.0` or `1e2` (which JSONDecoder also takes) fall back.
    mutating func int() -> Int? {
        guard let number = number(), number.integral else { return nil }
        var position = number.start
        let negative = bytes[position] == UInt8(ascii: "-")
        if negative { position += 1 }
        // Summed below zero, so that Int.min fits.
        var value = 0
        while position < number.end {
            let (shifted, overflowed) = value.multipliedReportingOverflow(by: 10)
            let (next, under) = shifted.subtractingReportingOverflow(
                Int(bytes[position] &- UInt8(ascii: "0")))
            guard !overflowed, !under else { return nil }
            value = next
            position += 1
        }
        if negative { return value }
        let (positive, overflowed) = (0).subtractingReportingOverflow(value)
        return overflowed ? nil : positive
    }

    mutating func double() -> Double? {
        guard let number = number() else { return nil }
        let raw = UnsafeBufferPointer(rebasing: bytes[number.start..<number.end])
        // Up to 15 bytes the text is stored inline, so reading a duration allocates nothing.
        guard let value = Double(String(decoding: raw, as: UTF8.self)), value.isFinite else { return nil }
        // JSONDecoder refuses what rounds to zero, and judges zeros with exponents its own way.
        if value == 0 {
            guard !number.exponent,
                !raw.contains(where: { (UInt8(ascii: "1")...UInt8(ascii: "9")).contains($0) })
            else { return nil }
        }
        return value
    }

    /// Steps over any value, checking it as strictly as the values that are read.
    mutating func skipValue(depth: Int) -> Bool {
        guard depth < Self.maxDepth, let next = peek() else { return false }
        switch next {
        case UInt8(ascii: "\""):
            guard let token = token() else { return false }
            return (!token.escaped && token.ascii) || text(token) != nil
        case UInt8(ascii: "{"):
            return object { reader, _ in reader.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["):
            index += 1
            if take("]") { return true }
            repeat {
                guard skipValue(depth: depth + 1) else { return false }
            } while take(",")
            return take("]")
        case UInt8(ascii: "t"): return take(literal: "true")
        case UInt8(ascii: "f"): return take(literal: "false")
        case UInt8(ascii: "n"): return take(literal: "null")
        default: return number() != nil
        }
    }
}
