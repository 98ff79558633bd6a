import SpaceportCore

/// One finished hop as `spaceport tail` prints it:
/// `12:03:04.123  GET  servicea.localhost/api  as azureuser (header)  servicea → default (fallback)  200  12 ms`,
/// with the HTTP spoken upstream when it was not the client's, and what became of the route
/// context when it was lost or restored, before the status.
/// Every string from the network is clipped and escaped first.
public enum HopLine {
    public static func format(_ hop: HopEvent, withClock: Bool = true) -> String {
        var parts = withClock ? [clock(hop.time)] : []
        parts.append(verb(hop))
        parts.append(target(hop))
        parts.append(routeAs(hop))
        parts.append(resolution(hop))
        if let spoken = hop.upstreamProtocol { parts.append("upstream " + spoken.rawValue) }
        if let mark = mark(hop) { parts.append(mark) }
        if let original = hop.replayOf { parts.append("replay of \(Printable.clip(original, max: 63))") }
        parts.append(hop.status.map(String.init) ?? "—")
        if let code = hop.grpcStatus { parts.append(GRPCStatus.describe(code)) }
        if let duration = hop.durationMs { parts.append(milliseconds(duration)) }
        if let error = hop.error { parts.append("! " + Printable.clip(error, max: 120)) }
        return parts.joined(separator: "  ")
    }

    /// `HH:MM:SS.mmm` from an event time (UTC).
    public static func clock(_ time: String) -> String {
        let characters = Array(time)
        guard characters.count >= 23, characters[10] == "T" else { return Printable.clip(time, max: 24) }
        return Printable.clip(String(characters[11..<23]))
    }

    static func verb(_ hop: HopEvent) -> String {
        switch hop.protocol {
        case .tcp: return "TCP"
        case .websocket: return "WS " + Printable.clip(hop.method ?? "GET", max: 10)
        case .http: return Printable.clip(hop.method ?? "?", max: 10)
        case .h2: return "H2 " + Printable.clip(hop.method ?? "?", max: 10)
        case .grpc: return "gRPC"
        }
    }

    static func target(_ hop: HopEvent) -> String {
        let host = hop.host ?? hop.service ?? "?"
        return Printable.clip(host, max: 60) + Printable.clip(hop.path ?? "", max: 60)
    }

    /// `as azureuser (header)`; a route-as naming no space shows where it went instead.
    static func routeAs(_ hop: HopEvent) -> String {
        var source = hop.routeAsSource?.rawValue ?? "?"
        if hop.unknownRouteAs != nil {
            source += ", unknown: as \(Printable.clip(hop.routeAs ?? "?", max: 63))"
        }
        if let from = hop.from {
            source += ", from \(Printable.clip(from.space, max: 63))/\(Printable.clip(from.service, max: 63))"
        }
        return "as \(Printable.clip(hop.unknownRouteAs ?? hop.routeAs ?? "?", max: 63)) (\(source))"
    }

    /// `servicea → default`, marked when an ancestor served it, `→ none` when no one did.
    static func resolution(_ hop: HopEvent) -> String {
        let service = Printable.clip(hop.service ?? "?", max: 63)
        guard let space = hop.space else { return "\(service) → none" }
        let marker =
            hop.isFallback ? " (fallback from \(Printable.clip(hop.tried.first ?? "?", max: 63)))" : ""
        return "\(service) → \(Printable.clip(space, max: 63))\(marker)"
    }

    /// `lost (dropped by servicea@default, expected hotfix)` or `restored by trace`; nothing for
    /// a context kept or bridged, or one nothing could be known of.
    static func mark(_ hop: HopEvent) -> String? {
        switch hop.propagation {
        case .lost?:
            var facts: [String] = []
            if let by = hop.lostBy {
                facts.append(
                    "dropped by \(Printable.clip(by.service, max: 63))@\(Printable.clip(by.space, max: 63))")
            }
            if let expected = hop.expected { facts.append("expected \(Printable.clip(expected, max: 63))") }
            return facts.isEmpty ? "lost" : "lost (\(facts.joined(separator: ", ")))"
        case .restored?: return "restored by trace"
        case .kept?, .bridged?, nil: return nil
        }
    }

    static func milliseconds(_ value: Double) -> String {
        guard value.isFinite, value >= 0 else { return "? ms" }
        if value < 10 { return "\((value * 10).rounded() / 10) ms" }
        return "\(Int(value.rounded())) ms"
    }
}
