import Foundation
import NIOCore
import NIOHTTP2
import SpaceportCore
import Testing

/// However an HTTP/2 stream through the proxy ends, its client gets an answer and the proxy's
/// slots for it (the client connection's stream, the upstream connection's stream) are freed.
@Suite("HTTP/2 streams end and free their slots", .serialized)
struct HTTP2StreamEndTests {
    /// A request body of DATA frames of 16 KiB, still going up when an early answer comes back:
    /// more than the proxy's receive window for a stream (`HTTP2Connection.windowSize`), so the
    /// client cannot send it all unless the proxy reads on.
    static let bodyFrames = 68
    static let frameBytes = 16 * 1024

    /// Opens a POST stream, sends its body in several DATA frames without waiting for them to
    /// leave (the proxy may have ended the stream meanwhile), and waits a bounded time for the
    /// answer and then for the stream to end.
    static func post(_ client: H2Client, _ path: String, frames: Int = bodyFrames) async throws -> H2Response
    {
        let stream = try await client.open(path, authority: "greeter.localhost", ends: false)
        for index in 0..<frames {
            let piece = ByteBuffer(repeating: UInt8(ascii: "b"), count: frameBytes)
            stream.channel.write(
                HTTP2Frame.FramePayload.data(
                    .init(data: .byteBuffer(piece), endStream: index == frames - 1)),
                promise: nil)
        }
        stream.channel.flush()
        let response = try await answer(stream.response, path)
        _ = try await answer(stream.channel.closeFuture.map { response }, "the end of the stream of \(path)")
        return response
    }

    /// The stream's answer, or a failure after 5 s rather than a hang.
    static func answer<T: Sendable>(_ response: EventLoopFuture<T>, _ what: String) async throws -> T {
        let bounded = response.eventLoop.makePromise(of: T.self)
        response.cascade(to: bounded)
        let timer = response.eventLoop.scheduleTask(in: .seconds(5)) {
            bounded.fail(TestFailure("no answer to \(what) within 5 s"))
        }
        defer { timer.cancel() }
        return try await bounded.futureResult.get()
    }

    /// A request on `client` answered 200 within a second.
    static func servedWithinASecond(_ client: H2Client, _ what: String) async throws {
        let started = ContinuousClock.now
        let stream = try await client.open("/fresh", authority: "greeter.localhost")
        let answer = try await answer(stream.response, what)
        let took = ContinuousClock.now - started
        #expect(answer.status == 200, "\(what): \(answer.status.map(String.init) ?? "no status")")
        #expect(took < .seconds(1), "\(what) waited \(took)")
    }

