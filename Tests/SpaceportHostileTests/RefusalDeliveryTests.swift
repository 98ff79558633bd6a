import Foundation
import SpaceportCore
import Testing

/// An answer given while the client is still sending its request reaches the client: the
/// proxy stops writing and reads and drops the rest for a while before it closes, instead of
/// closing on unread bytes, which turns into a reset that destroys the answer.
@Suite("Refusals reach a client that is still sending")
struct RefusalDeliveryTests {
    @Test("a 431 for a 100 KB header followed by a 2 MB body arrives as a 431, every time")
    func oversizedHeadThenBody() async throws {
        let upstream = try await RecordingUpstream.start()
        let rounds = Reliability.scale(fast: 20, long: 200)
        try await HostileProxy.with(appTree(upstream.address)) { proxy in
            let ingress = proxy.ingress
            let outcomes = try await blocking {
                (0..<rounds).map { _ -> String in
                    do {
                        let client = try RawClient(ingress, timeoutSeconds: 20)
                        let head =
                            "POST /upload HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: \(2 << 20)\r\n"
                            + "X-Big: \(String(repeating: "b", count: 100_000))\r\n\r\n"
                        // The whole request goes out before the answer is read, as most clients send
                        // it: the head, then the body a piece at a time, as a slower link delivers it.
                        try client.send(head)
                        let piece = [UInt8](repeating: 0x61, count: 32 << 10)
                        for _ in 0..<64 {
                            try client.send(piece)
                            usleep(500)
                        }
                        return String(try client.readResponse().status)
                    } catch {
                        return "\(error)"
                    }
                }
            }
            #expect(outcomes.allSatisfy { $0 == "431" }, "\(outcomes.filter { $0 != "431" })")
            #expect(upstream.snapshot.requests.isEmpty)
        }
        await upstream.stop()
    }

    @Test("an upstream's early refusal, after which it closes, reaches the client with connection: close")
    func earlyRefusalSaysClose() async throws {
        let upstream = try await ScriptedUpstream.start()
        try await HostileProxy.with(appTree(upstream.address)) { proxy in
            let ingress = proxy.ingress
            let (response, ending) = try await blocking {
                let client = try RawClient(ingress, timeoutSeconds: 20)
                try client.send(
                    "POST /early/e1 HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 1000000\r\n\r\n")
                try client.send([UInt8](repeating: 0x61, count: 1000))
                let response = try client.readResponse()
                // The rest of the body goes out; the proxy reads it and drops it, then closes.
                _ = client.trySend([UInt8](repeating: 0x61, count: 999_000))
                return (response, client.ending())
            }
            #expect(response.status == 413)
            #expect(response.headers["x-tag"] == "e1")
            #expect(response.text == "big\n")
            #expect(response.headers["connection"] == "close")
            #expect(ending == .closed)
        }
        await upstream.stop()
    }
}
