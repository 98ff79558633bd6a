import NIOCore
import SpaceportCore

/// What one event loop keeps for itself: its copy of the tree, its pool of upstream
/// connections, and the client connections it serves (for draining). Touched only on `loop`.
final class LoopState {
    let loop: any EventLoop
    let pool: UpstreamPool
    /// HTTP/2 streams' upstream connections, each carrying many streams.
    let http2: HTTP2UpstreamPool
    private let live: LiveTree
    private var generation: Int
    private var cached: SpaceTree
    private var connections: [ObjectIdentifier: any Channel] = [:]
    private(set) var draining = false
    /// Routes already worked out on `cached`, forgotten when the tree changes. Bounded, as
    /// hosts come from clients: when full it starts again rather than growing.
    private var routes: [RouteRequest: KnownRoute] = [:]
    static let maxCachedRoutes = 1024
    /// The tree's carriers and what the proxy writes of them, worked out once per tree.
    private var carrierPlan: CarrierPlan
    /// What every loop shares: traces' routes, and the routes each instance is serving now.
    let traces: TraceMemory
    let inFlight: InFlightRoutes
    /// The replays on their way to the ingress, and this loop's share of the requests kept for them.
    let replays: ReplayTickets
    let kept: KeptRequests
    /// Requests an upstream failed on this loop, by how; read by `counts`.
    private var upstreamFaults: [UpstreamFault: Int] = [:]

    /// `loops`: how many event loops share the proxy's limits.
    init(
        loop: any EventLoop, live: LiveTree, loops: Int = 1, traces: TraceMemory = TraceMemory(),
        inFlight: InFlightRoutes = InFlightRoutes(), replays: ReplayTickets = ReplayTickets()
    ) {
        self.loop = loop
        self.live = live
        let snapshot = live.snapshot()
        generation = snapshot.generation
        cached = snapshot.tree
        carrierPlan = CarrierPlan(snapshot.tree.settings)
        pool = UpstreamPool(loop: loop, share: loops)
        http2 = HTTP2UpstreamPool(loop: loop)
        self.traces = traces
        self.inFlight = inFlight
        self.replays = replays
        kept = KeptRequests(loops: loops)
    }

    /// The carriers of the tree in effect, and which the proxy writes.
    var carriers: CarrierPlan {
        refresh()
        return carrierPlan
    }

    /// The tree as of now: one atomic load unless the tree changed since the last request.
    var tree: SpaceTree {
        refresh()
        return cached
    }

    /// The current limits and route header, read in place: a request needs a field or two of
    /// the settings, and a copy of the tree would retain and release all of it.
    var limits: Limits {
        refresh()
        return cached.settings.limits
    }

    var routeHeader: String {
        refresh()
        return cached.settings.routeHeader
    }

    /// `ip` is a proxy in front of this one, whose X-Forwarded-Host and -Proto stand.
    func trusts(_ ip: String?) -> Bool {
        refresh()
        guard let ip, !cached.settings.trustedProxies.isEmpty else { return false }
        return cached.settings.trustedProxies.contains { $0.contains(ip) }
    }

    private func refresh() {
        if live.currentGeneration != generation {
            (generation, cached) = live.snapshot()
            routes.removeAll()
            carrierPlan = CarrierPlan(cached.settings)
        }
    }

    /// `tree.route(request)` on the current tree, worked out once per distinct request until
    /// the tree changes: parsing the host and walking the chain cost more than a lookup.
    func route(_ request: RouteRequest) throws(RouteError) -> KnownRoute {
        refresh()
        if let known = routes[request] { return known }
        let known = KnownRoute(try cached.route(request), in: cached)
        if routes.count >= Self.maxCachedRoutes { routes.removeAll(keepingCapacity: true) }
        routes[request] = known
        return known
    }

    func count(_ fault: UpstreamFault) {
        upstreamFaults[fault, default: 0] += 1
    }

    /// This loop's part of the proxy's counts.
    var counts: ProxyCounts {
        var counts = ProxyCounts()
        counts.clientConnections = connections.count
        counts.upstreamConnections = pool.openCount + http2.openCount
        counts.idleUpstreamConnections = pool.idleCount
        counts.dials = pool.dials + http2.dials
        counts.upstreamFaults = upstreamFaults
        return counts
    }

    func track(_ channel: any Channel) {
        let key = ObjectIdentifier(channel)
        connections[key] = channel
        channel.closeFuture.assumeIsolated().whenComplete { _ in
            self.connections[key] = nil
        }
        if draining { channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent()) }
    }

    /// Asks every connection to finish what it is doing and close; returns when all have.
    func drain() -> EventLoopFuture<Void> {
        draining = true
        let open = Array(connections.values)
        for channel in open {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        pool.closeAll()
        http2.drain()
        return EventLoopFuture.andAllComplete(open.map(\.closeFuture), on: loop)
    }

    func closeAll() {
        for channel in connections.values { channel.close(promise: nil) }
        pool.closeAll()
        http2.closeAll()
    }
}

/// Each event loop's `LoopState`, found by the loop a channel runs on. Built once, never mutated.
struct LoopStates: Sendable {
    private let states: [ObjectIdentifier: NIOLoopBoundBox<LoopState>]

    init(group: any EventLoopGroup, live: LiveTree) {
        var states: [ObjectIdentifier: NIOLoopBoundBox<LoopState>] = [:]
        let loops = Array(group.makeIterator())
        let traces = TraceMemory()
        let inFlight = InFlightRoutes()
        let replays = ReplayTickets()
        for loop in loops {
            states[ObjectIdentifier(loop)] = .makeBoxSendingValue(
                LoopState(
                    loop: loop, live: live, loops: loops.count, traces: traces, inFlight: inFlight,
                    replays: replays),
                eventLoop: loop)
        }
        self.states = states
        self.replays = replays
    }

    /// What every loop shares of replays.
    let replays: ReplayTickets

    /// The state of the loop the caller runs on.
    func on(_ loop: any EventLoop) -> LoopState {
        guard let box = states[ObjectIdentifier(loop)] else {
            preconditionFailure("event loop \(loop) is not in the proxy's group")
        }
        return box.value
    }

    var loops: [any EventLoop] { states.values.map(\.eventLoop) }
}
