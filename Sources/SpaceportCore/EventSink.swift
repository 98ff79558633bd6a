/// Where the proxy and the store hand their events. `publish` must never block:
/// a slow reader of events must not slow traffic. A class, so the proxy holds its sink as one
/// reference: a request copies it with a plain retain, not as an existential box.
public protocol EventSink: AnyObject, Sendable {
    func publish(_ event: FeedEvent)
    /// A hop, the event the proxy publishes twice a request: a sink may read the hop's fields
    /// here without taking it out of a `FeedEvent` first, which copies all of it. The sink takes
    /// the hop over (`consuming`), so keeping it costs no copy of its strings either.
    func publish(hop: consuming HopEvent)
    /// False while no one reads events as they happen. A hop's `start` matters only to such a
    /// reader (replays and logs of finished hops keep its `end`, which carries every field), so
    /// the proxy builds and publishes a start only while this is true. Read on every request:
    /// it must be cheap.
    var isWatched: Bool { get }
    /// A hop's start, offered before it is built: building one copies the hop and stamps its
    /// time, so a sink calls `build` only if some reader takes this start (a reader that asked
    /// for a sample mostly does not). `id` is how such a reader matches the hop's end to it;
    /// it counts the hop by its end.
    func publishStart(id: String, build: () -> HopEvent)
}

/// What only reads finished hops and keeps nothing of them (the admin listener's metrics count
/// them): a `FanOutSink` lets it read each hop in place before the hop moves on to the sinks, so
/// reading costs no copy of the hop's strings.
public protocol HopReader: AnyObject, Sendable {
    func read(_ hop: borrowing HopEvent)
}

extension EventSink {
    public func publish(hop: consuming HopEvent) { publish(.hop(hop)) }
    public var isWatched: Bool { true }

    public func publishStart(id: String, build: () -> HopEvent) {
        guard isWatched else { return }
        publish(hop: build())
    }
}
