import NIOHPACK
import SpaceportCore

/// What an HTTP/2 stream's header block says to the proxy, and the blocks it sends on: the same
/// carriers and forwarded fields as `ForwardedHeaders` writes for HTTP/1, in HPACK's form.
enum HTTP2Headers {
    /// Fields HTTP/2 forbids (RFC 9113 §8.2.2): they belong to one HTTP/1 connection.
    static let connectionSpecific: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
    ]

    /// The request's `:authority`, else its Host (RFC 9113 §8.3.1).
    static func authority(_ headers: HPACKHeaders) -> String? {
        headers.first(name: ":authority") ?? headers.first(name: "host")
    }

    /// A gRPC call: its content-type is `application/grpc` or one of its `+format` forms.
    static func isGRPC(_ headers: HPACKHeaders) -> Bool {
        headers.first(name: "content-type")?.lowercased().hasPrefix("application/grpc") ?? false
    }

    /// How many Via entries name `proxy`: a request seen too often loops.
    static func timesThrough(_ headers: HPACKHeaders, via proxy: String) -> Int {
        var count = 0
        for value in headers[canonicalForm: "via"] {
            if value.split(separator: " ").dropFirst().first == proxy[...] { count += 1 }
        }
        return count
    }

    /// The request block the upstream gets: the client's fields less the connection-specific
    /// ones, the carriers the bridge adds, a request id, X-Forwarded-*, and Via.
    static func forwardedRequest(
        _ headers: HPACKHeaders, bridge: CarrierBridge, requestID: String, clientIP: String?, via: String,
        keepsForwarded: Bool
    ) -> HPACKHeaders {
        var out = HPACKHeaders()
        out.reserveCapacity(headers.count + 8)
        var forwardedFor: [String] = []
        var hasRequestID = false
        var hasForwardedHost = false
        var hasForwardedProto = false
        for (name, value, indexing) in headers {
            switch name {
            case _ where connectionSpecific.contains(name): continue
            // Only `te: trailers` may cross (RFC 9113 §8.2.2), and gRPC requires it.
            case "te": if value.lowercased() != "trailers" { continue }
            case "baggage":
                if bridge.baggage != nil { continue }
                if let suffix = bridge.baggageSuffix {
                    out.add(name: name, value: value + "," + suffix, indexing: indexing)
                    continue
                }
            case "x-request-id": hasRequestID = true
            case "x-forwarded-for":
                if clientIP != nil {
                    forwardedFor.append(value)
                    continue
                }
            case "x-forwarded-host":
                if !keepsForwarded { continue }
                hasForwardedHost = true
            case "x-forwarded-proto":
                if !keepsForwarded { continue }
                hasForwardedProto = true
            default: break
            }
            out.add(name: name, value: value, indexing: indexing)
        }
        bridge.forEachAddedHeader { out.add(name: $0, value: bridge.routeAs) }
        if let baggage = bridge.baggage { out.add(name: "baggage", value: baggage) }
        if !hasRequestID { out.add(name: ForwardedHeaders.requestIDHeader, value: requestID) }
        if let clientIP {
            out.add(name: "x-forwarded-for", value: (forwardedFor + [clientIP]).joined(separator: ", "))
        }
        if let host = authority(headers), !hasForwardedHost { out.add(name: "x-forwarded-host", value: host) }
        if !hasForwardedProto { out.add(name: "x-forwarded-proto", value: "http") }
        out.add(name: "via", value: "2 \(via)")
        return out
    }

    /// A response block as the client gets it: connection-specific fields dropped, and, on the
    /// head, which instance answered (`x-spaceport-route`).
    static func forwardedResponse(_ headers: HPACKHeaders, route: String?) -> HPACKHeaders {
        var out = HPACKHeaders()
        out.reserveCapacity(headers.count + 1)
        for (name, value, indexing) in headers where !connectionSpecific.contains(name) {
            out.add(name: name, value: value, indexing: indexing)
        }
        if let route { out.add(name: ForwardedHeaders.routeResponseHeader, value: route) }
        return out
    }
}

extension RoutingFields {
    /// What routing reads from an HTTP/2 stream's header block: the same fields as from an
    /// HTTP/1 head, with `:authority` as the Host.
    init(_ headers: HPACKHeaders, plan: CarrierPlan) {
        let routeHeader = plan.routeHeader.lowercased()
        if let authority = headers.first(name: ":authority") {
            host = authority
            hostCount = 1
        } else {
            let hosts = headers[canonicalForm: "host"]
            host = hosts.first.map { String($0) }
            hostCount = hosts.count
        }
        for (name, value, _) in headers {
            switch name {
            case "x-request-id": if requestID == nil { requestID = value }
            case "baggage": baggage.append(value)
            case "traceparent":
                traceparentCount += 1
                if traceparent == nil { traceparent = value }
            case routeHeader:
                present |= 1
                routeCount += 1
                if let first = routeValue {
                    if first != value { routeValuesDiffer = true }
                } else {
                    routeValue = value
                }
            default:
                for index in plan.headers.indices.dropFirst() where index < 64 {
                    guard plan.headers[index].name.lowercased() == name, present & (1 << index) == 0 else {
                        continue
                    }
                    present |= 1 << index
                    otherCarriers.append((index, value))
                }
            }
        }
    }
}
