import Foundation
import SpaceportCore
import Synchronization
import Testing

/// Sends one more byte of a header line to each client every `pace`, until stopped: the
/// slowloris attack, which keeps a connection busy without ever finishing a request.
private final class Trickler: Sendable {
    private let running = Atomic<Bool>(true)

    init(_ clients: [RawClient], pace: useconds_t = 50_000) {
        Thread.detachNewThread { [self] in
            let line = Array("X-Slow: 1\r\n".utf8)
            var alive = Array(repeating: true, count: clients.count)
            var at = 0
            while running.load(ordering: .relaxed) && alive.contains(true) {
                for (index, client) in clients.enumerated() where alive[index] {
                    alive[index] = client.trySend([line[at % line.count]])
                }
                at += 1
                usleep(pace)
            }
        }
    }

    func stop() { running.store(false, ordering: .relaxed) }
}

@Suite("Slow and many clients")
struct SlowClientTests {
    @Test("clients that trickle their headers get 408 and are closed, and a fresh client is still served")
    func slowloris() async throws {
        let upstream = try await RecordingUpstream.start()
        let count = Reliability.scale(fast: 20, long: 1000)
        let timeout = Reliability.scale(fast: 500, long: 3000)
        ProcessGauges.raiseDescriptorLimit(to: count * 3 + 1000)
        try await HostileProxy.with(appTree(upstream.address, limits: ["header_timeout_ms": timeout])) {
            proxy in
            let before = ProcessGauges.residentBytes()
            let ingress = proxy.ingress
            let clients = try await blocking {
                try (0..<count).map { _ in
                    let client = try RawClient(ingress, timeoutSeconds: 60)
                    try client.send("GET /slow HTTP/1.1\r\nHost: app.localhost\r\n")
                    return client
                }
            }
            let trickler = Trickler(clients)
            let probe = try await proxy.probe()
            let outcomes = try await blocking {
                clients.map { client in ((try? client.readResponse())?.status, client.ending()) }
            }
            trickler.stop()
            #expect(probe.status == 200, "a fresh client was not served while \(count) clients trickled")
            let answered = outcomes.filter { $0.0 == 408 && ($0.1 == .closed || $0.1 == .reset) }.count
            #expect(answered == count, "outcomes: \(Set(outcomes.map { "\($0.0 ?? 0) \($0.1)" }))")
            #expect(proxy.events.ended.count { $0.status == 408 && $0.error != nil } == count)
            #expect(upstream.snapshot.requests.map(\.target) == ["/probe"])
            Reliability.report(
                "slowloris: \(count) clients, \(timeout) ms header timeout", tried: count, passed: answered,
                rssBefore: before, rssAfter: ProcessGauges.residentBytes())
        }
        await upstream.stop()
    }

    @Test("a body that keeps trickling in is forwarded whole, however long it takes")
    func trickledBody() async throws {
        let upstream = try await RecordingUpstream.start()
        // Each byte comes well within the timeout, all of them well after it.
        let length = Reliability.scale(fast: 80, long: 800)
        try await HostileProxy.with(appTree(upstream.address, limits: ["upstream_timeout_ms": 1500])) {
            proxy in
            let ingress = proxy.ingress
            let response = try await blocking {
                let client = try RawClient(ingress)
                try client.send(
                    "POST /trickle HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: \(length)\r\n\r\n")
                for _ in 0..<length {
                    try client.send("b")
                    usleep(30_000)
                }
                return try client.readResponse()
            }
            #expect(response.status == 200)
            let requests = upstream.snapshot.requests
            #expect(requests.map(\.target) == ["/trickle"])
            #expect(requests.first?.body == Array(repeating: UInt8(ascii: "b"), count: length))
        }
        await upstream.stop()
    }

    @Test("a body that stops arriving gets 408, and the upstream never sees a complete request")
    func stalledBody() async throws {
        let upstream = try await RecordingUpstream.start()
        try await HostileProxy.with(appTree(upstream.address, limits: ["upstream_timeout_ms": 500])) {
            proxy in
            let ingress = proxy.ingress
            let (response, ending) = try await blocking {
                let client = try RawClient(ingress)
                try client.send(
                    "POST /stalled HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 100\r\n\r\n0123456789")
                return (try client.readResponse(), client.ending())
            }
            #expect(response.status == 408, "the answer was \(response.status) \(response.text)")
            #expect(response.text.contains("request body"))
            #expect(ending == .closed || ending == .reset)
            let hop = try await proxy.events.end { $0.status == 408 }
            #expect(hop.error?.contains("request body") == true)
            #expect(try await proxy.probe().status == 200)
        }
        await upstream.stop()
        #expect(upstream.snapshot.requests.map(\.target) == ["/probe"])
    }

