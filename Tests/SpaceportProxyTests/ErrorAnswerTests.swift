import Foundation
import SpaceportCore
import SpaceportProxy
import Testing

/// A listening socket whose queue of unaccepted connections is full, so a new connection
/// never completes: the way an overloaded or firewalled upstream looks.
final class FullBacklog: @unchecked Sendable {
    let address: Address
    private let fd: Int32
    private let filler: RawClient

    init() throws {
        fd = try Sockets.stream(AF_INET)
        // A backlog of zero holds one connection, the filler's; every later one waits forever.
        address = Sockets.bindLoopback(fd, listening: 0)
        filler = try RawClient(address)
    }

    deinit { close(fd) }
}

@Suite("Error answers")
struct ErrorAnswerTests {
    @Test("404 when no space on the chain serves the service; the body names the chain")
    func notFound() async throws {
        try await Walkthrough.with { w in
            let response = try await Curl.run([w.proxy.url("azureuser.s.nosuch.localhost")])
            #expect(response.status == 404)
            #expect(response.header("content-type") == "text/plain; charset=utf-8")
            #expect(response.text.contains("azureuser → default"))
            #expect(response.text.contains("nosuch"))
            let hop = try await w.proxy.hops.end()
            #expect(hop.status == 404)
            #expect(hop.tried == ["azureuser", "default"])
            #expect(hop.error == response.text.trimmingCharacters(in: .newlines))
        }
    }

