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

    /// One frame: 24-bit length, type, flags, stream id, payload (RFC 9113 §4.1).
    static func frame(_ type: UInt8, flags: UInt8 = 0, stream: UInt32, _ payload: [UInt8]) -> [UInt8] {
        let length = payload.count
        return [UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type, flags]
            + withUnsafeBytes(of: stream.bigEndian, Array.init) + payload
    }

    /// The client's connection preface and its empty SETTINGS frame.
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + frame(0x4, stream: 0, [])

    /// The frames in `bytes` as (type, stream id, payload), up to the last whole one.
    static func frames(_ bytes: [UInt8]) -> [(type: UInt8, stream: UInt32, payload: ArraySlice<UInt8>)] {
        var found: [(type: UInt8, stream: UInt32, payload: ArraySlice<UInt8>)] = []
        var at = 0
        while at + 9 <= bytes.count {
            let length = Int(bytes[at]) << 16 | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2])
            guard at + 9 + length <= bytes.count else { break }
            let stream = bytes[at + 5..<at + 9].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } & 0x7FFF_FFFF
            found.append((bytes[at + 3], stream, bytes[at + 9..<at + 9 + length]))
            at += 9 + length
        }
        return found
    }

    /// Waits up to 5 s for the proxy to close `channel`; true when it did.
    static func sentAway(_ channel: any Channel) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(5)
        while channel.isActive && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        return !channel.isActive
    }

    /// The process's resident memory in MiB.
    static func residentMiB() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
            let pages = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return 0 }
        return (pages * Int(sysconf(Int32(_SC_PAGESIZE)))) >> 20
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
            var bytes = Self.preface
            // HEADERS without END_HEADERS (:method GET, indexed), then CONTINUATION after CONTINUATION.
            bytes += Self.frame(0x1, stream: 1, [0x82])
            for _ in 0..<10_000 { bytes += Self.frame(0x9, stream: 1, [0x84]) }
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

    @Test("a flood of empty DATA frames on an open stream: the attacker is sent away, others served")
    func emptyDataFlood() async throws {
        try await H2World.with { w in
            let attacker = try await H2Client.connect(port: w.proxy.port)
            let stream = try await attacker.open("/hang", authority: "greeter.localhost", ends: false)
            let channel = stream.channel
            // Written on the stream's own loop in one go, so the timing below is the proxy's.
            try await channel.eventLoop.submit {
                let empty = HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(ByteBuffer())))
                for index in 0..<10_000 where channel.isActive {
                    channel.write(empty, promise: nil)
                    if index % 100 == 0 { channel.flush() }
                }
                channel.flush()
            }.get()
            try await Self.freshClientServed(w)
            #expect(
                try await Self.sentAway(attacker.channel),
                "the proxy kept a connection sending empty DATA frames open for 5 s")
            #expect(attacker.goAway.withLock { $0 } != nil, "the proxy closed without a GOAWAY")
            await attacker.close()
        }
    }

    /// `count` requests to `/hang` opened at once on a raw connection and never finished, then
    /// what the proxy sent back until it closed the connection (or 5 s passed), and how long that took.
    static func abandon(_ count: Int, port: Int) async throws -> (
        frames: [(type: UInt8, stream: UInt32, payload: ArraySlice<UInt8>)], took: Duration
    ) {
        let attacker = try RawClient(Address(host: "127.0.0.1", port: port), timeoutSeconds: 5)
        defer { attacker.close() }
        // :method POST, :scheme http, then :path and :authority as literals never indexed.
        let block: [UInt8] =
            [0x83, 0x86, 0x14, 5] + Array("/hang".utf8) + [0x11, 17] + Array("greeter.localhost".utf8)
        // The proxy's SETTINGS are acknowledged first (flag 0x1), so its limits are in force.
        var bytes = frame(0x4, flags: 0x1, stream: 0, [])
        // HEADERS with END_HEADERS (0x4) and no END_STREAM: each request stays open for ever.
        for index in 0..<count { bytes += frame(0x1, flags: 0x4, stream: UInt32(2 * index + 1), block) }
        let sent = ContinuousClock.now
        let answer = try await blocking { [bytes] in
            _ = attacker.trySend(preface)
            let settings = attacker.readSome() ?? []
            _ = attacker.trySend(bytes)
            return settings + attacker.readToEnd()
        }
        return (frames(answer), ContinuousClock.now - sent)
    }

    @Test(
        "10,000 streams opened and abandoned: none beyond the advertised 100 is taken, others served, memory grows under 64 MiB"
    )
    func abandonedStreams() async throws {
        try await H2World.with { w in
            let before = Self.residentMiB()
            let (frames, took) = try await Self.abandon(10_000, port: w.proxy.port)
            let settings = frames.first { $0.type == 0x4 }?.payload ?? []
            // SETTINGS_MAX_CONCURRENT_STREAMS (3) is 100: six bytes per setting, id then value.
            #expect(settings.starts(with: [0, 3, 0, 0, 0, 100]), "the proxy's SETTINGS: \(Array(settings))")
            // The 101st stream (id 201) breaks the limit: GOAWAY (type 7) with PROTOCOL_ERROR (1).
            #expect(frames.first { $0.type == 0x7 }?.payload.last == 1)
            // Whatever else the proxy read is refused (RST_STREAM, type 3, REFUSED_STREAM, 7).
            let resets = frames.filter { $0.type == 0x3 }
            #expect(resets.allSatisfy { $0.stream > 201 && $0.payload.last == 7 })
            #expect(took < .seconds(4), "the proxy closed the connection (the read waits 5 s)")
            #expect(
                w.greeterDefault.streams <= 100, "\(w.greeterDefault.streams) streams reached the upstream")
            try await Self.freshClientServed(w)
            #expect(
                Self.residentMiB() - before < 64,
                "memory grew from \(before) MiB to \(Self.residentMiB()) MiB")
        }
    }

    @Test(
        "a client that opens one stream more than the 100 allowed is sent away at once, its streams with it")
    func oneStreamTooMany() async throws {
        try await H2World.with { w in
            let (frames, took) = try await Self.abandon(101, port: w.proxy.port)
            #expect(frames.last?.type == 0x7, "the proxy's last frame was not a GOAWAY")
            #expect(
                took < .seconds(4), "the proxy kept the connection and its 100 streams (the read waits 5 s)")
            try await Self.freshClientServed(w)
        }
    }
}
