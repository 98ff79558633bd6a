import NIOHTTP1
import SpaceportCore

/// The header rules of a forwarding proxy (RFC 9110 §7.6) plus Spaceport's own (rule 5):
/// hop-by-hop fields stay on their hop, the forwarded request says where it came from and
/// how it was routed, and the response says which instance served it.
enum ForwardedHeaders {
    static let routeResponseHeader = "x-spaceport-route"
    static let requestIDHeader = "x-request-id"

    /// Fields that describe one connection rather than the message (RFC 9110 §7.6.1).
    static let hopByHop = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
    ]

    /// Fields a Connection header may not remove: the message's length and where it goes.
    /// Without its Content-Length, a body would reach the next hop as a request of its own.
    static let endToEnd = ["host", "content-length"]

    /// Removes hop-by-hop fields and those the Connection field names. An upgrade keeps
    /// `Upgrade` and says `Connection: upgrade`, so the next hop can switch protocols too.
    /// One pass finds out whether there is anything to remove; only then is the list rebuilt.
    static func removeHopByHop(_ headers: inout HTTPHeaders, keepingUpgrade: Bool) {
        var found = false
        var named: [Substring] = []
        var upgrade: [String] = []
        for (name, value) in headers where isHopByHop(name) {
            found = true
            if sameName(name, "connection") {
                for token in value.split(separator: ",") {
                    let trimmed = token.trimmingASCIIWhitespace()
                    if !trimmed.isEmpty && !endToEnd.contains(where: { sameName(trimmed, $0) }) {
                        named.append(trimmed)
                    }
                }
            } else if sameName(name, "upgrade") {
                upgrade.append(value)
            }
        }
        guard found else { return }
        var kept = HTTPHeaders()
        kept.reserveCapacity(headers.count + 2)
        for (name, value) in headers
        where !isHopByHop(name) && !named.contains(where: { sameName(name, $0) }) {
            kept.add(name: name, value: value)
        }
        if keepingUpgrade, !upgrade.isEmpty {
            for value in upgrade { kept.add(name: "upgrade", value: value) }
            kept.add(name: "connection", value: "upgrade")
        }
        headers = kept
    }

    /// One of `hopByHop`, in any case, without allocating.
    static func isHopByHop(_ name: String) -> Bool {
        switch name.utf8.count {
        case 2: return sameName(name, "te")
        case 7: return sameName(name, "trailer") || sameName(name, "upgrade")
        case 10: return sameName(name, "connection") || sameName(name, "keep-alive")
        case 16: return sameName(name, "proxy-connection")
        case 17: return sameName(name, "transfer-encoding")
        default: return false
        }
    }

    /// Field names compared as HTTP compares them: ASCII, case ignored. `lower` is lowercase.
    static func sameName<Name: StringProtocol, Lower: StringProtocol>(_ name: Name, _ lower: Lower) -> Bool {
        name.utf8.elementsEqual(lower.utf8) { byte, other in
            byte == other || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") && byte | 0x20 == other)
        }
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

    /// The request as the upstream receives it.
    static func request(
        _ head: HTTPRequestHead, path: String, host: String?, routeHeader: String, routeAs: String,
        requestID: String, clientIP: String?, via: String, upgrade: Bool
    ) -> HTTPRequestHead {
        var headers = head.headers
        let chunked = headers.contains(name: "transfer-encoding")
        removeHopByHop(&headers, keepingUpgrade: upgrade)
        // The decoder took the chunks apart; the encoder puts them back on this hop.
        if chunked { headers.add(name: "transfer-encoding", value: "chunked") }
        if let host { headers.replaceOrAdd(name: "host", value: host) }
        if !headers.contains(name: routeHeader) { headers.add(name: routeHeader, value: routeAs) }
        if !headers.contains(name: requestIDHeader) { headers.add(name: requestIDHeader, value: requestID) }
        if let clientIP {
            let earlier = headers["x-forwarded-for"]
            headers.remove(name: "x-forwarded-for")
            headers.add(name: "x-forwarded-for", value: (earlier + [clientIP]).joined(separator: ", "))
        }
        if let host, !headers.contains(name: "x-forwarded-host") {
            headers.add(name: "x-forwarded-host", value: host)
        }
        if !headers.contains(name: "x-forwarded-proto") {
            headers.add(name: "x-forwarded-proto", value: "http")
        }
        headers.add(name: "via", value: "\(head.version.major).\(head.version.minor) \(via)")
        return HTTPRequestHead(version: .http1_1, method: head.method, uri: path, headers: headers)
    }

    /// The response as the client receives it, in the client's HTTP version.
    static func response(
        _ head: HTTPResponseHead, version: HTTPVersion, route: String, via: String, upgrade: Bool,
        close: Bool
    ) -> HTTPResponseHead {
        var headers = head.headers
        removeHopByHop(&headers, keepingUpgrade: upgrade && head.status == .switchingProtocols)
        headers.replaceOrAdd(name: routeResponseHeader, value: route)
        headers.add(name: "via", value: "\(head.version.major).\(head.version.minor) \(via)")
        if close {
            headers.add(name: "connection", value: "close")
        } else if version.major == 1 && version.minor == 0 {
            headers.add(name: "connection", value: "keep-alive")
        }
        return HTTPResponseHead(version: version, status: head.status, headers: headers)
    }

    /// True when the response's end is marked in the message itself, not by closing the connection.
    static func isSelfDelimited(_ head: HTTPResponseHead, requestMethod: HTTPMethod) -> Bool {
        if requestMethod == .HEAD || !head.status.mayHaveResponseBody { return true }
        if head.headers.contains(name: "content-length") { return true }
        return head.headers[canonicalForm: "transfer-encoding"].last?.lowercased() == "chunked"
    }
}

extension Substring {
    /// Without the spaces and tabs around it, as list elements in a field value are read.
    func trimmingASCIIWhitespace() -> Substring {
        let isSpace = { (character: Character) in character == " " || character == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) })
        else { return self[endIndex...] }
        return self[first...last]
    }
}
