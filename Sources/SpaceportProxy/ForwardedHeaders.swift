import NIOCore
import NIOHTTP1
import SpaceportCore

/// The header rules of a forwarding proxy (RFC 9110 §7.6) plus Spaceport's own (rule 5):
/// hop-by-hop fields stay on their hop, the forwarded request says where it came from and
/// how it was routed, and the response says which instance served it.
enum ForwardedHeaders {
    static let routeResponseHeader = "x-spaceport-route"
    static let requestIDHeader = "x-request-id"

    /// Fields a Connection header may not remove: the message's length and where it goes.
    /// Without its Content-Length, a body would reach the next hop as a request of its own.
    static let endToEnd = ["host", "content-length"]

    /// The fields a Connection header names that are not hop-by-hop already, in the order given;
    /// empty (no allocation) for the usual `keep-alive`, `close` and `upgrade`.
    static func connectionNamed(_ headers: HTTPHeaders) -> [Substring] {
        var named: [Substring] = []
        for (name, value) in headers where name.utf8.count == 10 && sameName(name, "connection") {
            var rest = value[...]
            while !rest.isEmpty {
                let comma = rest.utf8.firstIndex(of: UInt8(ascii: ",")) ?? rest.endIndex
                let token = rest[..<comma].trimmingSpaces()
                if !token.isEmpty && !isHopByHop(token) && !endToEnd.contains(where: { sameName(token, $0) })
                {
                    named.append(token)
                }
                rest = comma == rest.endIndex ? rest[comma...] : rest[rest.index(after: comma)...]
            }
        }
        return named
    }

    /// A field that describes one connection rather than the message (RFC 9110 §7.6.1):
    /// connection, keep-alive, proxy-connection, te, trailer, transfer-encoding or upgrade, in
    /// any case, found without allocating.
    static func isHopByHop<Name: StringProtocol>(_ name: Name) -> Bool {
        switch name.utf8.count {
        case 2: return sameName(name, "te")
        case 7: return sameName(name, "trailer") || sameName(name, "upgrade")
        case 10: return sameName(name, "connection") || sameName(name, "keep-alive")
        case 16: return sameName(name, "proxy-connection")
        case 17: return sameName(name, "transfer-encoding")
        default: return false
        }
    }

    /// Field names compared as HTTP compares them: ASCII, case ignored on both sides.
    static func sameName<Name: StringProtocol, Other: StringProtocol>(_ name: Name, _ other: Other) -> Bool {
        Bytes.sameName(name.utf8, other.utf8)
    }

    /// More passes through one proxy than any chain of calls needs: an upstream points back at it.
    static let maxPassesThrough = 16

    /// How many times the request has passed through the proxy called `via`, by its Via entries.
    static func timesThrough(_ head: HTTPRequestHead, via: String) -> Int {
        head.headers[canonicalForm: "via"].reduce(0) { count, entry in
            entry.split(separator: " ").dropFirst().first.map { $0 == via ? count + 1 : count } ?? count
        }
    }

    /// True when the request asks to switch protocols (a WebSocket, say).
    static func isUpgrade(_ head: HTTPRequestHead) -> Bool {
        head.headers.contains(name: "upgrade")
            && head.headers[canonicalForm: "connection"].contains { $0.lowercased() == "upgrade" }
    }

