import Testing

@testable import SpaceportCore

@Suite("Kubernetes cluster names route like short names")
struct ClusterNameTests {
    typealias F = SpacesFixtures

    func route(_ host: String, header: String? = nil, domain: String? = nil) throws -> Route {
        let file = (domain.map { "domain: \($0)\n" } ?? "") + F.threeLevels
        return try F.tree(file).route(RouteRequest(host: host, routeHeaderValue: header))
    }

    func failure(_ host: String) -> RouteError? {
        F.routeError(F.threeLevels, RouteRequest(host: host))
    }

    @Test(
        "the parser takes the service and the namespace from each cluster form, with or without a port",
        arguments: [
            "serviceb.default", "serviceb.default.svc", "serviceb.default.svc.cluster.local",
            "serviceb.default:8080", "serviceb.default.svc:80", "ServiceB.Default.SVC.Cluster.Local.:8080",
        ])
    func parsed(host: String) throws {
        let parsed = try HostRoute.parse(host, domain: "localhost")
        #expect(parsed == HostRoute(service: "serviceb", namespace: "default"))
    }

    @Test(
        "a cluster name routes as the route header says, and the namespace never sets route-as",
        arguments: [
            "serviceb", "serviceb.default", "serviceb.default.svc", "serviceb.default.svc.cluster.local",
        ])
    func routesAsHeader(host: String) throws {
        let asUser = try route(host, header: "alice")
        #expect(asUser.routeAs == "alice")
        #expect(asUser.routeAsSource == .header)
        #expect(asUser.service == "serviceb")
        #expect(asUser.tried == ["alice", "azureuser"])
        #expect(asUser.space == "azureuser")
        let plain = try route(host)
        #expect(plain.routeAs == "default")
        #expect(plain.routeAsSource == .default)
        #expect(plain.space == "default")
        #expect(plain.namespace == (host == "serviceb" ? nil : "default"))
    }

    @Test("a namespace that names a child space routes by route-as too, not as that child")
    func childNamespace() throws {
        let route = try route("serviceb.alice.svc.cluster.local")
        #expect(route.routeAs == "default")
        #expect(route.namespace == "alice")
        #expect(route.space == "default")
    }

    @Test("a cluster name whose namespace is no space is a 404 that names the namespace")
    func unknownNamespace() {
        let error = failure("serviceb.kube-system.svc.cluster.local")
        #expect(
            error
                == .unknownNamespace(
                    "kube-system", host: "serviceb.kube-system.svc.cluster.local", domain: "localhost"))
        #expect(error?.status == 404)
        #expect(
            error?.description
                == "host 'serviceb.kube-system.svc.cluster.local' is not under the domain 'localhost', and as a cluster name its namespace 'kube-system' is no space; call it directly (list it in NO_PROXY) or make the namespace a space"
        )
        #expect(failure("example.com")?.status == 404, "a two-label public name is no space's service")
    }

    @Test(
        "names that only look like cluster names stay outside the domain",
        arguments: [
            "serviceb.default.cluster.local", "serviceb.default.svc.cluster",
            "serviceb.default.svc.example.com",
            "serviceb.default.svc.cluster.local.extra", "a.b.c",
        ])
    func notClusterNames(host: String) {
        #expect(failure(host) == .host(.notUnderDomain(host, domain: "localhost")))
    }

    @Test("a cluster name with a label that cannot be a name is a 400")
    func badLabel() {
        #expect(failure("service_b.default.svc")?.status == 400)
        #expect(failure("serviceb.-default")?.status == 400)
    }

    @Test("a host under a one-label domain is read by the domain's forms first")
    func domainFirst() throws {
        let underDomain = try route("servicea.localhost")
        #expect(underDomain.service == "servicea")
        #expect(underDomain.namespace == nil)
        let twoLabels = try route("azureuser.serviceb.localhost")
        #expect(twoLabels.routeAs == "azureuser")
        #expect(twoLabels.service == "serviceb")
        let named = try route("servicea.default", domain: "default")
        #expect(named.service == "servicea")
        #expect(named.namespace == nil, "the domain 'default' wins over the namespace 'default'")
        let longer = try route("servicea.default.svc", domain: "default")
        #expect(longer.namespace == "default")
    }

    @Test("the four-label ingress form keeps its meaning")
    func ingressForm() throws {
        let route = try route("alice.s.default.servicea.localhost")
        #expect(route.routeAs == "alice")
        #expect(route.routeAsSource == .host)
        #expect(route.namespace == nil)
    }
}
