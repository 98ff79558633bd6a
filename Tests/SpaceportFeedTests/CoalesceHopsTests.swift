import Foundation
import SpaceportCore
import SpaceportWire
import Testing

@testable import SpaceportFeed

/// `coalesce-hops`: a reader that merges a hop's phases anyway (the dashboard) reads a hop
/// that ends quickly as its end alone, half the lines under load, and still sees every
/// hop, running ones included.
@Suite("Coalesced hops")
struct CoalesceHopsTests {
    /// The hop events a socket reader sees, in order, until it has read `count` of them.
    private func hops(_ client: LineSocket, count: Int) async throws -> [HopEvent] {
        var hops: [HopEvent] = []
        while hops.count < count {
            if case .hop(let hop) = try await client.nextEvent() { hops.append(hop) }
        }
        return hops
    }

    @Test(
        "after coalesce-hops a reader gets a finished hop as its end alone and a running one's start; other readers get both phases"
    )
    func socketReaderCoalesces() async throws {
        try await withFeed { feed in
            let plain = try await LineSocket.unix(feed.socketPath)
            let coalescing = try await LineSocket.unix(feed.socketPath)
            try await coalescing.send(.coalesceHops(id: "c1"))
            _ = try await coalescing.next("the ack") { $0 == .ack(id: "c1") }

            feed.hub.publish(.hop(Samples.hop(1, phase: .start)))
            feed.hub.publish(.hop(Samples.hop(1)))
            feed.hub.publish(.hop(Samples.hop(2, phase: .start)))
            // Hop 2 is still running: its start reaches the coalescing reader on its own.
            #expect(
                try await hops(coalescing, count: 2) == [Samples.hop(1), Samples.hop(2, phase: .start)])
            feed.hub.publish(.hop(Samples.hop(2)))
            #expect(try await hops(coalescing, count: 1) == [Samples.hop(2)])

            #expect(
                try await hops(plain, count: 4) == [
                    Samples.hop(1, phase: .start), Samples.hop(1), Samples.hop(2, phase: .start),
                    Samples.hop(2),
                ])
            await plain.close()
            await coalescing.close()
        }
    }

    @Test("under a burst every hop's end reaches a coalescing reader once, in order, and few starts do")
    func burstArrivesOncePerHop() async throws {
        try await withFeed { feed in
            let client = try await LineSocket.unix(feed.socketPath)
            try await client.send(.coalesceHops(id: nil))
            _ = try await client.next("the ack") { $0 == .ack(id: "") }
            for number in 0..<2000 {
                feed.hub.publish(.hop(Samples.hop(number, phase: .start)))
                feed.hub.publish(.hop(Samples.hop(number)))
            }
            var ends: [HopEvent] = []
            var starts: Set<String> = []
            while ends.count < 2000 {
                let hop = try #require(try await hops(client, count: 1).first)
                if hop.phase == .end {
                    ends.append(hop)
                } else {
                    // A start goes out only when its end has not come within the hold (a
                    // publisher stalled that long): then before its end, and once.
                    #expect(!ends.contains { $0.id == hop.id } && starts.insert(hop.id).inserted)
                }
            }
            #expect(ends == (0..<2000).map { Samples.hop($0) })
            #expect(starts.count < 1000, "\(starts.count) of 2000 starts were sent")
            await client.close()
        }
    }

    @Test("coalesce-hops before the token is refused like any command")
    func needsTheTokenFirst() async throws {
        let options = try FeedServerOptions.tcpForTests(token: "tok")
        try await withFeed(options: options) { feed in
            let address = try #require(feed.listeners.tcp)
            let client = try await LineSocket.tcp(address)
            try await client.send(.coalesceHops(id: "1"))
            let lines = try await client.untilClosed()
            #expect(lines.count == 1)
            #expect(try FeedEvent.decode(line: lines[0]).type == "error")
            #expect(lines[0].contains("authenticate first"))
        }
    }

    @Test(
        "an in-process reader batching with coalescing shaping sees each finished hop once and running ones start"
    )
    func inProcessBatches() async throws {
        let tree = try SpacesFile.parse(text: Samples.spacesYAML, file: "spaces.yaml")
        let hub = FeedHub(store: SpacesStore(tree: tree), hello: Samples.hello)
        let subscription = hub.subscribe()
        hub.publish(.hop(Samples.hop(1, phase: .start)))
        hub.publish(.hop(Samples.hop(1)))
        hub.publish(.hop(Samples.hop(2, phase: .start)))
        // The start of hop 2 is held for its end, then comes on a later call.
        let hops = try await within("the running hop's start") {
            var hops: [HopEvent] = []
            while hops.count < 2 {
                guard let batch = await subscription.next(upTo: 64, shaping: HopShaping(coalesce: true))
                else { break }
                for case .hop(let hop) in batch { hops.append(hop) }
                if hops.count < 2 { try await Task.sleep(for: .milliseconds(5)) }
            }
            return hops
        }
        #expect(hops == [Samples.hop(1), Samples.hop(2, phase: .start)])
        hub.publish(.hop(Samples.hop(2)))
        let last = await subscription.next(upTo: 64, shaping: HopShaping(coalesce: true))
        #expect(last == [.hop(Samples.hop(2))])
        hub.close()
        #expect(await subscription.next(upTo: 64, shaping: HopShaping(coalesce: true)) == nil)
    }

    @Test("a feed client asked to coalesce gets finished hops as their ends alone")
    func feedClientAsks() async throws {
        try await withFeed { feed in
            let client = FeedClient(targets: [.unix(feed.socketPath)], shaping: HopShaping(coalesce: true))
            try await client.start()
            // Its request is in once the proxy acks it.
            _ = try await nextClientEvent(client, "the ack") {
                if case .event(_, .ack) = $0 { return true }
                return false
            }
            feed.hub.publish(.hop(Samples.hop(7, phase: .start)))
            feed.hub.publish(.hop(Samples.hop(7)))
            feed.hub.publish(.hop(Samples.hop(8)))
            let event = try await nextClientEvent(client, "a hop") {
                if case .event(_, .hop) = $0 { return true }
                return false
            }
            guard case .event(_, .hop(let hop)) = event else { return }
            #expect(hop == Samples.hop(7))
            await client.stop()
        }
    }
}
