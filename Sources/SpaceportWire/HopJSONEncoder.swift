import SpaceportCore

/// A hop's feed line, both ways, by hand: `write` gives the same bytes as
/// `FeedEvent.hop(hop).jsonLine()` an order of magnitude faster than Foundation's encoder
/// (every hop a proxy publishes is encoded once for its readers, on event loops that also
/// carry traffic), and `decode` (HopJSONDecoder.swift) reads such a line back straight from
/// its bytes. Both follow `HopEvent.CodingKeys`, and a test holds them to it.
public enum HopJSON {
    /// The most bytes `write` can need for `hop`: every byte of text may become a six-byte
    /// escape; the rest of the line is under 640 bytes.
    public static func bound(_ hop: HopEvent) -> Int {
        func size(_ text: String?) -> Int { text?.utf8.count ?? 0 }
        var textBytes =
            size(hop.error) + size(hop.flow) + size(hop.from?.service) + size(hop.from?.space)
            + size(hop.host)
            + size(hop.id) + size(hop.listener) + size(hop.method) + size(hop.path) + size(hop.proxy)
            + size(hop.routeAs) + size(hop.unknownRouteAs) + size(hop.service) + size(hop.space)
            + size(hop.time) + size(hop.upstream) + size(hop.routeAsCarrier) + size(hop.traceId)
            + size(hop.expected) + size(hop.bridgeProblem) + size(hop.lostBy?.service)
            + size(hop.lostBy?.space) + size(hop.replayOf)
            // Its key as well: the fixed rest of the line was measured without it.
            + (hop.upstreamProtocol == nil ? 0 : 32)
        for conflict in hop.conflicts {
            textBytes += conflict.carrier.utf8.count + conflict.value.utf8.count + 32
        }
        for space in hop.tried { textBytes += space.utf8.count + 3 }
        return 640 + 6 * textBytes + 64
    }

    /// Writes `hop`'s line, newline included, into `raw` (at least `bound(hop)` bytes) and
    /// returns how many bytes it wrote; nil for a hop Foundation must write (a duration that is
    /// not a finite number).
    public static func write(_ hop: HopEvent, into raw: UnsafeMutableRawBufferPointer) -> Int? {
        if let duration = hop.durationMs, !duration.isFinite { return nil }
        var line = LineWriter(raw)
        // Keys in sorted order, as Foundation writes them; optional ones only when present.
        line.raw("{")
        if let problem = hop.bridgeProblem {
            line.raw("\"bridgeProblem\":")
            line.string(problem)
            line.raw(",")
        }
        line.raw("\"bytesIn\":")
        line.int(hop.bytesIn)
        line.raw(",\"bytesOut\":")
        line.int(hop.bytesOut)
        if !hop.conflicts.isEmpty {
            line.raw(",\"conflicts\":[")
            for (index, conflict) in hop.conflicts.enumerated() {
                line.raw(index == 0 ? "{\"carrier\":" : ",{\"carrier\":")
                line.string(conflict.carrier)
                line.raw(",\"value\":")
                line.string(conflict.value)
                line.raw("}")
            }
            line.raw("]")
        }
        line.raw(",\"durationMs\":")
        if let duration = hop.durationMs { line.double(duration) } else { line.raw("null") }
        line.raw(",\"error\":")
        line.string(hop.error)
        if let expected = hop.expected {
            line.raw(",\"expected\":")
            line.string(expected)
        }
        line.raw(",\"flow\":")
        line.string(hop.flow)
        line.raw(",\"from\":")
        line.caller(hop.from)
        if let grpcStatus = hop.grpcStatus {
            line.raw(",\"grpcStatus\":")
            line.int(grpcStatus)
        }
        line.raw(",\"host\":")
        line.string(hop.host)
        line.raw(",\"id\":")
        line.string(hop.id)
        line.raw(",\"listener\":")
        line.string(hop.listener)
        if let lostBy = hop.lostBy {
            line.raw(",\"lostBy\":")
            line.caller(lostBy)
        }
        line.raw(",\"method\":")
        line.string(hop.method)
        line.raw(",\"path\":")
        line.string(hop.path)
        line.raw(",\"phase\":")
        line.string(hop.phase.rawValue)
        if let propagation = hop.propagation {
            line.raw(",\"propagation\":")
            line.string(propagation.rawValue)
        }
        line.raw(",\"protocol\":")
        line.string(hop.protocol.rawValue)
        line.raw(",\"proxy\":")
        line.string(hop.proxy)
        if let original = hop.replayOf {
            line.raw(",\"replayOf\":")
            line.string(original)
        }
        line.raw(",\"routeAs\":")
        line.string(hop.routeAs)
        if let carrier = hop.routeAsCarrier {
            line.raw(",\"routeAsCarrier\":")
            line.string(carrier)
        }
        line.raw(",\"routeAsSource\":")
        line.string(hop.routeAsSource?.rawValue)
        line.raw(",\"service\":")
        line.string(hop.service)
        line.raw(",\"space\":")
        line.string(hop.space)
        line.raw(",\"status\":")
        if let status = hop.status { line.int(status) } else { line.raw("null") }
        line.raw(",\"time\":")
        line.string(hop.time)
        if let trace = hop.traceId {
            line.raw(",\"traceId\":")
            line.string(trace)
        }
        line.raw(",\"tried\":[")
        for (index, space) in hop.tried.enumerated() {
            if index > 0 { line.raw(",") }
            line.string(space)
        }
        line.raw("],\"type\":\"hop\"")
        // Written only when there is one, as Foundation's encoder writes an optional it is not given.
        if let unknown = hop.unknownRouteAs {
            line.raw(",\"unknownRouteAs\":")
            line.string(unknown)
        }
        line.raw(",\"upstream\":")
        line.string(hop.upstream)
        if let spoken = hop.upstreamProtocol {
            line.raw(",\"upstreamProtocol\":")
            line.string(spoken.rawValue)
        }
        line.raw(",\"v\":1}\n")
        return line.count
    }

