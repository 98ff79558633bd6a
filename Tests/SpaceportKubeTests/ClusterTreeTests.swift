import SpaceportCore
import Testing

@testable import SpaceportKube

private func namespace(_ name: String, space: Bool = true, parent: String? = nil) -> Namespace {
    var labels: [String: String] = ["kubernetes.io/metadata.name": name]
    if space { labels[ClusterTree.spaceLabel] = "true" }
    if let parent { labels[ClusterTree.parentLabel] = parent }
    return Namespace(metadata: ObjectMeta(name: name, labels: labels))
}

private func service(
    _ name: String, in namespace: String, ports: [ServicePort] = [ServicePort(name: "http", port: 80)],
    clusterIP: String = "10.96.0.10", annotations: [String: String]? = nil
) -> Service {
    Service(
        metadata: ObjectMeta(name: name, namespace: namespace, annotations: annotations),
        spec: ServiceSpec(clusterIP: clusterIP, ports: ports))
}

@Suite("The cluster's namespaces and Services as a space tree")
struct ClusterTreeTests {
    @Test("labelled namespaces are spaces, parents from azds.io/parent-space, Services their instances")
    func spacesAndInstances() throws {
        let snapshot = ClusterSnapshot(
            namespaces: [
                namespace("default"), namespace("team", parent: "default"),
                namespace("alice", parent: "team"),
                namespace("kube-system", space: false),
            ],
            services: [
                service("servicea", in: "default"), service("serviceb", in: "default"),
                service("serviceb", in: "alice"), service("coredns", in: "kube-system"),
            ])
        let (tree, problems) = ClusterTree.build(snapshot)
        let built = try #require(tree)
        #expect(problems.isEmpty)
        #expect(built.spaces.map(\.name).sorted() == ["alice", "default", "team"])
        #expect(built.space("alice")?.parent == "team")
        #expect(built.space("team")?.parent == "default")
        #expect(
            built.instance("serviceb", in: "alice")?.upstream
                == Address(host: "serviceb.alice.svc.cluster.local", port: 80))
        #expect(
            built.ownership(of: "servicea", in: "alice")
                == .inherited(from: "default", built.instance("servicea", in: "default")!))
        #expect(!built.contains("kube-system"))
    }

    @Test("a missing parent, a fourth level and a cycle are reported and only those namespaces left out")
    func badParents() throws {
        let snapshot = ClusterSnapshot(
            namespaces: [
                namespace("root"), namespace("child", parent: "root"),
                namespace("grandchild", parent: "child"),
                namespace("fourth", parent: "grandchild"), namespace("fifth", parent: "fourth"),
                namespace("orphan", parent: "nowhere"), namespace("orphans-child", parent: "orphan"),
                namespace("unlabelled-parent", space: false), namespace("stray", parent: "unlabelled-parent"),
                namespace("ping", parent: "pong"), namespace("pong", parent: "ping"),
            ],
            services: [service("web", in: "root"), service("web", in: "orphan")])
        let (tree, problems) = ClusterTree.build(snapshot)
        let built = try #require(tree)
        #expect(built.spaces.map(\.name).sorted() == ["child", "grandchild", "root"])
        #expect(problems.contains(.missingParent(namespace: "orphan", parent: "nowhere")))
        #expect(problems.contains(.parentLeftOut(namespace: "orphans-child", parent: "orphan")))
        #expect(problems.contains(.missingParent(namespace: "stray", parent: "unlabelled-parent")))
        #expect(
            problems.contains(
                .tooDeep(namespace: "fourth", chain: ["root", "child", "grandchild", "fourth"])))
        #expect(problems.contains(.parentLeftOut(namespace: "fifth", parent: "fourth")))
        #expect(problems.contains(.cycle(namespace: "ping", chain: ["ping", "pong", "ping"])))
        #expect(problems.count == 7)
        #expect(
            ClusterProblem.tooDeep(namespace: "fourth", chain: ["root", "child", "grandchild", "fourth"])
                .description
                == "namespace fourth: root → child → grandchild → fourth is a fourth level; spaces go at most root → child → grandchild (fourth is left out)"
        )
        #expect(
            ClusterProblem.missingParent(namespace: "orphan", parent: "nowhere").description.contains(
                "'nowhere' is no namespace labelled azds.io/space=true"))
    }

    @Test("the port named http or grpc…, or by appProtocol, else the only TCP port, else the annotated one")
    func portRules() throws {
        let snapshot = ClusterSnapshot(
            namespaces: [namespace("team")],
            services: [
                service(
                    "named", in: "team",
                    ports: [ServicePort(name: "metrics", port: 9090), ServicePort(name: "http", port: 8080)]),
                service(
                    "grpc", in: "team",
                    ports: [
                        ServicePort(name: "admin", port: 9000), ServicePort(name: "grpc-api", port: 50051),
                    ]),
                service(
                    "h2c", in: "team",
                    ports: [
                        ServicePort(name: "a", port: 1),
                        ServicePort(name: "b", port: 7000, appProtocol: "kubernetes.io/h2c"),
                    ]),
                service(
                    "app-http", in: "team",
                    ports: [
                        ServicePort(name: "a", port: 1),
                        ServicePort(name: "web", port: 81, appProtocol: "http"),
                    ]),
                service(
                    "only", in: "team",
                    ports: [
                        ServicePort(name: "dns", port: 53, protocol: "UDP"),
                        ServicePort(name: "web", port: 3000),
                    ]),
                service(
                    "annotated", in: "team",
                    ports: [ServicePort(name: "a", port: 1), ServicePort(name: "b", port: 2)],
                    annotations: [ClusterTree.portAnnotation: "b"]),
                service(
                    "by-number", in: "team",
                    ports: [ServicePort(name: "a", port: 1), ServicePort(name: "b", port: 2)],
                    annotations: [ClusterTree.portAnnotation: "1"]),
            ])
        let (tree, problems) = ClusterTree.build(snapshot)
        let built = try #require(tree)
        #expect(problems.isEmpty)
        let ports = Dictionary(
            uniqueKeysWithValues: built.space("team")!.services.map { ($0.service, $0.upstream.port) })
        #expect(
            ports == [
                "named": 8080, "grpc": 50051, "h2c": 7000, "app-http": 81, "only": 3000, "annotated": 2,
                "by-number": 1,
            ])
        let h2c = built.space("team")!.services.filter { $0.upstreamProtocol == .h2c }.map(\.service).sorted()
        #expect(h2c == ["grpc", "h2c"], "a grpc… port or appProtocol kubernetes.io/h2c is spoken to in h2c")
        #expect(built.instance("named", in: "team")?.upstreamProtocol == .auto)
    }

    @Test(
        "headless Services, Services with no usable port and a wrong annotation are reported, not guessed at")
    func unusableServices() throws {
        let snapshot = ClusterSnapshot(
            namespaces: [namespace("team")],
            services: [
                service("headless", in: "team", clusterIP: "None"),
                service(
                    "two", in: "team",
                    ports: [ServicePort(name: "a", port: 1), ServicePort(name: "b", port: 2)]),
                service("none", in: "team", ports: []),
                service(
                    "wrong", in: "team",
                    ports: [ServicePort(name: "a", port: 1), ServicePort(name: "b", port: 2)],
                    annotations: [ClusterTree.portAnnotation: "c"]),
                service("good", in: "team"),
            ])
        let (tree, problems) = ClusterTree.build(snapshot)
        let built = try #require(tree)
        #expect(built.space("team")?.services.map(\.service) == ["good"])
        #expect(
            problems == [
                .headless(service: "headless", namespace: "team"),
                .noUsablePort(service: "none", namespace: "team", ports: []),
                .noUsablePort(service: "two", namespace: "team", ports: ["a (1)", "b (2)"]),
                .annotatedPortMissing(service: "wrong", namespace: "team", port: "c"),
            ])
        #expect(
            problems[2].description
                == "Service team/two has ports a (1), b (2), none named http or grpc…; annotate spaceport.dev/port: NAME with the one to route to (it is left out)"
        )
    }

    @Test(
        "spaceport.dev/enabled \"false\" is an override turned off; another value is reported and taken as on"
    )
    func enabledAnnotation() throws {
        let snapshot = ClusterSnapshot(
            namespaces: [namespace("root"), namespace("team", parent: "root")],
            services: [
                service("web", in: "root"),
                service("web", in: "team", annotations: [ClusterTree.enabledAnnotation: "false"]),
                service("api", in: "team", annotations: [ClusterTree.enabledAnnotation: "no"]),
            ])
        let (tree, problems) = ClusterTree.build(snapshot)
        let built = try #require(tree)
        #expect(built.instance("web", in: "team")?.enabled == false)
        #expect(built.ownership(of: "web", in: "team").servedBy(in: "team") == "root")
        #expect(built.instance("api", in: "team")?.enabled == true)
        #expect(problems == [.badEnabled(service: "api", namespace: "team", value: "no")])
    }

    @Test("upstreams by cluster IP when asked, with the cluster domain otherwise")
    func naming() throws {
        let snapshot = ClusterSnapshot(
            namespaces: [namespace("team")], services: [service("web", in: "team", clusterIP: "10.0.0.7")])
        #expect(
            ClusterTree.build(snapshot, naming: .clusterIP).tree?.instance("web", in: "team")?.upstream
                == Address(host: "10.0.0.7", port: 80))
        #expect(
            ClusterTree.build(snapshot, naming: .clusterDNS(domain: "corp.internal")).tree?
                .instance("web", in: "team")?.upstream
                == Address(host: "web.team.svc.corp.internal", port: 80))
    }

    @Test("settings that name a space the cluster lacks refuse the tree whole")
    func invalidTree() {
        var settings = Settings()
        settings.defaultSpace = "main"
        let (tree, problems) = ClusterTree.build(
            ClusterSnapshot(namespaces: [namespace("team")], services: []), settings: settings)
        #expect(tree == nil)
        #expect(problems.count == 1)
        #expect(problems.first?.description.contains("the last good tree stays in effect") == true)
    }
}
