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
        try await eventually("the upstream's connections to close") { upstream.snapshot.open == 0 }
        await upstream.stop()

        let answers = seen.responses.map { "\($0.status) \($0.text.prefix(200))" }
        #expect(seen.responses.map(\.status) == row.statuses, "answers: \(answers)")
        switch row.after {
        case .closed:
            #expect(
                seen.ending == .closed || seen.ending == .reset,
                "the connection should close; it \(String(describing: seen.ending)). Answers: \(answers)")
        case .open:
            #expect(seen.followUp == 200, "a request after these answers was not served; answers: \(answers)")
        }

        let log = upstream.snapshot
        let expected = row.forwarded + (row.after == .open ? ["/final"] : [])
        #expect(log.malformed.isEmpty, "the upstream received malformed bytes: \(log.malformed)")
        #expect(log.requests.map(\.target) == expected, "the upstream received \(log.requests)")
        if !row.mayCutOff {
            #expect(log.cutOff.isEmpty, "the upstream saw a request cut off: \(log.cutOff)")
        }
        for request in log.requests {
            #expect(request.values("azds-route-as").allSatisfy(Names.isValid))
        }
        if let check = row.check, let problem = check(log.requests) { Issue.record(Comment(rawValue: problem)) }

        let ended = proxy.events.ended
        for status in row.statuses where status >= 400 {
            #expect(
                ended.contains { $0.status == status && $0.error != nil },
                "no hop ended with \(status) and an error: \(ended.map { "\($0.status ?? 0) \($0.error ?? "-")" })")
        }
        for hop in ended {
            let fields = [hop.error, hop.path, hop.host, hop.method, hop.routeAs].compactMap { $0 }
            #expect(!fields.contains(where: hasUnsafeCharacter), "a hop carries a raw control character: \(fields)")
        }
        #expect(!lines.contains(where: hasUnsafeCharacter), "a log line carries a raw control character")
    }
}
