import Foundation

enum Signals {
    /// Returns at the first SIGINT or SIGTERM, which then no longer kill the process.
    static func waitForInterrupt() async {
        let (stops, stop) = AsyncStream.makeStream(of: Void.self)
        let stopper = SignalStopper(signals: [SIGINT, SIGTERM]) { stop.yield() }
        for await _ in stops { break }
        stopper.cancel()
    }
}
