import NIOCore
import SpaceportCore

/// A hop's feed line written by hand: the same bytes as `FeedEvent.hop(hop).jsonLine()`,
/// an order of magnitude faster than Foundation's encoder. Every hop a proxy publishes is
/// encoded once for its readers, on event loops that also carry traffic.
enum HopJSON {
    static func line(_ hop: HopEvent) -> ByteBuffer {
        if let duration = hop.durationMs, !duration.isFinite {
            return ByteBuffer(string: FeedEvent.hop(hop).jsonLine())
        }
        var out = ByteBuffer()
        out.reserveCapacity(
            512 + (hop.host?.utf8.count ?? 0) + (hop.path?.utf8.count ?? 0) + (hop.error?.utf8.count ?? 0))
        out.writeStaticString("{\"bytesIn\":")
        out.writeString(String(hop.bytesIn))
        out.writeStaticString(",\"bytesOut\":")
        out.writeString(String(hop.bytesOut))
        out.writeStaticString(",\"durationMs\":")
        if let duration = hop.durationMs {
            write(duration, into: &out)
        } else {
            out.writeStaticString("null")
        }
        out.writeStaticString(",\"error\":")
        write(hop.error, into: &out)
        out.writeStaticString(",\"flow\":")
        write(hop.flow, into: &out)
        out.writeStaticString(",\"from\":")
        if let from = hop.from {
            out.writeStaticString("{\"service\":")
            write(from.service, into: &out)
            out.writeStaticString(",\"space\":")
            write(from.space, into: &out)
            out.writeStaticString("}")
        } else {
            out.writeStaticString("null")
        }
        out.writeStaticString(",\"host\":")
        write(hop.host, into: &out)
        out.writeStaticString(",\"id\":")
        write(hop.id, into: &out)
        out.writeStaticString(",\"listener\":")
        write(hop.listener, into: &out)
        out.writeStaticString(",\"method\":")
        write(hop.method, into: &out)
        out.writeStaticString(",\"path\":")
        write(hop.path, into: &out)
        out.writeStaticString(",\"phase\":")
        write(hop.phase.rawValue, into: &out)
        out.writeStaticString(",\"protocol\":")
        write(hop.protocol.rawValue, into: &out)
        out.writeStaticString(",\"proxy\":")
        write(hop.proxy, into: &out)
        out.writeStaticString(",\"routeAs\":")
        write(hop.routeAs, into: &out)
        out.writeStaticString(",\"routeAsSource\":")
        write(hop.routeAsSource?.rawValue, into: &out)
        out.writeStaticString(",\"service\":")
        write(hop.service, into: &out)
        out.writeStaticString(",\"space\":")
        write(hop.space, into: &out)
        out.writeStaticString(",\"status\":")
        if let status = hop.status { out.writeString(String(status)) } else { out.writeStaticString("null") }
        out.writeStaticString(",\"time\":")
        write(hop.time, into: &out)
        out.writeStaticString(",\"tried\":[")
        for (index, space) in hop.tried.enumerated() {
            if index > 0 { out.writeStaticString(",") }
            write(space, into: &out)
        }
        out.writeStaticString("],\"type\":\"hop\",\"upstream\":")
        write(hop.upstream, into: &out)
        out.writeStaticString(",\"v\":1}\n")
        return out
    }

    /// As Foundation writes a Double: its shortest form, without a trailing `.0`.
    private static func write(_ value: Double, into out: inout ByteBuffer) {
        let text = value.description
        out.writeString(text.hasSuffix(".0") ? String(text.dropLast(2)) : text)
    }

    private static func write(_ text: String?, into out: inout ByteBuffer) {
        guard let text else {
            out.writeStaticString("null")
            return
        }
        out.writeInteger(UInt8(ascii: "\""))
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            out.writeString(text)
        } else {
            for byte in text.utf8 { escape(byte, into: &out) }
        }
        out.writeInteger(UInt8(ascii: "\""))
    }

    /// JSON's escapes, in Foundation's spelling: short forms where they exist, else `\u00xx`.
    private static func escape(_ byte: UInt8, into out: inout ByteBuffer) {
        switch byte {
        case UInt8(ascii: "\""): out.writeStaticString("\\\"")
        case UInt8(ascii: "\\"): out.writeStaticString("\\\\")
        case 0x0A: out.writeStaticString("\\n")
        case 0x0D: out.writeStaticString("\\r")
        case 0x09: out.writeStaticString("\\t")
        case 0x08: out.writeStaticString("\\b")
        case 0x0C: out.writeStaticString("\\f")
        case 0..<0x20:
            let digits: StaticString = "0123456789abcdef"
            out.writeStaticString("\\u00")
            out.writeInteger(digits.utf8Start[Int(byte >> 4)])
            out.writeInteger(digits.utf8Start[Int(byte & 0xF)])
        default: out.writeInteger(byte)
        }
    }
}
