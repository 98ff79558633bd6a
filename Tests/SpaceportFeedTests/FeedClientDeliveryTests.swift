import SpaceportCore
import Testing

@testable import SpaceportFeed

@Suite("Attaching to feeds with a handler instead of the stream")
struct FeedClientDeliveryTests {
    @Test("a client made with a handler hands it the connection, hello, tree and hops in order")
    func handlerHearsEverything() async throws {
        let feed = try await FeedFixture.start(name: "one")
        let (heard, hearing) = AsyncStream.makeStream(of: FeedClientEvent.self)
        let client = FeedClient(targets: [.unix(feed.socketPath)]) { hearing.yield($0) }
        try await client.start()
        for number in 1...3 { feed.hub.publish(.hop(Samples.hop(number))) }
        let received = try await within("three hops through the handler") {
            var received: [FeedClientEvent] = []
            for await event in heard {
                received.append(event)
                if case .event(_, .hop(let hop)) = event, hop.id == "h3" { return received }
            }
            throw TimedOut(what: "three hops (the handler stopped)")
        }
        let kinds = received.map { event -> String in
            switch event {
            case .connected: return "connected"
            case .event(_, let event): return event.type
            case .disconnected: return "disconnected"
            }
        }
        #expect(kinds == ["connected", "hello", "spaces", "hop", "hop", "hop"])
        let ids = received.compactMap { event -> String? in
            guard case .event(let source, .hop(let hop)) = event else { return nil }
            return source == feed.socketPath ? hop.id : nil
        }
        #expect(ids == ["h1", "h2", "h3"])
        await client.stop()
        hearing.finish()
        await feed.stop()
    }
}
