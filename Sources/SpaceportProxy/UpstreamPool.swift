import NIOCore
import NIOHTTP1
import NIOPosix
import SpaceportCore

/// Keep-alive connections to upstreams, for one event loop, by upstream address: a request
/// takes an idle connection when there is one (`takeIdle`) and asks for one otherwise
/// (`connect`), which dials while the address has fewer than its share of
/// `max_upstream_connections` open, and queues the request (up to its share of
/// `max_upstream_queue`) until one comes back or closes. The limits are shared evenly among
/// the event loops, so no lock is taken. Touched only on `loop`; connections live on the loop
/// of the client they serve.
final class UpstreamPool: UpstreamOwner {
    /// Why a request got no connection: every connection to the upstream is busy and so many
    /// requests wait already, or none came free in time, or the proxy is shutting down.
    enum Refusal: Error {
        case queueFull(open: Int, waiting: Int)
        case waitedTooLong(open: Int, ms: Int)
        case shuttingDown
    }

    typealias Done = (Result<UpstreamHandler, any Error>) -> Void

    private struct Parked {
        var upstream: UpstreamHandler
        var expires: NIODeadline
    }

    private struct Waiter {
        let done: Done
        let connectTimeout: TimeAmount
        /// When it has waited `upstream_timeout_ms`, and what it is told then.
        let expires: NIODeadline
        let refusal: Refusal
    }

    /// One address's connections: the idle ones, how many are open or being dialled, and the
    /// requests waiting for one. A class, so taking and parking change it in place instead of
    /// moving arrays in and out of the dictionary (an allocation per request).
    private final class Lane {
        /// Oldest first: a request takes the newest; the sweep closes those whose time is up.
        var parked: [Parked] = []
        var open = 0
        var waiting = CircularBuffer<Waiter>(initialCapacity: 0)
        /// Connections handed to a waiter, not yet ready for its request.
        var handing = 0
        /// One timer for the whole queue, at the earliest expiry, instead of one per waiter: with
        /// a thousand clients half the requests wait, and SwiftNIO cancels a timer by searching
        /// every timer of the loop.
        var expiry: Scheduled<Void>?
        var expiryAt: NIODeadline?
    }

    private let loop: any EventLoop
    /// How many event loops share the limits.
    private let share: Int
    private var lanes: [Address: Lane] = [:]
    /// One timer for the whole pool, at the earliest expiry, instead of one per parked connection.
    private var sweep: Scheduled<Void>?
    private var sweepAt: NIODeadline?
    /// Set once the proxy shuts down: connections handed back close instead of waiting.
    private var retired = false
    /// Connections dialled since the pool began, for the admin listener's metrics.
    private(set) var dials = 0

    /// How long a connection given back beyond the idle limit stays for a request to take it: a
    /// burst of answers gives back more connections than the limit, and the next burst of requests
    /// wants them again (closing them at once made 1,000 keep-alive clients dial the upstream a
    /// third of their requests).
    let overLimitLinger: TimeAmount

    init(loop: any EventLoop, share: Int = 1, overLimitLinger: TimeAmount = .seconds(1)) {
        self.loop = loop
        self.share = max(share, 1)
        self.overLimitLinger = overLimitLinger
    }

    /// This loop's part of a proxy-wide limit: at least one.
    private func part(_ limit: Int) -> Int { max(limit / share, 1) }

    private func lane(_ address: Address) -> Lane {
        if let lane = lanes[address] { return lane }
        let lane = Lane()
        lanes[address] = lane
        return lane
    }

    /// The newest idle connection to `address` ready for a request, if there is one. A
    /// connection whose last response ended in the read still going on waits for that read's
    /// end, so that bytes behind that response are seen before any request goes on it.
    func takeIdle(_ address: Address) -> UpstreamHandler? {
        guard let lane = lanes[address] else { return nil }
        var index = lane.parked.endIndex
        while index > lane.parked.startIndex {
            index -= 1
            let upstream = lane.parked[index].upstream
            if upstream.isReady {
                lane.parked.remove(at: index)
                upstream.owner = nil
                return upstream
            }
            if !upstream.isReusable { lane.parked.remove(at: index) }
        }
        return nil
    }

    /// A connection to `address` is idle but still in the read its last response ended in:
    /// it is ready once the event loop has finished that read.
    func hasSettling(_ address: Address) -> Bool {
        lanes[address]?.parked.contains { $0.upstream.isReusable && !$0.upstream.isReady } ?? false
    }

