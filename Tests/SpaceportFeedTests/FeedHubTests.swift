import Foundation
import NIOCore
import SpaceportCore
import SpaceportWire
import Testing

@testable import SpaceportFeed

@Suite("The feed hub inside a proxy")
struct FeedHubTests {
    private func makeHub(replay: Int = FeedHub.defaultReplayLimit) throws -> FeedHub {
        let tree = try SpacesFile.parse(text: Samples.spacesYAML, file: "spaces.yaml")
        return FeedHub(store: SpacesStore(tree: tree), hello: Samples.hello, replayLimit: replay)
    }

    @Test("a new subscriber reads hello, then spaces, then the recent hops, then live ones")
    func greetingThenReplayThenLive() async throws {
        let hub = try makeHub()
        hub.publish(.hop(Samples.hop(1)))
        hub.publish(.hop(Samples.hop(2)))
        let subscription = hub.subscribe()
        hub.publish(.hop(Samples.hop(3)))
        var seen: [String] = []
        for _ in 0..<5 {
            guard let event = await subscription.next() else { break }
            if case .hop(let hop) = event { seen.append(hop.id) } else { seen.append(event.type) }
        }
        #expect(seen == ["hello", "spaces", "h1", "h2", "h3"])
    }

    @Test(
        "each subscriber's hello says when it subscribed, even when the hello changes later: the replayed hops ended before it, the live ones after"
    )
    func helloTellsTheReplayFromLiveHops() async throws {
        let hub = try makeHub()
        var replayed = Samples.hop(1)
        replayed.time = EventTime.now()
        hub.publish(.hop(replayed))
        try await Task.sleep(for: .milliseconds(5))
        let subscription = hub.subscribe()
        try await Task.sleep(for: .milliseconds(5))
        var live = Samples.hop(2)
        live.time = EventTime.now()
        hub.publish(.hop(live))
        guard case .hello(let hello)? = await subscription.next() else {
            Issue.record("no hello first")
            return
        }
        #expect(hello.since != nil)
        _ = await subscription.next()
        guard case .hop(let first)? = await subscription.next(),
            case .hop(let second)? = await subscription.next()
        else {
            Issue.record("no hops")
            return
        }
        #expect(hello.isReplayed(first))
        #expect(!hello.isReplayed(second))
        var moved = Samples.hello
        moved.listeners = ["ingress 127.0.0.1:9090"]
        hub.hello = moved
        guard case .hello(let again)? = await subscription.next() else {
            Issue.record("the new hello did not come")
            return
        }
        #expect(again.listeners == moved.listeners)
        #expect(again.since == hello.since)
    }

    @Test("the replay holds only the last N hops")
    func replayIsBounded() throws {
        let hub = try makeHub(replay: 10)
        for number in 0..<25 { hub.publish(.hop(Samples.hop(number))) }
        #expect(hub.replayCount == 10)
        let subscription = hub.subscribe()
        var hops: [String] = []
        while let event = subscription.poll() { if case .hop(let hop) = event { hops.append(hop.id) } }
        #expect(hops == (15..<25).map { "h\($0)" })
    }

    @Test("the replay keeps finished hops: a new subscriber reads ends, never a start whose end it may miss")
    func replayKeepsEnds() throws {
        let hub = try makeHub(replay: 10)
        for number in 0..<3 {
            hub.publish(hop: Samples.hop(number, phase: .start))
            hub.publish(hop: Samples.hop(number))
        }
        hub.publish(hop: Samples.hop(3, phase: .start))
        #expect(hub.replayCount == 3)
        let subscription = hub.subscribe()
        var hops: [String] = []
        while let event = subscription.poll() {
            if case .hop(let hop) = event { hops.append("\(hop.id) \(hop.phase)") }
        }
        #expect(hops == ["h0 end", "h1 end", "h2 end"])
    }

    @Test("the hub says whether anyone watches, so the proxy builds starts only for a reader")
    func watchedWhileSubscribed() throws {
        let hub = try makeHub()
        #expect(!hub.isWatched)
        let first = hub.subscribe()
        let second = hub.subscribe()
        #expect(hub.isWatched)
        hub.publish(hop: Samples.hop(1, phase: .start))
        #expect(first.poll()?.type == "hello")
        first.cancel()
        #expect(hub.isWatched)
        second.cancel()
        #expect(!hub.isWatched)
    }

