/// Where the proxy and the store hand their events. `publish` must never block:
/// a slow reader of events must not slow traffic.
public protocol EventSink: Sendable {
    func publish(_ event: FeedEvent)
    /// A hop, the event the proxy publishes twice a request: a sink may read the hop's fields
    /// here without taking it out of a `FeedEvent` first, which copies all of it.
    func publish(hop: HopEvent)
}

extension EventSink {
    public func publish(hop: HopEvent) { publish(.hop(hop)) }
}