    /// Calls `done` with a new connection to `address` (for when `takeIdle` found none, or the
    /// request must not go on a reused one), or, when the address has all the connections the
    /// limits allow, with the first that comes back or the right to dial once one closes; with
    /// a `Refusal` when too many requests wait already or none came in time.
    func connect(_ address: Address, limits: Limits, _ done: @escaping Done) {
        guard !retired else { return done(.failure(Refusal.shuttingDown)) }
        let lane = lane(address)
        if lane.open < part(limits.maxUpstreamConnections) {
            dial(address, lane, connectTimeout: .milliseconds(Int64(limits.connectTimeoutMs)), done)
            return
        }
        guard lane.waiting.count < part(limits.maxUpstreamQueue) else {
            return done(
                .failure(Refusal.queueFull(open: lane.open * share, waiting: lane.waiting.count * share)))
        }
        let waiter = Waiter(
            done: done, connectTimeout: .milliseconds(Int64(limits.connectTimeoutMs)),
            expires: loop.now + .milliseconds(Int64(limits.upstreamTimeoutMs)),
            refusal: .waitedTooLong(open: lane.open * share, ms: limits.upstreamTimeoutMs))
        lane.waiting.append(waiter)
        if lane.expiryAt.map({ waiter.expires < $0 }) ?? true { armExpiry(lane, at: waiter.expires) }
    }

    /// Waiters leave the queue without touching the timer: when it fires, it refuses those whose
    /// time is up and waits for the next, if any.
    private func armExpiry(_ lane: Lane, at deadline: NIODeadline) {
        lane.expiry?.cancel()
        lane.expiryAt = deadline
        lane.expiry = loop.assumeIsolated().scheduleTask(deadline: deadline) { self.refuseExpired(lane) }
    }

    private func refuseExpired(_ lane: Lane) {
        lane.expiry = nil
        lane.expiryAt = nil
        let now = loop.now
        // Not always in order of expiry: the timeout may have changed while they waited.
        let expired = lane.waiting.filter { $0.expires <= now }
        if !expired.isEmpty { lane.waiting.removeAll { $0.expires <= now } }
        if let next = lane.waiting.lazy.map(\.expires).min() { armExpiry(lane, at: next) }
        for waiter in expired { waiter.done(.failure(waiter.refusal)) }
    }

