import Foundation
import NIOCore
import NIOHTTP2
import SpaceportCore
import SpaceportProxy
import Testing

/// The walkthrough's services as h2c-only upstreams: greeter in `default` and in `azureuser`,
/// echo in `default` only.
struct H2World {
    let greeterDefault: H2Upstream
    let greeterUser: H2Upstream
    let proxy: RunningProxy

    static func with(
        greeterDefault: H2Upstream? = nil, extra: String = "", limits: String = "{}",
        _ body: (H2World) async throws -> Void
    ) async throws {
        var given = greeterDefault
        if given == nil { given = try await H2Upstream.start("greeter-default") }
        let gDefault = given!
        let gUser = try await H2Upstream.start("greeter-azureuser")
        let proxy = try await RunningProxy.start(
            """
            limits: \(limits)
            spaces:
              default:
                services:
                  greeter: { upstream: \(gDefault.address), listen: 127.0.0.1:0 }
            \(extra)
              azureuser:
                parent: default
                services:
                  greeter: { upstream: \(gUser.address), egress: 127.0.0.1:0 }
            """)
        let world = H2World(greeterDefault: gDefault, greeterUser: gUser, proxy: proxy)
        do {
            try await body(world)
        } catch {
            await world.stop()
            throw error
        }
        await world.stop()
    }

    func stop() async {
        await proxy.stop()
        await greeterDefault.stop()
        await greeterUser.stop()
    }
}

@Suite("HTTP/2 and gRPC through the proxy")
struct HTTP2Tests {
    @Test("curl --http2-prior-knowledge reaches an upstream that speaks only h2c, and the hop says h2")
    func curlPriorKnowledge() async throws {
        try await H2World.with { w in
            let response = try await Curl.run([
                "--http2-prior-knowledge", w.proxy.url("azureuser.s.default.greeter.localhost", "/hello"),
            ])
            #expect(response.status == 200)
            #expect(response.text.hasPrefix("server=greeter-azureuser"))
            #expect(response.text.contains("route=azureuser"))
            #expect(response.header("x-spaceport-route") == "greeter@azureuser")
            let hop = try await w.proxy.hops.end()
            #expect(hop.protocol == .h2)
            #expect(hop.method == "GET")
            #expect(hop.path == "/hello")
            #expect(hop.space == "azureuser")
            #expect(hop.status == 200)
        }
    }

    @Test("an HTTP/1.1 client on the same port is served as before, and Upgrade: h2c is answered as HTTP/1.1")
    func http1Beside() async throws {
        let upstream = try await TestUpstream.start("plain")
        try await RunningProxy.with(
            """
            spaces:
              default:
                services:
                  plain: { upstream: \(upstream.address) }
            """
        ) { proxy in
            let plain = try await Curl.run([proxy.url("plain.localhost")])
            #expect(plain.status == 200)
            let upgrade = try await Curl.run(["--http2", proxy.url("plain.localhost")])
            #expect(upgrade.status == 200)
            #expect(try upgrade.seen().server == "plain")
        }
        await upstream.stop()
    }

    @Test("two streams on one connection are routed each on its own, to two spaces")
    func twoStreamsTwoSpaces() async throws {
        try await H2World.with { w in
            let client = try await H2Client.connect(port: w.proxy.port)
            async let first = client.request(
                "/a", authority: "greeter.localhost", headers: [("azds-route-as", "azureuser")])
            async let second = client.request("/b", authority: "greeter.localhost")
            let (a, b) = try await (first, second)
            #expect(a.text.hasPrefix("server=greeter-azureuser"))
            #expect(b.text.hasPrefix("server=greeter-default"))
            #expect(a.headers.first(name: "x-spaceport-route") == "greeter@azureuser")
            #expect(b.headers.first(name: "x-spaceport-route") == "greeter@default")
            await client.close()
        }
    }

