import Foundation
import SpaceportCore
import SpaceportTestSupport
import Testing
import Yams

/// `spaceport kube manifests`, read back as `kubectl apply` would read it.
@Suite("The cluster's manifests and cluster names on the command line", .serialized)
struct KubeManifestsTests {
    /// The printed documents, for the flags given; the feed token comes from a file only the test reads.
    func manifests(_ flags: [String] = []) throws -> (documents: [[String: Any]], token: String, text: String)
    {
        let space = try Workspace()
        defer { space.remove() }
        let token = FeedTokenFixture.token
        let tokenFile = space.folder.appendingPathComponent("feed.token").path
        FileManager.default.createFile(
            atPath: tokenFile, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600])
        let run = try space.run(["kube", "manifests", "--feed-token-file", tokenFile] + flags)
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout.hasPrefix("---\n"), "each document opens with ---")
        let documents = try Yams.load_all(yaml: run.stdout).map { try #require($0 as? [String: Any]) }
        return (documents, token, run.stdout)
    }

    func document(_ kind: String, in documents: [[String: Any]], name: String? = nil) throws -> [String: Any]
    {
        try #require(
            documents.first {
                $0["kind"] as? String == kind && (name == nil || metadata($0)["name"] as? String == name)
            }, "no \(kind)")
    }

    func metadata(_ document: [String: Any]) -> [String: Any] {
        document["metadata"] as? [String: Any] ?? [:]
    }

    func dig(_ value: Any?, _ path: String...) -> Any? {
        path.reduce(value) { node, key in
            if let index = Int(key) { return (node as? [Any]).flatMap { index < $0.count ? $0[index] : nil } }
            return (node as? [String: Any])?[key]
        }
    }

    @Test(
        "the ClusterRole grants exactly get, list and watch on namespaces and get, list, watch and patch on services"
    )
    func clusterRole() throws {
        let (documents, _, _) = try manifests()
        let role = try document("ClusterRole", in: documents)
        let rules = try #require(role["rules"] as? [[String: Any]])
        var granted: [String: Set<String>] = [:]
        for rule in rules {
            #expect(rule["apiGroups"] as? [String] == [""], "only the core API group")
            #expect(rule["resourceNames"] == nil && rule["nonResourceURLs"] == nil)
            for resource in rule["resources"] as? [String] ?? [] {
                granted[resource, default: []].formUnion(rule["verbs"] as? [String] ?? [])
            }
        }
        #expect(
            granted == [
                "namespaces": ["get", "list", "watch"], "services": ["get", "list", "watch", "patch"],
            ])
        let settingsRole = try document("Role", in: documents)
        #expect(metadata(settingsRole)["namespace"] as? String == "spaceport")
        #expect(
            settingsRole["rules"] as? [[String: [String]]] == [
                [
                    "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["spaceport-settings"],
                    "verbs": ["get"],
                ]
            ])
        for (kind, roleKind) in [("ClusterRoleBinding", "ClusterRole"), ("RoleBinding", "Role")] {
            let binding = try document(kind, in: documents)
            #expect(dig(binding, "roleRef", "kind") as? String == roleKind)
            #expect(
                dig(binding, "roleRef", "name") as? String == metadata(try document(roleKind, in: documents))[
                    "name"] as? String)
            #expect(dig(binding, "subjects", "0", "name") as? String == "spaceport")
            #expect(dig(binding, "subjects", "0", "namespace") as? String == "spaceport")
        }
        let kinds = documents.compactMap { $0["kind"] as? String }
        #expect(
            kinds == [
                "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding",
                "ConfigMap",
                "Secret", "Deployment", "Service", "Ingress",
            ])
    }

    @Test(
        "the proxy runs as no one in particular: non-root, read-only, no privilege, no capability, the runtime's seccomp"
    )
    func securityContext() throws {
        let (documents, _, _) = try manifests()
        let pod = try #require(
            dig(try document("Deployment", in: documents), "spec", "template", "spec") as? [String: Any])
        #expect(dig(pod, "securityContext", "runAsNonRoot") as? Bool == true)
        #expect((dig(pod, "securityContext", "runAsUser") as? Int ?? 0) > 0)
        #expect(dig(pod, "serviceAccountName") as? String == "spaceport")
        let containers =
            (pod["containers"] as? [[String: Any]] ?? []) + (pod["initContainers"] as? [[String: Any]] ?? [])
        #expect(containers.count == 2)
        for container in containers {
            let context = try #require(container["securityContext"] as? [String: Any])
            #expect(context["runAsNonRoot"] as? Bool == true)
            #expect(context["readOnlyRootFilesystem"] as? Bool == true)
            #expect(context["allowPrivilegeEscalation"] as? Bool == false)
            #expect(dig(context, "capabilities", "drop") as? [String] == ["ALL"])
            #expect(dig(context, "capabilities", "add") == nil)
            #expect(dig(context, "seccompProfile", "type") as? String == "RuntimeDefault")
            #expect(dig(container, "resources", "requests", "memory") != nil)
            #expect(dig(container, "resources", "limits", "memory") != nil)
        }
    }

    @Test("--image, --namespace, --domain and --feed-port reach every document that names them")
    func flags() throws {
        let (documents, token, text) = try manifests([
            "--namespace", "team-proxy", "--image", "registry.test/spaceport:9", "--domain",
            "Dev.Example.Test",
            "--feed-port", "7443", "--default-space", "team",
        ])
        #expect(metadata(try document("Namespace", in: documents))["name"] as? String == "team-proxy")
        for document in documents where document["kind"] as? String != "Namespace" {
            let kind = document["kind"] as? String ?? ""
            let namespaced = !["ClusterRole", "ClusterRoleBinding"].contains(kind)
            #expect(
                (metadata(document)["namespace"] as? String) == (namespaced ? "team-proxy" : nil), "\(kind)")
        }
        let pod = dig(try document("Deployment", in: documents), "spec", "template", "spec")
        #expect(dig(pod, "containers", "0", "image") as? String == "registry.test/spaceport:9")
        #expect(dig(pod, "initContainers", "0", "image") as? String == "registry.test/spaceport:9")
        let args = try #require(dig(pod, "containers", "0", "args") as? [String])
        #expect(Array(args.prefix(2)) == ["proxy", "--kube"])
        #expect(args.contains("--feed-tcp") && args[args.firstIndex(of: "--feed-tcp")! + 1] == "0.0.0.0:7443")
        #expect(args.contains("--ingress") && args.contains("--admin") && args.contains("--admin-token-file"))
        let env = try #require(dig(pod, "containers", "0", "env") as? [[String: Any]])
        let feedToken = try #require(env.first { $0["name"] as? String == "SPACEPORT_FEED_TOKEN" })
        let secretName = dig(feedToken, "valueFrom", "secretKeyRef", "name") as? String
        let secretKey = try #require(dig(feedToken, "valueFrom", "secretKeyRef", "key") as? String)
        let secret = try document("Secret", in: documents, name: secretName)
        #expect(
            dig(secret, "stringData", secretKey) as? String == token,
            "the Secret holds the token file's token")
        let servicePorts = try #require(
            dig(try document("Service", in: documents), "spec", "ports") as? [[String: Any]])
        #expect(servicePorts.contains { $0["name"] as? String == "feed" && $0["port"] as? Int == 7443 })
        #expect(Set(servicePorts.compactMap { $0["name"] as? String }) == ["http", "feed", "admin"])
        let ingress = try document("Ingress", in: documents)
        #expect(dig(ingress, "spec", "rules", "0", "host") as? String == "*.dev.example.test")
        #expect(
            dig(ingress, "spec", "rules", "0", "http", "paths", "0", "backend", "service", "port", "name")
                as? String == "http")
        let configMap = try document("ConfigMap", in: documents, name: "spaceport-settings")
        let settingsText = try #require(dig(configMap, "data", "settings.yaml") as? String)
        let settings = try #require(try Yams.load(yaml: settingsText) as? [String: Any])
        #expect(Set(settings.keys) == ["route_header", "domain", "default_space", "limits", "propagation"])
        let read = try SpacesFile.parse(text: settingsText + "spaces:\n  team: {}\n", file: "settings.yaml")
        #expect(read.settings.defaultSpace == "team")
        #expect(read.settings.domain == "dev.example.test")
        #expect(read.settings.routeHeader == Settings.defaultRouteHeader)
        #expect(
            read.settings.propagation == Settings().propagation && read.settings.limits == Settings().limits)
        #expect(!text.contains("spaces:"))
    }

    @Test(
        "without --default-space the settings name none, so they read back over a tree with no space 'default'"
    )
    func settingsWithoutDefaultSpace() throws {
        let (documents, _, _) = try manifests()
        let configMap = try document("ConfigMap", in: documents, name: "spaceport-settings")
        let settingsText = try #require(dig(configMap, "data", "settings.yaml") as? String)
        let read = try SpacesFile.parse(text: settingsText + "spaces:\n  team: {}\n", file: "settings.yaml")
        #expect(read.settings == Settings())
        #expect(
            settingsText.hasPrefix("route_header: azds-route-as\ndomain: localhost\nlimits:\n"),
            "\(settingsText)")
    }

    @Test("the probes name paths the admin listener answers, without the token a kubelet cannot send")
    func probes() async throws {
        let (documents, _, _) = try manifests()
        let container = dig(
            try document("Deployment", in: documents), "spec", "template", "spec", "containers", "0")
        let ports = try #require(dig(container, "ports") as? [[String: Any]])
        let args = try #require(dig(container, "args") as? [String])
        let adminAddress = try #require(args.firstIndex(of: "--admin").map { args[$0 + 1] })
        var paths: [String] = []
        for probe in ["readinessProbe", "livenessProbe"] {
            let port = try #require(dig(container, probe, "httpGet", "port") as? String)
            let named = try #require(
                ports.first { $0["name"] as? String == port }, "\(probe) names the port \(port)")
            #expect(
                adminAddress.hasSuffix(":\(named["containerPort"] as? Int ?? 0)"),
                "\(probe) probes the admin listener")
            paths.append(try #require(dig(container, probe, "httpGet", "path") as? String))
        }
        #expect(paths == ["/readyz", "/healthz"])

        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let spaces = folder.path("spaces.yaml")
        try "spaces:\n  default:\n    services:\n      servicea: 127.0.0.1:1\n".write(
            toFile: spaces, atomically: true, encoding: .utf8)
        let tokenFile = folder.path("admin.token")
        FileManager.default.createFile(
            atPath: tokenFile, contents: Data("s3cret\n".utf8), attributes: [.posixPermissions: 0o600])
        let proxy = try LoggingProxy(
            [
                "--spaces", spaces, "--ingress", "127.0.0.1:0", "--admin", "127.0.0.1:0",
                "--admin-token-file", tokenFile,
            ],
            in: folder)
        defer { proxy.stop() }
        let admin = try await proxy.port(after: "admin listening on")
        for path in paths {
            let answer = try await curl(["http://127.0.0.1:\(admin)\(path)"])
            #expect(answer.hasPrefix("HTTP/1.1 200"), "\(path): \(answer)")
        }
        let tree = try await curl(["http://127.0.0.1:\(admin)/tree"])
        #expect(tree.hasPrefix("HTTP/1.1 401"), "everything else still needs the token: \(tree)")
    }

    @Test(
        "the Dockerfile's user is the one the pod runs as, and it installs the package list interop/static proves"
    )
    func imageMatches() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let dockerfile = try String(contentsOf: root.appendingPathComponent("Dockerfile"), encoding: .utf8)
        let (documents, _, _) = try manifests()
        let uid = try #require(
            dig(
                try document("Deployment", in: documents), "spec", "template", "spec", "securityContext",
                "runAsUser")
                as? Int)
        #expect(dockerfile.contains("\nUSER \(uid):\(uid)\n"), "the image runs as \(uid)")
        #expect(dockerfile.contains("--uid \(uid)"))
        #expect(dockerfile.contains("COPY image/packages "), "the runtime stage installs image/packages")
        #expect(dockerfile.contains("--static-swift-stdlib --product spaceport"))
        #expect(dockerfile.contains("ENTRYPOINT [\"spaceport\"]"))
        let script = try String(
            contentsOf: root.appendingPathComponent("interop/static/run"), encoding: .utf8)
        #expect(script.contains("image/packages") && script.contains("user=\(uid)"))
    }

    @Test("a namespace or domain that is no DNS name, or a feed port the pod already uses, is refused")
    func badFlags() throws {
        let space = try Workspace()
        defer { space.remove() }
        for (flags, message) in [
            (["--namespace", "Team_A"], "--namespace 'Team_A' is not a namespace name"),
            (["--domain", "dev..test"], "--domain 'dev..test' is not a DNS name"),
            (["--feed-port", "9090"], "--feed-port 9090 is not a free port"),
        ] {
            let run = try space.run(["kube", "manifests"] + flags)
            #expect(run.status == 64, "\(run)")
            #expect(run.stderr.contains(message), "\(run)")
            #expect(run.stdout.isEmpty)
        }
    }

    @Test("spaceport route explains a cluster name: the service, the namespace, and route-as from elsewhere")
    func routeClusterName() throws {
        let space = try Workspace()
        defer { space.remove() }
        _ = try space.run("init")
        let run = try space.run(
            "route", "http://serviceb.default.svc.cluster.local/", "-H", "azds-route-as: azureuser")
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout.contains("service    serviceb\n"), "\(run.stdout)")
        #expect(
            run.stdout.contains(
                "namespace  default (a space, from the cluster name; a namespace never sets route-as)"),
            "\(run.stdout)")
        #expect(run.stdout.contains("route-as   azureuser (from the azds-route-as header)"), "\(run.stdout)")
        #expect(run.stdout.contains("served by  default at 127.0.0.1:5002"), "\(run.stdout)")
        let json = try space.run("route", "--json", "serviceb.default.svc:80")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["namespace"] as? String == "default" && object["service"] as? String == "serviceb")
        let outside = try space.run("route", "http://serviceb.kube-system.svc.cluster.local/")
        #expect(outside.status == 1)
        #expect(
            outside.stderr.contains("as a cluster name its namespace 'kube-system' is no space"), "\(outside)"
        )
    }
}

enum FeedTokenFixture {
    /// A token as `FeedToken.generate` makes them: 64 hex digits.
    static let token = String(repeating: "0123456789abcdef", count: 4)
}
