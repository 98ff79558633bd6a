import Foundation
import SpaceportKubeTestSupport
import Testing

/// `spaceport dash --kube` in a real terminal, on the stand-in API server.
@Suite("The dashboard on a cluster, in a real terminal", .serialized)
struct KubeDashboardEndToEndTests {
    @Test(
        "dash --kube says which cluster and that the watch is live; an override toggled patches the Service, shows pending until the watch brings it, and the next hop goes to the parent"
    )
    func overrideFromDashboard() async throws {
        let curl = try RequiredTool.curl.path()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let upstreamDefault = try TestUpstream(answer: "serviceb@default")
        let upstreamTeam = try TestUpstream(answer: "serviceb@team")
        defer {
            upstreamDefault.stop()
            upstreamTeam.stop()
        }
        let api = try await StandInAPIServer.start(tokens: ["e2e-token"])
        defer { Task { await api.stop() } }
        api.putNamespace("default", labels: ["azds.io/space": "true"])
        api.putNamespace("team", labels: ["azds.io/space": "true", "azds.io/parent-space": "default"])
        api.putService(
            "serviceb", namespace: "default", ports: [["name": "http", "port": upstreamDefault.port]],
            clusterIP: "127.0.0.1")
        api.putService(
            "serviceb", namespace: "team", ports: [["name": "http", "port": upstreamTeam.port]],
            clusterIP: "127.0.0.1")
        let kubeconfig = try api.kubeconfig(in: folder.root, user: "token: e2e-token")

        let dash = try await DashInTmux.start(
            in: folder, name: "kube-e2e",
            arguments: ["--kube", "--kubeconfig", kubeconfig, "--upstream-host", "cluster-ip"], width: 160,
            height: 40)
        defer { dash.stop() }
        let (terminal, port) = (dash.terminal, dash.port)
        try await eventually("the status bar names the cluster and the live watch", terminal: terminal) {
            screen in
            screen.contains("cluster stand-in @ 127.0.0.1:\(api.port)") && screen.contains("watch live")
        }
        #expect(try Curl.get(curl, "http://team.s.serviceb.localhost:\(port)/").body == "serviceb@team")

        try terminal.keys("j", "Tab")
        try await eventually("team's services are focused", terminal: terminal) { screen in
            screen.contains("Services of team") && screen.contains("● serviceb owned")
        }
        try await eventually("the dashboard watches the Services", terminal: terminal) {
            api.openWatches(.services) == 1
        }
        api.hold()
        try terminal.keys("Space")
        try await eventually("the Service is annotated", terminal: terminal) {
            api.annotations(ofService: "serviceb", namespace: "team")?["spaceport.dev/enabled"] == "false"
        }
        // The row's mark lasts until the watch confirms (the note beside it goes after a few seconds).
        let pending = try await eventually("the override shows pending", terminal: terminal) { screen in
            screen.split(separator: "\n").contains { $0.contains("serviceb") && $0.contains(" pending ") }
        }
        #expect(
            pending.contains("● serviceb owned"),
            "the tree is the watch's, not the toggle's, until it confirms")
        #expect(try Curl.get(curl, "http://team.s.serviceb.localhost:\(port)/").body == "serviceb@team")
        api.release()
        try await eventually("the watch confirms it", terminal: terminal) { screen in
            screen.contains("○ serviceb inherited from default (own off)") && !screen.contains(" pending ")
        }
        let after = try Curl.get(curl, "http://team.s.serviceb.localhost:\(port)/")
        #expect(after.body == "serviceb@default")
        #expect(after.route == "serviceb@default")

        api.forbidPatches = true
        try terminal.keys("Space")
        try await eventually("a forbidden toggle says what RBAC is missing", terminal: terminal) { screen in
            // The message box wraps the sentence: its start, and the advice further on.
            screen.contains("forbidden: the account may not patch services in namespace")
                && screen.contains("grant 'patch' on 'services'")
        }
        try terminal.keys("Escape", "q")
        try await eventually("q ends the dashboard", terminal: terminal) {
            FileManager.default.fileExists(atPath: dash.exitFile)
        }
    }
}
