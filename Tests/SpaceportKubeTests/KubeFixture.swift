import Foundation
import Logging
import SpaceportCore
import SpaceportKube
import SpaceportKubeTestSupport
import SpaceportTestSupport

/// A stand-in API server, a folder, and a kubeconfig pointing at the server with a token.
struct KubeFixture {
    static let token = "stand-in-token-1"

    let api: StandInAPIServer
    let folder: String
    let kubeconfig: String

    static func start(user: String = "token: \(KubeFixture.token)") async throws -> KubeFixture {
        let api = try await StandInAPIServer.start(tokens: [token])
        let folder = temporaryFolder("kube")
        let kubeconfig = try api.kubeconfig(in: folder, user: user)
        return KubeFixture(api: api, folder: folder, kubeconfig: kubeconfig)
    }

    func access() throws -> ClusterAccess {
        try ClusterAccess.find(kubeconfig: kubeconfig, context: nil, environment: ["HOME": folder])
    }

    /// A source with quick retries and a short silence limit, for tests.
    func source(
        naming: UpstreamNaming = .standard, silence: Duration = .seconds(20), settings: Settings = Settings()
    ) throws -> ClusterSource {
        var options = ClusterSource.Options()
        options.backoff = Backoff(base: .milliseconds(20), cap: .milliseconds(200))
        options.naming = naming
        let logger = Logger(label: "test.kube")
        return ClusterSource(
            client: KubeClient(access: try access(), silence: silence, logger: logger), settings: settings,
            options: options, logger: logger)
    }

    /// Namespaces default ← team ← alice, with serviceb in default and alice.
    func seed() {
        api.putNamespace("default", labels: ["azds.io/space": "true"])
        api.putNamespace("team", labels: ["azds.io/space": "true", "azds.io/parent-space": "default"])
        api.putNamespace("alice", labels: ["azds.io/space": "true", "azds.io/parent-space": "team"])
        api.putNamespace("kube-system")
        api.putService("serviceb", namespace: "default")
        api.putService("serviceb", namespace: "alice")
        api.putService(
            "kube-dns", namespace: "kube-system", ports: [["name": "dns", "port": 53, "protocol": "UDP"]])
    }
}

/// Waits until `condition` holds, checking every 20 ms, for `seconds` at most (a loaded machine is slow).
func eventually(_ what: String, within seconds: Double = 60, _ condition: () async throws -> Bool)
    async throws
{
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TestFailure("waited \(seconds) s for \(what)")
}
