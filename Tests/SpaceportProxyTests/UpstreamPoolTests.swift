import NIOCore
import NIOHTTP1
import NIOPosix
import SpaceportCore
import Synchronization
import Testing

@testable import SpaceportProxy

/// `UpstreamPool` over real sockets: it dials a small HTTP server on 127.0.0.1:0, and every
/// call to it runs on its event loop, as the exchange handler makes them.
@Suite("The upstream connection pool")
struct UpstreamPoolTests {
    /// An HTTP server that answers every request `200 ok`, and counts what it sees.
    final class CountingServer: Sendable {
        let accepted = Atomic<Int>(0)
        let closed = Atomic<Int>(0)
        let requests = Atomic<Int>(0)

        /// Listens on 127.0.0.1:0 until `group` shuts down; returns the address it took.
        func listen(on group: any EventLoopGroup) async throws -> Address {
            let channel = try await ServerBootstrap(group: group)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(Answer(self))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            return Address(host: "127.0.0.1", port: channel.localAddress!.port!)
        }

        final class Answer: ChannelInboundHandler {
            typealias InboundIn = HTTPServerRequestPart
            typealias OutboundOut = HTTPServerResponsePart
            let server: CountingServer
            init(_ server: CountingServer) { self.server = server }

            func channelActive(context: ChannelHandlerContext) {
                server.accepted.add(1, ordering: .relaxed)
                context.fireChannelActive()
            }

            func channelInactive(context: ChannelHandlerContext) {
                server.closed.add(1, ordering: .relaxed)
                context.fireChannelInactive()
            }

