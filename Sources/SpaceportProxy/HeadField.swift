/// One field of a head the proxy read (a client's request, an upstream's response): where
/// its name and value sit in the head's bytes, and what it means to the proxy, in the
/// request's or the response's own vocabulary (`Kind`).
struct HeadField<Kind> {
    var name: Range<Int>
    var value: Range<Int>
    var kind: Kind
}

/// The field names either parser gives a meaning to: one table, looked up once per field by
/// the name's length and then its bytes without case. Each parser says what each name means
/// on its side (`ClientHead.Kind`, `UpstreamHead.Role`).
enum FieldName {
    case connection, keepAlive, proxyConnection, te, trailer, upgrade
    case transferEncoding, contentLength, host, expect, via
    case requestID, forwardedFor, forwardedHost, forwardedProto
    /// W3C trace context and baggage: where a request's route may travel without its route header.
    case traceparent, baggage
    /// `x-spaceport-route`, the proxy's own response field.
    case spaceportRoute

    static func lookup(_ name: Slice<UnsafeRawBufferPointer>) -> FieldName? {
        switch name.count {
        case 2 where Bytes.sameName(name, "te".utf8): return .te
        case 3 where Bytes.sameName(name, "via".utf8): return .via
        case 4 where Bytes.sameName(name, "host".utf8): return .host
        case 6 where Bytes.sameName(name, "expect".utf8): return .expect
        case 7 where Bytes.sameName(name, "trailer".utf8): return .trailer
        case 7 where Bytes.sameName(name, "upgrade".utf8): return .upgrade
        case 7 where Bytes.sameName(name, "baggage".utf8): return .baggage
        case 11 where Bytes.sameName(name, "traceparent".utf8): return .traceparent
        case 10 where Bytes.sameName(name, "connection".utf8): return .connection
        case 10 where Bytes.sameName(name, "keep-alive".utf8): return .keepAlive
        case 12 where Bytes.sameName(name, "x-request-id".utf8): return .requestID
        case 14 where Bytes.sameName(name, "content-length".utf8): return .contentLength
        case 15 where Bytes.sameName(name, "x-forwarded-for".utf8): return .forwardedFor
        case 16 where Bytes.sameName(name, "proxy-connection".utf8): return .proxyConnection
        case 16 where Bytes.sameName(name, "x-forwarded-host".utf8): return .forwardedHost
        case 17 where Bytes.sameName(name, "transfer-encoding".utf8): return .transferEncoding
        case 17 where Bytes.sameName(name, "x-forwarded-proto".utf8): return .forwardedProto
        case 17 where Bytes.sameName(name, "x-spaceport-route".utf8): return .spaceportRoute
        default: return nil
        }
    }

    /// Hop-by-hop whatever the message (RFC 9110 §7.6.1); Connection and Upgrade are said apart.
    var isHopByHop: Bool {
        switch self {
        case .keepAlive, .proxyConnection, .te, .trailer: return true
        default: return false
        }
    }
}

extension Bytes {
    /// An empty field list for the next head, in the storage of `spare` (the last head's) when
    /// that head is gone, so a head read on a kept-alive connection allocates no list.
    static func reused<Kind>(_ spare: inout [HeadField<Kind>]) -> [HeadField<Kind>] {
        var fields = spare
        spare = []
        fields.removeAll(keepingCapacity: true)
        if fields.capacity < 12 { fields.reserveCapacity(12) }
        return fields
    }

    /// Gives the fields a Connection header names (`tokens`) the kind `named`: they are
    /// hop-by-hop for this message (RFC 9110 §7.6.1). The message's length and its Host
    /// stay, whatever Connection says, and so do fields `keep` spares.
    static func markNamedByConnection<Kind>(
        _ tokens: [Range<Int>], in fields: inout [HeadField<Kind>], _ raw: UnsafeRawBufferPointer,
        as named: Kind, keep: (Kind) -> Bool = { _ in false }
    ) {
        for token in tokens {
            let word = raw[token]
            if sameName(word, "content-length".utf8) || sameName(word, "host".utf8) { continue }
            for index in fields.indices where !keep(fields[index].kind) {
                if sameName(raw[fields[index].name], word) { fields[index].kind = named }
            }
        }
    }
}
