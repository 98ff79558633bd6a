/// Where the proxy and the store hand their events. `publish` must never block:
/// a slow reader of events must not slow traffic.
public protocol EventSink: Sendable {
    func publish(_ event: FeedEvent)
}
