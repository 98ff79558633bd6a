import NIOCore
import SpaceportCore

/// What the benchmarks package (`Benchmarks/`) measures of the feed that its public API does not
/// reach: a release build cannot use `@testable`.
@_spi(Benchmarks)
public enum BenchmarkHooks {
    /// A hop's feed line, as the first subscriber that writes it encodes it.
    public static func line(_ hop: HopEvent) -> ByteBuffer { FeedEntry.hopLine(hop) }

    /// From now on `subscription` gets at most `perSecond` hops a second and tallies of all,
    /// as `sample-hops` asks.
    public static func sample(_ subscription: FeedSubscription, perSecond: Int) {
        subscription.sample(perSecond: perSecond)
    }
}
