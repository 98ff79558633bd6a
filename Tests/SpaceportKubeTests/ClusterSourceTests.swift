import Foundation
import Logging
import SpaceportCore
import SpaceportKube
import SpaceportKubeTestSupport
import SpaceportTestSupport
import Synchronization
import Testing

/// Collects a source's updates, for tests that read what it published.
final class Updates: Sendable {
    private let all = Mutex<[ClusterUpdate]>([])
    var list: [ClusterUpdate] { all.withLock { $0 } }
    func add(_ update: ClusterUpdate) { all.withLock { $0.append(update) } }
    var trees: [SpaceTree] { list.compactMap { if case .tree(let tree, _) = $0 { tree } else { nil } } }
    var reasons: [String] {
        list.compactMap { if case .connection(.reconnecting(let why)) = $0 { why } else { nil } }
    }
}

@Suite("The cluster source against the stand-in API server", .serialized)
struct ClusterSourceTests {
    @Test("the tree is built from the stand-in's labelled namespaces and their Services")
    func treeFromCluster() async throws {
        let fixture = try await KubeFixture.start()
        defer { Task { await fixture.api.stop() } }
        fixture.seed()
        let spaces = try await ClusterSpaces.start(source: try fixture.source())
        let tree = spaces.store.tree
        #expect(tree.spaces.map(\.name).sorted() == ["alice", "default", "team"])
        #expect(tree.space("alice")?.parent == "team")
        #expect(
            tree.instance("serviceb", in: "alice")?.upstream
                == Address(host: "serviceb.alice.svc.cluster.local", port: 80))
        #expect(tree.ownership(of: "serviceb", in: "team").servedBy(in: "team") == "default")
        #expect(spaces.connection == .live)
        // The namespaces are listed by label, the Services across the cluster, both with the token.
        let namespaceList = try #require(fixture.api.lists(of: .namespaces).first)
        #expect(namespaceList.query["labelSelector"] == "azds.io/space=true")
        #expect(fixture.api.requests.allSatisfy { $0.token == KubeFixture.token })
        try await eventually("the services watch") { !fixture.api.watches(of: .services).isEmpty }
        let watch = try #require(fixture.api.watches(of: .services).first)
        #expect(watch.query["allowWatchBookmarks"] == "true")
        #expect(watch.query["timeoutSeconds"] == "300")
        await spaces.stop()
    }

    @Test("a namespace added, relabelled and deleted changes the tree, whole, from the watch")
    func followsTheWatch() async throws {
        let fixture = try await KubeFixture.start()
        defer { Task { await fixture.api.stop() } }
        fixture.seed()
        let spaces = try await ClusterSpaces.start(source: try fixture.source())
        let store = spaces.store
        fixture.api.putNamespace("bob", labels: ["azds.io/space": "true", "azds.io/parent-space": "team"])
        try await eventually("bob to be a space") { store.tree.space("bob")?.parent == "team" }
        fixture.api.putNamespace("bob", labels: ["azds.io/space": "false"])
        try await eventually("bob to be no space once unlabelled") { !store.tree.contains("bob") }
        fixture.api.putNamespace("bob", labels: ["azds.io/space": "true"])
        try await eventually("bob to be a root again") {
            store.tree.space("bob")?.parent == nil && store.tree.contains("bob")
        }
        fixture.api.deleteNamespace("bob")
        try await eventually("bob to go with its namespace") { !store.tree.contains("bob") }
        // Only the initial list of each kind: every change came through the one watch.
        #expect(fixture.api.lists(of: .namespaces).count == 1)
        await spaces.stop()
    }

    @Test("a missing parent is reported once and that namespace left out while the rest keeps its tree")
    func reportsProblems() async throws {
        let fixture = try await KubeFixture.start()
        defer { Task { await fixture.api.stop() } }
        fixture.seed()
        let spaces = try await ClusterSpaces.start(source: try fixture.source())
        let reports = Mutex<[ClusterReport]>([])
        spaces.listen { report in reports.withLock { $0.append(report) } }
        fixture.api.putNamespace(
            "stray", labels: ["azds.io/space": "true", "azds.io/parent-space": "nowhere"])
        fixture.api.putService("headless", namespace: "team", clusterIP: "None")
        try await eventually("both problems to be reported") { spaces.problems.count == 2 }
        fixture.api.putNamespace("carol", labels: ["azds.io/space": "true", "azds.io/parent-space": "alice"])
        try await eventually("carol's fourth level to be reported") { spaces.problems.count == 3 }
        #expect(!spaces.store.tree.contains("stray"))
        #expect(!spaces.store.tree.contains("carol"))
        #expect(spaces.store.tree.contains("alice"))
        let told: [ClusterProblem] = reports.withLock { $0 }.flatMap { report -> [ClusterProblem] in
            if case .problems(let list) = report { return list }
            return []
        }
        let expected: [ClusterProblem] = [
            .missingParent(namespace: "stray", parent: "nowhere"),
            .headless(service: "headless", namespace: "team"),
            .tooDeep(namespace: "carol", chain: ["default", "team", "alice", "carol"]),
        ]
        #expect(told.count == 3, "each problem said once: \(told)")
        #expect(Set(told.map(\.description)) == Set(expected.map(\.description)))
        await spaces.stop()
    }

    @Test("a bookmark moves the resourceVersion the next watch starts from")
    func bookmarks() async throws {
        let fixture = try await KubeFixture.start()
        defer { Task { await fixture.api.stop() } }
        fixture.seed()
        let source = try fixture.source()
        let spaces = try await ClusterSpaces.start(source: source)
        try await eventually("the namespaces watch to open") {
            fixture.api.watches(of: .namespaces).count == 1
        }
        let before = fixture.api.watches(of: .namespaces)[0].query["resourceVersion"]
        // Services change: the namespaces' watch hears nothing of it but the bookmark.
        fixture.api.putService("servicec", namespace: "team")
        fixture.api.putService("serviced", namespace: "team")
        let now = fixture.api.resourceVersion
        fixture.api.bookmark(.namespaces)
        try await Task.sleep(for: .milliseconds(200))
        try await eventually("the namespaces watch to be open") { fixture.api.openWatches(.namespaces) == 1 }
        fixture.api.dropWatches(.namespaces)
        try await eventually("a second namespaces watch") { fixture.api.watches(of: .namespaces).count == 2 }
        #expect(before != String(now))
        #expect(fixture.api.watches(of: .namespaces)[1].query["resourceVersion"] == String(now))
        #expect(fixture.api.lists(of: .namespaces).count == 1)
        await spaces.stop()
    }

    @Test("a 410 in the stream and a 410 answer each lead to a relist, and the tree goes on following")
    func goneRelists() async throws {
        let fixture = try await KubeFixture.start()
        defer { Task { await fixture.api.stop() } }
        fixture.seed()
        fixture.api.inject(.expiredInStream, into: .namespaces)
        fixture.api.inject(.httpGone, into: .namespaces)
        let updates = Updates()
        let spaces = try await ClusterSpaces.start(source: try fixture.source())
        spaces.listen { if case .connection(let state) = $0 { updates.add(.connection(state)) } }
        try await eventually("two relists after the two 410s") {
            fixture.api.lists(of: .namespaces).count == 3
        }
        try await eventually("a watch after them") { fixture.api.watches(of: .namespaces).count == 3 }
        fixture.api.putNamespace("dave", labels: ["azds.io/space": "true"])
        try await eventually("dave to be a space") { spaces.store.tree.contains("dave") }
        #expect(spaces.store.tree.contains("alice"))
        #expect(fixture.api.lists(of: .services).count == 1, "a namespaces 410 relists the namespaces alone")
        await spaces.stop()
    }

    @Test("a dropped stream watches again from the last resourceVersion seen, without a relist")
    func dropRewatches() async throws {
        let fixture = try await KubeFixture.start()
        defer { Task { await fixture.api.stop() } }
        fixture.seed()
        let spaces = try await ClusterSpaces.start(source: try fixture.source())
        fixture.api.putService("servicec", namespace: "team")
        try await eventually("servicec in team") { spaces.store.tree.instance("servicec", in: "team") != nil }
        let seen = fixture.api.resourceVersion
        try await eventually("the services watch to be open") { fixture.api.openWatches(.services) == 1 }
        fixture.api.dropWatches(.services)
        try await eventually("a second services watch") { fixture.api.watches(of: .services).count == 2 }
        #expect(fixture.api.watches(of: .services)[1].query["resourceVersion"] == String(seen))
        #expect(fixture.api.lists(of: .services).count == 1)
        fixture.api.putService("serviced", namespace: "team")
        try await eventually("serviced in team") { spaces.store.tree.instance("serviced", in: "team") != nil }
        await spaces.stop()
    }

    @Test("a watch that goes silent is restarted, and the connection says it was reconnecting")
    func silentRestarts() async throws {
        let fixture = try await KubeFixture.start()
        defer { Task { await fixture.api.stop() } }
        fixture.seed()
        fixture.api.inject(.silence, into: .services)
        let updates = Updates()
        let source = try fixture.source(silence: .milliseconds(700))
        let spaces = try await ClusterSpaces.start(source: source)
        spaces.listen { if case .connection(let state) = $0 { updates.add(.connection(state)) } }
        try await eventually("a second services watch") { fixture.api.watches(of: .services).count == 2 }
        try await eventually("the silence said") {
            updates.reasons.contains { $0.contains("services watch ended") }
        }
        fixture.api.putService("servicec", namespace: "team")
        // The restarted watch hears changes again.
        try await eventually("servicec in team") { spaces.store.tree.instance("servicec", in: "team") != nil }
        await spaces.stop()
    }

    @Test("reconnects back off, with the reason, while the API refuses, and recover when it answers")
    func backsOff() async throws {
        let fixture = try await KubeFixture.start()
        defer { Task { await fixture.api.stop() } }
        fixture.seed()
        let spaces = try await ClusterSpaces.start(source: try fixture.source())
        let updates = Updates()
        spaces.listen { if case .connection(let state) = $0 { updates.add(.connection(state)) } }
        try await eventually("the services watch to be open") { fixture.api.openWatches(.services) == 1 }
        fixture.api.revoke(token: KubeFixture.token)
        fixture.api.dropWatches(.services)
        try await eventually("a refusal said") { updates.reasons.contains { $0.contains("401") } }
        let started = Date()
        let before = fixture.api.watches(of: .services).count
        try await Task.sleep(for: .milliseconds(600))
        let tries = fixture.api.watches(of: .services).count - before
        // 20 ms doubling to a 200 ms cap: a handful of tries in 600 ms, not hundreds.
        #expect(tries >= 2 && tries <= 12, "\(tries) tries in \(Date().timeIntervalSince(started)) s")
        fixture.api.accept(token: KubeFixture.token)
        try await eventually("live again") { spaces.connection == .live }
        await spaces.stop()
    }

    @Test("the backoff doubles from its base to its cap, each wait between half and all of it")
    func backoffSteps() {
        let backoff = Backoff(base: .milliseconds(100), cap: .seconds(1))
        #expect(backoff.delay(after: 0) == .zero)
        #expect(backoff.delay(after: 1, draw: 1) == .milliseconds(100))
        #expect(backoff.delay(after: 3, draw: 1) == .milliseconds(400))
        #expect(backoff.delay(after: 30, draw: 1) == .seconds(1))
        #expect(backoff.delay(after: 30, draw: 0.5) == .milliseconds(500))
        for _ in 0..<50 {
            let drawn = backoff.delay(after: 2)
            #expect(drawn >= .milliseconds(100) && drawn <= .milliseconds(200))
        }
    }
}
