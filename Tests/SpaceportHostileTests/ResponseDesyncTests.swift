import Foundation
import SpaceportCore
import Synchronization
import Testing

/// An upstream that sends more than a response's framing says (a second response, a body
/// past its Content-Length, a body after a HEAD, 1xx, 204 or 304 answer, bytes on an idle
/// connection) must never make the proxy hand one request's answer to another: the
/// connection is closed, not pooled, and the extra bytes are never read as a response.
@Suite("Responses never reach a request they do not answer")
struct ResponseDesyncTests {
    /// Kinds of `ScriptedUpstream` answer that carry extra bytes, with the method that asks for them.
    static let hostileKinds: [(kind: String, method: String)] = [
        ("split", "GET"), ("overrun", "GET"), ("head", "HEAD"), ("nocontent", "GET"),
        ("notmodified", "GET"), ("interim", "GET"),
    ]

    private static func tag(of response: RawResponse) -> String { response.headers["x-tag"] ?? "none" }

    /// The final answer to a request, past the interim ones the proxy relays.
    private static func final(_ client: RawClient, head: Bool = false) throws -> RawResponse {
        var response = try client.readResponse(forHead: head)
        while response.status < 200 { response = try client.readResponse(forHead: head) }
        return response
    }

    @Test(
        "a request pipelined behind one whose answer carries extra bytes gets its own answer",
        arguments: hostileKinds.map(\.kind))
    func pipelinedBehindExtraBytes(_ kind: String) async throws {
        let method = Self.hostileKinds.first { $0.kind == kind }!.method
        let upstream = try await ScriptedUpstream.start()
        try await HostileProxy.with(appTree(upstream.address)) { proxy in
            let ingress = proxy.ingress
            let pairs = try await blocking {
                let client = try RawClient(ingress, timeoutSeconds: 10)
                return try (0..<3).map { round in
                    try client.send(
                        "\(method) /\(kind)/h\(round) HTTP/1.1\r\nHost: app.localhost\r\n\r\n"
                            + "GET /tag/after\(round) HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
                    return (try Self.final(client, head: method == "HEAD"), try Self.final(client))
                }
            }
            for (round, (first, second)) in pairs.enumerated() {
                // The hostile request's own slot holds whatever its upstream sent first, never another's.
                #expect(["h\(round)", "poison"].contains(Self.tag(of: first)) || first.status == 502)
                #expect(second.status == 200)
                #expect(Self.tag(of: second) == "after\(round)", "round \(round): \(second.statusLine)")
            }
        }
        await upstream.stop()
    }

    @Test("bytes an upstream sends on an idle kept-alive connection are never read as the next answer")
    func strayBytesOnIdleConnection() async throws {
        let upstream = try await ScriptedUpstream.start()
        try await HostileProxy.with(appTree(upstream.address)) { proxy in
            let ingress = proxy.ingress
            let answers = try await blocking {
                let client = try RawClient(ingress, timeoutSeconds: 10)
                return try (0..<3).flatMap { round in
                    try client.send("GET /stray/s\(round) HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
                    let stray = try client.readResponse()
                    // The upstream's stray answer arrives while its connection idles in the pool:
                    // the next request goes once it has been written, and the proxy had time to read it.
                    while upstream.connections.lateWrites.load(ordering: .relaxed) <= round { usleep(1000) }
                    Thread.sleep(forTimeInterval: 0.05)
                    try client.send("GET /tag/next\(round) HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
                    return [stray, try client.readResponse()]
                }
            }
            #expect(answers.map(Self.tag) == ["s0", "next0", "s1", "next1", "s2", "next2"])
            #expect(answers.allSatisfy { $0.status == 200 })
        }
        await upstream.stop()
    }

    @Test(
        "a request that meets a pooled connection the upstream just closed goes again on a new one, and never takes bytes the old one sent",
        arguments: ["stale", "stalebytes"])
    func retryOnStaleConnection(_ kind: String) async throws {
        let upstream = try await ScriptedUpstream.start()
        try await HostileProxy.with(appTree(upstream.address)) { proxy in
            let ingress = proxy.ingress
            let answers = try await blocking {
                let client = try RawClient(ingress, timeoutSeconds: 10)
                return try (0..<3).flatMap { round in
                    try client.send("GET /tag/warm\(round) HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
                    let warm = try client.readResponse()
                    try client.send("GET /\(kind)/r\(round) HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
                    return [warm, try client.readResponse()]
                }
            }
            // The stale connection answered nothing whole: the retry on a new one answers.
            #expect(answers.map(Self.tag) == ["warm0", "r0", "warm1", "r1", "warm2", "r2"])
            #expect(answers.allSatisfy { $0.status == 200 })
        }
        await upstream.stop()
    }

    @Test(
        "with keep-alive clients looping beside one that keeps sending poisoned pairs, every answer belongs to its request"
    )
    func manyClientsMix() async throws {
        let innocents = 8
        let requests = Reliability.scale(fast: 150, long: 5000)
        let hostileRounds = Reliability.scale(fast: 40, long: 1000)
        let upstream = try await ScriptedUpstream.start()
        let before = ProcessGauges.residentBytes()
        try await HostileProxy.with(appTree(upstream.address)) { proxy in
            let ingress = proxy.ingress
            let tally = Tally()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for client in 0..<innocents {
                    group.addTask {
                        try await blocking {
                            let connection = try RawClient(ingress, timeoutSeconds: 20)
                            for index in 0..<requests {
                                let tag = "c\(client)-\(index)"
                                try connection.send("GET /tag/\(tag) HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
                                let response = try connection.readResponse()
                                tally.answered.add(1, ordering: .relaxed)
                                if Self.tag(of: response) != tag || response.text != tag {
                                    tally.wrong.add(1, ordering: .relaxed)
                                }
                            }
                        }
                    }
                }
                group.addTask {
                    try await blocking {
                        let connection = try RawClient(ingress, timeoutSeconds: 20)
                        for round in 0..<hostileRounds {
                            let (kind, method) = Self.hostileKinds[round % Self.hostileKinds.count]
                            try connection.send(
                                "\(method) /\(kind)/h\(round) HTTP/1.1\r\nHost: app.localhost\r\n\r\n"
                                    + "GET /tag/after\(round) HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
                            _ = try Self.final(connection, head: method == "HEAD")
                            let after = try Self.final(connection)
                            tally.answered.add(1, ordering: .relaxed)
                            if Self.tag(of: after) != "after\(round)" {
                                tally.wrong.add(1, ordering: .relaxed)
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            let tried = tally.answered.load(ordering: .relaxed)
            let misdelivered = tally.wrong.load(ordering: .relaxed)
            #expect(tried == innocents * requests + hostileRounds)
            #expect(misdelivered == 0, "\(misdelivered) of \(tried) answers belonged to another request")
            Reliability.report(
                "poisoned pairs beside 8 keep-alive clients (answers)", tried: tried,
                passed: tried - misdelivered, rssBefore: before, rssAfter: ProcessGauges.residentBytes())
        }
        await upstream.stop()
    }

    private final class Tally: Sendable {
        let answered = Atomic<Int>(0)
        let wrong = Atomic<Int>(0)
    }
}
