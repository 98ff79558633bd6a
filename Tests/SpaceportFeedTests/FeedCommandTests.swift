import Foundation
import SpaceportCore
import SpaceportWire
import Testing

@testable import SpaceportFeed

@Suite("Commands on the feed")
struct FeedCommandTests {
    private func route(_ tree: SpaceTree) throws -> String? {
        try tree.route(RouteRequest(host: "servicea.localhost", routeHeaderValue: "azureuser")).space
    }

    @Test("an override is acked after the new spaces, rewrites the file, and changes the next route")
    func overrideChangesRouteAndFile() async throws {
        try await withFeed { feed in
            #expect(try route(feed.store.tree) == "azureuser")
            let client = try await LineSocket.unix(feed.socketPath)
            let watcher = try await LineSocket.unix(feed.socketPath)
            _ = try await client.next("spaces") { $0.type == "spaces" }
            _ = try await watcher.next("spaces") { $0.type == "spaces" }
            try await client.send(
                .edit(id: "7", .override(space: "azureuser", service: "servicea", enabled: false)))
            guard case .spaces(let snapshot) = try await client.nextEvent() else {
                Issue.record("the new spaces come before the ack")
                return
            }
            #expect(snapshot.spaces.first { $0.name == "azureuser" }?.services.first?.enabled == false)
            #expect(try await client.nextEvent() == .ack(id: "7"))
            #expect(try await watcher.nextEvent() == .spaces(snapshot))
            #expect(try route(feed.store.tree) == "default")
            let reread = try SpacesFile.load(path: feed.spacesPath)
            #expect(try route(reread) == "default")
            #expect(try feed.spacesFileText().contains("# the team's spaces"))
            await client.close()
            await watcher.close()
        }
    }

    @Test("set-upstream, create-space and delete-space are applied and acked in order")
    func everyCommandKind() async throws {
        try await withFeed { feed in
            let client = try await LineSocket.unix(feed.socketPath)
            _ = try await client.next("spaces") { $0.type == "spaces" }
            let commands: [(String, SpaceEdit)] = [
                ("a", .createSpace(name: "bob", parent: "azureuser")),
                (
                    "b",
                    .setUpstream(
                        space: "bob", service: "serviceb", upstream: try Address(parsing: "127.0.0.1:7002"))
                ),
                ("c", .deleteSpace(name: "azureuser", recursive: true)),
            ]
            for (id, edit) in commands { try await client.send(.edit(id: id, edit)) }
            for (id, _) in commands {
                #expect(try await client.next("ack \(id)") { $0.type == "ack" } == .ack(id: id))
            }
            #expect(feed.store.tree.space("bob") == nil)
            #expect(feed.store.tree.space("azureuser") == nil)
            let reread = try SpacesFile.load(path: feed.spacesPath)
            #expect(reread.spaces.map(\.name) == ["default"])
            await client.close()
        }
    }

    @Test(
        "remove-service takes the instance out of the file and the tree, and the space inherits the service")
    func removeService() async throws {
        try await withFeed { feed in
            let client = try await LineSocket.unix(feed.socketPath)
            _ = try await client.next("spaces") { $0.type == "spaces" }
            try await client.send(.edit(id: "r", .removeInstance(space: "azureuser", service: "servicea")))
            #expect(try await client.next("ack r") { $0.type == "ack" } == .ack(id: "r"))
            #expect(feed.store.tree.space("azureuser")?.services.isEmpty == true)
            #expect(try route(feed.store.tree) == "default")
            let reread = try SpacesFile.load(path: feed.spacesPath)
            #expect(reread.space("azureuser")?.services.isEmpty == true)
            #expect(try feed.spacesFileText().contains("# the team's spaces"))
            try await client.send(
                .edit(id: "again", .removeInstance(space: "azureuser", service: "servicea")))
            let refusal = try await client.next("error") { $0.type == "error" }
            guard case .error(let message, let id) = refusal else { return }
            #expect(id == "again")
            #expect(message.contains("has no instance of 'servicea'"))
            await client.close()
        }
    }

    @Test("a command with a numeric id is acked with that id as text")
    func numericID() async throws {
        try await withFeed { feed in
            let client = try await LineSocket.unix(feed.socketPath)
            _ = try await client.next("spaces") { $0.type == "spaces" }
            try await client.send(#"{"cmd":"create-space","name":"carol","parent":null,"id":12}"#)
            #expect(try await client.next("ack") { $0.type == "ack" } == .ack(id: "12"))
            await client.close()
        }
    }

    @Test("a burst of commands sent without waiting is applied in order, each acked")
    func commandBurst() async throws {
        try await withFeed { feed in
            let client = try await LineSocket.unix(feed.socketPath)
            _ = try await client.next("spaces") { $0.type == "spaces" }
            let burst = (0..<100).map { number in
                FeedCommand.edit(
                    id: "b\(number)",
                    .override(space: "azureuser", service: "servicea", enabled: number % 2 == 1)
                ).jsonLine()
            }.joined()
            try await client.send(burst)
            var acks: [String] = []
            while acks.count < 100 {
                if case .ack(let id) = try await client.nextEvent() { acks.append(id) }
            }
            #expect(acks == (0..<100).map { "b\($0)" })
            #expect(feed.store.tree.space("azureuser")?.instance("servicea")?.enabled == true)
            #expect(
                try SpacesFile.load(path: feed.spacesPath).space("azureuser")?.instance("servicea")?.enabled
                    == true)
            await client.close()
        }
    }
}
