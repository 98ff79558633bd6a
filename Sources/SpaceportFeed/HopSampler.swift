import NIOCore
import SpaceportCore

/// Lets at most `perSecond` hops a second through to a reader that asked for a sample
/// (`sample-hops`), and counts every hop, sent or not, into a `tally` it sends four times a
/// second while hops flow. Under a load test the reader still knows exactly how many requests
/// went where; it just does not read each one.
///
/// Which hops go through: a hop whose start finds the budget open goes whole (its end always
/// follows its start). A hop whose start was left out may still go as its end alone (the end
/// carries every field) when the budget is open then. Failed hops (an error, or a status of 500
/// or more) have a budget of their own, so a flood of successes never hides them. Budgets
/// refill smoothly, a tenth of a second's worth at most at once, so the sample is spread over
/// time instead of spent at the top of each second.
struct HopSampler {
    static let tallyInterval = TimeAmount.milliseconds(250)
    /// Hops sent whose end has not come yet, remembered so their end goes too. Past this,
    /// starts are left out until some end; a reader sees those hops as their end.
    static let maxOpen = 4096

    private struct RouteKey: Hashable {
        var routedAs: String
        var service: String?
    }

    let perSecond: Int
    /// A tenth of a second's worth: the most a budget holds.
    private let burst: Double
    private var tokens: Double
    private var failureTokens: Double
    private var refilled: NIODeadline
    private var open = Set<String>()
    private var counted = 0
    private var sampled = 0
    private var failed = 0
    private var routes: [RouteKey: Int] = [:]
    /// When the first hop of the tally in progress was counted; nil while it is empty.
    private var since: NIODeadline?
    private var kept: [FeedEntry] = []

    init(perSecond: Int, now: NIODeadline = .now()) {
        self.perSecond = max(1, perSecond)
        burst = max(1, Double(self.perSecond) / 10)
        tokens = burst
        failureTokens = burst
        refilled = now
    }

    /// When the tally in progress is due, if it counts anything.
    var nextDue: NIODeadline? { since.map { $0 + Self.tallyInterval } }

    /// Keeps in `entries` the hops to send and everything that is not a hop, in order, and
    /// adds the tally at the end once it is due.
    mutating func sample(_ entries: inout [FeedEntry], now: NIODeadline = .now()) {
        refill(now)
        kept.removeAll(keepingCapacity: true)
        for entry in entries {
            guard case .hop(let hop) = entry.event else {
                kept.append(entry)
                continue
            }
            if keeps(hop, now: now) { kept.append(entry) }
        }
        if let tally = tallyIfDue(now) { kept.append(tally) }
        swap(&entries, &kept)
        kept.removeAll(keepingCapacity: true)
    }

    /// The tally, once due, when no hop came to carry it.
    mutating func flush(now: NIODeadline = .now()) -> [FeedEntry] {
        tallyIfDue(now).map { [$0] } ?? []
    }

    private mutating func keeps(_ hop: HopEvent, now: NIODeadline) -> Bool {
        switch hop.phase {
        case .start:
            count(hop, now: now)
            guard tokens >= 1, open.count < Self.maxOpen else { return false }
            tokens -= 1
            sampled += 1
            open.insert(hop.id)
            return true
        case .end:
            let failure = hop.error != nil || (hop.status ?? 0) >= 500
            if failure {
                failed += 1
                if since == nil { since = now }
            }
            if open.remove(hop.id) != nil { return true }
            if failure, failureTokens >= 1 {
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

    private mutating func count(_ hop: HopEvent, now: NIODeadline) {
        counted += 1
        if since == nil { since = now }
        if let space = hop.tried.first ?? hop.routeAs {
            routes[RouteKey(routedAs: space, service: hop.service), default: 0] += 1
        }
    }

    private mutating func refill(_ now: NIODeadline) {
        let seconds = Double((now - refilled).nanoseconds) / 1e9
        guard seconds > 0 else { return }
        refilled = now
        let added = seconds * Double(perSecond)
        tokens = min(burst, tokens + added)
        failureTokens = min(burst, failureTokens + added)
    }

    private mutating func tallyIfDue(_ now: NIODeadline) -> FeedEntry? {
        guard let since, now >= since + Self.tallyInterval else { return nil }
        let tally = HopTally(
            hops: counted, sampled: min(sampled, counted), failed: failed,
            seconds: Double((now - since).nanoseconds / 1_000_000) / 1000,
            routes: routes.map {
                HopTally.Route(routedAs: $0.key.routedAs, service: $0.key.service, hops: $0.value)
            }
            .sorted { ($0.hops, $1.routedAs, $1.service ?? "") > ($1.hops, $0.routedAs, $0.service ?? "") })
        self.since = nil
        counted = 0
        sampled = 0
        failed = 0
        routes.removeAll(keepingCapacity: true)
        return FeedEntry(.tally(tally))
    }
}
