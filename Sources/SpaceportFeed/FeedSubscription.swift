import NIOCore
import SpaceportCore
import Synchronization

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
    /// For `next(upTo:shaping:)`, which has one reader.
    private let coalescer = Mutex(HopCoalescer())

    init(hub: FeedHub, id: Int) {
        self.hub = hub
        self.id = id
    }

    deinit { hub.unsubscribe(id) }

    /// The next event, waiting for one; nil once the subscription has ended or the task is cancelled.
    public func next() async -> FeedEvent? { await hub.next(id) }

    /// Up to `limit` events at once, waiting for the first; nil once the subscription has ended
    /// or the task is cancelled (cancelling ends the subscription). `shaping` does what
    /// `coalesce-hops` and `sample-hops` do on a socket: a hop that ends soon after it starts
    /// comes as its end alone, and at most so many hops a second come, with a `tally` of all.
    /// A coalesced start is held a few milliseconds for its end, and a tally waits for its
    /// time, so a batch may be empty while one waits; call again after a short pause.
    public func next(upTo limit: Int, shaping: HopShaping = .none) async -> [FeedEvent]? {
        let limit = Swift.max(1, limit)
        if let perSecond = shaping.perSecond { sample(perSecond: perSecond) }
        var entries: [FeedEntry] = []
        if !hub.take(id, limit: limit, into: &entries) { return nil }
        if entries.isEmpty {
            // Starts held and a tally in progress return at once, even as an empty batch, so the
            // caller's next call can send them when due instead of waiting for traffic.
            if shaping.coalesce {
                let (due, holding) = coalescer.withLock { ($0.flush(), $0.nextDue != nil) }
                if !due.isEmpty || holding { return due.map(\.event) }
            }
            if shaping.perSecond != nil, tallyDue != nil { return [] }
            while entries.isEmpty {
                let open = await withTaskCancellationHandler {
                    await withCheckedContinuation { (woken: CheckedContinuation<Bool, Never>) in
                        let open = hub.take(id, limit: limit, into: &entries) {
                            woken.resume(returning: true)
                        }
                        if !entries.isEmpty || !open { woken.resume(returning: open) }
                    }
                } onCancel: {
                    cancel()
                }
                if !open || Task.isCancelled { return nil }
            }
        }
        if shaping.coalesce { coalescer.withLock { $0.coalesce(&entries) } }
        return entries.map(\.event)
    }

    /// The next event if one is waiting, without waiting.
    public func poll() -> FeedEvent? {
        hub.poll(id)
    }

    /// From now on at most `perSecond` hops a second, and a `tally` of every hop four times a
    /// second while hops flow (`sample-hops`); the hub decides as it publishes.
    func sample(perSecond: Int) { hub.sample(id, perSecond: perSecond) }

    /// When the tally in progress is due, if this subscription samples and has counted anything.
    var tallyDue: NIODeadline? { hub.tallyDue(id) }

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
