import SpaceportCore

/// What one feed (one proxy) has told the dashboard.
public struct SourceState: Sendable {
    public var name: String
    public var hello: FeedHello?
    public var tree: SpaceTree?
    /// Why the last snapshot could not be used, if it could not.
    public var treeProblem: String?
    /// Why the proxy refuses its spaces file, while it does: the tree is its last good one.
    public var fileProblem: String?
    public var connected: Bool
    public var disconnectReason: String?
    /// Events the proxy dropped because this dashboard fell behind.
    public var dropped: Int
    /// The proxy sends a sample of its hops and tallies of all (`sample-hops`), so rates come
    /// from the tallies; true from the first tally on.
    public var tallied = false
    /// When the dashboard began counting this feed's traffic (it connected): its rates cover
    /// no time before it. Kept when the feed reconnects.
    public var countingSince: Double?

    public init(name: String) {
        self.name = name
        connected = false
        dropped = 0
    }
}

/// Health of an upstream, from the shell's periodic connect check.
public enum Health: Equatable, Sendable {
    case up
    case down
    case unknown
}

/// Everything the feeds said, as values: trees, hops, rates, drops. Knows nothing of the screen.
public struct DashboardModel: Sendable {
    public private(set) var sources: [SourceState] = []
    public private(set) var hops: HopRing
    /// The ring's hops by flow, for the flows view and a hop's detail.
    public private(set) var flows: FlowIndex
    private var rates = RateMeter<RateKey>()
    /// How far back the services pane counts the route contexts each instance dropped: long
    /// enough to find the service after the request, short enough that a fix clears the mark.
    public static let dropMinutes = 5
    /// Lost hops by the instance that dropped their context (`lostBy`), as the hops arrive.
    private var drops = RateMeter<RateKey>(window: dropMinutes * 60)
    private var events = RateCounter(at: 0)
    /// Hops the tallies counted, and of those the ones sent: how much of the traffic the list shows.
    private var tallyCounted = RateCounter(at: 0)
    private var tallySampled = RateCounter(at: 0)
    /// When the first feed connected or spoke: the rates of all feeds together cover no time before it.
    private var countingSince: Double?
    /// Feed events received since start.
    public private(set) var eventCount = 0
    /// Events lost between the feeds and the screen, when the screen fell behind.
    public var handOffDropped = 0
    /// Upstream `host:port` → health.
    public var health: [String: Health] = [:]
    /// Bumped on every change, so the screen redraws only when something changed.
    public private(set) var revision = 0

    public init(hopCapacity: Int = HopRing.defaultCapacity, hopsPerFlow: Int = FlowIndex.defaultHopsPerFlow) {
        hops = HopRing(capacity: hopCapacity)
        flows = FlowIndex(capacity: hopCapacity, hopsPerFlow: hopsPerFlow)
    }

    public func source(_ name: String) -> SourceState? { sources.first { $0.name == name } }

    public var totalDropped: Int { sources.reduce(handOffDropped) { $0 + $1.dropped } }

    public mutating func ingest(_ event: consuming FeedEvent, from source: String, at now: Double) {
        eventCount += 1
        revision += 1
        events.add(at: now)
        if countingSince == nil { countingSince = now }
        switch consume event {
        case .hello(let hello):
            update(source) {
                $0.hello = hello
                if $0.countingSince == nil { $0.countingSince = now }
            }
        case .spaces(let snapshot):
            update(source) { $0.fileProblem = snapshot.fileProblem }
            do {
                let tree = try snapshot.tree()
                update(source) {
                    $0.tree = tree
                    $0.treeProblem = nil
                }
            } catch {
                update(source) { $0.treeProblem = "the proxy sent a tree that is not valid: \(error)" }
            }
        case .hop(let hop):
            var replayed = false
            var tallied = false
            // A hop replayed on connect happened before anyone here watched; once tallies come,
            // they count every hop and the hops are a sample of them.
            update(source) {
                replayed = $0.hello?.isReplayed(hop) == true
                tallied = $0.tallied
            }
            let space = hop.routeAs
            let service = hop.service
            let droppedBy = hop.propagation == .lost && !replayed ? hop.lostBy : nil
            let flow = hop.flow
            guard hops.record(consume hop, source: source), let sequence = hops.newestSequence else { return }
            flows.add(flow: flow, sequence: sequence, oldest: hops.oldestSequence)
            if let droppedBy {
                drops.add(
                    RateKey(source: source, space: droppedBy.space, service: droppedBy.service), at: now)
            }
            guard !replayed, !tallied else { return }
            if let space {
                rates.add(RateKey(source: source, space: space), at: now)
                if let service {
                    rates.add(RateKey(source: source, space: space, service: service), at: now)
                }
            }
        case .tally(let tally):
            update(source) { $0.tallied = true }
            tallyCounted.add(tally.hops, at: now)
            tallySampled.add(tally.sampled, at: now)
            for route in tally.routes {
                rates.add(RateKey(source: source, space: route.routeAs), at: now, count: route.hops)
                if let service = route.service {
                    rates.add(
                        RateKey(source: source, space: route.routeAs, service: service), at: now,
                        count: route.hops)
                }
            }
        case .dropped(let count):
            update(source) { $0.dropped += count }
        case .error, .ack, .request:
            break
        }
    }

