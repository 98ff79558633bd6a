import Foundation
import SpaceportCore
import Testing

/// Fields a client or an upstream should not control: what routes a request stays on it,
/// what says where a request came from is the proxy's to write, and trailers cannot
/// smuggle in what heads may not carry.
@Suite("Fields a client or an upstream does not control")
struct ForgedFieldTests {
    private static func tree(_ upstream: Address, child: Address, extra: String = "") -> String {
        """
        \(extra)
        spaces:
          default:
            services:
              app: { upstream: \(upstream) }
          alice:
            parent: default
            services:
              app: { upstream: \(child) }
        """
    }

    /// Sends `request` on a new connection and reads the answer.
    private static func send(_ request: String, to ingress: Address) async throws -> RawResponse {
        try await blocking {
            let client = try RawClient(ingress, timeoutSeconds: 10)
            try client.send(request)
            return try client.readResponse()
        }
    }

    @Test("a Connection header that names the route header, trace fields or x-request-id does not strip them")
    func carriersSurviveConnection() async throws {
        let root = try await RecordingUpstream.start()
        let child = try await RecordingUpstream.start()
        try await HostileProxy.with(Self.tree(root.address, child: child.address)) { proxy in
            let answer = try await Self.send(
                "GET /chain HTTP/1.1\r\nHost: app.localhost\r\n"
                    + "Connection: azds-route-as, traceparent, baggage, x-request-id, x-private, tracestate\r\n"
                    + "azds-route-as: alice\r\n"
                    + "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n"
                    + "tracestate: vendor=1\r\nbaggage: user=7\r\nx-request-id: flow-1\r\nx-private: secret\r\n\r\n",
                to: proxy.ingress)
            #expect(answer.status == 200)
            #expect(answer.headers["x-spaceport-route"] == "app@alice")
            let seen = try #require(child.snapshot.requests.first)
            #expect(seen.values("azds-route-as") == ["alice"])
            #expect(seen.values("traceparent") == ["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"])
            #expect(seen.values("tracestate") == ["vendor=1"])
            // The member the client sent stays, first and as it came; the route-as members join it.
            #expect(seen.values("baggage") == ["user=7,azds-route-as=alice,okteto-divert=alice"])
            #expect(seen.values("x-request-id") == ["flow-1"])
            #expect(seen.values("x-private").isEmpty, "a field Connection names is still hop-by-hop")
        }
        await root.stop()
        await child.stop()
    }

    @Test("at the ingress X-Forwarded-Host and -Proto say what the proxy saw, and X-Forwarded-For grows")
    func forwardedFieldsReplaced() async throws {
        let root = try await RecordingUpstream.start()
        try await HostileProxy.with(Self.tree(root.address, child: root.address)) { proxy in
            let answer = try await Self.send(
                "GET /f HTTP/1.1\r\nHost: app.localhost\r\nX-Forwarded-Host: bank.example\r\n"
                    + "X-Forwarded-Proto: https\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n",
                to: proxy.ingress)
            #expect(answer.status == 200)
            let seen = try #require(root.snapshot.requests.first)
            #expect(seen.values("x-forwarded-host") == ["app.localhost"])
            #expect(seen.values("x-forwarded-proto") == ["http"])
            #expect(seen.values("x-forwarded-for") == ["203.0.113.9, 127.0.0.1"])
        }
        await root.stop()
    }

    @Test("a proxy listed in trusted_proxies keeps its X-Forwarded-Host and -Proto")
    func trustedProxyKeepsForwardedFields() async throws {
        let root = try await RecordingUpstream.start()
        let yaml = Self.tree(
            root.address, child: root.address, extra: "trusted_proxies: [127.0.0.0/8, \"::1\"]")
        try await HostileProxy.with(yaml) { proxy in
            _ = try await Self.send(
                "GET /f HTTP/1.1\r\nHost: app.localhost\r\nX-Forwarded-Host: shop.example\r\n"
                    + "X-Forwarded-Proto: https\r\n\r\n",
                to: proxy.ingress)
            let seen = try #require(root.snapshot.requests.first)
            #expect(seen.values("x-forwarded-host") == ["shop.example"])
            #expect(seen.values("x-forwarded-proto") == ["https"])
        }
        await root.stop()
    }

    @Test("request trailers that route, frame or impersonate the proxy do not reach the upstream")
    func requestTrailersFiltered() async throws {
        let root = try await RecordingUpstream.start()
        try await HostileProxy.with(Self.tree(root.address, child: root.address)) { proxy in
            let answer = try await Self.send(
                "POST /t HTTP/1.1\r\nHost: app.localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "5\r\nhello\r\n0\r\nazds-route-as: evil\r\nHost: evil.example\r\n"
                    + "Content-Length: 99\r\nx-spaceport-route: evil@evil\r\nx-checksum: 42\r\n\r\n",
                to: proxy.ingress)
            #expect(answer.status == 200)
            let seen = try #require(root.snapshot.requests.first)
            #expect(seen.body == Array("hello".utf8))
            #expect(seen.trailers.map(\.name) == ["x-checksum"])
            #expect(seen.trailers.map(\.value) == ["42"])
        }
        await root.stop()
    }

    @Test("response trailers cannot set x-spaceport-route or framing fields for the client")
    func responseTrailersFiltered() async throws {
        let upstream = try await ScriptedUpstream.start()
        try await HostileProxy.with(appTree(upstream.address)) { proxy in
            let raw = try await blocking {
                let client = try RawClient(proxy.ingress, timeoutSeconds: 10)
                try client.send(
                    "GET /trailers/t1 HTTP/1.1\r\nHost: app.localhost\r\nConnection: close\r\n\r\n")
                return String(decoding: client.readToEnd(), as: UTF8.self)
            }
            let parts = raw.components(separatedBy: "\r\n\r\n")
            let head = parts[0].lowercased()
            let body = parts.dropFirst().joined(separator: "\r\n\r\n").lowercased()
            #expect(head.contains("x-spaceport-route: app@default"))
            #expect(body.contains("x-sum: 42"))
            for forged in ["x-spaceport-route", "content-length", "azds-route-as", "set-cookie"] {
                #expect(
                    !body.contains(forged + ":"),
                    "the trailer \(forged) reached the client: \(body.debugDescription)")
            }
        }
        await upstream.stop()
    }
}