            func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                guard case .end = unwrapInboundIn(data) else { return }
                server.requests.add(1, ordering: .relaxed)
                let head = HTTPResponseHead(version: .http1_1, status: .ok, headers: ["content-length": "2"])
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: "ok")))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }

    /// What a test does with the pool, on the pool's loop: connections are known by number,
    /// in the order the pool first handed them out.
    final class Driver: UpstreamOwner {
        let loop: any EventLoop
        let pool: UpstreamPool
        let address: Address
        private var upstreams: [UpstreamHandler] = []
        private var response: EventLoopPromise<Void>?
        private var ended = false

        init(loop: any EventLoop, address: Address, overLimitLinger: TimeAmount) {
            self.loop = loop
            self.address = address
            pool = UpstreamPool(loop: loop, overLimitLinger: overLimitLinger)
        }

        func number(_ upstream: UpstreamHandler) -> Int {
            if let index = upstreams.firstIndex(where: { $0 === upstream }) { return index }
            upstreams.append(upstream)
            return upstreams.count - 1
        }

        /// A connection from the pool, by number, once the pool calls back.
        func connect(_ limits: Limits) -> EventLoopFuture<Int> {
            let promise = loop.makePromise(of: Int.self)
            pool.connect(address, limits: limits) { result in
                promise.completeWith(result.map { self.number($0) })
            }
            return promise.futureResult
        }

        func takeIdle() -> Int? { pool.takeIdle(address).map(number) }

        func release(_ connection: Int, _ limits: Limits) {
            pool.release(upstreams[connection], limits: limits)
        }

        /// The proxy's side of the connection is open.
        func isOpen(_ connection: Int) -> Bool { upstreams[connection].isActive }

        /// Sends `GET /` on `connection`; the future completes once the read its response ended in is over.
        func get(on connection: Int) -> EventLoopFuture<Void> {
            let upstream = upstreams[connection]
            upstream.owner = self
            ended = false
            response = loop.makePromise()
            upstream.sendHead(
                ByteBuffer(string: "GET / HTTP/1.1\r\nHost: up\r\n\r\n"), chunked: false, answersHEAD: false)
            upstream.flush()
            return response!.futureResult
        }

        /// As `get`, but the connection goes back to the pool as its response ends, the way
        /// the exchange handler gives it back: what `takeIdle` finds then and once the read is over.
        func getReleasingAtEnd(on connection: Int, _ limits: Limits) -> EventLoopFuture<Settling> {
            let promise = loop.makePromise(of: Settling.self)
            atEnd = { upstream in
                self.pool.release(upstream, limits: limits)
                let during = Settling(
                    takenInTheRead: self.takeIdle(), settling: self.pool.hasSettling(self.address),
                    takenAfter: nil)
                self.loop.assumeIsolated().execute {
                    var after = during
                    after.takenAfter = self.takeIdle()
                    promise.succeed(after)
                }
            }
            _ = get(on: connection)
            return promise.futureResult
        }

        private var atEnd: ((UpstreamHandler) -> Void)?

        func upstream(_ upstream: UpstreamHandler, received part: UpstreamResponsePart) {
            guard case .end = part else { return }
            ended = true
            guard let atEnd else { return }
            self.atEnd = nil
            atEnd(upstream)
            // The pool holds the connection now: its read's end is not this owner's to see.
            response.take()?.succeed()
        }

        func upstreamReadComplete(_ upstream: UpstreamHandler) {
            if ended { response.take()?.succeed() }
        }

        func upstreamWritabilityChanged(_ upstream: UpstreamHandler) {}

        func upstreamClosed(_ upstream: UpstreamHandler, error: (any Error)?) {
            response.take()?.fail(error ?? ChannelError.eof)
        }
    }

    struct Settling: Sendable {
        var takenInTheRead: Int?
        var settling: Bool
        var takenAfter: Int?
    }

    /// A pool on one event loop and a server to dial, for `body`; `run` calls the driver on the loop.
    struct Rig: Sendable {
        let loop: any EventLoop
        let server: CountingServer
        let address: Address
        let driver: NIOLoopBoundBox<Driver>

        func run<Value: Sendable>(_ body: @escaping @Sendable (Driver) throws -> Value) async throws -> Value
        {
            try await loop.submit { try body(driver.value) }.get()
        }

        func result<Value: Sendable>(_ body: @escaping @Sendable (Driver) -> EventLoopFuture<Value>)
            async throws -> Value
        {
            try await loop.flatSubmit { body(driver.value) }.get()
        }

        static func with(
            overLimitLinger: TimeAmount = .seconds(1), _ body: (Rig) async throws -> Void
        ) async throws {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            var failure: (any Error)?
            do {
                let server = CountingServer()
                let address = try await server.listen(on: group)
                let loop = group.next()
                let driver = try await loop.submit {
                    NIOLoopBoundBox(
                        Driver(loop: loop, address: address, overLimitLinger: overLimitLinger),
                        eventLoop: loop)
                }.get()
                let rig = Rig(loop: loop, server: server, address: address, driver: driver)
                do { try await body(rig) } catch { failure = error }
                try await rig.run { $0.pool.closeAll() }
            } catch {
                failure = failure ?? error
            }
            // Closes the server and every connection still open.
            try await group.shutdownGracefully()
            if let failure { throw failure }
        }
    }

    static func limits(_ change: (inout Limits) -> Void = { _ in }) -> Limits {
        var limits = Limits()
        change(&limits)
        return limits
    }

    /// Waits, briefly, for the server to have seen `count` connections close.
    static func serverSees(closed count: Int, _ server: CountingServer) async throws {
        for _ in 0..<250 where server.closed.load(ordering: .relaxed) < count {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(server.closed.load(ordering: .relaxed) == count)
    }

    @Test("a connection given back is the one the next request takes, and it carries that request")
    func releasedIsTakenAgain() async throws {
        try await Rig.with { rig in
            let limits = Self.limits()
            let first = try await rig.result { $0.connect(limits) }
            try await rig.result { $0.get(on: first) }
            try await rig.run { $0.release(first, limits) }
            #expect(try await rig.run { $0.pool.idleCount } == 1)
            let taken = try await rig.run { $0.takeIdle() }
            #expect(taken == first)
            #expect(try await rig.run { $0.takeIdle() } == nil)
            try await rig.result { $0.get(on: first) }
            #expect(rig.server.accepted.load(ordering: .relaxed) == 1)
            #expect(rig.server.requests.load(ordering: .relaxed) == 2)
        }
    }

    @Test("a connection whose response ended in the read going on is taken only once that read is over")
    func settlingUntilTheReadEnds() async throws {
        try await Rig.with { rig in
            let limits = Self.limits()
            let first = try await rig.result { $0.connect(limits) }
            let seen = try await rig.result { $0.getReleasingAtEnd(on: first, limits) }
            #expect(seen.takenInTheRead == nil)
            #expect(seen.settling)
            #expect(seen.takenAfter == first)
        }
    }

    @Test("connections given back beyond max_idle_upstream_connections close after a short linger, unused")
    func idleLimit() async throws {
        try await Rig.with(overLimitLinger: .milliseconds(200)) { rig in
            let limits = Self.limits { $0.maxIdleUpstreamConnections = 1 }
            let first = try await rig.result { $0.connect(limits) }
            let second = try await rig.result { $0.connect(limits) }
            #expect(first != second)
            try await rig.run { $0.release(first, limits) }
            try await rig.run { $0.release(second, limits) }
            try await Self.serverSees(closed: 1, rig.server)
            #expect(try await rig.run { $0.isOpen(second) } == false)
            #expect(try await rig.run { $0.pool.idleCount } == 1)
            #expect(try await rig.run { $0.takeIdle() } == first)
        }
    }

    @Test("a burst given back beyond max_idle_upstream_connections is taken again by the next burst, no dial")
    func idleLimitBurst() async throws {
        // A linger far longer than the test, so a busy machine cannot make it expire.
        try await Rig.with(overLimitLinger: .seconds(60)) { rig in
            let limits = Self.limits { $0.maxIdleUpstreamConnections = 1 }
            var burst: [Int] = []
            for _ in 0..<3 { burst.append(try await rig.result { $0.connect(limits) }) }
            for connection in burst { try await rig.run { $0.release(connection, limits) } }
            var again: [Int] = []
            for _ in 0..<3 { again.append(try await rig.run { $0.takeIdle() } ?? -1) }
            #expect(Set(again) == Set(burst))
            #expect(rig.server.accepted.load(ordering: .relaxed) == 3)
            #expect(rig.server.closed.load(ordering: .relaxed) == 0)
        }
    }

    @Test("past max_upstream_connections a request waits and gets the first connection given back")
    func connectionLimit() async throws {
        try await Rig.with { rig in
            let limits = Self.limits { $0.maxUpstreamConnections = 1 }
            let first = try await rig.result { $0.connect(limits) }
            let waiting = try await rig.run { $0.connect(limits) }
            try await rig.run { $0.release(first, limits) }
            #expect(try await waiting.get() == first)
            #expect(rig.server.accepted.load(ordering: .relaxed) == 1)
            // Given to the waiting request, it is not idle.
            #expect(try await rig.run { $0.pool.idleCount } == 0)
        }
    }

    @Test("a request waiting longer than upstream_timeout_ms is told none came free")
    func waitedTooLong() async throws {
        try await Rig.with { rig in
            let limits = Self.limits {
                $0.maxUpstreamConnections = 1
                $0.upstreamTimeoutMs = 100
            }
            _ = try await rig.result { $0.connect(limits) }
            let error = await #expect(throws: UpstreamPool.Refusal.self) {
                try await rig.result { $0.connect(limits) }
            }
            #expect(error.map { "\($0)" } == "waitedTooLong(open: 1, ms: 100)")
        }
    }

    @Test("a request past max_upstream_queue is refused at once, and the answer names the limit")
    func queueLimit() async throws {
        try await Rig.with { rig in
            let limits = Self.limits {
                $0.maxUpstreamConnections = 1
                $0.maxUpstreamQueue = 1
            }
            _ = try await rig.result { $0.connect(limits) }
            let waiting = try await rig.run { $0.connect(limits) }
            let error = await #expect(throws: UpstreamPool.Refusal.self) {
                try await rig.result { $0.connect(limits) }
            }
            #expect(error.map { "\($0)" } == "queueFull(open: 1, waiting: 1)")
            let refusal = try #require(error)
            let answer = ErrorAnswer.unreachable("servicea@default", at: rig.address, refusal, limits: limits)
            #expect(answer.status == .serviceUnavailable)
            #expect(answer.message.contains("(max_upstream_queue)"))
            try await rig.run { $0.pool.closeAll() }
            await #expect(throws: UpstreamPool.Refusal.self) { try await waiting.get() }
        }
    }

    @Test("closing the pool fails the waiting requests as shutting down, and refuses new ones")
    func closeAllFailsWaiters() async throws {
        try await Rig.with { rig in
            let limits = Self.limits { $0.maxUpstreamConnections = 1 }
            let first = try await rig.result { $0.connect(limits) }
            let waiting = try await rig.run { $0.connect(limits) }
            try await rig.run { $0.pool.closeAll() }
            let waited = await #expect(throws: UpstreamPool.Refusal.self) { try await waiting.get() }
            let late = await #expect(throws: UpstreamPool.Refusal.self) {
                try await rig.result { $0.connect(limits) }
            }
            #expect([waited, late].map { $0.map { "\($0)" } } == ["shuttingDown", "shuttingDown"])
            // A connection given back after the close is closed, not kept.
            try await rig.run { $0.release(first, limits) }
            #expect(try await rig.run { $0.isOpen(first) } == false)
            try await Self.serverSees(closed: 1, rig.server)
        }
    }
}
