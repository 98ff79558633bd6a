import NIOCore
import NIOHTTP1
import SpaceportCore

/// The header rules of a forwarding proxy (RFC 9110 §7.6) plus Spaceport's own (routing rule 5, docs/routing.md):
/// hop-by-hop fields stay on their hop, the forwarded request says where it came from and
/// how it was routed, and the response says which instance served it.
enum ForwardedHeaders {
    static let routeResponseHeader = "x-spaceport-route"
    static let requestIDHeader = "x-request-id"

    /// More passes through one proxy than any chain of calls needs: an upstream points back at it.
    static let maxPassesThrough = 16

    /// How many times the request has passed through the proxy called `via`, by its Via entries.
    static func timesThrough(_ head: ClientHead, via: String) -> Int {
        var count = 0
        for field in head.fields where field.kind == .via {
            for entry in head.value(field).split(separator: ",") {
                if entry.split(separator: " ").dropFirst().first == via[...] { count += 1 }
            }
        }
        return count
    }

    /// Fields that carry a request's flow or its trace from end to end: a client's Connection
    /// field cannot make them hop-by-hop, since the next call in the chain needs them after
    /// the proxy has routed by them. The carrier headers of the spaces file are such too.
    static let endToEnd = ["x-request-id", "traceparent", "tracestate", "baggage"]

    static func isEndToEnd(_ name: Slice<UnsafeRawBufferPointer>, _ bridge: CarrierBridge) -> Bool {
        endToEnd.contains { Bytes.sameName(name, $0.utf8) }
            || bridge.headers.contains {
                $0.name.utf8.count == name.count && Bytes.sameName(name, $0.name.utf8)
            }
    }

    /// The request head as the upstream receives it, written straight into bytes: the
    /// client's end-to-end fields copied as they came (less those the proxy sets itself),
    /// then the proxy's. Returns whether the body goes in chunks on this hop (it came in chunks).
    /// `bridge`: the route carriers it gains (carrier headers the client sent go on as sent).
    /// `keepsForwarded`: the client's X-Forwarded-Host and -Proto stand (else the proxy's replace them).
    @discardableResult
    static func writeRequest(
        _ head: ClientHead, into buffer: inout ByteBuffer, path: String, host: String?, bridge: CarrierBridge,
        requestID: String, clientIP: String?, via: String, keepsForwarded: Bool = true
    ) -> Bool {
        var hasRequestID = false
        var hasForwardedHost = false
        var hasForwardedProto = false
        var upgrades = 0
        let upgrade = head.isUpgrade
        // Every field twice (an upgrade's and X-Forwarded-For's are written again) with room for
        // ": " and CRLF, what the proxy adds, and its fixed text (under 200 bytes).
        var bound = 2 * head.bytes.readableBytes + 4 * head.fields.count + 256
        bound += head.method.rawValue.utf8.count + path.utf8.count + 2 * (host?.utf8.count ?? 0)
        bound += bridge.headers.reduce(0) { $0 + $1.name.utf8.count + bridge.routeAs.utf8.count + 4 }
        bound += (bridge.baggage?.utf8.count ?? 0) + (bridge.baggageSuffix?.utf8.count ?? 0)
        bound += requestID.utf8.count + (clientIP?.utf8.count ?? 0)
        bound += via.utf8.count
        head.bytes.withUnsafeReadableBytes { raw in
            buffer.writeHead(atMost: bound) { out in
                out.put(head.method.rawValue)
                out.put(" ")
                out.put(path)
                out.put(" HTTP/1.1\r\n")
                for field in head.fields {
                    switch field.kind {
                    case .other, .contentLength, .via: break
                    case .host: if host != nil { continue }
                    case .hopByHop, .connection, .transferEncoding: continue
                    case .named: if !isEndToEnd(raw[field.name], bridge) { continue }
                    case .traceparent: break
                    // The proxy's own baggage field, carrying route-as, stands for the client's.
                    case .baggage:
                        if bridge.baggage != nil { continue }
                        if let suffix = bridge.baggageSuffix {
                            out.put(raw[field.name])
                            out.put(": ")
                            out.put(raw[field.value])
                            out.put(",")
                            out.put(suffix)
                            out.put("\r\n")
                            continue
                        }
                    case .upgrade:
                        if upgrade { upgrades += 1 }
                        continue
                    case .requestID: hasRequestID = true
                    case .forwardedHost:
                        if !keepsForwarded { continue }
                        hasForwardedHost = true
                    case .forwardedProto:
                        if !keepsForwarded { continue }
                        hasForwardedProto = true
                    case .forwardedFor: if clientIP != nil { continue }
                    }
                    out.field(raw, field.name, field.value)
                }
                if upgrades > 0 {
                    for field in head.fields where field.kind == .upgrade {
                        out.field(raw, field.name, field.value)
                    }
                    out.put("connection: upgrade\r\n")
                }
                // The decoder took the chunks apart; the upstream handler puts them back on this hop.
                if head.framing == .chunked { out.put("transfer-encoding: chunked\r\n") }
                if let host { out.field("host", host) }
                bridge.forEachAddedHeader { out.field($0, bridge.routeAs) }
                if let baggage = bridge.baggage { out.field("baggage", baggage) }
                if !hasRequestID { out.field(requestIDHeader, requestID) }
                if let clientIP {
                    out.put("x-forwarded-for: ")
                    // Every X-Forwarded-For the client sent, in order, then the client itself.
                    for field in head.fields where field.kind == .forwardedFor {
                        out.put(raw[field.value])
                        out.put(", ")
                    }
                    out.put(clientIP)
                    out.put("\r\n")
                }
                if let host, !hasForwardedHost { out.field("x-forwarded-host", host) }
                if !hasForwardedProto { out.put("x-forwarded-proto: http\r\n") }
                writeVia(head.version, via, into: &out)
                out.put("\r\n")
            }
        }
        return head.framing == .chunked
    }