    @Test("a subscriber that stops reading holds at most its limit, then first reads how many it lost")
    func slowSubscriberIsBoundedAndToldOfDrops() throws {
        let hub = try makeHub()
        let stuck = hub.subscribe(limit: 100)
        let reader = hub.subscribe(limit: 100)
        var readerHops = 0
        for number in 0..<10_000 {
            hub.publish(.hop(Samples.hop(number)))
            while let event = reader.poll() { if case .hop = event { readerHops += 1 } }
            #expect(stuck.queued <= 102)
        }
        #expect(readerHops == 10_000)
        #expect(hub.queuedEvents <= 102)
        #expect(stuck.poll() == .dropped(count: 9_900))
        #expect(stuck.poll()?.type == "hello")
        #expect(stuck.poll()?.type == "spaces")
        #expect(stuck.poll() == .hop(Samples.hop(9_900)))
    }

    @Test("a slow subscriber still ends up with the newest spaces, never an older one")
    func spacesAreReplacedNotDropped() throws {
        let hub = try makeHub()
        let stuck = hub.subscribe(limit: 4)
        for number in 0..<50 { hub.publish(.hop(Samples.hop(number))) }
        try hub.store.apply(.override(space: "azureuser", service: "servicea", enabled: false))
        for number in 50..<100 { hub.publish(.hop(Samples.hop(number))) }
        var snapshots: [SpacesSnapshot] = []
        while let event = stuck.poll() {
            if case .spaces(let snapshot) = event { snapshots.append(snapshot) }
        }
        #expect(snapshots.count == 1)
        #expect(snapshots.first == SpacesSnapshot(hub.store.tree))
    }

    @Test("a change to the spaces reaches every subscriber as a fresh snapshot")
    func storeChangesAreBroadcast() async throws {
        let hub = try makeHub()
        let subscriptions = (0..<3).map { _ in hub.subscribe() }
        for subscription in subscriptions { _ = (subscription.poll(), subscription.poll()) }
        try hub.store.apply(.createSpace(name: "bob", parent: "azureuser"))
        for subscription in subscriptions {
            guard case .spaces(let snapshot) = await subscription.next() else {
                Issue.record("expected a spaces event")
                continue
            }
            #expect(snapshot.spaces.map(\.name).contains("bob"))
        }
    }

