import NIOHTTP1
import SpaceportCore

/// What a demo service passes on, of the route context it was called with, when it calls the
/// next service: the three kinds of app the proxy meets (docs/routing.md, "Carrying the route").
/// In the order the demo's key cycles them, from the one the forgetful service starts in.
public enum DemoForwarding: String, CaseIterable, Sendable {
    /// Nothing: its call carries no route and no trace, so it routes as the caller's own space
    /// and the proxy marks it `lost` when the request it serves was routed as another.
    case nothing
    /// `traceparent` alone, as an OpenTelemetry app that propagates no baggage: trace memory
    /// routes its call as its trace was routed, and the proxy marks it `restored`.
    case traceparent
    /// The route header, `baggage` and `traceparent`: the route goes on (`kept`, or `bridged`
    /// when the proxy adds the carriers it did not pass on).
    case everything

    /// The next in the key's cycle.
    public var next: DemoForwarding {
        let all = Self.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }

    /// What the status bar says the service does.
    public var summary: String {
        switch self {
        case .nothing: return "passes on nothing"
        case .traceparent: return "passes on only traceparent"
        case .everything: return "passes on everything"
        }
    }

    /// What becomes of the route of the service's calls.
    public var effect: String {
        switch self {
        case .nothing: return "its calls lose the route (lost)"
        case .traceparent: return "trace memory restores the route of its calls (restored)"
        case .everything: return "its calls carry the route (kept, or bridged)"
        }
    }

    /// The fields a call carries on from `incoming`, the request being served. The request id,
    /// which only names the flow, always goes on, so the dashboard shows a call in its flow.
    func fields(from incoming: HTTPHeaders, routeHeader: String) -> [(String, String)] {
        var fields: [(String, String)] = []
        if let requestID = incoming.first(name: "x-request-id") { fields.append(("x-request-id", requestID)) }
        if self == .nothing { return fields }
        // A service starts a span of its own for the call, in the same trace.
        if let parent = TraceParent(fields: incoming["traceparent"]) {
            fields.append(("traceparent", DemoTrace.child(of: parent)))
        }
        if self == .traceparent { return fields }
        if let routeAs = incoming.first(name: routeHeader) { fields.append((routeHeader, routeAs)) }
        for baggage in incoming["baggage"] { fields.append(("baggage", baggage)) }
        return fields
    }
}

/// W3C `traceparent` values as the demo's apps make them: a new trace for each request the
/// traffic generator sends, a new span in the same trace for each call a service makes.
enum DemoTrace {
    /// A sampled trace's first span.
    static func start() -> String {
        var random = SystemRandomNumberGenerator()
        let trace = TraceID(high: random.next(), low: random.next() | 1)
        return value(trace, flags: 1)
    }

    /// A span of `parent`'s trace, with `parent`'s flags.
    static func child(of parent: TraceParent) -> String {
        value(parent.traceID, flags: parent.flags)
    }

    private static func value(_ trace: TraceID, flags: UInt8) -> String {
        var random = SystemRandomNumberGenerator()
        let span = ParentID(random.next() | 1)
        let hex = String(flags, radix: 16)
        return "00-\(trace)-\(span)-\(hex.count == 1 ? "0" + hex : hex)"
    }
}
