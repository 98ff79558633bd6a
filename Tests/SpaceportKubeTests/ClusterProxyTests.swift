import Foundation
import Logging
import NIOCore
import NIOPosix
import SpaceportApp
import SpaceportCore
import SpaceportDemo
import SpaceportFeed
import SpaceportKube
import SpaceportKubeTestSupport
import SpaceportProxy
import SpaceportTestSupport
import Synchronization
import Testing

/// A real proxy routing from the stand-in's cluster, with a demo service behind each Service
/// (the Service's cluster IP 127.0.0.1, its port the demo's), so a request's answer names
/// the instance that took it.
struct ClusterWorld {
    let fixture: KubeFixture
    let spaces: ClusterSpaces
    let embedded: EmbeddedProxy
    let services: [DemoService]
    let addresses: [String: Address]
    let ingress: Address

    static func start() async throws -> ClusterWorld {
        let fixture = try await KubeFixture.start()
        fixture.api.putNamespace("default", labels: ["azds.io/space": "true"])
        fixture.api.putNamespace(
            "team", labels: ["azds.io/space": "true", "azds.io/parent-space": "default"])
        var services: [DemoService] = []
        var addresses: [String: Address] = [:]
        for space in ["default", "team", "alice"] {
            let demo = DemoService(
                service: "serviceb", space: space, calls: nil, routeHeader: "azds-route-as",
                group: MultiThreadedEventLoopGroup.singleton)
            let address = try await demo.start(preferredPort: 0)
            services.append(demo)
            addresses[space] = address
            if space != "alice" {
                fixture.api.putService(
                    "serviceb", namespace: space, ports: [["name": "http", "port": address.port]],
                    clusterIP: "127.0.0.1")
            }
        }
        let spaces = try await ClusterSpaces.start(source: try fixture.source(naming: .clusterIP))
        let embedded = try await EmbeddedProxy.start(
            store: spaces.store, name: "kube-\(getpid())-\(UInt16.random(in: 0...UInt16.max))",
            ingress: Address(host: "127.0.0.1", port: 0), logger: Logger(label: "test.kube.proxy"),
            feedDirectory: temporaryFolder("feed"))
        embedded.report(spaces, logger: Logger(label: "test.kube.proxy"))
        return ClusterWorld(
            fixture: fixture, spaces: spaces, embedded: embedded, services: services, addresses: addresses,
            ingress: embedded.listeners.ingress)
    }

    func port(of space: String) -> Int {
        addresses[space]!.port
    }

    func stop() async {
        await embedded.stop(drainMs: 0)
        await spaces.stop()
        for service in services { await service.stop() }
        await fixture.api.stop()
    }

    /// The body of a request for serviceb routed as `space`, through the proxy.
    func answer(routedAs space: String) async throws -> String {
        let reply = try await curl([
            "-H", "Host: serviceb", "-H", "azds-route-as: \(space)", "http://\(ingress)/",
        ])
        return reply.components(separatedBy: "\r\n\r\n").last ?? reply
    }
}

