import Logging
import NIOCore
import NIOPosix
import SpaceportCore
import Synchronization

/// The routing proxy: an ingress listener plus every instance's egress and listen
/// listeners, all routing against the store's live tree. Listeners follow the tree: an
/// instance that gains an egress or listen address gets a listener, one that loses it
/// loses the listener.
public final class RoutingProxy: Sendable {
    public static let defaultIngress = Address(host: "127.0.0.1", port: 8080)

    public let store: SpacesStore
    public let name: String
    private let requestedIngress: Address?
    private let sink: (any EventSink)?
    private let logger: Logger
    let group: any EventLoopGroup
    let live: LiveTree
    let loops: LoopStates
    private let run = Mutex(Run.ready)

    private struct BoundListener: Sendable {
        var configured: Address
        var bound: Address
        var channel: any Channel
    }

    private struct Running: Sendable {
        var observer: SpacesStore.ObserverID
        var servers: [ListenerRole: BoundListener]
        var changes: AsyncStream<SpaceTree>.Continuation
        var reconciler: Task<Void, Never>?
    }

    private enum Run: Sendable {
        case ready
        case starting
        case running(Running)
        case stopping
        case stopped
    }

    /// - Parameters:
    ///   - ingress: where requests from outside arrive; nil takes the spaces file's `ingress`, else 127.0.0.1:8080.
    ///   - sink: where hop events go; `publish` must not block.
    ///   - group: the event loops to run on; nil shares NIO's process-wide group.
    public init(
        store: SpacesStore, name: String = "spaceport", ingress: Address? = nil, sink: (any EventSink)? = nil,
        logger: Logger = Logger(label: SpaceportLog.label), group: (any EventLoopGroup)? = nil
    ) {
        self.store = store
        self.name = name
        self.requestedIngress = ingress
        self.sink = sink
        self.logger = logger
        self.group = group ?? MultiThreadedEventLoopGroup.singleton
        let live = LiveTree(store.tree)
        self.live = live
        self.loops = LoopStates(group: self.group, live: live)
    }

    /// Binds every listener and starts watching the spaces file. Throws `ProxyError` naming
    /// the address when one cannot be bound; nothing stays bound then.
    public func start() async throws -> ProxyListeners {
        try run.withLock { state throws(ProxyError) in
            guard case .ready = state else {
                throw ProxyError.notStartable("the proxy '\(name)' was started before")
            }
            state = .starting
        }
        let (changes, continuation) = AsyncStream.makeStream(
            of: SpaceTree.self, bufferingPolicy: .bufferingNewest(1))
        // A tree with an editor comes from elsewhere than the file: a cluster.
        let changed =
            store.editor == nil
            ? "the spaces file changed; its spaces are in effect"
            : "the cluster's spaces changed; they are in effect"
        let observer = store.observe { [live, logger] change in
            switch change {
            case .edited(_, let tree):
                live.update(tree)
                continuation.yield(tree)
            case .reloaded(let tree, let fixed):
                live.update(tree)
                continuation.yield(tree)
                logger.notice(
                    fixed ? "the spaces file is valid again; its spaces are in effect" : "\(changed)")
            case .rejected(let error):
                logger.error("\(error) (the spaces in effect stay as they were until the file is fixed)")
            }
        }
        live.update(store.tree)
        store.startWatching()
        let tree = live.current
        var servers: [ListenerRole: BoundListener] = [:]
        do {
            let ingress = requestedIngress ?? tree.settings.ingress ?? Self.defaultIngress
            servers[.ingress] = try await bind(.ingress, at: ingress)
            for (role, address) in ListenerRole.instanceListeners(of: tree).sorted(by: {
                $0.key.name < $1.key.name
            }) {
                servers[role] = try await bind(role, at: address)
            }
        } catch {
            store.removeObserver(observer)
            continuation.finish()
            for server in servers.values { try? await server.channel.close() }
            run.withLock { $0 = .ready }
            throw error
        }
        run.withLock {
            $0 = .running(
                Running(observer: observer, servers: servers, changes: continuation, reconciler: nil))
        }
        let reconciler = Task { [self] in
            for await tree in changes { await self.follow(tree) }
        }
        run.withLock { state in
            if case .running(var running) = state {
                running.reconciler = reconciler
                state = .running(running)
            }
        }
        return Self.listeners(servers)
    }

    /// The name of every listener a tree gives the proxy, as hops name them (`HopEvent.listener`).
    public static func listenerNames(of tree: SpaceTree) -> Set<String> {
        Set(ListenerRole.instanceListeners(of: tree).keys.map(\.name) + [ListenerRole.ingress.name])
    }

    /// Where the proxy is in its life, as its readiness reports it.
    public enum Phase: String, Sendable {
        case notStarted = "not started"
        case starting
        case running
        case draining
        case stopped
    }

    public var phase: Phase {
        run.withLock { state in
            switch state {
            case .ready: .notStarted
            case .starting: .starting
            case .running: .running
            case .stopping: .draining
            case .stopped: .stopped
            }
        }
    }

