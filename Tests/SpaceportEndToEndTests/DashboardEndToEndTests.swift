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

        let dash = try await DashInTmux.start(in: folder, name: "e2e", width: 120, height: 40)
        defer { dash.stop() }
        let (terminal, tail, port) = (dash.terminal, dash.tail, dash.port)

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
            FileManager.default.fileExists(atPath: dash.exitFile)
        }
        let status = try String(contentsOfFile: dash.exitFile, encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
        #expect(status == "0")
    }

    @Test(
        "under more traffic than --sample-hops lets through, the status bar says the list is a sample and the rates still count every request",
        .enabled(if: Tools.tmux != nil, "tmux is not installed, so the dashboard cannot be run in a terminal")
    )
    func sampledUnderLoad() async throws {
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
        let dash = try await DashInTmux.start(
            in: folder, name: "sampled", arguments: ["--sample-hops", "2"], width: 140,
            height: 30)
        defer { dash.stop() }
        let (terminal, tail, port) = (dash.terminal, dash.tail, dash.port)

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

/// `spaceport dash` on `spaces.yaml` in `folder`, its proxy embedded, in a private tmux server,
/// and `spaceport tail` reading the same feed, which also tells the ingress port it chose.
struct DashInTmux {
    let terminal: Tmux
    let tail: TailReader
    let port: Int
    /// Where the dashboard's exit status is written once it ends.
    let exitFile: String

    static func start(
        in folder: TemporaryFolder, name: String, arguments: [String] = [], width: Int, height: Int
    ) async throws -> DashInTmux {
        let binary = try #require(
            Tools.spaceport,
            "no spaceport binary beside the tests; run `swift build --product spaceport` first")
        let terminal = Tmux(socket: folder.path("tmux.sock"))
        let runtime = folder.path("run")
        let exitFile = folder.path("exit-status")
        let options = (["--spaces", "spaces.yaml", "--ingress", "127.0.0.1:0", "--name", name] + arguments)
            .joined(separator: " ")
        do {
            try terminal.start(
                command:
                    "cd \(folder.root) && env LANG=C.UTF-8 XDG_RUNTIME_DIR=\(runtime) \(binary) dash \(options); echo $? > \(exitFile)",
                width: width, height: height)
            let socket = runtime + "/spaceport/\(name).sock"
            try await eventually("the feed socket \(socket) appears", terminal: terminal) {
                FileManager.default.fileExists(atPath: socket)
            }
            let tail = try TailReader(binary: binary, socket: socket, output: folder.path("tail.jsonl"))
            do {
                return DashInTmux(
                    terminal: terminal, tail: tail, port: try await tail.ingressPort(), exitFile: exitFile)
            } catch {
                tail.stop()
                throw error
            }
        } catch {
            terminal.killServer()
            throw error
        }
    }

    func stop() {
        tail.stop()
        terminal.killServer()
    }
}