    @Test(
        "an upstream that answers a POST before reading its body and resets with NO_ERROR: every client gets its 200 and later streams are served"
    )
    func earlyAnswerThenNoErrorReset() async throws {
        try await H2World.with { w in
            let client = try await H2Client.connect(port: w.proxy.port)
            let answers = try await withThrowingTaskGroup(of: [H2Response].self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        var answers: [H2Response] = []
                        for index in 0..<20 {
                            // A body past the proxy's window on each worker's first stream; small ones
                            // after, so the test moves tens of MiB rather than hundreds.
                            let frames = index == 0 ? Self.bodyFrames : 4
                            answers.append(try await Self.post(client, "/early", frames: frames))
                        }
                        return answers
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(answers.count == 200)
            let wrong = answers.filter { $0.status != 200 || $0.text != "early" }
            #expect(
                wrong.count == 0,
                "answers not the upstream's: \(wrong.prefix(3).map { "\($0.status ?? 0) \($0.text)" })")
            let resets = answers.compactMap(\.reset).filter { $0 != .noError }
            #expect(resets.count == 0, "streams reset with an error: \(resets.prefix(3))")
            try await Self.servedWithinASecond(client, "a fresh stream on the same connection")
            let fresh = try await H2Client.connect(port: w.proxy.port)
            try await Self.servedWithinASecond(fresh, "a fresh client")
            await fresh.close()
            await client.close()
            let early = w.proxy.hops.ended.filter { $0.path == "/early" }
            #expect(early.count == 200)
            let failed = early.filter { $0.status != 200 || $0.error != nil }
            #expect(
                failed.count == 0,
                "hops that were not a plain 200: \(failed.prefix(3).map { "\($0.status ?? 0) \($0.error ?? "")" })"
            )
        }
    }

    @Test(
        "an upstream that hangs up every 25 streams, as nginx does when its flood check trips: no stream opening on the closing connection is a 502"
    )
    func hangUpWhileStreamsOpen() async throws {
        let upstream = try await H2Upstream.start("greeter-default", hangsUpAfter: 25)
        try await H2World.with(greeterDefault: upstream) { w in
            let client = try await H2Client.connect(port: w.proxy.port)
            let statuses = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        var statuses: [Int] = []
                        for _ in 0..<20 {
                            statuses.append(try await Self.post(client, "/early", frames: 2).status ?? 0)
                        }
                        return statuses
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(upstream.connections > 1, "the upstream hung up as it should")
            let failed = w.proxy.hops.ended.filter { $0.status != 200 }
            #expect(
                statuses.filter { $0 != 200 }.count == 0,
                "\(failed.count) not 200: \(failed.prefix(3).map { "\($0.status ?? 0) \($0.error ?? "")" })")
            await client.close()
        }
    }

    @Test(
        "an HTTP/1.1 client's POST through protocol: h2c to an upstream that answers early and resets with NO_ERROR gets that answer, and the next request is served"
    )
    func http1ClientEarlyAnswer() async throws {
        let greeter = try await H2Upstream.start("greeter-h2c")
        try await RunningProxy.with(
            """
            spaces:
              default:
                services:
                  greeter: { upstream: \(greeter.address), protocol: h2c }
            """
        ) { proxy in
            let body = Data(repeating: UInt8(ascii: "b"), count: 2 << 20)
            for _ in 0..<3 {
                let early = try await Curl.run(
                    ["--data-binary", "@-", proxy.url("greeter.localhost", "/early")], stdin: body)
                #expect(early.status == 200)
                #expect(early.text == "early")
            }
            let next = try await Curl.run([proxy.url("greeter.localhost", "/next")])
            #expect(next.status == 200)
            let hops = proxy.hops.ended.filter { $0.path == "/early" }
            #expect(hops.count == 3 && hops.allSatisfy { $0.status == 200 })
        }
        await greeter.stop()
    }

    @Test(
        "an HTTP/2 client's POST to an HTTP/1 upstream that answers before reading the body gets that answer, its stream ends, and the next stream is served"
    )
    func http2ClientToHTTP1EarlyAnswer() async throws {
        let plain = try await TestUpstream.start("plain")
        try await RunningProxy.with(
            """
            spaces:
              default:
                services:
                  greeter: { upstream: \(plain.address), protocol: http1 }
            """
        ) { proxy in
            let client = try await H2Client.connect(port: proxy.port)
            for _ in 0..<10 {
                let early = try await Self.post(client, "/early")
                #expect(early.status == 413)
                #expect(early.text == "too large\n")
            }
            try await Self.servedWithinASecond(client, "a fresh stream on the same connection")
            await client.close()
        }
        await plain.stop()
    }

    /// How a stream ends in `slotsFreed`.
    enum Ending: String, CaseIterable, Sendable {
        case upstreamReset = "the upstream resets it (INTERNAL_ERROR)"
        case clientReset = "the client resets it"
        case timeout = "the upstream does not answer within the call's deadline"
        case earlyAnswer = "the upstream answers early and resets with NO_ERROR"
    }

    @Test(
        "after 300 streams that end each way, the pool's upstream connections still take new streams",
        arguments: Ending.allCases)
    func slotsFreed(_ ending: Ending) async throws {
        // Ten streams at most on an upstream connection: a slot kept after its stream ended
        // would soon send new streams to another connection.
        let upstream = try await H2Upstream.start("greeter-default", maxStreams: 10)
        try await H2World.with(greeterDefault: upstream) { w in
            // Three clients of 100 streams each, one stream at a time: with the streams just
            // ending still closing, well under the ten.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        let client = try await H2Client.connect(port: w.proxy.port)
                        for _ in 0..<100 { try await Self.end(client, ending) }
                        await client.close()
                    }
                }
                try await group.waitForAll()
            }
            let client = try await H2Client.connect(port: w.proxy.port)
            try await Self.servedWithinASecond(client, "a fresh stream after 300 that \(ending.rawValue)")
            // Each event loop pools its own: at most one connection for each of the three clients'
            // loops, where slots kept after their streams would have needed thirty.
            #expect(upstream.connections <= 3, "streams went to \(upstream.connections) connections")
            let counts = await w.proxy.proxy.counts()
            #expect(counts.dials == upstream.connections)
            await client.close()
        }
    }

    /// One stream, ended as `ending` says; what the client sees is checked on the way.
    static func end(_ client: H2Client, _ ending: Ending) async throws {
        switch ending {
        case .upstreamReset:
            let stream = try await client.open("/reset", authority: "greeter.localhost")
            #expect(try await answer(stream.response, "/reset").status == 502)
        case .clientReset:
            let stream = try await client.open("/hang", authority: "greeter.localhost", ends: false)
            try await Task.sleep(for: .milliseconds(5))
            try? await stream.channel.close()
        case .timeout:
            // A call's own deadline, so the fresh stream afterwards keeps the proxy's 60 s.
            let stream = try await client.open(
                "/hang", authority: "greeter.localhost", headers: [("grpc-timeout", "50m")], grpc: true)
            #expect(try await answer(stream.response, "/hang").grpcStatus == 4)
        case .earlyAnswer:
            #expect(try await post(client, "/early", frames: 4).status == 200)
        }
    }
}