    @Test("a client that stops reading a large response holds the upstream back instead of filling memory")
    func slowReader() async throws {
        let size = Reliability.scale(fast: 128 << 20, long: 2 << 30)
        let upstream = try await FaultyUpstream.start(.stream(bytes: size))
        try await HostileProxy.with(appTree(upstream.address)) { proxy in
            let ingress = proxy.ingress
            let before = ProcessGauges.residentBytes()
            let client = try RawClient(ingress, timeoutSeconds: 60, receiveBuffer: 4096)
            let first = try await blocking {
                try client.send("GET /big HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
                var seen = 0
                while seen < 1 << 20, let chunk = client.readSome() { seen += chunk.count }
                return seen
            }
            #expect(first >= 1 << 20)
            // The reader has stopped: wait until the upstream can write no more.
            var written = upstream.bytesWritten
            var steady = 0
            for _ in 0..<300 where steady < 5 {
                try await Task.sleep(for: .milliseconds(100))
                let now = upstream.bytesWritten
                steady = now == written ? steady + 1 : 0
                written = now
            }
            #expect(steady >= 5, "the upstream never stopped writing to a client that stopped reading")
            #expect(written < 48 << 20, "the upstream wrote \(written >> 20) MB to a stalled reader")
            let total = try await blocking {
                var seen = first
                while let chunk = client.readSome() {
                    seen += chunk.count
                    if seen >= size { break }
                }
                return seen
            }
            // The bound on what the upstream could write is the bound on what the proxy buffered;
            // the process's memory is shared with the tests running beside this one, so it proves nothing.
            #expect(total > size, "the reader got \(total) bytes of \(size) plus the head")
            Reliability.report(
                "slow reader: \(size >> 20) MB response, stalled then drained", tried: 1,
                passed: total > size && written < 48 << 20 ? 1 : 0, rssBefore: before,
                rssAfter: ProcessGauges.residentBytes())
        }
        await upstream.stop()
    }

    @Test(
        "a connection that says nothing is closed after the header timeout, one that says nothing more after a request after the idle timeout"
    )
    func idleConnections() async throws {
        let upstream = try await RecordingUpstream.start()
        // Each timeout alone is short, the other long: the one that closes the connection is the one meant.
        let silentLimits = ["header_timeout_ms": 300, "idle_timeout_ms": 60_000]
        try await HostileProxy.with(appTree(upstream.address, limits: silentLimits)) { proxy in
            let ingress = proxy.ingress
            let (ending, seconds) = try await blocking {
                let silent = try RawClient(ingress)
                let start = Date()
                let ending = silent.ending()
                return (ending, Date().timeIntervalSince(start))
            }
            #expect(ending == .closed)
            #expect(seconds < 10, "a silent connection was held \(seconds) s, past the 0.3 s header timeout")
        }
        let idleLimits = ["header_timeout_ms": 60_000, "idle_timeout_ms": 300]
        try await HostileProxy.with(appTree(upstream.address, limits: idleLimits)) { proxy in
            let ingress = proxy.ingress
            let (afterRequest, status, seconds) = try await blocking {
                let chatty = try RawClient(ingress)
                try chatty.send("GET /once HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
                let status = try chatty.readResponse().status
                let start = Date()
                return (chatty.ending(), status, Date().timeIntervalSince(start))
            }
            #expect(status == 200)
            #expect(afterRequest == .closed)
            #expect(seconds < 10)
        }
        await upstream.stop()
    }

    @Test("hundreds of connections held open at once, and a fresh client is still served")
    func manyConnections() async throws {
        // Fast: other suites spawn curl and tmux with Foundation's Process in this same process,
        // and Process.run crashes once descriptors pass 1,024; reliability/run holds 5,000.
        let count = Reliability.scale(fast: 200, long: 5000)
        let limit = ProcessGauges.raiseDescriptorLimit(to: count * 3 + 1000)
        try #require(
            limit >= count * 2 + 100, "the descriptor limit \(limit) is too low for \(count) connections")
        let upstream = try await RecordingUpstream.start()
        // Silent connections are held for the header timeout: long enough here to open them all.
        let limits = ["header_timeout_ms": 600_000]
        try await HostileProxy.with(appTree(upstream.address, limits: limits)) { proxy in
            let ingress = proxy.ingress
            let before = ProcessGauges.residentBytes()
            let (clients, served) = try await blocking {
                var clients: [RawClient] = []
                var served = 0
                for index in 0..<count {
                    let client = try RawClient(ingress, timeoutSeconds: 60)
                    // Half ask for something and stay open; half connect and say nothing.
                    if index % 2 == 0 {
                        try client.send("GET /held-\(index) HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
                        if (try? client.readResponse())?.status == 200 { served += 1 }
                    }
                    clients.append(client)
                }
                return (clients, served)
            }
            let probe = try await proxy.probe()
            #expect(probe.status == 200, "a fresh client was not served while \(count) connections were open")
            #expect(served == (count + 1) / 2)
            let held = ProcessGauges.tcpSockets(localPort: ingress.port)
            #expect(held >= count, "the proxy holds \(held) of \(count) connections")
            for client in clients { client.close() }
            let after = await ProcessGauges.tcpSockets(localPort: ingress.port, settleAtOrBelow: 0)
            #expect(after == 0, "the proxy still holds \(after) connections after every client left")
            Reliability.report(
                "\(count) concurrent connections and a fresh client", tried: count + 1,
                passed: served + count / 2 + (probe.status == 200 ? 1 : 0), rssBefore: before,
                rssAfter: ProcessGauges.residentBytes())
        }
        await upstream.stop()
    }
}
