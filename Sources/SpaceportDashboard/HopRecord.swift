import SpaceportCore

/// One hop as the dashboard keeps it: its start and end merged by hop id.
public struct HopRecord: Sendable {
    /// Arrival order in the ring; larger is newer.
    public let sequence: Int
    /// The feed it came from.
    public let source: String
    public private(set) var hop: HopEvent
    public private(set) var hasEnded: Bool

    init(sequence: Int, source: String, hop: HopEvent) {
        self.sequence = sequence
        self.source = source
        self.hop = hop
        self.hasEnded = hop.phase == .end
    }

    /// Takes the end phase's outcome, keeping what only the start knew.
    mutating func merge(_ next: HopEvent) {
        var merged = next
        merged.from = next.from ?? hop.from
        merged.routeAs = next.routeAs ?? hop.routeAs
        merged.routeAsSource = next.routeAsSource ?? hop.routeAsSource
        merged.service = next.service ?? hop.service
        merged.tried = next.tried.isEmpty ? hop.tried : next.tried
        merged.space = next.space ?? hop.space
        merged.upstream = next.upstream ?? hop.upstream
        merged.method = next.method ?? hop.method
        merged.host = next.host ?? hop.host
        merged.path = next.path ?? hop.path
        merged.status = next.status ?? hop.status
        merged.durationMs = next.durationMs ?? hop.durationMs
        merged.error = next.error ?? hop.error
        if hop.phase == .start && next.phase == .end { merged.time = hop.time }
        hop = merged
        hasEnded = hasEnded || next.phase == .end
    }

    /// The space the request was routed as, after an unknown name fell back.
    public var routedAs: String? { hop.tried.first ?? hop.routeAs }
}
