import Foundation
import SpaceportCore
import SpaceportFeed
import Synchronization
import Testing

@Suite("Feed abuse")
struct FeedAbuseTests {
    @Test("a thousand connect and disconnect cycles leave no connection and no subscriber behind")
    func connectCycles() async throws {
        let cycles = Reliability.scale(fast: 1000, long: 20_000)
        try await FeedRig.with { rig in
            let before = ProcessGauges.residentBytes()
            let path = rig.socketPath
            let watched = try await blocking { () -> Int in
                let client = try UnixLineClient(path)
                _ = client.readEvent()
                return rig.serverConnections()
            }
            #expect(watched == 1, "the server's side of a connection cannot be counted: \(watched)")
            let greeted = try await blocking {
                var greeted = 0
                for cycle in 0..<cycles {
                    let client = try UnixLineClient(path)
                    switch cycle % 4 {
                    case 0:
                        if case .hello = client.readEvent() { greeted += 1 }
                    case 1:
                        try? client.send("{\"cmd\":\"overr")
                    case 2:
                        try? client.send([0xFF, 0x00, 0x1B])
                    default:
                        break
                    }
                    client.close()
                }
                return greeted
            }
            #expect(greeted == (cycles + 3) / 4)
            try await eventually("every subscriber to go") { rig.hub.subscriberCount == 0 }
            try await eventually("every server-side connection to close") { rig.serverConnections() == 0 }
            let probe = try await blocking { try UnixLineClient(path).readEvent() }
            #expect(probe?.type == "hello", "the feed no longer greets a new client")
            Reliability.report(
                "feed connect/disconnect ×\(cycles)", tried: cycles, passed: cycles, rssBefore: before,
                rssAfter: ProcessGauges.residentBytes())
        }
    }

    @Test(
        "a subscriber that never reads, under real traffic, holds a bounded queue and later reads what it lost"
    )
    func stuckSubscriber() async throws {
        let requests = Reliability.scale(fast: 1500, long: 50_000)
        let queueLimit = 64
        let upstream = try await RecordingUpstream.start()
        let folder = temporaryFolder("hs")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let hubs = Mutex<FeedHub?>(nil)
        let proxy = try await HostileProxy.start(appTree(upstream.address)) { store in
            let hub = FeedHub(
                store: store, hello: FeedHello(proxy: "hostile", pid: 1, version: "0", listeners: []))
            hubs.withLock { $0 = hub }
            return [hub]
        }
        let hub = try #require(hubs.withLock { $0 })
        let server = FeedServer(
            hub: hub,
            options: FeedServerOptions(name: "h", directory: folder + "/feed", queueLimit: queueLimit))
        let listeners = try await server.start()
        let stuck = try UnixLineClient(listeners.socketPath, receiveBuffer: 2048)
        try await eventually("the stuck subscriber to be counted") { hub.subscriberCount == 1 }
        let before = ProcessGauges.residentBytes()
        let ingress = proxy.ingress
        let peakQueued = Atomic<Int>(0)
        let served = try await blocking {
            let client = try RawClient(ingress)
            var served = 0
            for batch in stride(from: 0, to: requests, by: 50) {
                let count = min(50, requests - batch)
                try client.send(
                    (0..<count).map { "GET /t\(batch + $0) HTTP/1.1\r\nHost: app.localhost\r\n\r\n" }.joined()
                )
                for _ in 0..<count where (try? client.readResponse())?.status == 200 { served += 1 }
                let queued = hub.queuedEvents
                if queued > peakQueued.load(ordering: .relaxed) {
                    peakQueued.store(queued, ordering: .relaxed)
                }
            }
            return served
        }
        #expect(served == requests)
        // Two hops per request went to a subscriber that read none of them.
        #expect(peakQueued.load(ordering: .relaxed) <= queueLimit + 2, "the stuck subscriber's queue grew")
        let events = try await blocking {
            var types: [String] = []
            var lost = 0
            while let event = stuck.readEvent() {
                types.append(event.type)
                if case .dropped(let count) = event { lost += count }
                if case .hop(let hop) = event, hop.path == "/t\(requests - 1)", hop.phase == .end { break }
            }
            return (types, lost)
        }
        #expect(events.0.contains("dropped"), "the stuck subscriber was not told it lost events")
        #expect(events.1 > 0)
        #expect(events.0.last == "hop", "the stuck subscriber never caught up with the newest hop")
        Reliability.report(
            "stuck feed subscriber under \(requests) requests", tried: requests, passed: served,
            rssBefore: before,
            rssAfter: ProcessGauges.residentBytes())
        stuck.close()
        await server.shutdown()
        hub.close()
        await proxy.stop()
        await upstream.stop()
    }

    @Test("garbage, huge lines and unknown commands between valid ones are each answered, in order")
    func interleavedGarbage() async throws {
        try await FeedRig.with { rig in
            let path = rig.socketPath
            let huge = "{\"cmd\":\"override\",\"space\":\"" + String(repeating: "a", count: 100_000) + "\"}"
            let lines: [[UInt8]] = [
                Array(#"{"cmd":"override","space":"alice","service":"app","enabled":false,"id":"v1"}"#.utf8),
                Array("}{ not json".utf8),
                Array(#"{"cmd":"reboot","id":"u1"}"#.utf8),
                Array(#"{"cmd":"create-space","name":"bob","parent":"alice","id":"v2"}"#.utf8),
                [0xFF, 0xFE, 0x00, 0x1B, 0x5B, 0x32, 0x4A],
                Array(#"{"cmd":"override","space":"nobody","service":"app","enabled":true,"id":"x1"}"#.utf8),
                Array(
                    #"{"cmd":"set-upstream","space":"bob","service":"app","upstream":"127.0.0.1:7001","id":"v3"}"#
                        .utf8),
            ]
            let replies = try await blocking {
                let client = try UnixLineClient(path)
                for line in lines { try client.send(line + [UInt8(ascii: "\n")]) }
                var replies: [String] = []
                func read(until done: ([String]) -> Bool) {
                    while !done(replies), let event = client.readEvent() {
                        switch event {
                        case .ack(let id): replies.append("ack \(id)")
                        case .error(let message, let id):
                            // An error that echoes raw control characters shows in the list as such.
                            let plain = hasUnsafeCharacter(message) ? "raw control characters" : "-"
                            replies.append(
                                "error \(id ?? (message.contains("longer than") ? "too long" : plain))")
                        default: break
                        }
                    }
                }
                read { $0.count == lines.count }
                // A line past the limit ends the connection, after its error.
                try? client.send(huge + "\n")
                read { _ in false }
                return replies
            }
            #expect(
                replies == [
                    "ack v1", "error -", "error u1", "ack v2", "error -", "error x1", "ack v3",
                    "error too long",
                ])
            let tree = rig.store.tree
            #expect(tree.space("bob")?.instance("app")?.upstream.port == 7001)
            #expect(tree.space("alice")?.instance("app")?.enabled == false)
            #expect(try SpacesFile.load(path: rig.spacesPath) == tree, "the file and the store disagree")
            let next = try await blocking { try UnixLineClient(path).readEvent() }
            #expect(next?.type == "hello")
        }
    }
}
