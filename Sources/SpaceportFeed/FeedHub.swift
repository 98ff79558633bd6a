import NIOCore
import SpaceportCore
import Synchronization

/// The feed inside a proxy: it keeps the `hello`, the latest `spaces` snapshot and a ring
/// of recently finished hops, and hands every event to each subscriber's bounded queue.
///
/// `publish` never blocks on a subscriber and never grows memory without bound: a full
/// queue loses its oldest hop and counts it, and that subscriber's next read is
/// `dropped {count}`. A subscriber holds at most one pending `hello` and one pending
/// `spaces` (the newest replaces the older), so a slow reader still ends up with the
/// current tree.
public final class FeedHub: EventSink {
    public static let defaultReplayLimit = 1000
    public static let defaultQueueLimit = 4096

    public let store: SpacesStore
    public let replayLimit: Int
    private let state: Mutex<State>
    private let observer = Mutex<SpacesStore.ObserverID?>(nil)
    /// Subscribers with a sampler: while there are none, publishing reads nothing of a hop.
    private let samplers = Atomic<Int>(0)
    /// Subscribers of any kind: while there are none, a hop's start goes nowhere and costs
    /// nothing (the replay keeps finished hops only).
    private let subscribers = Atomic<Int>(0)
    /// While every subscriber samples: the earliest time (uptime nanoseconds) a sampler would take
    /// a start, so that a start before it is left out without taking the lock. Reset to 0 (any
    /// start) when the subscribers or their samples change; read again from the samplers after
    /// every hop they see.
    private let startsOpenAt = Atomic<UInt64>(0)

    struct State {
        var helloValue: FeedHello
        var hello: FeedEntry
        var spaces: FeedEntry
        var replay: BoundedQueue<FeedEntry>
        var subscribers: [Int: Subscriber] = [:]
        var nextSubscriber = 0
        var closed = false
        /// Hops dropped for subscribers that have gone since.
        var droppedByGone = 0
    }

    /// A hub over `store`: every change to the store becomes a `spaces` event, and every
    /// refused change to its file an `error` event.
    public init(store: SpacesStore, hello: FeedHello, replayLimit: Int = FeedHub.defaultReplayLimit) {
        self.store = store
        self.replayLimit = max(1, replayLimit)
        state = Mutex(
            State(
                helloValue: hello, hello: FeedEntry(.hello(hello)),
                spaces: FeedEntry(
                    .spaces(SpacesSnapshot(store.tree, fileProblem: store.fileProblem?.description))),
                replay: BoundedQueue(capacity: max(1, replayLimit))))
        let id = store.observe { [weak self] change in
            guard let self else { return }
            if let tree = change.tree {
                publish(.spaces(SpacesSnapshot(tree)))
            } else if case .rejected(let error) = change {
                publish(.error(message: error.description, id: nil))
                // The last good tree, marked, so every reader (and each that attaches later) sees it lasts.
                publish(.spaces(SpacesSnapshot(store.tree, fileProblem: error.description)))
            }
        }
        observer.withLock { $0 = id }
    }

    deinit { close() }

    /// Where `replay` and `request` commands go: the proxy that keeps the requests; nil refuses them.
    public var replayer: (any RequestReplayer)? {
        get { replayers.withLock { $0 } }
        set { replayers.withLock { $0 = newValue } }
    }
    private let replayers = Mutex<(any RequestReplayer)?>(nil)

    /// What every new subscriber is greeted with. Setting it tells the current subscribers too.
    public var hello: FeedHello {
        get { state.withLock { $0.helloValue } }
        set { publish(.hello(newValue)) }
    }

    public func publish(_ event: FeedEvent) {
        if case .hop(let hop) = event {
            publish(hop: hop)
        } else {
            deliver(FeedEntry(event), only: nil)
        }
    }

    /// The proxy's way in: a sampler reads the few facts it needs straight from the hop.
    public func publish(hop: consuming HopEvent) {
        let finished = hop.phase == .end
        if !finished && !isWatched { return }
        let facts = samplers.load(ordering: .relaxed) > 0 ? HopFacts(hop) : nil
        deliver(FeedEntry(.hop(consume hop)), only: nil, facts: facts, finished: finished)
    }

