/// How a request's route travels through the services it reaches: which fields carry route-as
/// (the `propagation` section of the spaces file), whether the proxy writes each on the way out,
/// and how long it remembers which space a trace was routed as. Read in the order of
/// `docs/routing.md`: the route header, then `headers`, then the `baggage` keys, then the Host,
/// then the trace's memory, then the calling instance, then `default_space`.
public struct Propagation: Equatable, Sendable {
    /// A field that carries route-as: a header's name or a baggage key, and whether the
    /// proxy writes it on forwarded requests that lack it.
    public struct Carrier: Equatable, Sendable {
        public var name: String
        public var write: Bool

        public init(_ name: String, write: Bool = true) {
            self.name = name
            self.write = write
        }
    }

    /// The proxy adds the route header to a request that came without it (routing rule 5).
    public var writeRouteHeader = true
    /// Headers read after the route header, in order.
    public var headers: [Carrier] = RouteCarriers.defaultOtherHeaders.map { Carrier($0) }
    /// Baggage keys (W3C `baggage` members) read after the headers, in order.
    public var baggage: [Carrier] = RouteCarriers.defaultBaggageKeys.map { Carrier($0) }
    /// How long a trace's route is remembered after its last request.
    public var traceMemorySeconds = 60
    /// How many traces are remembered at once, the oldest forgotten first; 0 remembers none.
    public var traceMemoryTraces = 100_000

    public init() {}

    /// Fields that mean something else to HTTP or to the proxy: none can carry route-as.
    public static let reservedHeaders: Set<String> = [
        "host", "connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade",
        "transfer-encoding", "content-length", "via", "forwarded", "x-forwarded-for", "x-forwarded-host",
        "x-forwarded-proto", "x-request-id", "x-spaceport-route", "traceparent", "tracestate", "baggage",
    ]

    /// The carriers in order of precedence, the route header first.
    public func carriers(routeHeader: String) -> RouteCarriers {
        RouteCarriers(
            routeHeader: routeHeader, otherHeaders: headers.map(\.name), baggageKeys: baggage.map(\.name))
    }

    /// The headers the proxy writes on a forwarded request that lacks them, the route header first.
    public func writtenHeaders(routeHeader: String) -> [String] {
        (writeRouteHeader ? [routeHeader] : []) + headers.filter(\.write).map(\.name)
    }

    /// The baggage keys the proxy makes carry route-as on a forwarded request.
    public var writtenBaggageKeys: [String] { baggage.filter(\.write).map(\.name) }

    /// Trace memory is on: some traces are remembered, for some time.
    public var remembersTraces: Bool { traceMemoryTraces > 0 && traceMemorySeconds > 0 }
}