    /// Trailer fields that never pass, either way (RFC 9110 §6.5.1): those that frame, route,
    /// authenticate or control a message, and the proxy's own. A recipient that merges trailers
    /// into the head would otherwise be re-framed, re-routed or told which instance served it
    /// by whoever sent the body.
    static let forbiddenTrailers: Set<String> = [
        "content-length", "transfer-encoding", "content-encoding", "content-type", "content-range",
        "trailer", "host", "connection", "keep-alive", "proxy-connection", "te", "upgrade", "via",
        "forwarded", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-request-id",
        routeResponseHeader, "traceparent", "tracestate", "baggage", "authorization",
        "proxy-authorization", "www-authenticate", "proxy-authenticate", "cookie", "set-cookie",
        "cache-control", "expect", "max-forwards", "pragma", "range", "if-match", "if-none-match",
        "if-modified-since", "if-unmodified-since", "if-range", "age", "expires", "date", "location",
        "retry-after", "vary", "warning",
    ]

    /// The trailers that may go on to the next hop; nil when none are left. `carriers`: the
    /// route carrier headers, which route and so never come in trailers.
    static func forwardable(_ trailers: HTTPHeaders?, carriers: CarrierPlan) -> HTTPHeaders? {
        guard let trailers else { return nil }
        var kept = HTTPHeaders()
        for (name, value) in trailers {
            let lowered = name.lowercased()
            if forbiddenTrailers.contains(lowered) || carriers.headers.contains(where: { $0.name == lowered })
            {
                continue
            }
            kept.add(name: name, value: value)
        }
        return kept.isEmpty ? nil : kept
    }

    /// The response head as the client receives it, in the client's HTTP version, written
    /// from the upstream's bytes: end-to-end fields copied as they came, hop-by-hop ones
    /// left out (an upgrade's `Upgrade` stays when `upgrade`), then the proxy's own fields.
    /// `chunked`: the body goes to the client in chunks (its length is not known up front).
    static func writeResponseHead(
        _ head: UpstreamHead, into buffer: inout ByteBuffer, version: HTTPVersion, route: String, via: String,
        upgrade: Bool, close: Bool, chunked: Bool
    ) {
        // The upstream's fields with room for ": " and CRLF, the proxy's own and its fixed text.
        let bound = head.bytes.readableBytes + 4 * head.fields.count + route.utf8.count + via.utf8.count + 256
        head.bytes.withUnsafeReadableBytes { bytes in
            buffer.writeHead(atMost: bound) { out in
                out.put(version.isAtLeast11 ? "HTTP/1.1 " : "HTTP/1.0 ")
                out.put(String(head.status))
                out.put(" ")
                out.put(bytes[head.reason])
                out.put("\r\n")
                for field in head.fields {
                    switch field.kind {
                    case .endToEnd: break
                    case .dropped: continue
                    case .upgrade: if !upgrade { continue }
                    }
                    out.field(bytes, field.name, field.value)
                }
                if upgrade { out.put("connection: upgrade\r\n") }
                out.put("x-spaceport-route: ")
                out.put(route)
                out.put("\r\n")
                writeVia(head.version, via, into: &out)
                if close {
                    out.put("connection: close\r\n")
                } else if !version.isAtLeast11 {
                    out.put("connection: keep-alive\r\n")
                }
                if chunked { out.put("transfer-encoding: chunked\r\n") }
                out.put("\r\n")
            }
        }
    }

    /// A Via field (RFC 9110 §7.6.3): the protocol version the message arrived in, then the proxy.
    static func writeVia(_ version: HTTPVersion, _ via: String, into out: inout HeadBytes) {
        if version == .http1_1 {
            out.put("via: 1.1 ")
        } else {
            out.put("via: \(version.major).\(version.minor) ")
        }
        out.put(via)
        out.put("\r\n")
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
