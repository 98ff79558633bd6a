import NIOCore
import NIOHTTP1
import NIOPosix
import SpaceportCore

/// Keep-alive connections to upstreams, for one event loop, by upstream address: a request
/// takes an idle connection when there is one (`takeIdle`) and dials otherwise (`dial`).
/// Touched only on `loop`, so it needs no lock; connections live on the loop of the client
/// they serve.
final class UpstreamPool: UpstreamOwner {
    /// Idle connections kept per upstream address beyond which released ones are closed;
    /// as many as nginx's `keepalive 1024`, so a thousand busy clients do not dial per request.
    static let maxIdlePerAddress = 1024

    private struct Parked {
        var upstream: UpstreamHandler
        var expires: NIODeadline
    }

    /// One address's idle connections, in a class so taking and parking change it in place
    /// instead of moving an array in and out of the dictionary (an allocation per request).
    private final class Parking {
        var parked: [Parked] = []
    }

    private let loop: any EventLoop
    /// Per address, oldest first: a request takes the newest, the sweep closes the oldest.
    private var idle: [Address: Parking] = [:]
    /// One timer for the whole pool, at the earliest expiry, instead of one per parked connection.
    private var sweep: Scheduled<Void>?
    private var sweepAt: NIODeadline?
    /// Set once the proxy shuts down: connections handed back close instead of waiting.
    private var retired = false

    init(loop: any EventLoop) {
        self.loop = loop
    }

    /// The newest idle connection to `address` ready for a request, if there is one. A
    /// connection whose last response ended in the read still going on waits for that read's
    /// end, so that bytes behind that response are seen before any request goes on it.
    func takeIdle(_ address: Address) -> UpstreamHandler? {
        guard let parking = idle[address] else { return nil }
        var index = parking.parked.endIndex
        while index > parking.parked.startIndex {
            index -= 1
            let upstream = parking.parked[index].upstream
            if upstream.isReady {
                parking.parked.remove(at: index)
                upstream.owner = nil
                return upstream
            }
            if !upstream.isReusable { parking.parked.remove(at: index) }
        }
        return nil
    }

    /// A connection to `address` is idle but still in the read its last response ended in:
    /// it is ready once the event loop has finished that read.
    func hasSettling(_ address: Address) -> Bool {
        idle[address]?.parked.contains { $0.upstream.isReusable && !$0.upstream.isReady } ?? false
    }

    /// Calls `done` with a new connection to `address`, for when `takeIdle` found none or the
    /// request must not go on a reused one.
    func dial(
        _ address: Address, connectTimeout: TimeAmount,
        _ done: @escaping (Result<UpstreamHandler, any Error>) -> Void
    ) {
        HTTPUpstream.connect(to: address, on: loop, timeout: connectTimeout).assumeIsolated().whenComplete {
            result in
            done(
                result.flatMap { channel in
                    Result { try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) }
                })
        }
    }

    /// Takes back a connection whose last exchange ended cleanly; it closes after `idleTimeout` unused.
    func release(_ upstream: UpstreamHandler, idleTimeout: TimeAmount) {
        let parking = idle[upstream.address] ?? Parking()
        guard !retired, upstream.isReusable, parking.parked.count < Self.maxIdlePerAddress else {
            upstream.close()
            return
        }
        if parking.parked.isEmpty { idle[upstream.address] = parking }
        upstream.owner = self
        upstream.resumeReads()
        let expires = NIODeadline.now() + idleTimeout
        parking.parked.append(Parked(upstream: upstream, expires: expires))
        if sweepAt.map({ expires < $0 }) ?? true { armSweep(at: expires) }
    }

    func closeAll() {
        retired = true
        let parked = idle.values.flatMap(\.parked)
        idle = [:]
        sweep?.cancel()
        sweep = nil
        sweepAt = nil
        for connection in parked {
            connection.upstream.close()
        }
    }

    var idleCount: Int { idle.values.reduce(0) { $0 + $1.parked.count } }

    private func armSweep(at deadline: NIODeadline) {
        sweep?.cancel()
        sweepAt = deadline
        sweep = loop.assumeIsolated().scheduleTask(deadline: deadline) { self.closeExpired() }
    }

    /// Closes the connections unused for their idle timeout, then waits for the next to expire.
    private func closeExpired() {
        sweep = nil
        sweepAt = nil
        let now = NIODeadline.now()
        var expired: [UpstreamHandler] = []
        var next: NIODeadline?
        for (address, parking) in idle {
            let stale = parking.parked.prefix { $0.expires <= now }.count
            expired += parking.parked.prefix(stale).map(\.upstream)
            parking.parked.removeFirst(stale)
            if parking.parked.isEmpty { idle[address] = nil }
            if let first = parking.parked.map(\.expires).min(), next.map({ first < $0 }) ?? true {
                next = first
            }
        }
        for upstream in expired { upstream.close() }
        if let next, !retired { armSweep(at: next) }
    }

    private func forget(_ upstream: UpstreamHandler) {
        idle[upstream.address]?.parked.removeAll { $0.upstream === upstream }
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
        dial(address, on: loop, timeout: timeout) { channel in
            try channel.pipeline.syncOperations.addHandler(UpstreamHandler(address: address))
        }
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