    /// A start is built only for a subscriber that takes it: every one that does not sample,
    /// and a sampler that admits it. Samplers alone, their budgets spent, leave it out before the lock.
    public func publishStart(id: String, build: () -> HopEvent) {
        guard isWatched else { return }
        guard samplers.load(ordering: .relaxed) > 0 else {
            deliver(FeedEntry(.hop(build())), only: nil)
            return
        }
        // Under a flood the samplers' budgets are spent: nothing to count (a hop is counted at its
        // end), nothing to send.
        let now = NIODeadline.now()
        guard now.uptimeNanoseconds >= startsOpenAt.load(ordering: .relaxed) else { return }
        let facts = HopFacts(startOf: id)
        // First the samplers decide (queuing a tally that is due); the start is built, outside
        // the lock, only if someone takes it, and queued for those.
        let (takers, wakes) = state.withLock { state -> ([Int], [Wake]) in
            var takers: [Int] = []
            var wakes: [Wake] = []
            var openAt = UInt64.max
            for (id, subscriber) in state.subscribers {
                if subscriber.sampler != nil {
                    let (admitted, tallied) = subscriber.count(facts, now: now)
                    if admitted { takers.append(id) }
                    if tallied, let wake = subscriber.wake() { wakes.append(wake) }
                } else {
                    takers.append(id)
                }
                openAt = min(openAt, subscriber.startsOpenAt)
            }
            startsOpenAt.store(openAt, ordering: .relaxed)
            return (takers, wakes)
        }
        for wake in wakes { wake.run() }
        guard !takers.isEmpty else { return }
        let entry = FeedEntry(.hop(build()))
        let more = state.withLock { state -> [Wake] in
            takers.compactMap { id in
                guard let subscriber = state.subscribers[id] else { return nil }
                subscriber.enqueue(entry)
                return subscriber.wake()
            }
        }
        for wake in more { wake.run() }
    }

    /// A new subscriber: it first reads `hello`, then `spaces`, then the most recently finished hops
    /// (at most `limit`), then live events. At most `limit` events wait for it.
    public func subscribe(limit: Int = FeedHub.defaultQueueLimit) -> FeedSubscription {
        let id = state.withLock { state in
            let id = state.nextSubscriber
            state.nextSubscriber += 1
            let subscriber = Subscriber(limit: max(1, limit), since: EventTime.now())
            subscriber.enqueue(state.hello)
            subscriber.spaces = state.spaces
            for entry in state.replay.suffix(subscriber.stream.capacity) { subscriber.stream.append(entry) }
            subscriber.closed = state.closed
            state.subscribers[id] = subscriber
            subscribers.add(1, ordering: .relaxed)
            startsOpenAt.store(0, ordering: .relaxed)
            return id
        }
        return FeedSubscription(hub: self, id: id)
    }

    public var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    public var isWatched: Bool { subscribers.load(ordering: .relaxed) > 0 }

    /// Subscribers that asked for a sample.
    var samplerCount: Int { samplers.load(ordering: .relaxed) }

    /// Events waiting in every subscriber's queue together, dropped-markers aside.
    public var queuedEvents: Int { state.withLock { $0.subscribers.values.reduce(0) { $0 + $1.queued } } }

    /// Events dropped from full subscriber queues since the hub began, for every subscriber.
    public var droppedEvents: Int {
        state.withLock { state in
            state.subscribers.values.reduce(state.droppedByGone) { $0 + $1.droppedTotal }
        }
    }

    /// Finished hops held for replay.
    public var replayCount: Int { state.withLock { $0.replay.count } }

    /// Stops observing the store and ends every subscription: their reads return nil.
    public func close() {
        if let id = observer.withLock({ id -> SpacesStore.ObserverID? in
            defer { id = nil }
            return id
        }) {
            store.removeObserver(id)
        }
        let wakes = state.withLock { state -> [Wake] in
            state.closed = true
            var wakes: [Wake] = []
            for subscriber in state.subscribers.values {
                subscriber.closed = true
                if let wake = subscriber.wake() { wakes.append(wake) }
            }
            return wakes
        }
        for wake in wakes { wake.run() }
    }

