import ArgumentParser
import SpaceportCore

/// `--sample-hops`, as `dash` and `tail` take it: 0 for every hop, else a rate `sample-hops` accepts.
enum SampleHopsOption {
    static func check(_ value: Int) throws {
        guard value != 0 && !FeedCommand.sampleRates.contains(value) else { return }
        let rates = FeedCommand.sampleRates
        throw CommandFailure.usage(
            "--sample-hops takes 0 (every hop) or \(rates.lowerBound) to \(rates.upperBound) hops a second; got \(value)"
        )
    }

    /// The rate to ask the proxy for; nil for every hop.
    static func perSecond(_ value: Int) -> Int? { value == 0 ? nil : value }
}