    /// Writes into memory the caller sized for the worst case, so no byte is checked for room.
    private struct LineWriter {
        let base: UnsafeMutablePointer<UInt8>
        var count = 0

        init(_ raw: UnsafeMutableRawBufferPointer) {
            base = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
        }

        mutating func byte(_ value: UInt8) {
            base[count] = value
            count += 1
        }

        mutating func raw(_ text: StaticString) {
            (base + count).update(from: text.utf8Start, count: text.utf8CodeUnitCount)
            count += text.utf8CodeUnitCount
        }

        mutating func int(_ value: Int) {
            if value < 0 { byte(UInt8(ascii: "-")) }
            var magnitude = value.magnitude
            // At most 20 digits, written backwards into place.
            var length = 1
            var probe = magnitude / 10
            while probe > 0 {
                length += 1
                probe /= 10
            }
            for index in stride(from: length - 1, through: 0, by: -1) {
                base[count + index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            }
            count += length
        }

        /// As Foundation writes a Double: its shortest form, without a trailing `.0`.
        mutating func double(_ value: Double) {
            var text = value.description
            if text.hasSuffix(".0") { text.removeLast(2) }
            text.withUTF8 { bytes in
                for value in bytes { byte(value) }
            }
        }

        /// An instance as `{"service":…,"space":…}`, or null.
        mutating func caller(_ caller: HopCaller?) {
            guard let caller else {
                raw("null")
                return
            }
            raw("{\"service\":")
            string(caller.service)
            raw(",\"space\":")
            string(caller.space)
            raw("}")
        }

        mutating func string(_ text: String?) {
            guard var text else {
                raw("null")
                return
            }
            byte(UInt8(ascii: "\""))
            text.withUTF8 { bytes in
                for value in bytes {
                    if value >= 0x20 && value != UInt8(ascii: "\"") && value != UInt8(ascii: "\\") {
                        byte(value)
                    } else {
                        escape(value)
                    }
                }
            }
            byte(UInt8(ascii: "\""))
        }

        /// JSON's escapes, in Foundation's spelling: short forms where they exist, else `\u00xx`.
        mutating func escape(_ value: UInt8) {
            switch value {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0A: raw("\\n")
            case 0x0D: raw("\\r")
            case 0x09: raw("\\t")
            case 0x08: raw("\\b")
            case 0x0C: raw("\\f")
            case 0..<0x20:
                let digits: StaticString = "0123456789abcdef"
                raw("\\u00")
                byte(digits.utf8Start[Int(value >> 4)])
                byte(digits.utf8Start[Int(value & 0xF)])
            default: byte(value)
            }
        }
    }
}