    @Test("a gRPC call's messages come back and its trailers and grpc-status pass through as trailers")
    func grpcTrailers() async throws {
        try await H2World.with { w in
            let client = try await H2Client.connect(port: w.proxy.port)
            let ok = try await client.request(
                "/helloworld.Greeter/SayHello", authority: "greeter.localhost", body: "hi", grpc: true)
            #expect(ok.status == 200)
            #expect(ok.body.readableBytes == 7, "the one message, echoed")
            #expect(ok.trailers?.first(name: "grpc-status") == "0")
            #expect(ok.trailers?.first(name: "grpc-message") == "from greeter-default")
            let failed = try await client.request(
                "/helloworld.Greeter/SayHello", authority: "greeter.localhost",
                headers: [("x-test-grpc-status", "7")], body: "hi", grpc: true)
            #expect(failed.grpcStatus == 7)
            let hop = try await w.proxy.hops.end { $0.grpcStatus == 7 }
            #expect(hop.protocol == .grpc)
            #expect(hop.path == "/helloworld.Greeter/SayHello")
            #expect(hop.status == 200)
            await client.close()
        }
    }

    @Test("a gRPC call no space serves is UNIMPLEMENTED, Trailers-Only, naming the chain tried")
    func grpcNoRoute() async throws {
        try await H2World.with { w in
            let client = try await H2Client.connect(port: w.proxy.port)
            let answer = try await client.request(
                "/shop.Cart/Add", authority: "cart.localhost", headers: [("azds-route-as", "azureuser")],
                body: "x",
                grpc: true)
            #expect(answer.status == 200)
            #expect(answer.trailers == nil, "Trailers-Only: one HEADERS frame")
            #expect(answer.headers.first(name: "content-type") == "application/grpc")
            #expect(answer.grpcStatus == 12)
            let message = try #require(answer.grpcMessage)
            #expect(message.contains("azureuser %E2%86%92 default"), "percent-encoded arrow: \(message)")
            let hop = try await w.proxy.hops.end()
            #expect(hop.grpcStatus == 12)
            // The same request without gRPC's content-type gets the 404 an HTTP/1.1 client gets.
            let plain = try await client.request("/shop.Cart/Add", authority: "cart.localhost")
            #expect(plain.status == 404)
            #expect(plain.text.contains("no space runs 'cart'"))
            await client.close()
        }
    }

    @Test("a bad route-as is INVALID_ARGUMENT for gRPC, 400 otherwise")
    func badRouteAs() async throws {
        try await H2World.with { w in
            let client = try await H2Client.connect(port: w.proxy.port)
            let grpc = try await client.request(
                "/helloworld.Greeter/SayHello", authority: "greeter.localhost",
                headers: [("azds-route-as", "no such space!")], body: "x", grpc: true)
            #expect(grpc.grpcStatus == 3)
            let plain = try await client.request(
                "/", authority: "greeter.localhost", headers: [("azds-route-as", "no such space!")])
            #expect(plain.status == 400)
            await client.close()
        }
    }

    @Test("an upstream that refuses connections is UNAVAILABLE for gRPC and 502 otherwise")
    func unreachable() async throws {
        let refusing = try RefusingPort()
        try await H2World.with(
            extra: "      down: { upstream: \(refusing.address) }"
        ) { w in
            let client = try await H2Client.connect(port: w.proxy.port)
            let grpc = try await client.request("/a.B/C", authority: "down.localhost", body: "x", grpc: true)
            #expect(grpc.grpcStatus == 14)
            #expect(grpc.grpcMessage?.contains("down@default") == true)
            let plain = try await client.request("/", authority: "down.localhost")
            #expect(plain.status == 502)
            await client.close()
        }
    }

    @Test(
        "an upstream that does not answer within the call's grpc-timeout is DEADLINE_EXCEEDED, and is reset")
    func deadline() async throws {
        try await H2World.with { w in
            let client = try await H2Client.connect(port: w.proxy.port)
            let started = ContinuousClock.now
            let answer = try await client.request(
                "/hang", authority: "greeter.localhost", headers: [("grpc-timeout", "300m")], body: "x",
                grpc: true)
            #expect(answer.grpcStatus == 4)
            #expect(ContinuousClock.now - started < .seconds(30), "well before upstream_timeout_ms (60 s)")
            try await eventually { w.greeterDefault.resets == 1 }
            await client.close()
        }
    }

