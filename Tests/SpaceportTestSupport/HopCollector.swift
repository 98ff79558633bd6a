import SpaceportCore
import Synchronization

/// Keeps every event a proxy publishes, so a test can wait for the hop it caused.
public final class HopCollector: EventSink {
    private let events = Mutex<[FeedEvent]>([])
    private let watched: Bool

    /// `watched: false` plays a sink no one reads live (a hub without subscribers).
    public init(watched: Bool = true) {
        self.watched = watched
    }

    public var isWatched: Bool { watched }

    public func publish(_ event: FeedEvent) {
        events.withLock { $0.append(event) }
    }

    public var hops: [HopEvent] {
        events.withLock { $0 }.compactMap { if case .hop(let hop) = $0 { return hop } else { return nil } }
    }

    public var ended: [HopEvent] { hops.filter { $0.phase == .end } }

    /// Waits for an `end` hop that matches; fails after a generous bound rather than hanging.
    public func end(where matches: @escaping (HopEvent) -> Bool = { _ in true }) async throws -> HopEvent {
        for _ in 0..<1500 {
            if let hop = hops.first(where: { $0.phase == .end && matches($0) }) { return hop }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure(
            "no matching hop ended; hops so far: \(hops.map { "\($0.phase) \($0.status ?? 0) \($0.error ?? "")" })"
        )
    }

    /// Waits for any hop to start.
    public func hopStarted() async throws -> HopEvent {
        for _ in 0..<1500 {
            if let hop = hops.first(where: { $0.phase == .start }) { return hop }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestFailure("no hop started")
    }
}

/// A test's own failure, with what went wrong.
public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
