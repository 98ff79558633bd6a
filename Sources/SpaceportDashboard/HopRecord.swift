import Foundation
import SpaceportCore

/// One hop as the dashboard keeps it: its start and end merged by hop id.
public struct HopRecord: Sendable {
    /// Arrival order in the ring; larger is newer.
    public let sequence: Int
    /// The feed it came from.
    public let source: String
    public private(set) var hop: HopEvent
    public private(set) var hasEnded: Bool
    /// Its start came first, so `hop.time` is when it started; else it came as its end alone.
    private let cameAsStart: Bool

    init(sequence: Int, source: String, hop: consuming HopEvent) {
        self.sequence = sequence
        self.source = source
        self.hasEnded = hop.phase == .end
        self.cameAsStart = hop.phase == .start
        self.hop = hop
    }

    /// When the hop started, in milliseconds since 1970; nil when its time is not one the proxy writes.
    public var startedAt: Double? {
        cameAsStart ? EventTime.milliseconds(hop.time) : hop.endedStart
    }

    /// Takes the end phase's outcome, keeping what only the start knew.
    mutating func merge(_ next: consuming HopEvent) {
        // A start that arrives after its end (feeds merged out of order) says nothing the end did not.
        if hasEnded && next.phase == .start { return }
        // Built in `next`, checked through `inout`, so no field is copied unless it is missing.
        Self.fill(&next.from, from: hop.from)
        Self.fill(&next.routeAs, from: hop.routeAs)
        Self.fill(&next.routeAsSource, from: hop.routeAsSource)
        Self.fill(&next.service, from: hop.service)
        if next.tried.isEmpty { next.tried = hop.tried }
        Self.fill(&next.space, from: hop.space)
        Self.fill(&next.upstream, from: hop.upstream)
        Self.fill(&next.method, from: hop.method)
        Self.fill(&next.host, from: hop.host)
        Self.fill(&next.path, from: hop.path)
        Self.fill(&next.status, from: hop.status)
        Self.fill(&next.durationMs, from: hop.durationMs)
        Self.fill(&next.error, from: hop.error)
        if hop.phase == .start && next.phase == .end { next.time = hop.time }
        hasEnded = hasEnded || next.phase == .end
        hop = consume next
    }

    private static func fill<Value>(_ field: inout Value?, from earlier: Value?) {
        if case .none = field { field = earlier }
    }
}