    @Test("an upstream's reset before its answer is UNAVAILABLE for gRPC and 502 otherwise")
    func upstreamReset() async throws {
        try await H2World.with { w in
            let client = try await H2Client.connect(port: w.proxy.port)
            let plain = try await client.request("/reset", authority: "greeter.localhost")
            #expect(plain.status == 502)
            #expect(plain.text.contains("reset the stream"))
            await client.close()
        }
    }

    @Test("a client's cancel reaches the upstream as a reset of its stream")
    func clientCancel() async throws {
        try await H2World.with { w in
            let client = try await H2Client.connect(port: w.proxy.port)
            let stream = try await client.open("/hang", authority: "greeter.localhost", ends: false)
            try await eventually { w.greeterDefault.streams == 1 }
            try? await stream.channel.close()
            try await eventually { w.greeterDefault.resets == 1 }
            let hop = try await w.proxy.hops.end()
            #expect(hop.error?.contains("the client reset the stream") == true, "\(hop.error ?? "none")")
            await client.close()
        }
    }

    @Test("a stream the upstream refused with GOAWAY goes again on a new connection")
    func goAwayRetried() async throws {
        let upstream = try await H2Upstream.start("greeter-default", goAwayFirst: true)
        try await H2World.with(greeterDefault: upstream) { w in
            let client = try await H2Client.connect(port: w.proxy.port)
            let answer = try await client.request("/x", authority: "greeter.localhost")
            #expect(answer.status == 200)
            #expect(answer.text.hasPrefix("server=greeter-default"))
            #expect(upstream.connections == 2)
            await client.close()
        }
    }

    @Test("a 4 MB gRPC message goes up and comes back whole, through both flow-control windows")
    func largeMessages() async throws {
        try await H2World.with { w in
            let client = try await H2Client.connect(port: w.proxy.port)
            let message = String(repeating: "0123456789abcdef", count: 4 << 16)
            let answer = try await client.request(
                "/echo.Echo/Big", authority: "greeter.localhost", body: message, grpc: true)
            #expect(answer.grpcStatus == 0)
            #expect(answer.body.readableBytes == message.utf8.count + 5)
            let hop = try await w.proxy.hops.end { $0.path == "/echo.Echo/Big" }
            let seen = w.proxy.hops.ended.map { "\($0.path) \($0.status ?? 0) \($0.bytesIn)/\($0.bytesOut)" }
            #expect(hop.bytesIn == message.utf8.count + 5, "ended hops: \(seen)")
            #expect(hop.bytesOut == message.utf8.count + 5, "ended hops: \(seen)")
            await client.close()
        }
    }

    @Test("a call whose grpc-timeout is longer than upstream_timeout_ms is not cut short by the proxy")
    func longerDeadline() async throws {
        try await H2World.with(limits: "{ upstream_timeout_ms: 100 }") { w in
            let client = try await H2Client.connect(port: w.proxy.port)
            let plain = try await client.request("/slow", authority: "greeter.localhost")
            #expect(plain.status == 504, "without a deadline the proxy's own timeout holds")
            let call = try await client.request(
                "/slow", authority: "greeter.localhost", headers: [("grpc-timeout", "20S")], body: "x",
                grpc: true)
            #expect(call.status == 200)
            #expect(call.grpcStatus == 0)
            #expect(call.grpcMessage == "from greeter-default", "answered by the upstream, not the proxy")
            await client.close()
        }
    }