    /// The request head as the upstream receives it, written straight into bytes: the
    /// client's end-to-end fields as they came (less those the proxy sets itself), then the
    /// proxy's. Returns whether the body goes in chunks on this hop (it came in chunks).
    @discardableResult
    static func writeRequest(
        _ head: HTTPRequestHead, into buffer: inout ByteBuffer, path: String, host: String?,
        routeHeader: String,
        routeAs: String, requestID: String, clientIP: String?, via: String, upgrade: Bool
    ) -> Bool {
        buffer.writeString(head.method.rawValue)
        buffer.writeStaticString(" ")
        buffer.writeString(path)
        buffer.writeStaticString(" HTTP/1.1\r\n")
        var hasRoute = false
        var hasRequestID = false
        var hasForwardedHost = false
        var hasForwardedProto = false
        var forwardedFor: String?
        var chunked = false
        var upgrades: [String] = []
        let named = connectionNamed(head.headers)
        let routeHeaderLength = routeHeader.utf8.count
        for (name, value) in head.headers {
            // Each name is compared only with the names of its length: a browser sends a dozen
            // fields, and most match none of the ones below.
            let length = name.utf8.count
            if isHopByHop(name) {
                if length == 17 && sameName(name, "transfer-encoding") {
                    chunked = true
                } else if upgrade && length == 7 && sameName(name, "upgrade") {
                    upgrades.append(value)
                }
                continue
            }
            if !named.isEmpty && named.contains(where: { sameName(name, $0) }) { continue }
            if host != nil && length == 4 && sameName(name, "host") { continue }
            if clientIP != nil && length == 15 && sameName(name, "x-forwarded-for") {
                forwardedFor = forwardedFor.map { $0 + ", " + value } ?? value
                continue
            }
            if length == routeHeaderLength && sameName(name, routeHeader) {
                hasRoute = true
            } else if length == 12 && sameName(name, requestIDHeader) {
                hasRequestID = true
            } else if length == 16 && sameName(name, "x-forwarded-host") {
                hasForwardedHost = true
            } else if length == 17 && sameName(name, "x-forwarded-proto") {
                hasForwardedProto = true
            }
            buffer.writeField(name, value)
        }
        if !upgrades.isEmpty {
            for value in upgrades { buffer.writeField("upgrade", value) }
            buffer.writeStaticString("connection: upgrade\r\n")
        }
        // The decoder took the chunks apart; the upstream handler puts them back on this hop.
        if chunked { buffer.writeStaticString("transfer-encoding: chunked\r\n") }
        if let host { buffer.writeField("host", host) }
        if !hasRoute { buffer.writeField(routeHeader, routeAs) }
        if !hasRequestID { buffer.writeField(requestIDHeader, requestID) }
        if let clientIP {
            buffer.writeField("x-forwarded-for", forwardedFor.map { $0 + ", " + clientIP } ?? clientIP)
        }
        if let host, !hasForwardedHost { buffer.writeField("x-forwarded-host", host) }
        if !hasForwardedProto { buffer.writeStaticString("x-forwarded-proto: http\r\n") }
        writeVia(head.version, via, into: &buffer)
        buffer.writeStaticString("\r\n")
        return chunked
    }

    /// The response head as the client receives it, in the client's HTTP version, written
    /// from the upstream's bytes: end-to-end fields copied as they came, hop-by-hop ones
    /// left out (an upgrade's `Upgrade` stays when `upgrade`), then the proxy's own fields.
    /// `chunked`: the body goes to the client in chunks (its length is not known up front).
    static func writeResponseHead(
        _ head: UpstreamHead, into buffer: inout ByteBuffer, version: HTTPVersion, route: String, via: String,
        upgrade: Bool, close: Bool, chunked: Bool
    ) {
        buffer.writeStaticString(version.isAtLeast11 ? "HTTP/1.1 " : "HTTP/1.0 ")
        buffer.writeString(String(head.status))
        buffer.writeStaticString(" ")
        head.bytes.withUnsafeReadableBytes { bytes in
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[head.reason]))
            buffer.writeStaticString("\r\n")
            for field in head.fields {
                switch field.role {
                case .endToEnd: break
                case .dropped: continue
                case .upgrade: if !upgrade { continue }
                }
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[field.name]))
                buffer.writeStaticString(": ")
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[field.value]))
                buffer.writeStaticString("\r\n")
            }
        }
        if upgrade { buffer.writeStaticString("connection: upgrade\r\n") }
        buffer.writeStaticString("x-spaceport-route: ")
        buffer.writeString(route)
        buffer.writeStaticString("\r\n")
        writeVia(head.version, via, into: &buffer)
        if close {
            buffer.writeStaticString("connection: close\r\n")
        } else if !version.isAtLeast11 {
            buffer.writeStaticString("connection: keep-alive\r\n")
        }
        if chunked { buffer.writeStaticString("transfer-encoding: chunked\r\n") }
        buffer.writeStaticString("\r\n")
    }

    /// A Via field (RFC 9110 §7.6.3): the protocol version the message arrived in, then the proxy.
    static func writeVia(_ version: HTTPVersion, _ via: String, into buffer: inout ByteBuffer) {
        if version == .http1_1 {
            buffer.writeStaticString("via: 1.1 ")
        } else {
            buffer.writeString("via: \(version.major).\(version.minor) ")
        }
        buffer.writeString(via)
        buffer.writeStaticString("\r\n")
    }
}

extension ByteBuffer {
    /// One field line of a head: `name: value` and its CRLF.
    mutating func writeField(_ name: String, _ value: String) {
        writeString(name)
        writeStaticString(": ")
        writeString(value)
        writeStaticString("\r\n")
    }
}
