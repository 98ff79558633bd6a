import NIOCore
import SpaceportCore

/// The proxy's HTTP pipeline on channels the benchmarks package (`Benchmarks/`) makes: SwiftNIO's
/// `EmbeddedChannel`, no sockets. A release build cannot reach internal types with `@testable`,
/// so this builds them, and nothing else: the benchmarks write bytes into the channels and read
/// what comes out.
@_spi(Benchmarks)
public enum BenchmarkHarness {
    /// Builds an ingress connection's pipeline on `client`, as the listener does for an accepted
    /// socket, and an HTTP upstream connection to `address` on `upstream`, which the pool of their
    /// loop hands to every request routed there. Both channels are active and share one event
    /// loop; `tree` routes, `sink` takes the hops.
    public static func install(
        client: any Channel, upstream: any Channel, at address: Address, tree: SpaceTree,
        sink: (any EventSink)?
    ) throws {
        precondition(client.eventLoop === upstream.eventLoop, "the client and the upstream share one loop")
        let state = LoopState(loop: client.eventLoop, live: LiveTree(tree))
        try HTTPUpstream.install(on: upstream, address: address)
        try state.pool.adopt(upstream, limits: state.limits)
        let reporter = HopReporter(proxy: "spaceport", listener: .ingress, sink: sink)
        let info = ConnectionInfo(role: .ingress, reporter: reporter, loop: state, clientIP: "127.0.0.1")
        try ProxyConnection.installHTTP(on: client.pipeline.syncOperations, info)
    }
}

extension BenchmarkHarness {
    /// The ingress listener's side of accepting, on `upstream`'s loop: `accept` gives a client
    /// channel what the listener gives an accepted socket before its first read. The upstream
    /// connection to `address` is the pool's, for every request routed there.
    public static func listen(
        upstream: any Channel, at address: Address, tree: SpaceTree, sink: (any EventSink)?
    ) throws -> Listener {
        let loops = LoopStates(group: upstream.eventLoop, live: LiveTree(tree))
        let state = loops.on(upstream.eventLoop)
        try HTTPUpstream.install(on: upstream, address: address)
        try state.pool.adopt(upstream, limits: state.limits)
        let reporter = HopReporter(proxy: "spaceport", listener: .ingress, sink: sink)
        return Listener(context: ListenerContext(role: .ingress, reporter: reporter, loops: loops))
    }

    /// What `listen` returns.
    public struct Listener {
        let context: ListenerContext

        /// As the listener does for each accepted socket: `channel` has its peer's address and is
        /// not active yet.
        public func accept(_ channel: any Channel) throws {
            try context.accept(channel)
        }
    }
}