    /// Hands `entry` to every subscriber, or to one only (a reply to its own command).
    /// `finished`: a hop entry is an end, which the replay keeps (read from the hop by the caller:
    /// taking the hop out of the entry here would copy all of it).
    func deliver(_ entry: FeedEntry, only: Int?, facts: HopFacts? = nil, finished: Bool = false) {
        let wakes = state.withLock { state -> [Wake] in
            if only == nil {
                switch entry.event {
                // A finished hop's end carries every field its start had: the replay keeps ends
                // only, so it reaches twice as far back and churns half as often.
                case .hop: if finished { state.replay.append(entry) }
                case .spaces: state.spaces = entry
                case .hello(let hello):
                    state.helloValue = hello
                    state.hello = entry
                case .dropped, .tally, .error, .ack, .request: break
                }
            }
            var wakes: [Wake] = []
            if let only {
                state.subscribers[only]?.enqueue(entry)
                if let wake = state.subscribers[only]?.wake() { wakes.append(wake) }
            } else {
                let now: NIODeadline? = facts == nil ? nil : .now()
                var openAt = UInt64.max
                for subscriber in state.subscribers.values {
                    defer { openAt = min(openAt, subscriber.startsOpenAt) }
                    if let facts, let now, subscriber.sampler != nil {
                        guard subscriber.offer(entry, facts, now: now) else { continue }
                    } else {
                        subscriber.enqueue(entry)
                    }
                    if let wake = subscriber.wake() { wakes.append(wake) }
                }
                if facts != nil { startsOpenAt.store(openAt, ordering: .relaxed) }
            }
            return wakes
        }
        for wake in wakes { wake.run() }
    }

    /// From now on subscriber `id` gets at most `perSecond` hops a second and tallies of all.
    func sample(_ id: Int, perSecond: Int) {
        state.withLock { state in
            guard let subscriber = state.subscribers[id], subscriber.sampler?.perSecond != perSecond else {
                return
            }
            if subscriber.sampler == nil { samplers.add(1, ordering: .relaxed) }
            subscriber.sampler = HopSampler(perSecond: perSecond)
            startsOpenAt.store(0, ordering: .relaxed)
        }
    }

    /// When subscriber `id`'s tally in progress is due, if it samples and has counted anything.
    func tallyDue(_ id: Int) -> NIODeadline? {
        state.withLock { $0.subscribers[id]?.sampler?.nextDue }
    }

    /// The next event for subscriber `id` if one waits, without waiting.
    func poll(_ id: Int) -> FeedEvent? {
        state.withLock { $0.subscribers[id]?.take()?.event }
    }

    /// Moves up to `limit` waiting entries for subscriber `id` into `entries`, under one lock.
    /// When none waits, `ready` is called once when one arrives or the subscription ends.
    /// Returns false once the subscription has ended and nothing is left.
    func take(
        _ id: Int, limit: Int, into entries: inout [FeedEntry], orNotify ready: @escaping @Sendable () -> Void
    )
        -> Bool
    {
        state.withLock { state in
            guard let subscriber = state.subscribers[id] else { return false }
            subscriber.releaseTally()
            while entries.count < limit, let entry = subscriber.take() { entries.append(entry) }
            if !entries.isEmpty { return true }
            if subscriber.closed { return false }
            subscriber.waiter = .callback(ready)
            return true
        }
    }

    /// Moves up to `limit` waiting entries for subscriber `id` into `entries` without waiting.
    /// Returns false once the subscription has ended and nothing is left.
    func take(_ id: Int, limit: Int, into entries: inout [FeedEntry]) -> Bool {
        state.withLock { state in
            guard let subscriber = state.subscribers[id] else { return false }
            subscriber.releaseTally()
            while entries.count < limit, let entry = subscriber.take() { entries.append(entry) }
            return !entries.isEmpty || !subscriber.closed
        }
    }

    func next(_ id: Int) async -> FeedEvent? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<FeedEvent?, Never>) in
                let now: FeedEvent?? = state.withLock { state in
                    guard let subscriber = state.subscribers[id] else { return .some(nil) }
                    if let entry = subscriber.take() { return .some(entry.event) }
                    if subscriber.closed || Task.isCancelled { return .some(nil) }
                    subscriber.waiter = .continuation(continuation)
                    return .none
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let subscriber = state.subscribers[id], case .continuation = subscriber.waiter else {
                    return nil
                }
                defer { subscriber.waiter = nil }
                return subscriber.waiter
            }
            if case .continuation(let continuation) = waiter { continuation.resume(returning: nil) }
        }
    }

    func queued(_ id: Int) -> Int { state.withLock { $0.subscribers[id]?.queued ?? 0 } }

    func unsubscribe(_ id: Int) {
        let waiter = state.withLock { state -> Waiter? in
            guard let subscriber = state.subscribers.removeValue(forKey: id) else { return nil }
            state.droppedByGone += subscriber.droppedTotal
            subscribers.subtract(1, ordering: .relaxed)
            if subscriber.sampler != nil { samplers.subtract(1, ordering: .relaxed) }
            startsOpenAt.store(0, ordering: .relaxed)
            return subscriber.waiter
        }
        switch waiter {
        case .continuation(let continuation): continuation.resume(returning: nil)
        case .callback(let ready): ready()
        case nil: break
        }
    }
}

