import Testing

@testable import SpaceportCore

@Suite("Route-as and the service come from the header, the host, the caller or the default")
struct RouterTests {
    typealias F = SpacesFixtures

    func route(
        _ host: String?, header: String? = nil, caller: String? = nil,
        file: String = SpacesFixtures.threeLevels
    ) throws -> Route {
        try F.tree(file).route(RouteRequest(host: host, routeHeaderValue: header, caller: caller))
    }

    func failure(_ host: String?, header: String? = nil, domain: String? = nil) -> RouteError? {
        F.routeError(
            (domain.map { "domain: \($0)\n" } ?? "") + F.threeLevels,
            RouteRequest(host: host, routeHeaderValue: header))
    }

    @Test(
        "each of the four ingress host forms and a bare service name",
        arguments: [
            ("alice.s.default.servicea.localhost", "alice", "servicea"),
            ("alice.s.serviceb.localhost", "alice", "serviceb"),
            ("azureuser.serviceb.localhost", "azureuser", "serviceb"),
            ("servicea.localhost", "default", "servicea"),
            ("serviceb", "default", "serviceb"),
        ])
    func hostForms(host: String, routeAs: String, service: String) throws {
        let route = try route(host)
        #expect(route.routeAs == routeAs)
        #expect(route.service == service)
        #expect(route.routeAsSource == (routeAs == "default" ? .default : .host))
    }

    @Test(
        "ports, capitals and a trailing dot do not change the route",
        arguments: [
            "alice.s.default.servicea.localhost:8080", "ALICE.S.Default.ServiceA.LocalHost",
            "alice.s.default.servicea.localhost.",
            "alice.s.default.servicea.localhost.:80",
        ])
    func hostSpelling(host: String) throws {
        let route = try route(host)
        #expect(route.routeAs == "alice")
        #expect(route.service == "servicea")
        #expect(route.space == "default")
    }

    @Test("a host label that cannot be a name is a 400")
    func badLabel() {
        let error = failure("al_ice.s.servicea.localhost")
        #expect(error?.status == 400)
        #expect(error?.description.contains("'al_ice'") == true)
        #expect(failure("-x.servicea.localhost")?.status == 400)
    }

    @Test(
        "a host outside the domain, or naming no service, is a 404",
        arguments: [
            "servicea.example.com", "localhost", "a.b.c.servicea.localhost", "a.x.b.servicea.localhost",
            "[::1]:8080",
            "127.0.0.1:8080",
        ])
    func notServiceHosts(host: String) {
        let error = failure(host)
        #expect(error?.status == 404, "\(host): \(String(describing: error))")
    }

    @Test("a custom domain replaces localhost")
    func customDomain() throws {
        let file = "domain: Dev.Example.Test\n" + F.threeLevels
        let route = try route("alice.s.default.servicea.dev.example.test:443", file: file)
        #expect(route.routeAs == "alice")
        #expect(route.space == "default")
        let error = failure("servicea.localhost", domain: "dev.example.test")
        #expect(
            error?.description.hasPrefix(
                "host 'servicea.localhost' is not under the domain 'dev.example.test'")
                == true)
    }

    @Test("no host at all is a 400")
    func noHost() {
        #expect(failure(nil) == .noHost)
        #expect(failure("") == .noHost)
    }

    @Test("the route header wins over the host, and is kept as sent")
    func headerBeatsHost() throws {
        let route = try route("alice.s.default.servicea.localhost", header: "azureuser", caller: "other")
        #expect(route.routeAs == "azureuser")
        #expect(route.routeAsSource == .header)
        #expect(route.tried == ["azureuser", "default"])
    }

    @Test("the host wins over the caller's space")
    func hostBeatsCaller() throws {
        let route = try route("alice.s.servicea.localhost", caller: "azureuser")
        #expect(route.routeAs == "alice")
        #expect(route.routeAsSource == .host)
    }

    @Test("the caller's space is used when neither header nor host names one")
    func callerBeatsDefault() throws {
        let route = try route("serviceb", caller: "azureuser")
        #expect(route.routeAs == "azureuser")
        #expect(route.routeAsSource == .caller)
        #expect(route.space == "azureuser")
        #expect(try self.route("serviceb").routeAsSource == .default)
    }

    @Test("a route header that is not a space name is a 400 naming the header")
    func badHeader() {
        let error = failure("servicea.localhost", header: "Bad Name")
        #expect(error?.status == 400)
        #expect(
            error?.description.hasPrefix(
                "route-as 'Bad Name' from the header azds-route-as is not a space name") == true)
    }

    @Test("a route header naming an unknown space routes as default_space")
    func unknownHeaderSpace() throws {
        let route = try route("servicea.localhost", header: "bob")
        #expect(route.askedRouteAs == "bob")
        #expect(route.routeAs == "default")
        #expect(route.unknownRouteAs == "bob")
        #expect(route.tried == ["default"])
        #expect(route.upstream?.port == 5001)
    }
}
