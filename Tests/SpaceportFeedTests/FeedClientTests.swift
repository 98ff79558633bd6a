import Foundation
import SpaceportCore
import Testing

@testable import SpaceportFeed

/// Reads a client's merged events until `matches`, failing after a generous wait.
func nextClientEvent(
    _ client: FeedClient, _ what: String, where matches: @escaping @Sendable (FeedClientEvent) -> Bool
) async throws -> FeedClientEvent {
    let events = client.events
    return try await within(what) {
        for await event in events where matches(event) { return event }
        throw TimedOut(what: what + " (the client stopped)")
    }
}

@Suite("Attaching to feeds")
struct FeedClientTests {
    @Test("feed targets read as auto, tcp://HOST:PORT, a socket path or a proxy name")
    func parseTargets() throws {
        #expect(try FeedTarget.parse("auto") == .auto)
        #expect(try FeedTarget.parse("tcp://127.0.0.1:9000") == .tcp(host: "127.0.0.1", port: 9000))
        #expect(try FeedTarget.parse("/run/x.sock") == .unix("/run/x.sock"))
        #expect(try FeedTarget.parse("alice", directory: "/run/sp") == .unix("/run/sp/alice.sock"))
        #expect(throws: FeedTargetError.self) { try FeedTarget.parse("tcp://nowhere") }
        #expect(throws: FeedTargetError.self) { try FeedTarget.parse("Not A Name") }
    }

    @Test("a client merges two feeds and names the source of each event")
    func mergesFeeds() async throws {
        let first = try await FeedFixture.start(name: "one")
        let second = try await FeedFixture.start(name: "two")
        let client = FeedClient(targets: [.unix(first.socketPath), .unix(second.socketPath)])
        try await client.start()
        #expect(client.connectedSources == [first.socketPath, second.socketPath].sorted())
        first.hub.publish(.hop(Samples.hop(1)))
        second.hub.publish(.hop(Samples.hop(2)))
        var sources: [String: String] = [:]
        for _ in 0..<2 {
            let event = try await nextClientEvent(client, "a hop") {
                if case .event(_, .hop) = $0 { return true }
                return false
            }
            if case .event(let source, .hop(let hop)) = event { sources[hop.id] = source }
        }
        #expect(sources == ["h1": first.socketPath, "h2": second.socketPath])
        await client.stop()
        await first.stop()
        await second.stop()
    }

    @Test("a client reconnects when its proxy restarts")
    func reconnects() async throws {
        let folder = Samples.temporaryFolder()
        let first = try await FeedFixture.start(folder: folder)
        let client = FeedClient(targets: [.unix(first.socketPath)], backoff: .init(initialMs: 20, maxMs: 200))
        try await client.start()
        await first.stop(removingFolder: false)
        _ = try await nextClientEvent(client, "the disconnect") {
            if case .disconnected = $0 { return true }
            return false
        }
        let second = try await FeedFixture.start(folder: folder)
        _ = try await nextClientEvent(client, "the reconnect") { $0 == .connected(source: second.socketPath) }
        second.hub.publish(.hop(Samples.hop(9)))
        _ = try await nextClientEvent(client, "a hop from the new proxy") {
            $0 == .event(source: second.socketPath, .hop(Samples.hop(9)))
        }
        await client.stop()
        await second.stop()
    }

    @Test("auto attaches to proxies as their sockets appear and lets go when they disappear")
    func autoDiscovery() async throws {
        let folder = Samples.temporaryFolder()
        let first = try await FeedFixture.start(name: "one", folder: folder)
        let client = FeedClient(targets: [.auto], directory: folder, discoveryIntervalMs: 50)
        try await client.start()
        #expect(client.connectedSources == [first.socketPath])
        let second = try await FeedFixture.start(name: "two", folder: folder)
        _ = try await nextClientEvent(client, "the new proxy") { $0 == .connected(source: second.socketPath) }
        await second.stop(removingFolder: false)
        _ = try await nextClientEvent(client, "the proxy leaving") {
            if case .disconnected(let source, _) = $0 { return source == second.socketPath }
            return false
        }
        _ = try await within("the client letting go") {
            while client.connectedSources != [first.socketPath] {
                try await Task.sleep(for: .milliseconds(20))
            }
            return true
        }
        await client.stop()
        await first.stop()
    }

