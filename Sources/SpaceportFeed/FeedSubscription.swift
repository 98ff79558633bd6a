import SpaceportCore

/// One reader of a hub, in process (the embedded dashboard) or behind a socket.
///
/// Events arrive in this order: `hello`, `spaces`, the replayed hops, then live events.
/// A reader that falls behind loses the oldest hops in its queue and first reads
/// `dropped {count}` when it catches up; `hello` and `spaces` are never lost, only
/// replaced by newer ones. Iterate it, or call `next()`; both end (nil) once the
/// subscription is cancelled or the hub closes. Dropping the subscription cancels it.
public final class FeedSubscription: AsyncSequence, Sendable {
    public typealias Element = FeedEvent

    let hub: FeedHub
    let id: Int

    init(hub: FeedHub, id: Int) {
        self.hub = hub
        self.id = id
    }

    deinit { hub.unsubscribe(id) }

    /// The next event, waiting for one; nil once the subscription has ended or the task is cancelled.
    public func next() async -> FeedEvent? { await hub.next(id) }

    /// The next event if one is waiting, without waiting.
    public func poll() -> FeedEvent? {
        hub.poll(id)
    }

    /// Events waiting to be read.
    public var queued: Int { hub.queued(id) }

    /// Ends the subscription: its queue is freed and pending reads return nil.
    public func cancel() { hub.unsubscribe(id) }

    /// Sends `event` to this subscriber only, after what it already has queued.
    func reply(_ event: FeedEvent) { hub.deliver(FeedEntry(event), only: id) }

    /// Up to `limit` entries into `entries`, under one lock; when none waits and the subscription
    /// is still open, `ready` runs once something arrives. False once nothing more will come.
    func take(limit: Int, into entries: inout [FeedEntry], orNotify ready: @escaping @Sendable () -> Void)
        -> Bool
    {
        hub.take(id, limit: limit, into: &entries, orNotify: ready)
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(subscription: self) }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let subscription: FeedSubscription

        public mutating func next() async -> FeedEvent? { await subscription.next() }
    }
}
