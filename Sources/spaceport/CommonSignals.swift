import Foundation

/// The first SIGINT or SIGTERM from the moment it is made: a command makes it before it starts
/// anything, so a Ctrl-C while it is still starting up is not lost, nor kills it half-started.
final class Interrupt {
    private let stops: AsyncStream<Void>
    private let stopper: SignalStopper

    init() {
        let (stops, stop) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.stops = stops
        stopper = SignalStopper(signals: [SIGINT, SIGTERM]) { stop.yield() }
    }

    /// Returns at the first signal (at once when one came already); it no longer kills the process.
    func wait() async {
        for await _ in stops { break }
        stopper.cancel()
    }
}
