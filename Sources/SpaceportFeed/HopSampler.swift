import NIOCore
import SpaceportCore

/// What a sampler reads of a hop, taken once per published hop, and only when some subscriber
/// samples: the id as a number, so the sampler's bookkeeping hashes no strings.
struct HopFacts {
    var phase: HopPhase
    var key: UInt64
    var failed: Bool
    /// A hop a reader must not miss for a sample: a failure, or one whose caller lost its route.
    var notable: Bool
    /// What the hop counts under in a tally; read at its end, where it is counted.
    var routeAs: String?
    var service: String?

    init(_ hop: borrowing HopEvent) {
        phase = hop.phase
        key = Self.key(hop.id)
        failed = hop.isFailed
        notable = failed || hop.propagation == .lost
        routeAs = hop.routeAs
        service = hop.service
    }

    /// A start offered before its event is built: its id is all a sampler reads of it.
    init(startOf id: String) {
        phase = .start
        key = Self.key(id)
        failed = false
        notable = false
    }

    /// FNV-1a over the id's bytes: ids are unique per proxy, and 64 bits keep the hops in flight apart.
    private static func key(_ id: String) -> UInt64 {
        var key: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id.utf8 { key = (key ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return key
    }
}

/// Lets at most `perSecond` hops a second through to a subscriber that asked for a sample
/// (`sample-hops`), and counts every hop, sent or not, as it ends, into a `tally` it sends four
/// times a second while hops flow. Under a load test the reader still knows exactly how many
/// requests went where; it just does not read each one. It runs in the hub, as hops are
/// published, so a hop left out costs no queue slot, no wake-up and no encoding; and while the
/// budget is spent, a start is left out before the hub takes its lock (`startsOpenAt`).
///
/// Which hops go through: a hop whose start finds the budget open goes whole (its end always
/// follows its start). A hop whose start was left out may still go as its end alone (the end
/// carries every field) when the budget is open then. Failed hops (an error, or a status of 500
/// or more) have a budget of their own, so a flood of successes never hides them. A budget
/// holds a second's worth, so a burst that size (a page load) comes whole; under a flood it
/// then refills smoothly, so the sample is spread over time instead of spent at the top of
/// each second.
struct HopSampler {
    static let tallyInterval = TimeAmount.milliseconds(250)
    /// Hops sent whose end has not come yet, remembered so their end goes too. Past this,
    /// starts are left out until some end; a reader sees those hops as their end.
    static let maxOpen = 4096

    private struct RouteKey: Hashable {
        var routeAs: String
        var service: String?
    }

    let perSecond: Int
    /// A second's worth: the most a budget holds.
    private let burst: Double
    private var tokens: Double
    private var failureTokens: Double
    private var refilled: NIODeadline
    private var open = Set<UInt64>()
    private var counted = 0
    private var sampled = 0
    private var failed = 0
    private var routes: [RouteKey: Int] = [:]
    /// The route the last hops went, and how many of them in a row, not yet in `routes`: under
    /// a load test most hops go the way the last one did, and comparing two short strings costs
    /// less than hashing them into the table every time.
    private var runRouteAs: String?
    private var runService: String?
    private var runCount = 0
    /// When the first hop of the tally in progress was counted; nil while it is empty.
    private var since: NIODeadline?

    init(perSecond: Int, now: NIODeadline = .now()) {
        self.perSecond = max(1, perSecond)
        burst = Double(self.perSecond)
        tokens = burst
        failureTokens = burst
        refilled = now
    }

    /// When the tally in progress is due, if it counts anything.
    var nextDue: NIODeadline? { since.map { $0 + Self.tallyInterval } }

    private var takesStarts: Bool { tokens >= 1 && open.count < Self.maxOpen }

    /// From when a start would be sent: the hub leaves out earlier ones without taking its lock.
    /// Exact while the budget only refills; an end that frees a slot among `maxOpen` hops moves it
    /// earlier, and the hub reads it again after every hop its samplers see.
    var startsOpenAt: NIODeadline {
        if takesStarts { return refilled }
        if open.count >= Self.maxOpen { return .distantFuture }
        return refilled + .nanoseconds(Int64(((1 - tokens) * 1e9 / Double(perSecond)).rounded(.up)))
    }

    /// Says whether to send the hop, and counts it at its end (a hop is counted once, when it
    /// is done: its start may never be offered).
    mutating func admits(_ hop: HopFacts, now: NIODeadline) -> Bool {
        refill(now)
        switch hop.phase {
        case .start:
            guard takesStarts else { return false }
            tokens -= 1
            sampled += 1
            open.insert(hop.key)
            return true
        case .end:
            counted += 1
            if since == nil { since = now }
            if let routeAs = hop.routeAs { countRoute(routeAs, hop.service) }
            if hop.failed { failed += 1 }
            if open.remove(hop.key) != nil { return true }
            if hop.notable, failureTokens >= 1 {
                failureTokens -= 1
            } else if tokens >= 1 {
                tokens -= 1
            } else {
                return false
            }
            sampled += 1
            return true
        }
    }

    private mutating func countRoute(_ routeAs: String, _ service: String?) {
        if runCount > 0, runRouteAs == routeAs, runService == service {
            runCount += 1
            return
        }
        endRun()
        runRouteAs = routeAs
        runService = service
        runCount = 1
    }

    private mutating func endRun() {
        guard runCount > 0, let routeAs = runRouteAs else { return }
        routes[RouteKey(routeAs: routeAs, service: runService), default: 0] += runCount
        runCount = 0
    }

    /// The tally of everything counted since the last one, once it is due; it starts a new one.
    mutating func tally(dueBy now: NIODeadline) -> FeedEntry? {
        guard let since, now >= since + Self.tallyInterval else { return nil }
        endRun()
        let tally = HopTally(
            hops: counted, sampled: min(sampled, counted), failed: failed,
            seconds: Double((now - since).nanoseconds / 1_000_000) / 1000,
            routes: routes.map {
                HopTally.Route(routeAs: $0.key.routeAs, service: $0.key.service, hops: $0.value)
            }
            .sorted { ($0.hops, $1.routeAs, $1.service ?? "") > ($1.hops, $0.routeAs, $0.service ?? "") })
        self.since = nil
        counted = 0
        sampled = 0
        failed = 0
        routes.removeAll(keepingCapacity: true)
        return FeedEntry(.tally(tally))
    }

    private mutating func refill(_ now: NIODeadline) {
        let nanoseconds = (now - refilled).nanoseconds
        guard nanoseconds > 0 else { return }
        refilled = now
        let added = Double(nanoseconds) * Double(perSecond) / 1e9
        tokens = min(burst, tokens + added)
        failureTokens = min(burst, failureTokens + added)
    }
}
