import NIOCore
import SpaceportCore

/// How a reader asks for its hops: every line as published (the default), ended hops as their
/// end alone (`coalesce-hops`), at most so many a second with exact tallies (`sample-hops`).
public struct HopShaping: Equatable, Sendable {
    public var coalesce: Bool
    /// At most this many hops a second; nil for every hop.
    public var perSecond: Int?

    public init(coalesce: Bool = false, perSecond: Int? = nil) {
        self.coalesce = coalesce
        self.perSecond = perSecond
    }

    /// Every hop, both phases.
    public static let none = HopShaping()

    /// The commands that ask a proxy for this shaping.
    public var commands: [FeedCommand] {
        var commands: [FeedCommand] = []
        if coalesce { commands.append(.coalesceHops(id: nil)) }
        if let perSecond { commands.append(.sampleHops(id: nil, perSecond: perSecond)) }
        return commands
    }
}

/// One reader's sampler, then its coalescer, over the entries taken from the hub.
struct HopShaper {
    private var sampler: HopSampler?
    private var coalescer: HopCoalescer?

    init(_ shaping: HopShaping = .none) {
        apply(shaping)
    }

    /// True when entries pass as they are.
    var isIdle: Bool { sampler == nil && coalescer == nil }

    /// Turns on what `shaping` asks for; what is on already stays on, with a sampler's new rate.
    mutating func apply(_ shaping: HopShaping) {
        if shaping.coalesce && coalescer == nil { coalescer = HopCoalescer() }
        if let perSecond = shaping.perSecond, sampler?.perSecond != perSecond {
            sampler = HopSampler(perSecond: perSecond)
        }
    }

    /// When a held start or the tally is due to go out, whichever comes first.
    var nextDue: NIODeadline? {
        switch (coalescer?.nextDue, sampler?.nextDue) {
        case (let held?, let tally?): return min(held, tally)
        case (let held, let tally): return held ?? tally
        }
    }

    mutating func shape(_ entries: inout [FeedEntry], now: NIODeadline = .now()) {
        sampler?.sample(&entries, now: now)
        coalescer?.coalesce(&entries, now: now)
    }

    /// What is due to go out now though nothing else came: held starts, then the tally.
    mutating func flush(now: NIODeadline = .now()) -> [FeedEntry] {
        (coalescer?.flush(now: now) ?? []) + (sampler?.flush(now: now) ?? [])
    }
}
