import Foundation
import SpaceportCore

/// The hand-off from feed and network threads to the thread that owns the screen.
/// Bounded: past `hopCapacity` waiting hops, new hops are dropped and counted, so a flood
/// cannot grow memory or delay keys; other updates (trees, results) are never dropped.
public final class DashboardInbox: @unchecked Sendable {
    public let hopCapacity: Int
    private let lock = NSLock()
    private var updates: [DashboardUpdate] = []
    private var waitingHops = 0
    private var dropped = 0
    private var quit = false

    public init(hopCapacity: Int = 20_000) {
        self.hopCapacity = max(1, hopCapacity)
    }

    public func post(_ update: consuming DashboardUpdate) {
        lock.lock()
        defer { lock.unlock() }
        if case .feed(_, .hop) = update {
            guard waitingHops < hopCapacity else {
                dropped += 1
                return
            }
            waitingHops += 1
        }
        updates.append(consume update)
    }

    /// Everything waiting, oldest first, with the count of hops dropped since the last drain.
    public func drain() -> (updates: [DashboardUpdate], dropped: Int) {
        lock.lock()
        defer { lock.unlock() }
        let result = (updates, dropped)
        updates = []
        waitingHops = 0
        dropped = 0
        return result
    }

    /// Asks the screen loop to end (a signal, the shell shutting down).
    public func requestQuit() {
        lock.lock()
        quit = true
        lock.unlock()
    }

    public var quitRequested: Bool {
        lock.lock()
        defer { lock.unlock() }
        return quit
    }
}
