import Foundation
import SpaceportCore
import SpaceportProxy
import Testing

/// The Azure Dev Spaces walkthrough: servicea and serviceb in `default`, a developer's
/// own servicea in `azureuser`, with an egress listener for its outbound calls.
struct Walkthrough {
    let aDefault: TestUpstream
    let bDefault: TestUpstream
    let aUser: TestUpstream
    let proxy: RunningProxy

    static func start(path: String? = nil) async throws -> Walkthrough {
        let aDefault = try await TestUpstream.start("servicea-default")
        let bDefault = try await TestUpstream.start("serviceb-default")
        let aUser = try await TestUpstream.start("servicea-azureuser")
        let proxy = try await RunningProxy.start(
            """
            spaces:
              default:
                services:
                  servicea: { upstream: \(aDefault.address) }
                  serviceb: { upstream: \(bDefault.address) }
              azureuser:
                parent: default
                services:
                  servicea: { upstream: \(aUser.address), egress: 127.0.0.1:0 }
            """, path: path)
        return Walkthrough(aDefault: aDefault, bDefault: bDefault, aUser: aUser, proxy: proxy)
    }

    /// Starts the walkthrough, runs `body`, and stops everything whether or not it threw.
    static func with(path: String? = nil, _ body: (Walkthrough) async throws -> Void) async throws {
        let w = try await start(path: path)
        do {
            try await body(w)
        } catch {
            await w.stop()
            throw error
        }
        await w.stop()
    }

    var egress: Address { proxy.listeners.egress(space: "azureuser", service: "servicea")! }

    func stop() async {
        await proxy.stop()
        for upstream in [aDefault, bDefault, aUser] { await upstream.stop() }
    }
}

@Suite("Routing by space")
struct RoutingTests {
    @Test(
        "the Azure Dev Spaces walkthrough: azureuser's servicea is reached, and its call to serviceb is served by default"
    )
    func walkthrough() async throws {
        try await Walkthrough.with { w in
            let first = try await Curl.run([w.proxy.url("azureuser.s.default.servicea.localhost", "/api")])
            #expect(first.status == 200)
            #expect(first.header("x-spaceport-route") == "servicea@azureuser")
            let seenByA = try first.seen()
            #expect(seenByA.server == "servicea-azureuser")
            #expect(seenByA.header("azds-route-as") == "azureuser")
            let flow = try #require(seenByA.header("x-request-id"))

            // servicea passes the route header (and the request id) on, through its egress proxy.
            let second = try await Curl.run([
                "-x", "http://\(w.egress)", "http://serviceb/api",
                "-H", "azds-route-as: azureuser", "-H", "x-request-id: \(flow)",
            ])
            #expect(second.status == 200)
            #expect(second.header("x-spaceport-route") == "serviceb@default")
            let seenByB = try second.seen()
            #expect(seenByB.server == "serviceb-default")
            #expect(seenByB.header("azds-route-as") == "azureuser")

            let hop = try await w.proxy.hops.end { $0.service == "serviceb" }
            #expect(hop.listener == "egress:azureuser/servicea")
            #expect(hop.from == HopCaller(space: "azureuser", service: "servicea"))
            #expect(hop.routeAs == "azureuser")
            #expect(hop.routeAsSource == .header)
            #expect(hop.tried == ["azureuser", "default"])
            #expect(hop.space == "default")
            #expect(hop.flow == flow)
            #expect(hop.status == 200)
        }
    }

    @Test("every host form routes as the space it names, and a bare service name routes as default")
    func hostForms() async throws {
        try await Walkthrough.with { w in
            let cases: [(host: String, route: String)] = [
                ("azureuser.s.default.servicea.localhost", "servicea@azureuser"),
                ("azureuser.s.servicea.localhost", "servicea@azureuser"),
                ("default.servicea.localhost", "servicea@default"),
                ("servicea.localhost", "servicea@default"),
                ("azureuser.s.serviceb.localhost", "serviceb@default"),
            ]
            for (host, route) in cases {
                let response = try await Curl.run([w.proxy.url(host)])
                #expect(response.header("x-spaceport-route") == route, "\(host)")
            }
            let bare = try await Curl.run(["-H", "Host: servicea", "http://127.0.0.1:\(w.proxy.port)/"])
            #expect(bare.header("x-spaceport-route") == "servicea@default")
            let absolute = try await Curl.run([
                "-x", "http://127.0.0.1:\(w.proxy.port)", "http://azureuser.s.servicea.localhost/x?y=1",
            ])
            #expect(absolute.header("x-spaceport-route") == "servicea@azureuser")
            #expect(try absolute.seen().uri == "/x?y=1")
            let fallback = try await w.proxy.hops.end { $0.service == "serviceb" }
            #expect(fallback.tried == ["azureuser", "default"])
            #expect(fallback.isFallback)
        }
    }

