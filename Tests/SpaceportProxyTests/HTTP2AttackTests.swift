import Foundation
import NIOCore
import NIOHPACK
import NIOHTTP2
import SpaceportCore
import Testing

/// Hostile HTTP/2 clients: each attack runs on a connection of its own, and a fresh client
/// must still be served within 0.5 s afterwards, with the proxy's memory bounded.
@Suite("HTTP/2 attacks", .serialized)
struct HTTP2AttackTests {
    /// A fresh client's request, timed: the proxy must answer it within 0.5 s.
    static func freshClientServed(_ w: H2World) async throws {
        let started = ContinuousClock.now
        let client = try await H2Client.connect(port: w.proxy.port)
        let answer = try await client.request("/fresh", authority: "greeter.localhost")
        let took = ContinuousClock.now - started
        #expect(answer.status == 200)
        #expect(took < .milliseconds(500), "a fresh client waited \(took)")
        await client.close()
    }

    /// The process's resident memory in MiB.
    static func residentMiB() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
            let pages = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE))) >> 20
    }

    @Test("10,000 streams opened and reset at once (rapid reset): the attacker is sent away, others served")
    func rapidReset() async throws {
        try await H2World.with { w in
            let before = Self.residentMiB()
            let attacker = try await H2Client.connect(port: w.proxy.port)
            for index in 0..<10_000 {
                guard attacker.channel.isActive else { break }
                guard let stream = try? await attacker.open("/hang\(index)", authority: "greeter.localhost")
                else { break }
                stream.channel.close(promise: nil)
            }
            // swift-nio-http2's reset limit sends it away: the proxy closes its connection.
            try await attacker.channel.closeFuture.get()
            try await Self.freshClientServed(w)
            #expect(
                Self.residentMiB() - before < 64,
                "memory grew from \(before) MiB to \(Self.residentMiB()) MiB")
            await attacker.close()
        }
    }

    @Test("a flood of PING and SETTINGS frames: the attacker is sent away, others served")
    func controlFrameFlood() async throws {
        try await H2World.with { w in
            let attacker = try await H2Client.connect(port: w.proxy.port)
            let channel = attacker.channel
            // Written on the client's own loop in one go, so the timing below is the proxy's.
            try await channel.eventLoop.submit {
                for index in 0..<20_000 where channel.isActive {
                    let payload: HTTP2Frame.FramePayload =
                        index % 2 == 0
                        ? .ping(HTTP2PingData(withInteger: UInt64(index)), ack: false)
                        : .settings(.settings([]))
                    channel.write(HTTP2Frame(streamID: .rootStream, payload: payload), promise: nil)
                    if index % 100 == 0 { channel.flush() }
                }
                channel.flush()
            }.get()
            let flooded = ContinuousClock.now
            try await Self.freshClientServed(w)
            try await channel.closeFuture.get()
            #expect(ContinuousClock.now - flooded < .seconds(5), "the proxy closed the flooding connection")
            await attacker.close()
        }
    }

    @Test("a CONTINUATION flood (a header block that never ends): the connection is closed, others served")
    func continuationFlood() async throws {
        try await H2World.with { w in
            let attacker = try RawClient(Address(host: "127.0.0.1", port: w.proxy.port), timeoutSeconds: 5)
            defer { attacker.close() }
            /// One frame: 24-bit length, type, flags, stream id, payload (RFC 9113 §4.1).
            func frame(_ type: UInt8, stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
                let length = payload.count
                return [UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type, 0]
                    + withUnsafeBytes(of: stream.bigEndian, Array.init) + payload
            }
            var bytes = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + frame(0x4, stream: 0, [])
            // HEADERS without END_HEADERS (:method GET, indexed), then CONTINUATION after CONTINUATION.
            bytes += frame(0x1, stream: 1, [0x82])
            for _ in 0..<10_000 { bytes += frame(0x9, stream: 1, [0x84]) }
            let sent = ContinuousClock.now
            // Socket calls that block go to a thread of their own, off the test's concurrency pool.
            let answer = try await blocking { [bytes] in
                _ = attacker.trySend(bytes)
                return attacker.readToEnd()
            }
            #expect(
                ContinuousClock.now - sent < .seconds(4),
                "the proxy closed the connection (the read waits 5 s)")
            // The proxy's SETTINGS, perhaps its ack, then GOAWAY (type 7), then the close.
            #expect(answer.count < 256, "the proxy answered \(answer.count) bytes, not a GOAWAY and a close")
            #expect(answer.contains(0x07), "no GOAWAY frame among \(answer)")
            try await Self.freshClientServed(w)
        }
    }

    @Test(
        "a header block with more fields than max_header_count is refused: 431, or RESOURCE_EXHAUSTED for gRPC"
    )
    func headerCountBomb() async throws {
        try await H2World.with { w in
            let client = try await H2Client.connect(port: w.proxy.port)
            let many = (0..<150).map { ("x-bomb", "\($0 % 10)") }
            let plain = try await client.request("/", authority: "greeter.localhost", headers: many)
            #expect(plain.status == 431)
            let grpc = try await client.request(
                "/a.B/C", authority: "greeter.localhost", headers: many, body: "x", grpc: true)
            #expect(grpc.grpcStatus == 8)
            #expect(w.greeterDefault.streams == 0, "nothing reached the upstream")
            try await Self.freshClientServed(w)
            await client.close()
        }
    }
}