    @Test("a stream whose frames keep flowing outlives the idle timeout; an idle connection does not")
    func idleTimeout() async throws {
        try await H2World.with(limits: "{ idle_timeout_ms: 3000 }") { w in
            // A test process starved for longer than the idle timeout finds its new connection
            // sent away before its stream opens, as it should be: it connects again.
            var opened:
                (client: H2Client, stream: (channel: any Channel, response: EventLoopFuture<H2Response>))?
            for _ in 0..<5 where opened == nil {
                guard let client = try? await H2Client.connect(port: w.proxy.port) else { continue }
                if let stream = try? await client.open(
                    "/stream", authority: "greeter.localhost", grpc: true, ends: false)
                {
                    opened = (client, stream)
                }
            }
            let (client, stream) = try #require(opened)
            // Three seconds of idle time leave room for a loaded machine between connecting and the stream.
            let started = ContinuousClock.now
            for index in 0..<10 {
                try await Task.sleep(for: .milliseconds(400))
                let message = ByteBuffer(bytes: [0, 0, 0, 0, 1, UInt8(index)])
                do {
                    try await stream.channel.writeAndFlush(
                        HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(message), endStream: index == 9))
                    )
                } catch {
                    Issue.record(
                        "message \(index) after \(ContinuousClock.now - started): \(error); goaway \(String(describing: client.goAway.withLock { $0 })); hops \(w.proxy.hops.hops.map { "\($0.phase) \($0.status ?? 0) \($0.error ?? "")" })"
                    )
                    throw error
                }
            }
            let answer = try await stream.response.get()
            #expect(ContinuousClock.now - started > .seconds(3), "the call outlasted the idle timeout")
            #expect(answer.grpcStatus == 0, "the call was not cut by the idle timeout")
            #expect(answer.body.readableBytes == 10 * 6, "every message came back")
            try await client.channel.closeFuture.get()
            #expect(client.goAway.withLock { $0 } != nil, "the idle connection was sent away")
        }
    }

    @Test("streams to one upstream share a connection")
    func multiplexedUpstream() async throws {
        try await H2World.with { w in
            let client = try await H2Client.connect(port: w.proxy.port)
            try await withThrowingTaskGroup(of: Int?.self) { group in
                for index in 0..<20 {
                    group.addTask {
                        try await client.request("/\(index)", authority: "greeter.localhost").status
                    }
                }
                for try await status in group { #expect(status == 200) }
            }
            #expect(w.greeterDefault.connections == 1)
            #expect(w.greeterDefault.streams == 20)
            await client.close()
        }
    }

    @Test("on drain the client gets GOAWAY naming its last stream, and the stream in flight finishes")
    func drain() async throws {
        try await H2World.with { w in
            let client = try await H2Client.connect(port: w.proxy.port)
            let slow = try await client.open("/slow", authority: "greeter.localhost")
            try await eventually { w.greeterDefault.streams == 1 }
            async let stopped: Void = w.proxy.proxy.shutdown(drainMs: 3000)
            let answer = try await slow.response.get()
            await stopped
            #expect(answer.status == 200, "\(w.proxy.hops.hops.map { "\($0.phase) \($0.error ?? "")" })")
            #expect(client.goAway.withLock { $0 } == HTTP2StreamID(1))
            await client.close()
        }
    }

    @Test("the HTTP/2 preface at an instance's listen and egress addresses routes as its space")
    func listenAndEgress() async throws {
        try await H2World.with { w in
            let listen = try #require(w.proxy.listeners.listen(space: "default", service: "greeter"))
            let atListen = try await Curl.run(["--http2-prior-knowledge", "http://\(listen)/"])
            #expect(atListen.text.hasPrefix("server=greeter-default"))
            let egress = try #require(w.proxy.listeners.egress(space: "azureuser", service: "greeter"))
            let viaEgress = try await Curl.run([
                "--http2-prior-knowledge", "-H", "Host: greeter", "http://\(egress)/",
            ])
            #expect(viaEgress.text.hasPrefix("server=greeter-azureuser"))
        }
    }
}

/// Waits up to 5 s for `condition`.
private func eventually(_ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(5)
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TestFailure("the condition never held") }
        try await Task.sleep(for: .milliseconds(10))
    }
}