    public mutating func connected(_ source: String, at now: Double) {
        revision += 1
        if countingSince == nil { countingSince = now }
        update(source) {
            if $0.countingSince == nil { $0.countingSince = now }
            $0.connected = true
            $0.disconnectReason = nil
        }
    }

    public mutating func disconnected(_ source: String, reason: String) {
        revision += 1
        update(source) {
            $0.connected = false
            $0.disconnectReason = reason
        }
    }

    public mutating func setHealth(_ health: [String: Health]) {
        guard health != self.health else { return }
        self.health = health
        revision += 1
    }

    /// Marks the model changed for reasons outside it, such as time passing for the rates.
    public mutating func touch() { revision += 1 }

    /// Requests per second routed as `space`.
    public func spaceRate(source: String, space: String, at now: Double) -> Double {
        rates.rate(RateKey(source: source, space: space), at: now, since: origin(of: source, at: now))
    }

    /// Requests per second routed as `space` for `service`.
    public func serviceRate(source: String, space: String, service: String, at now: Double) -> Double {
        rates.rate(
            RateKey(source: source, space: space, service: service), at: now,
            since: origin(of: source, at: now))
    }

    /// How many hops, of those that reached the dashboard in the last `dropMinutes`, lost their
    /// route context because `service` in `space` called without passing it on.
    public func dropped(source: String, space: String, service: String, at now: Double) -> Int {
        drops.count(RateKey(source: source, space: space, service: service), at: now)
    }

    public func eventRate(at now: Double) -> Double { events.rate(at: now, since: countingSince ?? now) }

    private func origin(of source: String, at now: Double) -> Double {
        self.source(source)?.countingSince ?? countingSince ?? now
    }

    /// Over the last few seconds, how many hops the tallies counted a second and what share of
    /// them the list received; nil when no proxy left any hop out.
    public func sampling(at now: Double) -> (hopsPerSecond: Double, share: Double)? {
        let counted = tallyCounted.rate(at: now, since: countingSince ?? now)
        let sampled = tallySampled.rate(at: now, since: countingSince ?? now)
        guard counted > 0, sampled < counted else { return nil }
        return (counted, sampled / counted)
    }

    /// The hops of `record`'s feed sharing its flow, in the order they started: the request as
    /// it came in first, then the calls it made.
    public func flow(of record: HopRecord) -> [HopRecord] {
        guard let flow = flows.flow(record.hop.flow) else { return [record] }
        return records(of: flow).filter { $0.source == record.source }
            .map { (start: $0.startedAt ?? .infinity, record: $0) }
            .sorted { ($0.start, $0.record.sequence) < ($1.start, $1.record.sequence) }.map(\.record)
    }

    /// The hops of `flow` the ring still holds, up to sequence `limit` (a paused list), in arrival order.
    public func records(of flow: FlowIndex.Flow, through limit: Int = .max) -> [HopRecord] {
        flow.sequences.compactMap { $0 <= limit ? hops[$0] : nil }
    }

    /// Every upstream the trees name, for the health check.
    public var upstreams: Set<String> {
        var all = Set<String>()
        for source in sources {
            for space in source.tree?.spaces ?? [] {
                for instance in space.services { all.insert(instance.upstream.description) }
            }
        }
        return all
    }

    private mutating func update(_ name: String, _ change: (inout SourceState) -> Void) {
        if let position = sources.firstIndex(where: { $0.name == name }) {
            change(&sources[position])
        } else {
            var state = SourceState(name: name)
            change(&state)
            sources.append(state)
        }
    }
}

/// What a rate counts: hops from one feed routed as a space, and for one service if named.
private struct RateKey: Hashable, Sendable {
    var source: String
    var space: String
    /// `Names.serviceKey` of the service, so rates ignore its case.
    var service: String?

    init(source: String, space: String, service: String? = nil) {
        self.source = source
        self.space = space
        self.service = service.map(Names.serviceKey)
    }

    /// Leaves out the source, often a long socket path, which `==` still compares.
    func hash(into hasher: inout Hasher) {
        hasher.combine(space)
        hasher.combine(service)
    }
}
