import Foundation
import SpaceportCore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `spaceport dash` in a real terminal: tmux runs it, curl sends requests, capture-pane
/// reads the screen, send-keys presses keys. Skipped only when tmux is not installed.
@Suite("The dashboard in a real terminal", .serialized)
struct DashboardEndToEndTests {
    @Test(
        "dash shows curl's requests with the spaces that served them, and a key flips an override in the file and the route",
        .enabled(if: Tools.tmux != nil, "tmux is not installed, so the dashboard cannot be run in a terminal")
    )
    func dashboardInTmux() async throws {
        let binary = try #require(
            Tools.spaceport,
            "no spaceport binary beside the tests; run `swift build --product spaceport` first")
        let curl = try #require(Tools.find("curl"), "curl is needed to send requests")
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let upstreamDefaultA = try TestUpstream(answer: "servicea@default")
        let upstreamDefaultB = try TestUpstream(answer: "serviceb@default")
        let upstreamMine = try TestUpstream(answer: "servicea@azureuser")
        defer {
            upstreamDefaultA.stop()
            upstreamDefaultB.stop()
            upstreamMine.stop()
        }
        let spaces = folder.path("spaces.yaml")
        try """
        # written by the dashboard end-to-end test
        spaces:
          default:
            services:
              servicea: { upstream: 127.0.0.1:\(upstreamDefaultA.port) }
              serviceb: { upstream: 127.0.0.1:\(upstreamDefaultB.port) }
          azureuser:
            parent: default
            services:
              servicea: { upstream: 127.0.0.1:\(upstreamMine.port) }

        """.write(toFile: spaces, atomically: true, encoding: .utf8)

        let terminal = Tmux(socket: folder.path("tmux.sock"))
        defer { terminal.killServer() }
        let runtime = folder.path("run")
        let exitFile = folder.path("exit-status")
        let command =
            "cd \(folder.root) && env LANG=C.UTF-8 XDG_RUNTIME_DIR=\(runtime) \(binary) dash --spaces spaces.yaml --ingress 127.0.0.1:0 --name e2e; echo $? > \(exitFile)"
        try terminal.start(command: command, width: 120, height: 40)

        let socket = runtime + "/spaceport/e2e.sock"
        try await eventually("the feed socket \(socket) appears", terminal: terminal) {
            FileManager.default.fileExists(atPath: socket)
        }
        let tail = try TailReader(binary: binary, socket: socket, output: folder.path("tail.jsonl"))
        defer { tail.stop() }
        let port = try await tail.ingressPort()

        let owned = try Curl.get(curl, "http://azureuser.s.default.servicea.localhost:\(port)/orders")
        #expect(owned.body == "servicea@azureuser")
        #expect(owned.route == "servicea@azureuser")
        let inherited = try Curl.get(curl, "http://azureuser.s.default.serviceb.localhost:\(port)/stock")
        #expect(inherited.body == "serviceb@default")
        let screen = try await eventually("both hops are on screen", terminal: terminal) { screen in
            screen.contains("servicea → azureuser") && screen.contains("serviceb → default ↑")
        }
        #expect(screen.contains("/orders"))
        #expect(screen.contains("/stock"))
        #expect(screen.contains("azureuser (host)"))
        try await eventually("spaceport tail sees the same hops", terminal: terminal) {
            tail.lines.contains { $0.contains("\"path\":\"/orders\"") }
                && tail.lines.contains { $0.contains("\"path\":\"/stock\"") }
        }

        try terminal.keys("j", "Tab")
        try await eventually("azureuser's services are focused", terminal: terminal) { screen in
            screen.contains("Services of azureuser") && screen.contains("● servicea owned")
        }
        try terminal.keys("Space")
        try await eventually("the override is off in the file", terminal: terminal) {
            ((try? String(contentsOfFile: spaces, encoding: .utf8)) ?? "").contains("enabled: false")
        }
        let file = try String(contentsOfFile: spaces, encoding: .utf8)
        #expect(file.contains("# written by the dashboard end-to-end test"))
        try await eventually("the services pane shows the override off", terminal: terminal) { screen in
            screen.contains("○ servicea inherited from default (own off)")
        }
        let after = try Curl.get(curl, "http://azureuser.s.default.servicea.localhost:\(port)/orders")
        #expect(after.body == "servicea@default")
        #expect(after.route == "servicea@default")
        try await eventually("the next hop shows the fallback", terminal: terminal) { screen in
            screen.contains("servicea → default ↑")
        }

        try terminal.keys("q")
        try await eventually("q ends the dashboard", terminal: terminal) {
            FileManager.default.fileExists(atPath: exitFile)
        }
        let status = try String(contentsOfFile: exitFile, encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
        #expect(status == "0")
    }

    @Test(
        "under more traffic than --sample-hops lets through, the status bar says the list is a sample and the rates still count every request",
        .enabled(if: Tools.tmux != nil, "tmux is not installed, so the dashboard cannot be run in a terminal")
    )
    func sampledUnderLoad() async throws {
        let binary = try #require(
            Tools.spaceport,
            "no spaceport binary beside the tests; run `swift build --product spaceport` first")
        let curl = try #require(Tools.find("curl"), "curl is needed to send requests")
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let upstream = try TestUpstream(answer: "servicea@default")
        defer { upstream.stop() }
        try """
        spaces:
          default:
            services:
              servicea: { upstream: 127.0.0.1:\(upstream.port) }

        """.write(toFile: folder.path("spaces.yaml"), atomically: true, encoding: .utf8)
        let terminal = Tmux(socket: folder.path("tmux.sock"))
        defer { terminal.killServer() }
        let runtime = folder.path("run")
        try terminal.start(
            command:
                "cd \(folder.root) && env LANG=C.UTF-8 XDG_RUNTIME_DIR=\(runtime) \(binary) dash --spaces spaces.yaml --ingress 127.0.0.1:0 --name sampled --sample-hops 2",
            width: 140, height: 30)
        let socket = runtime + "/spaceport/sampled.sock"
        try await eventually("the feed socket \(socket) appears", terminal: terminal) {
            FileManager.default.fileExists(atPath: socket)
        }
        let tail = try TailReader(binary: binary, socket: socket, output: folder.path("tail.jsonl"))
        defer { tail.stop() }
        let port = try await tail.ingressPort()

        // 100 requests in one curl, as fast as it sends them: far past 2 hops a second.
        let urls = (0..<100).map { "http://default.servicea.localhost:\(port)/load/\($0)" }
        let (status, _) = try Tools.run(curl, ["-s", "-o", "/dev/null", "--max-time", "60"] + urls)
        #expect(status == 0)
        // The piece appears only while the proxy leaves hops out; the tree's rate for the default
        // space counts all 100 requests over its five-second window: 20/s.
        try await eventually(
            "the status bar says the list is a sample, and the rate counts all 100", terminal: terminal
        ) {
            screen in
            screen.contains("sampled")
                && screen.split(separator: "\n").contains { $0.contains("default") && $0.contains(" 20/s") }
        }
        try await eventually(
            "spaceport tail, which did not ask for a sample, sees every hop", terminal: terminal
        ) {
            tail.lines.filter { $0.contains("\"phase\":\"end\"") && $0.contains("/load/") }.count == 100
        }
        try terminal.keys("q")
    }
}
