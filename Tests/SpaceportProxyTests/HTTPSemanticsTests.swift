import Foundation
import SpaceportCore
import SpaceportProxy
import Testing

private func app(_ upstream: TestUpstream) -> String {
    """
    spaces:
      default:
        services:
          app: { upstream: \(upstream.address) }
    """
}

@Suite("HTTP/1.1 through the proxy")
struct HTTPSemanticsTests {
    @Test("with no one watching live, a request publishes only its end, and the end carries the whole hop")
    func unwatchedSinkGetsEndsOnly() async throws {
        let upstream = try await TestUpstream.start("app")
        try await RunningProxy.with(app(upstream), hops: HopCollector(watched: false)) { proxy in
            let response = try await Curl.run([proxy.url("app.localhost", "/bytes/3")])
            #expect(response.status == 200)
            let end = try await proxy.hops.end()
            #expect(end.service == "app")
            #expect(end.space == "default")
            #expect(end.method == "GET")
            #expect(end.path == "/bytes/3")
            #expect(end.status == 200)
            #expect(proxy.hops.hops.map(\.phase) == [.end])
        }
        await upstream.stop()
    }

    @Test("HEAD, 204 and 304 answers carry no body and the connection goes on")
    func bodilessAnswers() async throws {
        let upstream = try await TestUpstream.start("app")
        try await RunningProxy.with(app(upstream)) { proxy in
            let client = try RawClient(proxy.listeners.ingress)
            let responses = try await blocking {
                try client.send(
                    "HEAD /bytes/1000 HTTP/1.1\r\nHost: app.localhost\r\n\r\n"
                        + "HEAD /bytes/1000?chunked HTTP/1.1\r\nHost: app.localhost\r\n\r\n"
                        + "GET /status/204 HTTP/1.1\r\nHost: app.localhost\r\n\r\n"
                        + "GET /status/304 HTTP/1.1\r\nHost: app.localhost\r\n\r\n"
                        + "GET /bytes/5 HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
                return try (0..<5).map { try client.readResponse(forHead: $0 < 2) }
            }
            #expect(responses.map(\.status) == [200, 200, 204, 304, 200])
            #expect(responses[0].headers["content-length"] == "1000")
            #expect(responses[0].body.isEmpty)
            #expect(responses[1].body.isEmpty)
            #expect(responses[2].headers["content-length"] == nil)
            #expect(responses[4].text == "xxxxx")
            #expect(responses.allSatisfy { $0.headers["x-spaceport-route"] == "app@default" })
            #expect(upstream.acceptedConnections == 1)
        }
        await upstream.stop()
    }

    @Test("a request answered 404 leaves the connection open for the next one")
    func keepAliveAfterRefusal() async throws {
        let upstream = try await TestUpstream.start("app")
        try await RunningProxy.with(app(upstream)) { proxy in
            let responses = try await blocking {
                let client = try RawClient(proxy.listeners.ingress)
                try client.send(
                    "POST / HTTP/1.1\r\nHost: nosuch.localhost\r\nContent-Length: 5\r\n\r\nhello"
                        + "GET /bytes/3 HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
                return try (0..<2).map { _ in try client.readResponse() }
            }
            #expect(responses.map(\.status) == [404, 200])
            #expect(responses[1].text == "xxx")
        }
        await upstream.stop()
    }

    @Test(
        "an answer that comes before the request body is all sent reaches the client, and the connection goes on"
    )
    func earlyAnswer() async throws {
        let upstream = try await TestUpstream.start("app")
        try await RunningProxy.with(app(upstream)) { proxy in
            let body = String(repeating: "b", count: 2_000_000)
            let responses = try await blocking {
                let client = try RawClient(proxy.listeners.ingress)
                try client.send(
                    "POST /early HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: \(body.utf8.count)\r\n\r\n"
                )
                let early = try client.readResponse()
                try client.send(body + "GET /bytes/4 HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
                return [early, try client.readResponse()]
            }
            #expect(responses.map(\.status) == [413, 200])
            #expect(responses[0].text == "too large\n")
            #expect(responses[1].text == "xxxx")
        }
        await upstream.stop()
    }

    @Test("100 Continue comes back before the client sends its body")
    func continueFirst() async throws {
        let upstream = try await TestUpstream.start("app")
        try await RunningProxy.with(app(upstream)) { proxy in
            let client = try RawClient(proxy.listeners.ingress)
            let interim = try await blocking {
                try client.send(
                    "POST /continue HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
                )
                return try client.readResponse()
            }
            #expect(interim.status == 100)
            let final = try await blocking {
                try client.send("hello")
                return try client.readResponse()
            }
            #expect(final.status == 200)
            #expect(try JSONDecoder().decode(TestUpstream.Seen.self, from: Data(final.body)).bodyBytes == 5)

            let viaCurl = try await Curl.run([
                "-H", "Expect: 100-continue", "--data-binary", "abc", proxy.url("app.localhost", "/continue"),
            ])
            #expect(viaCurl.status == 200)
        }
        await upstream.stop()
    }

    @Test("an HTTP/1.0 client gets an HTTP/1.0 answer without chunks, ended by the close")
    func http10() async throws {
        let upstream = try await TestUpstream.start("app")
        try await RunningProxy.with(app(upstream)) { proxy in
            let bytes = try await blocking {
                let client = try RawClient(proxy.listeners.ingress)
                try client.send("GET /bytes/10?chunked HTTP/1.0\r\nHost: app.localhost\r\n\r\n")
                return client.readToEnd()
            }
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.0 200 OK\r\n"))
            #expect(!text.lowercased().contains("transfer-encoding"))
            #expect(text.hasSuffix("\r\n\r\nxxxxxxxxxx"))
        }
        await upstream.stop()
    }

    @Test("pipelined requests are answered in order on one connection")
    func pipelining() async throws {
        let upstream = try await TestUpstream.start("app")
        try await RunningProxy.with(app(upstream)) { proxy in
            let responses = try await blocking {
                let client = try RawClient(proxy.listeners.ingress)
                try client.send(
                    (1...3).map { "GET /n\($0) HTTP/1.1\r\nHost: app.localhost\r\n\r\n" }.joined())
                return try (1...3).map { _ in try client.readResponse() }
            }
            let uris = try responses.map {
                try JSONDecoder().decode(TestUpstream.Seen.self, from: Data($0.body)).uri
            }
            #expect(uris == ["/n1", "/n2", "/n3"])
        }
        await upstream.stop()
    }

    @Test(
        "pipelined requests the proxy answers itself and ones it forwards, with bodies and without, are answered in order"
    )
    func pipeliningMixed() async throws {
        let upstream = try await TestUpstream.start("app")
        try await RunningProxy.with(app(upstream)) { proxy in
            let responses = try await blocking {
                let client = try RawClient(proxy.listeners.ingress)
                // A request without a body ends with its head; each answer here lets the next one in.
                try client.send(
                    "GET /n1 HTTP/1.1\r\nHost: nothing.localhost\r\n\r\n"
                        + "GET /n2 HTTP/1.1\r\nHost: app.localhost\r\n\r\n"
                        + "POST /n3 HTTP/1.1\r\nHost: app.localhost\r\nContent-Length: 5\r\n\r\nhello"
                        + "GET /n4 HTTP/1.1\r\nHost: nothing.localhost\r\nContent-Length: 0\r\n\r\n"
                        + "POST /n5 HTTP/1.1\r\nHost: nothing.localhost\r\nContent-Length: 3\r\n\r\nabc"
                        + "HEAD /n6 HTTP/1.1\r\nHost: app.localhost\r\n\r\n"
                        + "GET /n7 HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
                return try (1...7).map { number in try client.readResponse(forHead: number == 6) }
            }
            #expect(responses.map(\.status) == [404, 200, 200, 404, 404, 200, 200])
            let seen = try [1, 2, 6].map {
                try JSONDecoder().decode(TestUpstream.Seen.self, from: Data(responses[$0].body))
            }
            #expect(seen.map(\.uri) == ["/n2", "/n3", "/n7"])
            #expect(seen.map(\.bodyBytes) == [0, 5, 0])
        }
        await upstream.stop()
    }

    @Test("a request pipelined while a large response streams waits for it, then is answered")
    func pipeliningBehindStream() async throws {
        let upstream = try await TestUpstream.start("app")
        try await RunningProxy.with(app(upstream)) { proxy in
            let (first, second) = try await blocking {
                let client = try RawClient(proxy.listeners.ingress)
                try client.send("GET /bytes/5000000 HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
                // Sent while the first response is still on its way: the proxy reads it and holds it.
                usleep(50_000)
                try client.send("GET /n2 HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
                return (try client.readResponse(), try client.readResponse())
            }
            #expect(first.status == 200)
            #expect(first.body.count == 5_000_000)
            #expect(second.status == 200)
            #expect(try JSONDecoder().decode(TestUpstream.Seen.self, from: Data(second.body)).uri == "/n2")
        }
        await upstream.stop()
    }

    @Test("part of a head sent while a response streams is held to the header timeout once it ends")
    func partialHeadBehindStream() async throws {
        let upstream = try await TestUpstream.start("app")
        let yaml = app(upstream) + "\nlimits: { header_timeout_ms: 300 }\n"
        try await RunningProxy.with(yaml) { proxy in
            let (first, second) = try await blocking {
                // The idle timeout (60 s) is far past this client's patience; the header timeout is not.
                let client = try RawClient(proxy.listeners.ingress, timeoutSeconds: 10)
                try client.send("GET /bytes/5000000 HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
                // Once the response has begun the proxy has read the request, so this arrives on its own.
                var first = try client.readResponse(forHead: true)
                try client.send("GET /n2 HTTP/1.1\r\nHost: app.loc")
                first.body = client.read(count: 5_000_000)
                return (first, try client.readResponse())
            }
            #expect(first.status == 200)
            #expect(first.body.count == 5_000_000)
            #expect(second.status == 408)
        }
        await upstream.stop()
    }

    @Test("a client that half-closes after its request still gets the whole answer")
    func halfClose() async throws {
        let upstream = try await TestUpstream.start("app")
        try await RunningProxy.with(app(upstream)) { proxy in
            let bytes = try await blocking {
                let client = try RawClient(proxy.listeners.ingress)
                try client.send("GET /bytes/200000 HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
                client.shutdownWrite()
                return client.readToEnd()
            }
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
            #expect(text.hasSuffix(String(repeating: "x", count: 1000)))
            let head = try #require(text.range(of: "\r\n\r\n"))
            #expect(text[head.upperBound...].utf8.count == 200_000)
        }
        await upstream.stop()
    }
}
