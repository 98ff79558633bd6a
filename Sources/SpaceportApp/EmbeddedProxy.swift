import Foundation
import Logging
import SpaceportAdmin
import SpaceportCore
import SpaceportFeed
import SpaceportProxy

/// A proxy, its feed hub and its feed socket in this process: what `proxy` runs, `dash`
/// embeds, and `demo` too.
public final class EmbeddedProxy: Sendable {
    public let store: SpacesStore
    public let hub: FeedHub
    public let proxy: RoutingProxy
    public let server: FeedServer
    public let listeners: ProxyListeners
    public let feed: FeedListeners
    /// The admin listener and where it listens, when it was asked for.
    public let admin: AdminServer?
    public let adminAddress: Address?

    private init(
        store: SpacesStore, hub: FeedHub, proxy: RoutingProxy, server: FeedServer, listeners: ProxyListeners,
        feed: FeedListeners, admin: AdminServer?, adminAddress: Address?
    ) {
        self.store = store
        self.hub = hub
        self.proxy = proxy
        self.server = server
        self.listeners = listeners
        self.feed = feed
        self.admin = admin
        self.adminAddress = adminAddress
    }

    /// Starts the proxy on `store` and serves its feed on `<runtime folder>/<name>.sock`
    /// (`feedDirectory` when given). `tcp` also serves the feed on TCP, with `token` or one
    /// the server makes; `alsoTo` hears every event the hub does. `ingress` nil takes the
    /// store's ingress. `admin` starts the admin listener first, so that its `/readyz` sees the
    /// proxy start; its metrics count every hop the hub hears.
    public static func start(
        store: SpacesStore, name: String, ingress: Address?, logger: Logger, feedDirectory: String? = nil,
        tcp: Address? = nil, token: String? = nil, alsoTo extra: (any EventSink)? = nil,
        admin adminSettings: AdminSettings? = nil
    ) async throws -> EmbeddedProxy {
        let hello = { (listeners: [String]) in
            FeedHello(
                proxy: name, pid: Int(getpid()), version: SpaceportVersion.current, listeners: listeners,
                spacesFile: store.path)
        }
        let hub = FeedHub(store: store, hello: hello([]))
        let metrics = adminSettings.map { _ in ProxyMetrics(store: store) }
        let readers: [any HopReader] = metrics.map { [$0] } ?? []
        let sink: any EventSink =
            extra == nil && readers.isEmpty
            ? hub : FanOutSink([extra, hub].compactMap { $0 }, readers: readers)
        let proxy = RoutingProxy(store: store, name: name, ingress: ingress, sink: sink, logger: logger)
        var admin: AdminServer?
        var adminAddress: Address?
        if let adminSettings, let metrics {
            let server = AdminServer(
                settings: adminSettings, proxy: proxy, metrics: metrics, hub: hub, logger: logger)
            do {
                adminAddress = try await server.start()
            } catch {
                hub.close()
                throw error
            }
            admin = server
        }
        let listeners: ProxyListeners
        do {
            listeners = try await proxy.start()
        } catch {
            await admin?.shutdown()
            hub.close()
            throw error
        }
        hub.hello = hello(listeners.descriptions)
        hub.replayer = proxy
        let server = FeedServer(
            hub: hub,
            options: FeedServerOptions(name: name, directory: feedDirectory, tcp: tcp, token: token),
            logger: logger)
        do {
            let feed = try await server.start()
            return EmbeddedProxy(
                store: store, hub: hub, proxy: proxy, server: server, listeners: listeners, feed: feed,
                admin: admin, adminAddress: adminAddress)
        } catch {
            await proxy.shutdown(drainMs: 0)
            await admin?.shutdown()
            hub.close()
            throw error
        }
    }

    static let batchLimit = 512

    /// Streams the hub's events (hello, spaces, recent hops, then live) into the session, and
    /// puts the feed's socket in its status bar.
    public func forward(to session: DashboardSession, shaping: HopShaping) -> Task<Void, Never> {
        let subscription = hub.subscribe(limit: 16_384)
        let source = proxy.name
        session.inbox.post(.connected(source: source))
        session.setStatus("feed", feed.socketPath)
        return Task {
            // In batches, gathered as a socket reader's are (longer for a sample): a hop that ends
            // within the batch comes as its end alone, and past the sample rate only tallies
            // count the rest. Still ahead of a screen that redraws traffic 10 times a second.
            let pause = Duration.nanoseconds(shaping.gathering.nanoseconds)
            while let events = await subscription.next(upTo: Self.batchLimit, shaping: shaping) {
                for event in events { session.forward(event, from: source) }
                if events.count < Self.batchLimit { try? await Task.sleep(for: pause) }
            }
            subscription.cancel()
        }
    }

    /// Applies an edit through the store (validated, saved, announced; on a cluster, patched
    /// there); nil or why it failed.
    public func apply(_ edit: SpaceEdit) async -> String? {
        do {
            try await store.applyAwaitingSource(edit)
            return nil
        } catch {
            return error.described(in: store.path)
        }
    }

    /// Sends hop `hop`'s kept request again routed as `space`; nil or why it was not sent.
    public func replay(hop: String, as space: String) async -> String? {
        switch await proxy.replay(hop: hop, as: space) {
        case .success: return nil
        case .failure(let error): return error.description
        }
    }

    /// Stops taking requests, lets those in flight finish for up to `drainMs` (nil: the
    /// spaces file's drain timeout), then closes the feed and, last, the admin listener.
    public func stop(drainMs: Int? = 1000) async {
        await proxy.shutdown(drainMs: drainMs)
        await server.shutdown()
        hub.replayer = nil
        hub.close()
        await admin?.shutdown()
        admin?.metrics.close()
    }
}
