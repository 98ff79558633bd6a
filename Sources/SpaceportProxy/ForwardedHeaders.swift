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
    static let endToEnd: Set<String> = ["host", "content-length"]

    /// Removes hop-by-hop fields and those the Connection field names. An upgrade keeps
    /// `Upgrade` and says `Connection: upgrade`, so the next hop can switch protocols too.
    static func removeHopByHop(_ headers: inout HTTPHeaders, keepingUpgrade: Bool) {
        let named = headers[canonicalForm: "connection"].map { $0.lowercased() }
        let upgrade = headers["upgrade"]
        for name in hopByHop + named where !endToEnd.contains(name) {
            headers.remove(name: name)
        }
        if keepingUpgrade, !upgrade.isEmpty {
            for value in upgrade { headers.add(name: "upgrade", value: value) }
            headers.add(name: "connection", value: "upgrade")
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
