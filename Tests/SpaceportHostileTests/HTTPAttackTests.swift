import Foundation
import SpaceportCore
import Testing

/// True for C0 and C1 control characters (ESC among them), DEL and the bidirectional
/// overrides: what must never reach a log line or a terminal raw.
func hasUnsafeCharacter(_ text: String) -> Bool {
    text.unicodeScalars.contains { scalar in
        switch scalar.value {
        case 0..<0x20, 0x7F..<0xA0, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }
}

@Suite("Hostile HTTP requests")
struct HTTPAttackTests {
    /// What a client saw: the statuses it got, then how the connection ended.
    private struct Exchange: Sendable {
        var responses: [RawResponse]
        var ending: RawClient.Ending?
        var followUp: Int?
    }

    private static func exchange(_ row: Attack, at ingress: Address) throws -> Exchange {
        let client = try RawClient(ingress, timeoutSeconds: 20)
        try client.send(row.bytes)
        var responses: [RawResponse] = []
        for _ in row.statuses {
            guard let response = try? client.readResponse() else { break }
            responses.append(response)
        }
        guard responses.count == row.statuses.count else {
            return Exchange(responses: responses, ending: client.ending(), followUp: nil)
        }
        switch row.after {
        case .closed:
            return Exchange(responses: responses, ending: client.ending(), followUp: nil)
        case .open:
            try client.send("GET /final HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
            return Exchange(responses: responses, ending: nil, followUp: try? client.readResponse().status)
        }
    }

    @Test("a huge x-request-id reaches the upstream as sent, but cannot make every hop event huge")
    func hugeRequestID() async throws {
        let upstream = try await RecordingUpstream.start()
        let requestID = "\u{202E}" + String(repeating: "r", count: 30_000)
        try await HostileProxy.with(appTree(upstream.address)) { proxy in
            let ingress = proxy.ingress
            let status = try await blocking {
                let client = try RawClient(ingress)
                try client.send(
                    "GET /id HTTP/1.1\r\nHost: app.localhost\r\nX-Request-Id: \(requestID)\r\n\r\n")
                return try client.readResponse().status
            }
            #expect(status == 200)
            let hop = try await proxy.events.end { $0.path == "/id" }
            #expect(hop.flow.count <= 200, "a hop carries a flow id of \(hop.flow.count) characters")
            #expect(!hasUnsafeCharacter(hop.flow))
        }
        #expect(upstream.snapshot.requests.first?.values("x-request-id") == [requestID])
        await upstream.stop()
    }

    @Test("the attack table holds at least 60 cases, each named once")
    func tableSize() {
        #expect(AttackTable.rows.count >= 60)
        #expect(Set(AttackTable.rows.map(\.name)).count == AttackTable.rows.count)
    }

    @Test(
        "a hostile request gets its answer, and the upstream sees one well-formed request or nothing",
        arguments: AttackTable.rows)
    func attack(_ row: Attack) async throws {
        let upstream = try await RecordingUpstream.start()
        let proxy = try await HostileProxy.start(appTree(upstream.address, limits: AttackTable.limits))
        let ingress = proxy.ingress
        let seen: Exchange
        do {
            seen = try await blocking { try Self.exchange(row, at: ingress) }
        } catch {
            await proxy.stop()
            await upstream.stop()
            throw error
        }
        let lines = try await proxy.hopLines()
        await proxy.stop()
        // Once the proxy has stopped it holds no upstream connection: the log is complete.
        let proxySide = await ProcessGauges.tcpSockets(remotePort: upstream.address.port, settleAtOrBelow: 0)
        try? await eventually("the upstream to see its connections close") { upstream.snapshot.open == 0 }
        let upstreamSide = upstream.snapshot.open
        await upstream.stop()

        var problems: [String] = []
        if proxySide > 0 || upstreamSide > 0 {
            problems.append(
                "after the proxy stopped, \(proxySide) of its upstream sockets and \(upstreamSide) of the upstream's stayed open"
            )
        }
        let answers = seen.responses.map { "\($0.status) \($0.text.prefix(200))" }
        if seen.responses.map(\.status) != row.statuses {
            problems.append("the answers were \(answers), not \(row.statuses)")
        }
        switch row.after {
        case .closed where seen.ending != .closed && seen.ending != .reset:
            problems.append("the connection should close; it \(String(describing: seen.ending))")
        case .open where seen.followUp != 200:
            problems.append("a request after these answers was not served")
        default:
            break
        }

        let log = upstream.snapshot
        let expected = row.forwarded + (row.after == .open ? ["/final"] : [])
        if !log.malformed.isEmpty {
            problems.append("the upstream received malformed bytes: \(log.malformed)")
        }
        if log.requests.map(\.target) != expected {
            problems.append("the upstream received \(log.requests), not \(expected)")
        }
        if !row.mayCutOff && !log.cutOff.isEmpty {
            problems.append("the upstream saw a request cut off: \(log.cutOff)")
        }
        if !log.requests.allSatisfy({ $0.values("azds-route-as").allSatisfy(Names.isValid) }) {
            problems.append("a request reached the upstream with an invalid route header")
        }
        if let check = row.check, let problem = check(log.requests) { problems.append(problem) }

        let ended = proxy.events.ended
        for status in row.statuses
        where status >= 400 && !ended.contains(where: { $0.status == status && $0.error != nil }) {
            problems.append(
                "no hop ended with \(status) and an error: \(ended.map { "\($0.status ?? 0) \($0.error ?? "-")" })"
            )
        }
        for hop in ended {
            let fields = [hop.error, hop.path, hop.host, hop.method, hop.routeAs, hop.flow].compactMap { $0 }
            if fields.contains(where: hasUnsafeCharacter) {
                problems.append("a hop carries a raw control character: \(fields)")
            }
        }
        if lines.contains(where: hasUnsafeCharacter) {
            problems.append("a log line carries a raw control character")
        }

        #expect(problems.isEmpty, "\(row.name): \(problems.joined(separator: "; "))")
        Reliability.report(
            "HTTP attack table :: \(row.name)", tried: 1, passed: problems.isEmpty ? 1 : 0, rssBefore: 0,
            rssAfter: 0)
    }
}