@Suite("A proxy routing from the cluster", .serialized)
struct ClusterProxyTests {
    @Test("a namespace added, relabelled and deleted while requests flow changes routing on the next request")
    func routingFollowsNamespaces() async throws {
        let world = try await ClusterWorld.start()
        let api = world.fixture.api
        let tree = { world.spaces.store.tree }
        #expect(try await world.answer(routedAs: "team") == "serviceb@team answered (route-as: team)\n")
        api.putNamespace("alice", labels: ["azds.io/space": "true", "azds.io/parent-space": "team"])
        try await eventually("alice in the tree") { tree().contains("alice") }
        #expect(try await world.answer(routedAs: "alice") == "serviceb@team answered (route-as: alice)\n")
        api.putService(
            "serviceb", namespace: "alice", ports: [["name": "http", "port": world.port(of: "alice")]],
            clusterIP: "127.0.0.1")
        try await eventually("alice's own serviceb") { tree().instance("serviceb", in: "alice") != nil }
        #expect(try await world.answer(routedAs: "alice") == "serviceb@alice answered (route-as: alice)\n")
        api.putNamespace("alice", labels: ["azds.io/space": "true", "azds.io/parent-space": "default"])
        try await eventually("alice under default") { tree().space("alice")?.parent == "default" }
        api.deleteService("serviceb", namespace: "alice")
        try await eventually("alice without serviceb") { tree().instance("serviceb", in: "alice") == nil }
        #expect(try await world.answer(routedAs: "alice") == "serviceb@default answered (route-as: alice)\n")
        api.putNamespace("alice", labels: ["team": "a"])
        try await eventually("alice no space once unlabelled") { !tree().contains("alice") }
        #expect(
            try await world.answer(routedAs: "alice") != "serviceb@default answered (route-as: alice)\n"
                || !tree().contains("alice"))
        api.deleteNamespace("team")
        try await eventually("team gone") { !tree().contains("team") }
        #expect(
            try await world.answer(routedAs: "default") == "serviceb@default answered (route-as: default)\n")
        await world.stop()
    }

    @Test("a 410 in the stream and a 410 answer relist with no request lost or misrouted")
    func goneLosesNothing() async throws {
        let world = try await ClusterWorld.start()
        let api = world.fixture.api
        let answers = Mutex<[String]>([])
        let flowing = Task {
            for _ in 0..<400 {
                if Task.isCancelled { break }
                let body = (try? await world.answer(routedAs: "team")) ?? "no answer"
                answers.withLock { $0.append(body) }
            }
        }
        try await eventually("requests flowing") { answers.withLock { $0.count } >= 3 }
        api.inject(.expiredInStream, into: .namespaces)
        api.inject(.httpGone, into: .namespaces)
        api.inject(.expiredInStream, into: .services)
        try await eventually("the namespaces watch to be open") { api.openWatches(.namespaces) == 1 }
        api.dropWatches(.namespaces)
        try await eventually("the services watch to be open") { api.openWatches(.services) == 1 }
        api.dropWatches(.services)
        try await eventually("three relists of namespaces") { api.lists(of: .namespaces).count == 3 }
        try await eventually("two relists of services") { api.lists(of: .services).count == 2 }
        let seen = answers.withLock { $0.count }
        try await eventually("requests after the relists") { answers.withLock { $0.count } >= seen + 3 }
        flowing.cancel()
        _ = await flowing.value
        let all = answers.withLock { $0 }
        #expect(all.count >= 6)
        #expect(all.allSatisfy { $0 == "serviceb@team answered (route-as: team)\n" }, "\(Set(all))")
        await world.stop()
    }

    @Test("an override toggled patches the Service, and the hop after the watch brings it goes to the parent")
    func overrideGoesToParent() async throws {
        let world = try await ClusterWorld.start()
        let api = world.fixture.api
        let store = world.spaces.store
        #expect(try await world.answer(routedAs: "team") == "serviceb@team answered (route-as: team)\n")
        let refused = await world.embedded.apply(
            .override(space: "team", service: "serviceb", enabled: false))
        #expect(refused == nil)
        #expect(
            api.annotations(ofService: "serviceb", namespace: "team")?["spaceport.dev/enabled"] == "false")
        try await eventually("the watch to bring the override") {
            store.tree.instance("serviceb", in: "team")?.enabled == false
        }
        #expect(try await world.answer(routedAs: "team") == "serviceb@default answered (route-as: team)\n")
        #expect(
            await world.embedded.apply(.override(space: "team", service: "serviceb", enabled: true)) == nil)
        #expect(api.annotations(ofService: "serviceb", namespace: "team")?["spaceport.dev/enabled"] == nil)
        try await eventually("the watch to bring it back") {
            store.tree.instance("serviceb", in: "team")?.enabled == true
        }
        #expect(try await world.answer(routedAs: "team") == "serviceb@team answered (route-as: team)\n")
        let patch = try #require(api.requests.first { $0.method == "PATCH" })
        #expect(patch.path == "/api/v1/namespaces/team/services/serviceb")
        #expect(patch.body == #"{"metadata":{"annotations":{"spaceport.dev/enabled":"false"}}}"#)
        await world.stop()
    }

    @Test(
        "a forbidden patch says which verb on which resource the account lacks, from the dashboard, the feed and the command line alike"
    )
    func forbiddenPatch() async throws {
        let world = try await ClusterWorld.start()
        world.fixture.api.forbidPatches = true
        let said = try #require(
            await world.embedded.apply(.override(space: "team", service: "serviceb", enabled: false)))
        #expect(said.hasPrefix("forbidden: the account may not patch services in namespace team"))
        #expect(said.contains("grant 'patch' on 'services' in its ClusterRole"))
        #expect(world.spaces.store.tree.instance("serviceb", in: "team")?.enabled == true)
        // A feed command (what `dash --attach` sends) answers with the same sentence.
        let feed = FeedClient(targets: [.unix(world.embedded.feed.socketPath)])
        try await feed.start()
        do {
            try await feed.send(.override(space: "team", service: "serviceb", enabled: false))
            Issue.record("the feed took a forbidden override")
        } catch {
            #expect("\(error)".contains("may not patch services in namespace team"), "\(error)")
        }
        await feed.stop()
        await world.stop()
    }

    @Test("a namespace left out is a feed error event while the rest keeps routing")
    func problemsOnTheFeed() async throws {
        let world = try await ClusterWorld.start()
        let errors = Mutex<[String]>([])
        let feed = FeedClient(targets: [.unix(world.embedded.feed.socketPath)]) { event in
            if case .event(_, .error(let message, _)) = event { errors.withLock { $0.append(message) } }
        }
        try await feed.start()
        world.fixture.api.putNamespace(
            "stray", labels: ["azds.io/space": "true", "azds.io/parent-space": "nowhere"])
        try await eventually("the feed to tell of stray") {
            errors.withLock { $0 }.contains {
                $0.hasPrefix("namespace stray: its azds.io/parent-space 'nowhere'")
            }
        }
        #expect(try await world.answer(routedAs: "team") == "serviceb@team answered (route-as: team)\n")
        await feed.stop()
        await world.stop()
    }

    @Test("an edit other than an override is refused with where to make it")
    func otherEditsRefused() async throws {
        let world = try await ClusterWorld.start()
        let said = try #require(await world.embedded.apply(.createSpace(name: "newspace", parent: nil)))
        #expect(
            said.contains(
                "the spaces come from the cluster (context stand-in on \(world.fixture.api.server))"))
        #expect(said.contains("label namespaces azds.io/space=true"))
        await world.stop()
    }
}