    private func dial(_ address: Address, _ lane: Lane, connectTimeout: TimeAmount, _ done: @escaping Done) {
        lane.open += 1
        dials += 1
        HTTPUpstream.connect(to: address, on: loop, timeout: connectTimeout).assumeIsolated().whenComplete {
            result in
            switch result {
            case .success(let channel): self.countUntilClosed(channel, address)
            case .failure: self.closed(address)
            }
            done(
                result.flatMap { channel in
                    Result { try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) }
                })
        }
    }

    /// Counted as open until it closes, whoever holds it then.
    private func countUntilClosed(_ channel: any Channel, _ address: Address) {
        channel.closeFuture.assumeIsolated().whenComplete { _ in self.closed(address) }
    }

    /// Takes an HTTP connection opened elsewhere (`HTTPUpstream.install` on an active channel of
    /// this loop) as one of its own, idle until a request takes it: how the benchmarks hand the
    /// pool an upstream with no socket behind it.
    func adopt(_ channel: any Channel, limits: Limits) throws {
        let upstream = try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self)
        lane(upstream.address).open += 1
        countUntilClosed(channel, upstream.address)
        release(upstream, limits: limits)
    }

    /// A connection to `address` closed, or a dial failed: a waiting request may dial in its place.
    private func closed(_ address: Address) {
        guard let lane = lanes[address] else { return }
        lane.open -= 1
        if let waiter = lane.waiting.popFirst() {
            dial(address, lane, connectTimeout: waiter.connectTimeout, waiter.done)
        } else if lane.open == 0 && lane.parked.isEmpty && lane.handing == 0 {
            lanes[address] = nil
        }
    }

    /// Takes back a connection whose last exchange ended cleanly: it goes to the first request
    /// waiting for one, or idles, closing after `limits.idleTimeoutMs` unused, or after
    /// `overLimitLinger` when the address has its share of `max_idle_upstream_connections` idle
    /// already.
    func release(_ upstream: UpstreamHandler, limits: Limits) {
        guard !retired, upstream.isReusable, let lane = lanes[upstream.address] else {
            upstream.close()
            return
        }
        upstream.owner = self
        upstream.resumeReads()
        if !lane.waiting.isEmpty {
            // Handed on once the read its response ended in is over (`isReady`).
            lane.handing += 1
            loop.assumeIsolated().execute {
                lane.handing -= 1
                guard upstream.isReusable, let waiter = lane.waiting.popFirst() else {
                    self.park(upstream, lane, limits)
                    return
                }
                upstream.owner = nil
                waiter.done(.success(upstream))
            }
            return
        }
        park(upstream, lane, limits)
    }

    private func park(_ upstream: UpstreamHandler, _ lane: Lane, _ limits: Limits) {
        guard !retired, upstream.isReusable else {
            upstream.close()
            return
        }
        var idleFor = TimeAmount.milliseconds(Int64(limits.idleTimeoutMs))
        if lane.parked.count >= part(limits.maxIdleUpstreamConnections) {
            idleFor = min(idleFor, overLimitLinger)
        }
        let expires = loop.now + idleFor
        lane.parked.append(Parked(upstream: upstream, expires: expires))
        if sweepAt.map({ expires < $0 }) ?? true { armSweep(at: expires) }
    }

    func closeAll() {
        retired = true
        let parked = lanes.values.flatMap(\.parked)
        let waiting = lanes.values.flatMap { Array($0.waiting) }
        for lane in lanes.values {
            lane.parked = []
            lane.waiting.removeAll()
            lane.expiry?.cancel()
            lane.expiry = nil
            lane.expiryAt = nil
        }
        sweep?.cancel()
        sweep = nil
        sweepAt = nil
        for connection in parked {
            connection.upstream.close()
        }
        for waiter in waiting {
            waiter.done(.failure(Refusal.shuttingDown))
        }
    }

    var idleCount: Int { lanes.values.reduce(0) { $0 + $1.parked.count } }

    /// Connections open or being dialled, to every upstream.
    var openCount: Int { lanes.values.reduce(0) { $0 + $1.open } }

    private func armSweep(at deadline: NIODeadline) {
        sweep?.cancel()
        sweepAt = deadline
        sweep = loop.assumeIsolated().scheduleTask(deadline: deadline) { self.closeExpired() }
    }

    /// Closes the connections unused for their idle timeout, then waits for the next to expire.
    private func closeExpired() {
        sweep = nil
        sweepAt = nil
        let now = loop.now
        var expired: [UpstreamHandler] = []
        var next: NIODeadline?
        for lane in lanes.values {
            // Not in order of expiry: one given back past the idle limit expires sooner.
            expired += lane.parked.lazy.filter { $0.expires <= now }.map(\.upstream)
            lane.parked.removeAll { $0.expires <= now }
            if let first = lane.parked.map(\.expires).min(), next.map({ first < $0 }) ?? true {
                next = first
            }
        }
        for upstream in expired { upstream.close() }
        if let next, !retired { armSweep(at: next) }
    }

    private func forget(_ upstream: UpstreamHandler) {
        lanes[upstream.address]?.parked.removeAll { $0.upstream === upstream }
    }

    func upstream(_ upstream: UpstreamHandler, received part: UpstreamResponsePart) {
        forget(upstream)
        upstream.close()
    }

    func upstreamReadComplete(_ upstream: UpstreamHandler) {}

    func upstreamWritabilityChanged(_ upstream: UpstreamHandler) {}

    func upstreamClosed(_ upstream: UpstreamHandler, error: (any Error)?) {
        forget(upstream)
    }
}

/// Dialing upstreams: HTTP connections for requests, bare ones for raw TCP.
enum HTTPUpstream {
    static func connect(to address: Address, on loop: any EventLoop, timeout: TimeAmount) -> EventLoopFuture<
        any Channel
    > {
        dial(address, on: loop, timeout: timeout) { channel in try install(on: channel, address: address) }
    }

    /// An HTTP connection's pipeline: the response decoder, and the handler a request holds;
    /// `reusable` is false on an HTTP/2 stream, which carries one request.
    static func install(on channel: any Channel, address: Address, reusable: Bool = true) throws {
        let decoder = UpstreamResponseDecoder()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(decoder))
        try channel.pipeline.syncOperations.addHandler(
            UpstreamHandler(address: address, decoder: decoder, reusable: reusable))
    }

    static func connectRaw(to address: Address, on loop: any EventLoop, timeout: TimeAmount)
        -> EventLoopFuture<
            any Channel
        >
    {
        dial(address, on: loop, timeout: timeout) { _ in }
    }

    private static func dial(
        _ address: Address, on loop: any EventLoop, timeout: TimeAmount,
        _ setUp: @escaping @Sendable (any Channel) throws -> Void
    ) -> EventLoopFuture<any Channel> {
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try setUp(channel) }
            }
        if let ip = try? SocketAddress(ipAddress: address.host, port: address.port) {
            return bootstrap.connect(to: ip)
        }
        return bootstrap.connect(host: address.host, port: address.port)
    }
}