    /// What every event loop counted, summed, on `loop`: each loop is asked on its own thread,
    /// so the requests count with plain integers and pay nothing for being read.
    public func counts(on loop: any EventLoop) -> EventLoopFuture<ProxyCounts> {
        let loops = self.loops
        let parts = loops.loops.map { each in each.submit { loops.on(each).counts } }
        return EventLoopFuture.whenAllComplete(parts, on: loop).map { results in
            results.reduce(ProxyCounts()) { sum, part in (try? part.get()).map { sum + $0 } ?? sum }
        }
    }

    public func counts() async -> ProxyCounts {
        (try? await counts(on: group.next()).get()) ?? ProxyCounts()
    }

    /// Where the proxy listens now, or nil when it is not running.
    public var listeners: ProxyListeners? {
        run.withLock { state in
            guard case .running(let running) = state else { return nil }
            return Self.listeners(running.servers)
        }
    }

    /// Stops accepting, lets requests in flight finish for up to `drainMs` (default: the
    /// spaces file's drain timeout), then closes whatever is left.
    public func shutdown(drainMs: Int? = nil) async {
        let running = run.withLock { state -> Running? in
            guard case .running(let running) = state else { return nil }
            state = .stopping
            return running
        }
        guard let running else { return }
        store.removeObserver(running.observer)
        running.changes.finish()
        await running.reconciler?.value
        let servers = run.withLock { state -> [ListenerRole: BoundListener] in
            guard case .running(let latest) = state else { return running.servers }
            return latest.servers
        }
        for server in servers.values { try? await server.channel.close() }
        let drain = TimeAmount.milliseconds(Int64(drainMs ?? live.current.settings.limits.drainTimeoutMs))
        let loops = self.loops
        let drained = loops.loops.map { loop in loop.flatSubmit { loops.on(loop).drain() } }
        let timer = group.next()
        let forced = timer.scheduleTask(in: drain) {
            for loop in loops.loops { loop.execute { loops.on(loop).closeAll() } }
        }
        try? await EventLoopFuture.andAllComplete(drained, on: timer).get()
        forced.cancel()
        // Draining until here: readiness says so while requests in flight finish.
        run.withLock { $0 = .stopped }
        logger.notice("proxy '\(name)' stopped")
    }

    /// Binds listeners for instances that gained an address and closes those whose address went.
    private func follow(_ tree: SpaceTree) async {
        let wanted = ListenerRole.instanceListeners(of: tree)
        guard
            var servers = run.withLock({ state -> [ListenerRole: BoundListener]? in
                guard case .running(let running) = state else { return nil }
                return running.servers
            })
        else { return }
        for (role, server) in servers where role != .ingress && wanted[role] != server.configured {
            try? await server.channel.close()
            servers[role] = nil
            logger.notice("\(role.name) no longer listens on \(server.bound)")
        }
        for (role, address) in wanted.sorted(by: { $0.key.name < $1.key.name }) where servers[role] == nil {
            do {
                servers[role] = try await bind(role, at: address)
            } catch {
                logger.error("\(error)")
                sink?.publish(.error(message: "\(error)", id: nil))
            }
        }
        run.withLock { state in
            if case .running(var running) = state {
                running.servers = servers
                state = .running(running)
            }
        }
    }

    private func bind(_ role: ListenerRole, at address: Address) async throws -> BoundListener {
        let listener = ListenerContext(
            role: role, reporter: HopReporter(proxy: name, listener: role, sink: sink), loops: loops)
        let bootstrap = ServerBootstrap(group: group)
            // Room for a thousand clients connecting at once, taken in batches of 16 per wakeup.
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.maxMessagesPerRead, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Accepted sockets inherit TCP_NODELAY from the listening one (Linux copies it, and
            // SwiftNIO sets it there by default; said here so it stays). Setting it again on each
            // child, like any child option, cost a system call and a chain of futures a connection.
            .serverChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try listener.accept(channel) }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(host: address.host, port: address.port).get()
        } catch {
            throw ProxyError.cannotListen(
                listener: role.name, address: address, reason: ErrorAnswer.reason(error))
        }
        let bound = Address(host: address.host, port: channel.localAddress?.port ?? address.port)
        if !address.isLoopback {
            logger.warning("\(role.name) listens on \(bound), which other machines can reach")
        }
        logger.notice("\(role.name) listening on \(bound)")
        return BoundListener(configured: address, bound: bound, channel: channel)
    }

    private static func listeners(_ servers: [ListenerRole: BoundListener]) -> ProxyListeners {
        var listeners = ProxyListeners(ingress: servers[.ingress]?.bound ?? defaultIngress)
        for (role, server) in servers {
            switch role {
            case .ingress: break
            case .egress(let instance): listeners.egress[instance] = server.bound
            case .listen(let instance): listeners.listen[instance] = server.bound
            }
        }
        return listeners
    }
}
