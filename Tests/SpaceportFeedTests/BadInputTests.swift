import Foundation
import SpaceportCore
import SpaceportWire
import Testing

@testable import SpaceportFeed

@Suite("Bad input on the feed socket")
struct BadInputTests {
    /// Sends `line` on a fresh connection and returns the error it gets, whether the
    /// connection still answers a command after it, having checked that neither the spaces
    /// file nor the tree changed.
    private func errorFor(_ line: String, in feed: FeedFixture) async throws -> (String, String?, open: Bool)
    {
        let before = try feed.spacesFileText()
        let tree = feed.store.tree
        let client = try await LineSocket.unix(feed.socketPath)
        _ = try await client.next("spaces") { $0.type == "spaces" }
        try await client.send(line)
        var answer: (String, String?)?
        var open = false
        let probe = #"{"cmd":"override","space":"probe","service":"servicea","enabled":true,"id":"probe"}"#
        while let text = try await client.nextLine() {
            let event = try FeedEvent.decode(line: text)
            guard case .error(let message, let id) = event else { continue }
            if answer == nil {
                answer = (message, id)
                try await client.send(probe)
            } else if id == "probe" {
                open = true
                break
            }
        }
        await client.close()
        #expect(try feed.spacesFileText() == before)
        #expect(feed.store.tree == tree)
        let (message, id) = try #require(answer)
        return (message, id, open)
    }

    @Test("a line that is not JSON gets an error and the connection stays usable")
    func notJSON() async throws {
        try await withFeed { feed in
            let (message, id, open) = try await errorFor("hello there", in: feed)
            #expect(message.contains("not a JSON object"))
            #expect(id == nil)
            #expect(open)
        }
    }

    @Test("an unknown command gets an error naming the commands, with its id")
    func unknownCommand() async throws {
        try await withFeed { feed in
            let (message, id, open) = try await errorFor(#"{"cmd":"reboot","id":"x1"}"#, in: feed)
            #expect(message.contains("unknown command 'reboot'"))
            #expect(message.contains("override"))
            #expect(id == "x1")
            #expect(open)
        }
    }

    @Test("an override of an unknown space gets an error and changes nothing")
    func unknownSpace() async throws {
        try await withFeed { feed in
            let (message, id, open) = try await errorFor(
                #"{"cmd":"override","space":"nobody","service":"servicea","enabled":false,"id":"x2"}"#,
                in: feed)
            #expect(message.contains("there is no space 'nobody'"))
            #expect(id == "x2")
            #expect(open)
        }
    }

    @Test("a command with a missing or mistyped field gets an error")
    func badField() async throws {
        try await withFeed { feed in
            let (message, id, _) = try await errorFor(
                #"{"cmd":"override","space":"azureuser","service":"servicea","enabled":"no","id":"x3"}"#,
                in: feed)
            #expect(message.contains("'enabled' must be true or false"))
            #expect(id == "x3")
        }
    }

    @Test("an edit that would break the tree is refused and the file keeps its text")
    func invalidTree() async throws {
        try await withFeed { feed in
            try feed.store.apply(.createSpace(name: "deep", parent: "azureuser"))
            let (message, id, open) = try await errorFor(
                #"{"cmd":"create-space","name":"deeper","parent":"deep","id":"x4"}"#, in: feed)
            #expect(message.contains("fourth level"))
            #expect(id == "x4")
            #expect(open)
        }
    }

    @Test("a 10 MB line gets an error and the connection is closed, the proxy unharmed")
    func hugeLine() async throws {
        try await withFeed { feed in
            let before = try feed.spacesFileText()
            let client = try await LineSocket.unix(feed.socketPath)
            _ = try await client.next("spaces") { $0.type == "spaces" }
            let huge = #"{"cmd":"override","space":""# + String(repeating: "a", count: 10 << 20) + "\"}\n"
            try? await client.send(huge)
            let lines = try await client.untilClosed()
            let errors = lines.compactMap { line -> String? in
                guard case .error(let message, _) = try? FeedEvent.decode(line: line) else { return nil }
                return message
            }
            #expect(errors.contains { $0.contains("longer than 65536 bytes") })
            #expect(try feed.spacesFileText() == before)
            let next = try await LineSocket.unix(feed.socketPath)
            #expect(try await next.nextEvent().type == "hello")
            await next.close()
        }
    }

    @Test("bytes that are not UTF-8 or hold control characters get an error, never a crash")
    func binaryGarbage() async throws {
        try await withFeed { feed in
            let client = try await LineSocket.unix(feed.socketPath)
            _ = try await client.next("spaces") { $0.type == "spaces" }
            try await client.sendBytes([0xFF, 0xFE, 0x00, 0x1B, 0x5B, 0x32, 0x4A, 0x0A])
            guard case .error = try await client.nextEvent() else {
                Issue.record("expected an error line")
                return
            }
            try await client.send(#"{"cmd":"\u001b[2J","id":"esc"}"#)
            guard case .error(let message, _) = try await client.nextEvent() else {
                Issue.record("expected an error line")
                return
            }
            #expect(!message.contains("\u{1B}"))
            await client.close()
        }
    }
}