    @Test("cluster names reach the space route-as names, through curl -x and in the Host header")
    func clusterNames() async throws {
        try await Walkthrough.with { w in
            let proxy = "http://127.0.0.1:\(w.proxy.port)"
            for name in ["servicea.default", "servicea.default.svc", "servicea.default.svc.cluster.local"] {
                let absolute = try await Curl.run([
                    "-x", proxy, "http://\(name):8080/api", "-H", "azds-route-as: azureuser",
                ])
                #expect(absolute.header("x-spaceport-route") == "servicea@azureuser", "\(name)")
                #expect(try absolute.seen().server == "servicea-azureuser")
                let hosted = try await Curl.run(["-H", "Host: \(name)", "\(proxy)/api"])
                #expect(hosted.header("x-spaceport-route") == "servicea@default", "\(name)")
            }
            let outside = try await Curl.run(["-x", proxy, "http://servicea.kube-system.svc.cluster.local/"])
            #expect(outside.status == 404)
            #expect(outside.text.contains("as a cluster name its namespace 'kube-system' is no space"))
            let hop = try await w.proxy.hops.end { $0.status == 404 }
            #expect(hop.error?.contains("kube-system") == true)
        }
    }

    @Test("a route header the client sent is never overwritten, even when the host names another space")
    func headerKept() async throws {
        try await Walkthrough.with { w in
            let response = try await Curl.run([
                w.proxy.url("azureuser.s.servicea.localhost"), "-H", "azds-route-as: default",
            ])
            #expect(response.header("x-spaceport-route") == "servicea@default")
            #expect(try response.seen().header("azds-route-as") == "default")

            let unknown = try await Curl.run([
                w.proxy.url("servicea.localhost"), "-H", "azds-route-as: nosuch",
            ])
            #expect(unknown.header("x-spaceport-route") == "servicea@default")
            #expect(try unknown.seen().header("azds-route-as") == "nosuch")
            let hop = try await w.proxy.hops.end { $0.unknownRouteAs == "nosuch" }
            #expect(hop.tried == ["default"])
        }
    }

    @Test("turning an override off while the proxy runs changes the very next request")
    func overrideLive() async throws {
        try await Walkthrough.with { w in
            let url = w.proxy.url("azureuser.s.servicea.localhost")
            #expect(try await Curl.run([url]).header("x-spaceport-route") == "servicea@azureuser")
            try w.proxy.store.apply(.override(space: "azureuser", service: "servicea", enabled: false))
            let off = try await Curl.run([url])
            #expect(off.header("x-spaceport-route") == "servicea@default")
            #expect(try off.seen().server == "servicea-default")
            try w.proxy.store.apply(.override(space: "azureuser", service: "servicea", enabled: true))
            #expect(try await Curl.run([url]).header("x-spaceport-route") == "servicea@azureuser")
        }
    }

    @Test("the upstream sees who asked and how it was routed, and none of the client's hop-by-hop headers")
    func forwardedHeaders() async throws {
        try await Walkthrough.with { w in
            let response = try await Curl.run([
                w.proxy.url("servicea.localhost"),
                "-H", "Connection: keep-alive, x-hop-only", "-H", "X-Hop-Only: 1", "-H",
                "Keep-Alive: timeout=5",
                "-H", "Proxy-Connection: keep-alive", "-H", "TE: trailers", "-H", "X-End-To-End: yes",
                "-H", "X-Forwarded-For: 10.1.2.3",
            ])
            let seen = try response.seen()
            for name in ["x-hop-only", "keep-alive", "proxy-connection", "te", "connection"] {
                #expect(seen.header(name) == nil, "\(name) reached the upstream")
            }
            #expect(seen.header("x-end-to-end") == "yes")
            #expect(seen.header("x-forwarded-for") == "10.1.2.3, 127.0.0.1")
            #expect(seen.header("x-forwarded-host") == "servicea.localhost:\(w.proxy.port)")
            #expect(seen.header("x-forwarded-proto") == "http")
            #expect(seen.header("via") == "1.1 test")
            #expect(seen.header("azds-route-as") == "default")
            let requestID = try #require(seen.header("x-request-id"))
            let hop = try await w.proxy.hops.end()
            #expect(hop.flow == requestID)
            #expect(hop.listener == "ingress")
            #expect(hop.routeAsSource == .default)
            #expect(hop.upstream == w.aDefault.address.description)

            let given = try await Curl.run([w.proxy.url("servicea.localhost"), "-H", "x-request-id: flow-42"])
            #expect(try given.seen().header("x-request-id") == "flow-42")
        }
    }
}
