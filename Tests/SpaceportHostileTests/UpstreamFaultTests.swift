import Foundation
import SpaceportCore
import Testing

/// One way an upstream can fail, and what the client and the hop must say about it.
struct UpstreamFault: Sendable, CustomTestStringConvertible {
    var name: String
    /// nil: a port that refuses connections.
    var behaviour: FaultyUpstream.Behaviour?
    var status: Int
    /// Words the hop's error must contain.
    var error: String
    /// The response started before the fault, so the client sees a cut-off body, not an error answer.
    var cutOff = false
    /// The upstream timeout: short where the fault is slowness, long elsewhere so a loaded machine cannot turn a 502 into a 504.
    var upstreamTimeoutMs = 20_000

    var testDescription: String { name }

    static let all: [UpstreamFault] = [
        UpstreamFault(name: "refuses the connection", behaviour: nil, status: 502, error: "refused"),
        UpstreamFault(
            name: "resets in the middle of the response", behaviour: .resetMidResponse, status: 200,
            error: "in the middle of the response", cutOff: true),
        UpstreamFault(
            name: "hangs forever", behaviour: .hang, status: 504, error: "did not answer within",
            upstreamTimeoutMs: 800),
        UpstreamFault(name: "answers garbage", behaviour: .garbage, status: 502, error: "not valid HTTP/1.1"),
        UpstreamFault(
            name: "frames its body both by length and by chunks",
            behaviour: .answer(
                "HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\nGET /x"),
            status: 502, error: "both Content-Length and Transfer-Encoding"),
        UpstreamFault(
            name: "switches protocols uninvited",
            behaviour: .answer(
                "HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\nconnection: upgrade\r\n\r\n"),
            status: 502, error: "did not ask to switch"),
        UpstreamFault(
            name: "closes before the headers are complete", behaviour: .closeBeforeHeaders, status: 502,
            error: "without answering"),
        UpstreamFault(
            name: "closes as soon as it accepts", behaviour: .closeOnAccept, status: 502,
            error: "without answering"),
        UpstreamFault(
            name: "sends its headers very slowly", behaviour: .slowHeaders(everyMs: 150), status: 504,
            error: "did not answer within", upstreamTimeoutMs: 800),
    ]
}

@Suite("Upstream faults")
struct UpstreamFaultTests {
    private static func tree(faulty: Address, healthy: Address, upstreamTimeoutMs: Int = 20_000) -> String {
        """
        limits: { upstream_timeout_ms: \(upstreamTimeoutMs), connect_timeout_ms: 10000 }
        spaces:
          default:
            services:
              faulty: { upstream: \(faulty) }
              app: { upstream: \(healthy) }
        """
    }

    @Test(
        "an upstream that fails gives the client the right status and a hop with an error, and leaks nothing",
        arguments: UpstreamFault.all)
    func fault(_ fault: UpstreamFault) async throws {
        let rounds = Reliability.scale(fast: 4, long: 200)
        let refusing = try RefusingPort()
        var faulty: FaultyUpstream? = nil
        if let behaviour = fault.behaviour { faulty = try await FaultyUpstream.start(behaviour) }
        let healthy = try await RecordingUpstream.start()
        let proxy = try await HostileProxy.start(
            Self.tree(
                faulty: faulty?.address ?? refusing.address, healthy: healthy.address,
                upstreamTimeoutMs: fault.upstreamTimeoutMs))
        let before = ProcessGauges.residentBytes()
        let ingress = proxy.ingress
        let outcomes = try await blocking {
            try (0..<rounds).map { round -> (Int?, Int, RawClient.Ending) in
                let client = try RawClient(ingress)
                try client.send("GET /fault-\(round) HTTP/1.1\r\nHost: faulty.localhost\r\n\r\n")
                let response = try? client.readResponse()
                // An error answer keeps the connection; only a cut-off response ends it.
                return (response?.status, response?.body.count ?? 0, fault.cutOff ? client.ending() : .closed)
            }
        }
        // Every client has gone: the proxy, still running, must hold nothing for them any more.
        let clientSide = await ProcessGauges.tcpSockets(localPort: ingress.port, settleAtOrBelow: 0)
        let upstreamPort = faulty?.address.port ?? refusing.address.port
        let upstreamSide = await ProcessGauges.tcpSockets(remotePort: upstreamPort, settleAtOrBelow: 0)
        if let faulty { try await eventually("the upstream's connections to close") { faulty.open == 0 } }
        let probe = try await proxy.probe()
        let ended = proxy.events.ended.filter { $0.service == "faulty" }
        await proxy.stop()
        let statuses = outcomes.map { $0.0 ?? 0 }

        #expect(statuses.allSatisfy { $0 == fault.status }, "statuses: \(statuses)")
        if fault.cutOff {
            let cut = outcomes.allSatisfy { outcome in
                outcome.1 < 1_000_000 && (outcome.2 == .closed || outcome.2 == .reset)
            }
            #expect(cut, "a response cut off upstream must reach the client cut off")
        }
        #expect(ended.count == rounds, "\(ended.count) hops ended for \(rounds) requests")
        #expect(
            ended.allSatisfy { $0.status == fault.status && $0.error?.contains(fault.error) == true },
            "hops: \(ended.map { "\($0.status ?? 0) \($0.error ?? "no error")" })")
        #expect(probe.status == 200, "the healthy service was not served after the faults")
        #expect(clientSide == 0, "the proxy still holds \(clientSide) connections of clients that left")
        #expect(upstreamSide == 0, "the proxy still holds \(upstreamSide) connections to the failed upstream")
        let passed = statuses.count { $0 == fault.status }
        Reliability.report(
            "upstream \(fault.name) ×\(rounds)", tried: rounds, passed: passed, rssBefore: before,
            rssAfter: ProcessGauges.residentBytes())
        await faulty?.stop()
        await healthy.stop()
    }

    @Test("an upstream's final answer to a request still waiting for 100-continue ends the connection")
    func earlyAnswerToExpectContinue() async throws {
        let early = try await FaultyUpstream.start(.answerEarly(status: 417))
        let healthy = try await RecordingUpstream.start()
        let proxy = try await HostileProxy.start(Self.tree(faulty: early.address, healthy: healthy.address))
        let ingress = proxy.ingress
        let (response, ending) = try await blocking {
            let client = try RawClient(ingress)
            try client.send(
                "POST / HTTP/1.1\r\nHost: faulty.localhost\r\nContent-Length: 47\r\nExpect: 100-continue\r\n\r\n"
            )
            let response = try client.readResponse()
            // A client told no may send its next request instead of the body; it must not become the body.
            _ = client.trySend(Array("GET /next HTTP/1.1\r\nHost: app.localhost\r\n\r\n".utf8))
            return (response, client.ending())
        }
        #expect(response.status == 417)
        #expect(response.headers["connection"] == "close")
        #expect(ending == .closed || ending == .reset, "the connection went on: \(ending)")
        await proxy.stop()
        try await eventually("the upstream's connections to close") { early.open == 0 }
        #expect(healthy.snapshot.requests.isEmpty)
        await early.stop()
        await healthy.stop()
    }
}