    @Test("send resolves on the ack, and throws the proxy's own message on error")
    func sendCommands() async throws {
        try await withFeed { feed in
            let client = FeedClient(targets: [.unix(feed.socketPath)])
            try await client.start()
            try await client.send(.override(space: "azureuser", service: "servicea", enabled: false))
            #expect(feed.store.tree.space("azureuser")?.instance("servicea")?.enabled == false)
            await #expect(
                throws: FeedClientError.rejected("there is no space 'nobody'; `spaceport tree` lists them")
            ) {
                try await client.send(.override(space: "nobody", service: "servicea", enabled: false))
            }
            await client.stop()
        }
    }

    @Test("a command to a client attached to several feeds must name one")
    func ambiguousSend() async throws {
        let first = try await FeedFixture.start(name: "one")
        let second = try await FeedFixture.start(name: "two")
        let client = FeedClient(targets: [.unix(first.socketPath), .unix(second.socketPath)])
        try await client.start()
        await #expect(throws: FeedClientError.ambiguous([first.socketPath, second.socketPath].sorted())) {
            try await client.send(.createSpace(name: "bob", parent: nil))
        }
        try await client.send(.createSpace(name: "bob", parent: nil), to: second.socketPath)
        #expect(second.store.tree.space("bob") != nil)
        #expect(first.store.tree.space("bob") == nil)
        await client.stop()
        await first.stop()
        await second.stop()
    }

    @Test("a client over TCP authenticates with its token; a wrong one is a clear error")
    func tcpClient() async throws {
        let options = try FeedServerOptions.tcpForTests(token: "tok")
        try await withFeed(options: options) { feed in
            let address = try #require(feed.listeners.tcp)
            let good = FeedClient(targets: [.tcp(host: address.host, port: address.port)], token: "tok")
            try await good.start()
            #expect(good.connectedSources == ["tcp://127.0.0.1:\(address.port)"])
            await good.stop()
            let bad = FeedClient(targets: [.tcp(host: address.host, port: address.port)], token: "nope")
            await #expect(throws: FeedClientError.noFeed(["tcp://127.0.0.1:\(address.port): wrong token"])) {
                try await bad.start()
            }
        }
    }

    @Test("starting with no feed there fails with a clear error")
    func noFeed() async throws {
        let folder = Samples.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let auto = FeedClient(targets: [.auto], directory: folder)
        do {
            try await auto.start()
            Issue.record("start succeeded with no feed")
        } catch {
            #expect(error.description.contains("no proxy feed socket in \(folder)"))
            #expect(error.description.contains("spaceport proxy"))
        }
        let missing = FeedClient(targets: [.unix(folder + "/gone.sock")])
        await #expect(throws: FeedClientError.noFeed(["no feed socket at \(folder)/gone.sock"])) {
            try await missing.start()
        }
    }

    @Test("a client whose reader falls behind holds a bounded buffer, then reads how many it lost")
    func clientDrops() async throws {
        try await withFeed { feed in
            let client = FeedClient(targets: [.unix(feed.socketPath)], bufferLimit: 4)
            try await client.start()
            for number in 0..<100 { feed.hub.publish(.hop(Samples.hop(number))) }
            _ = try await within("the client to drop what its reader cannot take") {
                while client.droppedEvents < 99 { try await Task.sleep(for: .milliseconds(10)) }
                return true
            }
            var iterator = client.events.makeAsyncIterator()
            var seen: [FeedClientEvent] = []
            for _ in 0..<4 { seen.append(try #require(await iterator.next())) }
            #expect(seen.first == .connected(source: feed.socketPath))
            #expect(seen.last == .event(source: feed.socketPath, .hop(Samples.hop(0))))
            feed.hub.publish(.hop(Samples.hop(100)))
            #expect(await iterator.next() == .event(source: feed.socketPath, .dropped(count: 99)))
            #expect(await iterator.next() == .event(source: feed.socketPath, .hop(Samples.hop(100))))
            await client.stop()
        }
    }
}
