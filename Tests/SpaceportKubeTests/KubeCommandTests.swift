import Foundation
import SpaceportKubeTestSupport
import SpaceportTestSupport
import Testing

@Suite("The commands with --kube, run as a user runs them", .serialized)
struct KubeCommandTests {
    private func spaceport(_ arguments: [String]) async throws -> ProcessOutput {
        let binary = try BuiltSpaceport.require()
        return try await blocking { try run(binary, arguments) }
    }

    @Test("tree --kube prints the cluster's tree and says on stderr what it left out")
    func tree() async throws {
        let fixture = try await KubeFixture.start()
        defer { Task { await fixture.api.stop() } }
        fixture.seed()
        fixture.api.putNamespace(
            "stray", labels: ["azds.io/space": "true", "azds.io/parent-space": "nowhere"])
        let output = try await spaceport(["tree", "--kube", "--kubeconfig", fixture.kubeconfig])
        #expect(output.status == 0, "\(output.stderr)")
        let lines = output.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("default") == true, "\(output.stdout)")
        #expect(lines.contains { $0.hasPrefix("    alice") }, "\(output.stdout)")
        #expect(
            lines.contains { $0.contains("✓ serviceb") && $0.contains("serviceb.alice.svc.cluster.local:80") }
        )
        #expect(!output.stdout.contains("kube-system") && !output.stdout.contains("stray"))
        #expect(
            output.stderr.contains(
                "spaceport: note: namespace stray: its azds.io/parent-space 'nowhere' is no namespace labelled azds.io/space=true"
            ), "\(output.stderr)")
    }

    @Test("route --kube explains a request against the cluster's tree")
    func route() async throws {
        let fixture = try await KubeFixture.start()
        defer { Task { await fixture.api.stop() } }
        fixture.seed()
        let output = try await spaceport([
            "route", "--kube", "--kubeconfig", fixture.kubeconfig, "http://serviceb/", "-H",
            "azds-route-as: team",
        ])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.contains("serviceb.default.svc.cluster.local:80"), "\(output.stdout)")
    }

    @Test(
        "route --kube routes each cluster form of a name as its short name, route-as from the carriers",
        arguments: [
            "http://serviceb.team.svc.cluster.local/", "http://serviceb.team.svc/", "http://serviceb.team/",
            "http://serviceb.default.svc.cluster.local:80/",
        ])
    func clusterForms(url: String) async throws {
        let fixture = try await KubeFixture.start()
        defer { Task { await fixture.api.stop() } }
        fixture.seed()
        let asAlice = try await spaceport([
            "route", "--kube", "--kubeconfig", fixture.kubeconfig, url, "-H", "azds-route-as: alice",
            "--json",
        ])
        #expect(asAlice.status == 0, "\(asAlice.stderr)")
        #expect(try upstream(asAlice.stdout) == "serviceb.alice.svc.cluster.local:80", "\(asAlice.stdout)")
        // Without a carrier the namespace in the name does not route as it: default space.
        let bare = try await spaceport(["route", "--kube", "--kubeconfig", fixture.kubeconfig, url, "--json"])
        #expect(bare.status == 0, "\(bare.stderr)")
        #expect(try upstream(bare.stdout) == "serviceb.default.svc.cluster.local:80", "\(bare.stdout)")
    }

    /// The `upstream` of `route --json`'s answer.
    private func upstream(_ json: String) throws -> String? {
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        return object?["upstream"] as? String
    }

    @Test("override --kube annotates the Service; a forbidden one says what RBAC is missing")
    func override() async throws {
        let fixture = try await KubeFixture.start()
        defer { Task { await fixture.api.stop() } }
        fixture.seed()
        let off = try await spaceport([
            "override", "--kube", "--kubeconfig", fixture.kubeconfig, "alice", "serviceb", "off",
        ])
        #expect(off.status == 0, "\(off.stderr)")
        #expect(
            fixture.api.annotations(ofService: "serviceb", namespace: "alice")?["spaceport.dev/enabled"]
                == "false")
        fixture.api.forbidPatches = true
        let refused = try await spaceport([
            "override", "--kube", "--kubeconfig", fixture.kubeconfig, "alice", "serviceb", "on",
        ])
        #expect(refused.status == 1)
        #expect(
            refused.stderr.hasPrefix(
                "spaceport: error: forbidden: the account may not patch services in namespace alice"),
            "\(refused.stderr)")
        let unknown = try await spaceport([
            "override", "--kube", "--kubeconfig", fixture.kubeconfig, "nobody", "serviceb", "on",
        ])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("nobody"), "\(unknown.stderr)")
    }

    @Test("--context without --kube is a usage error, and a context the kubeconfig lacks says which it has")
    func flags() async throws {
        let fixture = try await KubeFixture.start()
        defer { Task { await fixture.api.stop() } }
        let usage = try await spaceport(["tree", "--context", "prod"])
        #expect(usage.status == 64)
        #expect(usage.stderr.contains("go with --kube"), "\(usage.stderr)")
        let wrong = try await spaceport([
            "tree", "--kube", "--kubeconfig", fixture.kubeconfig, "--context", "prod",
        ])
        #expect(wrong.status == 1)
        #expect(
            wrong.stderr
                == "spaceport: error: \(fixture.kubeconfig): no context 'prod' (it has stand-in); `kubectl config get-contexts` lists them\n",
            "\(wrong.stderr)")
    }
}
