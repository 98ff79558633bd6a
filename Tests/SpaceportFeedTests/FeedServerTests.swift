import Foundation
import SpaceportCore
import SpaceportWire
import Testing

@testable import SpaceportFeed

@Suite("The feed on a Unix socket")
struct FeedServerTests {
    @Test("a client reads hello, spaces, the replay of recent hops, then the live stream")
    func replayThenLive() async throws {
        try await withFeed { feed in
            for number in 0..<3 { feed.hub.publish(.hop(Samples.hop(number))) }
            let client = try await LineSocket.unix(feed.socketPath)
            #expect(Samples.greeting(try await client.nextEvent()) == Samples.hello)
            #expect(try await client.nextEvent() == .spaces(SpacesSnapshot(feed.store.tree)))
            for number in 0..<3 { #expect(try await client.nextEvent() == .hop(Samples.hop(number))) }
            feed.hub.publish(.hop(Samples.hop(3, phase: .start)))
            feed.hub.publish(.hop(Samples.hop(3)))
            #expect(try await client.nextEvent() == .hop(Samples.hop(3, phase: .start)))
            #expect(try await client.nextEvent() == .hop(Samples.hop(3)))
            await client.close()
        }
    }

    @Test("every line on the wire is one JSON object with a type and v 1")
    func linesCarryTypeAndVersion() async throws {
        try await withFeed { feed in
            feed.hub.publish(.hop(Samples.hop(1)))
            let client = try await LineSocket.unix(feed.socketPath)
            for _ in 0..<3 {
                let line = try #require(try await client.nextLine())
                let object = try #require(
                    try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                #expect(object["v"] as? Int == 1)
                #expect(object["type"] is String)
            }
            await client.close()
        }
    }

    @Test("the socket folder is 0700 and the socket 0600, and both go away at shutdown")
    func permissions() async throws {
        let feed = try await FeedFixture.start()
        var info = stat()
        #expect(stat(feed.folder, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o700)
        #expect(stat(feed.socketPath, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(info.st_mode & S_IFMT == S_IFSOCK)
        let pid = try String(contentsOfFile: feed.folder + "/t.pid", encoding: .utf8)
        #expect(pid == "\(getpid())\n")
        await feed.stop(removingFolder: false)
        #expect(access(feed.socketPath, F_OK) != 0)
        #expect(access(feed.folder + "/t.pid", F_OK) != 0)
        try FileManager.default.removeItem(atPath: feed.folder)
    }

    @Test(
        "a client that stops reading never holds up publishing, stays bounded, and later reads its dropped count"
    )
    func slowSocketClient() async throws {
        try await withFeed(options: FeedServerOptions(queueLimit: 64)) { feed in
            let slow = try await LineSocket.unix(feed.socketPath)
            #expect(try await slow.nextEvent().type == "hello")
            try await slow.reading(false)
            let fast = try await LineSocket.unix(feed.socketPath)
            _ = try await fast.next("spaces") { $0.type == "spaces" }
            let padding = String(repeating: "x", count: 400)
            var largestQueue = 0
            for number in 0..<20_000 {
                feed.hub.publish(.hop(Samples.hop(number, path: "/\(padding)")))
                largestQueue = max(largestQueue, feed.hub.queuedEvents)
            }
            #expect(largestQueue <= 2 * (64 + 2))
            let last = try await fast.next("the last hop") {
                if case .hop(let hop) = $0 { return hop.id == "h19999" }
                return false
            }
            #expect(last.type == "hop")
            try await slow.reading(true)
            var dropped = 0
            let lastSeen = try await slow.next("the last hop, after the drops") {
                if case .dropped(let count) = $0 { dropped += count }
                if case .hop(let hop) = $0 { return hop.id == "h19999" }
                return false
            }
            #expect(lastSeen.type == "hop")
            #expect(dropped > 0)
            #expect(dropped < 20_000)
            await slow.close()
            await fast.close()
        }
    }

    @Test("thirty-two socket clients at once each get the live stream")
    func thirtyTwoClients() async throws {
        try await withFeed { feed in
            var clients: [LineSocket] = []
            for _ in 0..<32 {
                let client = try await LineSocket.unix(feed.socketPath)
                _ = try await client.next("spaces") { $0.type == "spaces" }
                clients.append(client)
            }
            #expect(feed.hub.subscriberCount == 32)
            feed.hub.publish(.hop(Samples.hop(42)))
            for client in clients {
                #expect(try await client.nextEvent() == .hop(Samples.hop(42)))
                await client.close()
            }
        }
    }

    @Test("past the subscriber limit a client is told so and closed")
    func subscriberLimit() async throws {
        try await withFeed(options: FeedServerOptions(maxSubscribers: 2)) { feed in
            let first = try await LineSocket.unix(feed.socketPath)
            let second = try await LineSocket.unix(feed.socketPath)
            _ = try await first.nextEvent()
            _ = try await second.nextEvent()
            let third = try await LineSocket.unix(feed.socketPath)
            let lines = try await third.untilClosed()
            #expect(lines.count == 1)
            guard case .error(let message, _) = try FeedEvent.decode(line: lines[0]) else {
                Issue.record("expected an error line")
                return
            }
            #expect(message.contains("2 feed subscribers"))
            await first.close()
            await second.close()
        }
    }
}