    @Test(
        "a refused change to the spaces file becomes an error event and a spaces snapshot that says so until the file is fixed"
    )
    func rejectedFileIsAnError() async throws {
        let folder = Samples.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/spaces.yaml"
        try Samples.spacesYAML.write(toFile: path, atomically: true, encoding: .utf8)
        let store = try SpacesStore(path: path)
        let hub = FeedHub(store: store, hello: Samples.hello)
        let subscription = hub.subscribe()
        _ = (subscription.poll(), subscription.poll())
        try "spaces:\n  default:\n    parent: nowhere\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        store.reload()
        var snapshot: SpacesSnapshot? = nil
        var error: (message: String, id: String?)? = nil
        for _ in 0..<2 {
            switch await subscription.next() {
            case .spaces(let sent)?: snapshot = sent
            case .error(let message, let id)?: error = (message, id)
            case let other: Issue.record("unexpected \(String(describing: other))")
            }
        }
        #expect(error?.message.contains("nowhere") == true)
        #expect(error?.message.hasPrefix("\(path):3:13:") == true)
        #expect(error.map { $0.id == nil } == true)
        #expect(snapshot?.fileProblem == error?.message, "the snapshot carries the lasting problem")
        #expect(try snapshot?.tree() == store.tree, "the snapshot is the last good tree")
        #expect(store.tree.space("azureuser") != nil)
        let late = hub.subscribe()
        _ = late.poll()
        guard case .spaces(let first)? = late.poll() else {
            Issue.record("a new subscriber reads no spaces second")
            return
        }
        #expect(first.fileProblem != nil, "a reader that attaches later learns the file is invalid")
        try Samples.spacesYAML.write(toFile: path, atomically: true, encoding: .utf8)
        store.reload()
        guard case .spaces(let fixed)? = await subscription.next() else {
            Issue.record("the fix sent no spaces")
            return
        }
        #expect(fixed.fileProblem == nil, "the file is valid again")
        #expect(
            !FeedEvent.spaces(fixed).jsonLine().contains("fileProblem"),
            "a valid file's snapshot is as before")
    }

    @Test("forty subscribers at once each get every event")
    func manySubscribers() async throws {
        let hub = try makeHub()
        let subscriptions = (0..<40).map { _ in hub.subscribe() }
        for number in 0..<100 { hub.publish(.hop(Samples.hop(number))) }
        try await withThrowingTaskGroup(of: Int.self) { group in
            for subscription in subscriptions {
                group.addTask {
                    try await within("a subscriber's hops") {
                        var hops = 0
                        while hops < 100, let event = await subscription.next() {
                            if case .hop = event { hops += 1 }
                        }
                        return hops
                    }
                }
            }
            for try await hops in group { #expect(hops == 100) }
        }
    }

    @Test("a reader waiting for the next event wakes when one is published")
    func waitingReaderWakes() async throws {
        let hub = try makeHub()
        let subscription = hub.subscribe()
        _ = (subscription.poll(), subscription.poll())
        async let next = within("a live hop") { await subscription.next() }
        try await Task.sleep(for: .milliseconds(20))
        hub.publish(.hop(Samples.hop(7)))
        #expect(try await next == .hop(Samples.hop(7)))
    }

    @Test("closing the hub ends every subscription")
    func closeEndsSubscriptions() async throws {
        let hub = try makeHub()
        let subscription = hub.subscribe()
        _ = (subscription.poll(), subscription.poll())
        async let ended = within("the end of the subscription") { await subscription.next() }
        hub.close()
        #expect(try await ended == nil)
    }

    @Test("a cancelled subscription frees its queue")
    func cancelFreesQueue() throws {
        let hub = try makeHub()
        let subscription = hub.subscribe()
        for number in 0..<10 { hub.publish(.hop(Samples.hop(number))) }
        #expect(hub.queuedEvents == 12)
        subscription.cancel()
        #expect(hub.subscriberCount == 0)
        #expect(hub.queuedEvents == 0)
        #expect(subscription.poll() == nil)
    }

    @Test("a bounded queue keeps the newest elements, oldest first")
    func boundedQueue() {
        var queue = BoundedQueue<Int>(capacity: 5)
        var evicted: [Int] = []
        for number in 0..<12 { if let old = queue.append(number) { evicted.append(old) } }
        #expect(evicted == Array(0..<7))
        #expect(queue.suffix(3) == [9, 10, 11])
        #expect(queue.popFirst() == 7)
        queue.append(12)
        var rest: [Int] = []
        while let next = queue.popFirst() { rest.append(next) }
        #expect(rest == [8, 9, 10, 11, 12])
    }
}

@Suite("Hop lines on the wire")
struct HopJSONTests {
    private static let awkward = [
        "", "plain", "quote \" and \\ backslash", "/slash/path?q=1&r=2", "line\nbreak\r\ttab",
        "\u{8}\u{C}\u{1}\u{1B}[2J\u{7F}", "é😀\u{2028}", String(repeating: "x", count: 3000),
    ]

    @Test("a hop is written with exactly the bytes of the standard JSON encoder")
    func sameBytesAsFoundation() {
        var hops: [HopEvent] = []
        for (index, text) in Self.awkward.enumerated() {
            var hop = Samples.hop(index, path: text)
            hop.host = text
            hop.error = index % 2 == 0 ? text : nil
            hop.method = index % 3 == 0 ? nil : text
            hop.from = index % 2 == 1 ? HopCaller(space: text, service: "s\(text)") : nil
            hop.tried = [text, "default"]
            hop.routeAsSource = index % 4 == 0 ? nil : RouteAsSource.allCases[index % 4]
            hop.protocol = [HopProtocol.http, .websocket, .tcp][index % 3]
            hop.durationMs = [nil, 12.4, 0.0, 1e-7, 3.0000000000000004, 1e20, 123_456.0, 0.333][index]
            hop.status = index % 2 == 0 ? nil : 200 + index
            hop.bytesIn = index * 1000
            hop.bytesOut = -index
            hops.append(hop)
        }
        for hop in hops {
            #expect(String(buffer: FeedEntry.hopLine(hop)) == FeedEvent.hop(hop).jsonLine())
        }
    }

    @Test("a hop with an impossible duration still becomes a valid line")
    func nonFiniteDuration() throws {
        var hop = Samples.hop(1)
        hop.durationMs = .infinity
        let line = String(buffer: FeedEntry.hopLine(hop))
        #expect(line == FeedEvent.hop(hop).jsonLine())
        _ = try FeedEvent.decode(line: line)
    }
}