    @Test("a 404 for a service no space runs says so first and offers the nearest names it does run")
    func notFoundSuggests() async throws {
        try await Walkthrough.with { w in
            let typo = try await Curl.run([w.proxy.url("azureuser.s.default.servicaa.localhost")])
            #expect(typo.status == 404)
            #expect(
                typo.text == "no space runs 'servicaa'; did you mean servicea? (tried azureuser → default)\n")
            let far = try await Curl.run([w.proxy.url("not-a-service.localhost")])
            #expect(
                far.text
                    == "no space runs 'not-a-service'; the spaces run servicea, serviceb (tried default)\n")
            try w.proxy.store.apply(.override(space: "default", service: "serviceb", enabled: false))
            let off = try await Curl.run([w.proxy.url("azureuser.s.default.serviceb.localhost")])
            #expect(
                off.text == "no space on the chain azureuser → default serves serviceb\n",
                "a service that is only off is not a typo")
        }
    }

    @Test("400 for a request that is not HTTP, and the connection closes")
    func malformed() async throws {
        try await Walkthrough.with { w in
            let response = try await blocking {
                let client = try RawClient(w.proxy.listeners.ingress)
                try client.send("HELLO THERE\r\n\r\n")
                let response = try client.readResponse()
                #expect(client.readSome() == nil)
                return response
            }
            #expect(response.status == 400)
            #expect(response.text.contains("not valid HTTP"))
            let hop = try await w.proxy.hops.end()
            #expect(hop.status == 400)
            #expect(hop.error != nil)
        }
    }

    @Test("508 when an upstream points back at the proxy, instead of a loop without end")
    func loop() async throws {
        try await Walkthrough.with { w in
            try w.proxy.store.apply(
                .setUpstream(space: "default", service: "servicea", upstream: w.proxy.listeners.ingress))
            let response = try await Curl.run([w.proxy.url("servicea.localhost")])
            #expect(response.status == 508)
            #expect(response.text.contains("passed through test 16 times"))
        }
    }

    @Test("CONNECT is answered 501, and the connection closes")
    func connect() async throws {
        try await Walkthrough.with { w in
            let (response, closed) = try await blocking {
                let client = try RawClient(w.proxy.listeners.ingress)
                try client.send("CONNECT servicea:443 HTTP/1.1\r\nHost: servicea:443\r\n\r\n")
                let response = try client.readResponse()
                return (response, client.readSome() == nil)
            }
            #expect(response.status == 501)
            #expect(closed)
        }
    }

    @Test("400 for a route-as value that is not a space name, before any upstream sees it")
    func badRouteAs() async throws {
        try await Walkthrough.with { w in
            let response = try await Curl.run([
                w.proxy.url("servicea.localhost"), "-H", "azds-route-as: Not_A_Space",
            ])
            #expect(response.status == 400)
            #expect(response.text.contains("route-as 'Not_A_Space'"))
            #expect(w.aDefault.requests == 0)
            let hop = try await w.proxy.hops.end()
            #expect(hop.status == 400)
        }
    }

    @Test("431 for a header block over the limit, and for too many headers")
    func headersTooLarge() async throws {
        let upstream = try await TestUpstream.start("app")
        try await RunningProxy.with(
            """
            limits:
              max_header_bytes: 4096
              max_header_count: 20
            spaces:
              default:
                services:
                  app: { upstream: \(upstream.address) }
            """
        ) { proxy in
            let big = try await Curl.run([
                proxy.url("app.localhost"), "-H", "X-Big: \(String(repeating: "b", count: 5000))",
            ])
            #expect(big.status == 431)
            let many = try await Curl.run(
                [proxy.url("app.localhost")] + (0..<25).flatMap { ["-H", "X-Many-\($0): \($0)"] })
            #expect(many.status == 431)
            let fine = try await Curl.run([proxy.url("app.localhost"), "-H", "X-Small: 1"])
            #expect(fine.status == 200)
            let hop = try await proxy.hops.end { $0.status == 431 }
            #expect(hop.error?.contains("4096") == true)
            #expect(upstream.requests == 1)
        }
        await upstream.stop()
    }

    @Test("408 when a client starts a request but its headers do not arrive in time")
    func headerTimeout() async throws {
        let upstream = try await TestUpstream.start("app")
        try await RunningProxy.with(
            """
            limits: { header_timeout_ms: 300 }
            spaces:
              default:
                services:
                  app: { upstream: \(upstream.address) }
            """
        ) { proxy in
            let response = try await blocking {
                let client = try RawClient(proxy.listeners.ingress)
                try client.send("GET / HTTP/1.1\r\nHost: app.localhost\r\nX-Slow: ")
                return try client.readResponse()
            }
            #expect(response.status == 408)
            #expect(response.headers["connection"] == "close")
            let hop = try await proxy.hops.end()
            #expect(hop.status == 408)
        }
        await upstream.stop()
    }

    @Test("502 when the upstream refuses the connection, or hangs up without answering")
    func badGateway() async throws {
        let gone = try RefusingPort()
        let rude = try await TestUpstream.start("rude")
        try await RunningProxy.with(
            """
            spaces:
              default:
                services:
                  gone: { upstream: \(gone.address) }
                  rude: { upstream: \(rude.address) }
            """
        ) { proxy in
            let refused = try await Curl.run([proxy.url("gone.localhost")])
            #expect(refused.status == 502)
            #expect(refused.text.contains("refused"))
            #expect(refused.header("x-spaceport-route") == "gone@default")
            let hungUp = try await Curl.run([proxy.url("rude.localhost", "/hangup")])
            #expect(hungUp.status == 502)
            #expect(hungUp.text.contains("without answering"))
            let hop = try await proxy.hops.end { $0.service == "gone" }
            #expect(hop.status == 502)
            #expect(hop.error?.contains("refused") == true)
        }
        await rude.stop()
    }

    @Test("504 when the upstream accepts no connection in time, and when it does not answer in time")
    func gatewayTimeout() async throws {
        let slow = try await TestUpstream.start("slow")
        let full = try FullBacklog()
        try await RunningProxy.with(
            """
            limits: { connect_timeout_ms: 800, upstream_timeout_ms: 1500 }
            spaces:
              default:
                services:
                  slow: { upstream: \(slow.address) }
                  full: { upstream: \(full.address) }
            """
        ) { proxy in
            let silent = try await Curl.run([proxy.url("slow.localhost", "/hang")])
            #expect(silent.status == 504)
            #expect(silent.text.contains("did not answer within 1500 ms"))
            let unaccepted = try await Curl.run([proxy.url("full.localhost")])
            #expect(unaccepted.status == 504)
            #expect(unaccepted.text.contains("did not accept a connection within 800 ms"))
        }
        await slow.stop()
    }
}
