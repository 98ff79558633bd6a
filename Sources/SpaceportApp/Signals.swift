import Dispatch
import Foundation

/// The first SIGINT or SIGTERM from the moment it is made: a command makes it before it starts
/// anything, so a Ctrl-C while it is still starting up is not lost, nor kills it half-started.
public final class Interrupt {
    private let stops: AsyncStream<Void>
    private let stopper: SignalStopper

    public init() {
        let (stops, stop) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.stops = stops
        stopper = SignalStopper(signals: [SIGINT, SIGTERM]) { stop.yield() }
    }

    /// Returns at the first signal (at once when one came already); it no longer kills the process.
    public func wait() async {
        for await _ in stops { break }
        stopper.cancel()
    }
}

/// Turns the given signals into one call of `stop`, so Ctrl-C ends the command cleanly (exit 0).
public final class SignalStopper {
    private let sources: [DispatchSourceSignal]

    public init(signals: [Int32], stop: @escaping @Sendable () -> Void) {
        let queue = DispatchQueue(label: "spaceport.signals")
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler(handler: stop)
            source.resume()
            return source
        }
    }

    public func cancel() {
        for source in sources { source.cancel() }
    }
}
