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

    /// How long a woken reader waits for more events before it takes them in one batch: a few
    /// milliseconds for every hop, longer for a sample of a few hops a second, which then wakes
    /// the proxy and its reader 20 times a second, not 200.
    public var gathering: TimeAmount { perSecond == nil ? .milliseconds(5) : .milliseconds(50) }

    /// The commands that ask a proxy for this shaping.
    public var commands: [FeedCommand] {
        var commands: [FeedCommand] = []
        if coalesce { commands.append(.coalesceHops(id: nil)) }
        if let perSecond { commands.append(.sampleHops(id: nil, perSecond: perSecond)) }
        return commands
    }
}