enum Waiter {
    case continuation(CheckedContinuation<FeedEvent?, Never>)
    case callback(@Sendable () -> Void)
}

/// Work to do once the hub's lock is released.
struct Wake {
    var waiter: Waiter
    var event: FeedEvent?

    func run() {
        switch waiter {
        case .continuation(let continuation): continuation.resume(returning: event)
        case .callback(let ready): ready()
        }
    }
}

/// One subscriber's queue: pending state events first, then the stream of hops and replies.
/// A class, so the hub changes a queue in place instead of copying it out of a dictionary.
final class Subscriber {
    var hello: FeedEntry?
    var spaces: FeedEntry?
    var stream: BoundedQueue<FeedEntry>
    var dropped = 0
    /// Every event dropped, for the hub's count; `dropped` goes back to 0 as it is reported.
    var droppedTotal = 0
    var waiter: Waiter?
    var closed = false
    /// Set by `sample-hops`: which hops this subscriber gets, and the tally of all.
    var sampler: HopSampler?
    /// When it subscribed, the time its every `hello` carries: the replay ended before it.
    let since: String

    init(limit: Int, since: String) {
        stream = BoundedQueue(capacity: limit)
        self.since = since
    }

    var queued: Int { stream.count + (hello == nil ? 0 : 1) + (spaces == nil ? 0 : 1) }

    func enqueue(_ entry: FeedEntry) {
        switch entry.event {
        case .hello(var greeting):
            greeting.since = since
            hello = FeedEntry(.hello(greeting))
        case .spaces: spaces = entry
        case .hop, .dropped, .tally, .error, .ack, .request:
            if stream.append(entry) != nil {
                dropped += 1
                droppedTotal += 1
            }
        }
    }

    /// From when this subscriber takes a start, in uptime nanoseconds: at once unless it samples.
    var startsOpenAt: UInt64 { sampler?.startsOpenAt.uptimeNanoseconds ?? 0 }

    /// Queues a hop only if the sampler admits it, and the tally once it is due; true when
    /// something was queued.
    func offer(_ entry: FeedEntry, _ facts: HopFacts, now: NIODeadline) -> Bool {
        let (admitted, tallied) = count(facts, now: now)
        if admitted { enqueue(entry) }
        return admitted || tallied
    }

    /// Counts a hop into the sampler and queues the tally once it is due. Returns whether the
    /// sampler admits the hop (for the caller to queue) and whether a tally was queued.
    func count(_ facts: HopFacts, now: NIODeadline) -> (admitted: Bool, tallied: Bool) {
        // Changed in place: a copy out and back would copy its sets on every hop.
        guard let admitted = sampler?.admits(facts, now: now) else { return (false, false) }
        let tally = sampler?.tally(dueBy: now)
        if let tally { enqueue(tally) }
        return (admitted, tally != nil)
    }

    /// Queues the tally in progress if it is due: the traffic that would have carried it stopped.
    func releaseTally(now: NIODeadline? = nil) {
        guard sampler != nil, let tally = sampler?.tally(dueBy: now ?? .now()) else { return }
        enqueue(tally)
    }

    func take() -> FeedEntry? {
        if dropped > 0 {
            defer { dropped = 0 }
            return FeedEntry(.dropped(count: dropped))
        }
        if let entry = hello {
            hello = nil
            return entry
        }
        if let entry = spaces {
            spaces = nil
            return entry
        }
        return stream.popFirst()
    }

    /// The waiter to wake now that there is something to read (or the queue has ended).
    func wake() -> Wake? {
        guard let current = waiter else { return nil }
        switch current {
        case .callback:
            waiter = nil
            return Wake(waiter: current, event: nil)
        case .continuation:
            guard let entry = take() else {
                guard closed else { return nil }
                waiter = nil
                return Wake(waiter: current, event: nil)
            }
            waiter = nil
            return Wake(waiter: current, event: entry.event)
        }
    }
}
