import Foundation
import SpaceportCore
import SpaceportWire
import Testing

@testable import SpaceportFeed

@Suite("The feed over TCP")
struct TCPFeedTests {
    private let token = "s3cret-token-for-tests"

    private func withTCPFeed(_ body: (FeedFixture, Address) async throws -> Void) async throws {
        let token = self.token
        let options = try FeedServerOptions.tcpForTests(token: token)
        try await withFeed(options: options) { feed in
            let address = try #require(feed.listeners.tcp)
            #expect(address.port != 0)
            try await body(feed, address)
        }
    }

    @Test("a client that sends the right token first gets hello, spaces and the stream")
    func rightToken() async throws {
        try await withTCPFeed { feed, address in
            let client = try await LineSocket.tcp(address)
            try await client.send(.auth(token: token))
            #expect(Samples.greeting(try await client.nextEvent()) == Samples.hello)
            #expect(try await client.nextEvent().type == "spaces")
            feed.hub.publish(.hop(Samples.hop(1)))
            #expect(try await client.nextEvent() == .hop(Samples.hop(1)))
            await client.close()
        }
    }

    @Test("a wrong token gets one error line and the connection closes, with nothing leaked")
    func wrongToken() async throws {
        try await withTCPFeed { feed, address in
            let client = try await LineSocket.tcp(address)
            try await client.send(.auth(token: token + "x"))
            let lines = try await client.untilClosed()
            #expect(lines.count == 1)
            #expect(try FeedEvent.decode(line: lines[0]) == .error(message: "wrong token", id: nil))
        }
    }

    @Test("a command before the token gets an error and the connection closes, the file untouched")
    func missingToken() async throws {
        try await withTCPFeed { feed, address in
            let before = try feed.spacesFileText()
            let client = try await LineSocket.tcp(address)
            try await client.send(.edit(id: "1", .deleteSpace(name: "azureuser", recursive: true)))
            let lines = try await client.untilClosed()
            #expect(lines.count == 1)
            guard case .error(let message, _) = try FeedEvent.decode(line: lines[0]) else {
                Issue.record("expected an error line")
                return
            }
            #expect(message.contains("authenticate first"))
            #expect(try feed.spacesFileText() == before)
        }
    }

    @Test("a TCP client that never authenticates is told so and closed")
    func authTimeout() async throws {
        let options = FeedServerOptions(
            tcp: try Address(parsing: "127.0.0.1:0"), token: "tok", authTimeoutMs: 50)
        try await withFeed(options: options) { feed in
            let client = try await LineSocket.tcp(try #require(feed.listeners.tcp))
            let lines = try await client.untilClosed()
            #expect(lines.count == 1)
            #expect(lines.first?.contains("no auth line arrived in time") == true)
        }
    }

    @Test("a TCP address already taken is a clear error and leaves no socket behind")
    func tcpAddressTaken() async throws {
        let options = try FeedServerOptions.tcpForTests(token: "tok")
        try await withFeed(options: options) { feed in
            let taken = try #require(feed.listeners.tcp)
            let folder = Samples.temporaryFolder()
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let second = FeedServer(
                hub: feed.hub,
                options: FeedServerOptions(
                    name: "u", directory: folder, tcp: taken, token: "tok", authTimeoutMs: 600_000))
            await #expect(throws: FeedServerError.bind(taken.description, problem: "Address already in use"))
            {
                _ = try await second.start()
            }
            #expect(access(folder + "/u.sock", F_OK) != 0)
            #expect(access(folder + "/u.pid", F_OK) != 0)
        }
    }

    @Test("a TCP feed given no token writes one beside its socket, and a client reading that file attaches")
    func generatedToken() async throws {
        try await withFeed(options: FeedServerOptions(tcp: try Address(parsing: "127.0.0.1:0"))) { feed in
            let address = try #require(feed.listeners.tcp)
            let file = try #require(feed.listeners.tokenFile)
            #expect(file == feed.folder + "/t.token")
            let client = FeedClient(
                targets: [.tcp(host: address.host, port: address.port)], token: try FeedToken.read(file: file)
            )
            try await client.start()
            #expect(client.connectedSources == ["tcp://127.0.0.1:\(address.port)"])
            await client.stop()
        }
    }

    @Test("the token check accepts only the exact token")
    func tokenComparison() {
        #expect(FeedToken.matches("abc", expected: "abc"))
        #expect(!FeedToken.matches("abd", expected: "abc"))
        #expect(!FeedToken.matches("ab", expected: "abc"))
        #expect(!FeedToken.matches("abcd", expected: "abc"))
        #expect(!FeedToken.matches("", expected: ""))
    }
}
