import Foundation
import SpaceportCore
import SpaceportWire
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `spaceport demo` as a newcomer meets it: a real terminal under tmux, nothing else set up.
@Suite("The demo in a real terminal", .serialized)
struct DemoEndToEndTests {
    @Test(
        "the demo shows three levels of spaces and routed hops within seconds, and a key turns azureuser's servicea off so default serves it"
    )
    func demoInTmux() async throws {
        _ = try RequiredTool.tmux.path()
        // The demo prefers 5002 for default's serviceb: held here (or by someone else), it must move.
        let held = PortHolder(port: 5002)
        defer { withExtendedLifetime(held) {} }
        let demo = try DemoTerminal(name: "e2edemo", width: 130)
        defer { demo.stop() }
        let (terminal, folder, exitFile) = (demo.terminal, demo.folder, demo.exitFile)

        try await eventually("the tree shows three levels", terminal: terminal) { screen in
            screen.contains("default") && screen.contains("└─azureuser") && screen.contains("└─hotfix")
        }
        let hops = try await eventually(
            "hops served by servicea@azureuser and serviceb@default", terminal: terminal, within: 10
        ) {
            screen in
            screen.contains("servicea → azureuser") && screen.contains("serviceb → default ↑")
        }
        #expect(hops.contains("azureuser (host)"), "the hop list says where route-as came from")
        #expect(hops.contains("traffic on, g stops it"), "the status bar says the traffic generator runs")
        try await eventually(
            "the greeter's gRPC calls show with their method and status name", terminal: terminal, within: 15
        ) { screen in
            let lines = screen.split(separator: "\n")
            return lines.contains {
                $0.contains("gRPC") && $0.contains("greeter → default") && $0.contains("NOT_FOUND")
            }
                && lines.contains {
                    $0.contains("gRPC") && $0.contains("greeter → azureuser") && $0.contains(" OK ")
                }
        }
        let bar = String(hops.split(separator: "\n").last ?? "")
        // Lowest first: 5002 is named even when 5001 moved too.
        #expect(
            bar.contains("ports ") && bar.contains("5002→"),
            "the status bar says which services moved off their ports: \(bar)")

        try terminal.keys("j", "j", "d")
        let question = try await eventually("d asks before deleting hotfix", terminal: terminal) {
            $0.contains("Delete space hotfix")
        }
        #expect(question.contains("Delete space hotfix and its instances?"))
        #expect(!question.contains("spaces file"), "the demo has no spaces file:\n\(question)")
        try terminal.keys("n", "k", "Tab")
        try await eventually("azureuser's services are focused", terminal: terminal) { screen in
            screen.contains("Services of azureuser") && screen.contains("● servicea owned")
        }
        try terminal.keys("Space")
        try await eventually("the services pane shows azureuser's override off", terminal: terminal) {
            screen in
            screen.contains("○ servicea inherited from default (own off)")
        }
        try await eventually(
            "a request routed as azureuser is now served by servicea@default", terminal: terminal
        ) {
            screen in
            screen.split(separator: "\n").contains { line in
                line.contains("azureuser.s.default.") && line.contains("servicea → default ↑")
            }
        }
        #expect(
            !FileManager.default.fileExists(atPath: folder.path("spaces.yaml")),
            "the demo writes nothing unless asked")

        // A request's hops, opened: the request as it came in first, then the calls it made.
        try terminal.keys("Tab", "/", "service:servicea", "Enter")
        try await eventually("the filter applies", terminal: terminal) {
            $0.contains("filter service:servicea")
        }
        try terminal.keys("Enter")
        let detail = try await eventually("the hop opens with its flow of three", terminal: terminal) {
            $0.contains("3 hops")
        }
        let lines = detail.split(separator: "\n").map(String.init)
        let ingress = try #require(lines.firstIndex { $0.contains(" ingress GET servicea") }, "\(detail)")
        let calls = lines.indices.filter {
            lines[$0].contains(" egress:") && lines[$0].contains(" GET service")
        }
        #expect(
            calls.count == 2 && calls.allSatisfy { $0 > ingress }, "the flow is ordered by start:\n\(detail)")
        let title = { (screen: String) in
            screen.split(separator: "\n").first { $0.contains("Hop ") && $0.contains("(Esc back)") }.map(
                String.init)
        }
        let first = try #require(title(detail))
        try terminal.keys("j", "Enter")
        let second = try await eventually("Enter opens the call selected in the flow", terminal: terminal) {
            title($0) != nil && title($0) != first
        }
        #expect(second.contains("egress:"))
        try terminal.keys("Escape")
        try await eventually("Esc goes back to the hop opened before", terminal: terminal) {
            title($0) == first
        }
        try terminal.keys("Escape")
        try await eventually("Esc again goes back to the list", terminal: terminal) { title($0) == nil }

        try terminal.keys("q")
        try await eventually("q ends the demo", terminal: terminal) {
            FileManager.default.fileExists(atPath: exitFile)
        }
        let status = try String(contentsOfFile: exitFile, encoding: .utf8)
        #expect(status.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    @Test(
        "the demo's r key takes servicea@azureuser from losing the route to trace memory restoring it to passing it on, as spaceport tail --json reports and the status bar says"
    )
    func forgetfulServiceInTmux() async throws {
        let demo = try DemoTerminal(name: "e2eforget", width: 200)
        defer { demo.stop() }
        let (terminal, folder, exitFile) = (demo.terminal, demo.folder, demo.exitFile)
        try await eventually("the status bar says what servicea@azureuser passes on", terminal: terminal) {
            $0.contains("servicea@azureuser passes on nothing, r cycles")
        }
        let tail = try TailReader(
            binary: demo.binary, socket: demo.feedSocket, output: folder.path("tail.jsonl"))
        defer { tail.stop() }
        /// servicea@azureuser's calls that `spaceport tail --json` printed from line `start` on.
        func calls(from start: Int) -> [HopEvent] {
            tail.lines.dropFirst(start).compactMap { line in
                guard case .hop(let hop)? = try? FeedEvent.decode(line: line), hop.phase == .end,
                    hop.listener == "egress:azureuser/servicea"
                else { return nil }
                return hop
            }
        }

        try await eventually("tail reports a lost hop", terminal: terminal) {
            calls(from: 0).contains { $0.propagation == .lost }
        }
        let lost = try #require(calls(from: 0).first { $0.propagation == .lost })
        #expect(lost.lostBy == HopCaller(space: "azureuser", service: "servicea"))
        #expect(lost.expected == "hotfix")
        #expect(lost.space == "default", "the call missed hotfix's serviceb")

        var pressed = tail.lines.count
        try terminal.keys("r")
        try await eventually("a note says what the key changed", terminal: terminal) {
            $0.contains("servicea@azureuser passes on only traceparent: trace memory restores the route")
        }
        // The note goes after a few seconds, and the status bar has room for the service again.
        try await eventually("the status bar says only traceparent goes on", terminal: terminal) {
            $0.contains("servicea@azureuser passes on only traceparent, r cycles")
        }
        try await eventually("tail reports the calls restored, the hotfix ones in hotfix", terminal: terminal)
        {
            calls(from: pressed).filter { $0.propagation == .restored }.count >= 2
                && calls(from: pressed).contains { $0.routeAs == "hotfix" && $0.propagation == .restored }
        }
        let afterTraceparent = calls(from: pressed)
        let firstRestored = try #require(afterTraceparent.firstIndex { $0.propagation == .restored })
        #expect(
            !afterTraceparent[firstRestored...].contains { $0.propagation == .lost },
            "no call is lost once traceparent goes on")
        let hotfix = try #require(
            afterTraceparent.first { $0.routeAs == "hotfix" && $0.propagation == .restored })
        #expect(hotfix.space == "hotfix")
        #expect(hotfix.routeAsSource == .trace)

        pressed = tail.lines.count
        try terminal.keys("r")
        try await eventually("the status bar says the route goes on", terminal: terminal) {
            $0.contains("servicea@azureuser passes on everything, r cycles")
        }
        try await eventually("tail reports a hotfix call carried by its route header", terminal: terminal) {
            calls(from: pressed).contains { $0.routeAs == "hotfix" && $0.routeAsSource == .header }
        }
        let carried = try #require(
            calls(from: pressed).first { $0.routeAs == "hotfix" && $0.routeAsSource == .header })
        #expect(carried.space == "hotfix")
        #expect(carried.propagation == .bridged)

        try terminal.keys("q")
        try await eventually("q ends the demo", terminal: terminal) {
            FileManager.default.fileExists(atPath: exitFile)
        }
    }
}

/// The flows view on the demo, and a replay as another space, in a real terminal.
@Suite("Flows and replays in the demo", .serialized)
struct DemoFlowsEndToEndTests {
    @Test(
        "the flows view shows servicea → serviceb → servicec as one tree with its spaces and fallbacks, and a replay as hotfix of a request routed as azureuser is a second flow whose serviceb runs in hotfix"
    )
    func flowsAndReplay() async throws {
        let curl = try RequiredTool.curl.path()
        let demo = try DemoTerminal(name: "e2eflows", width: 200)
        defer { demo.stop() }
        let terminal = demo.terminal
        let ready = try await eventually("the demo runs", terminal: terminal) { screen in
            screen.contains("└─hotfix") && screen.contains("ingress 127.0.0.1:")
        }
        let ingress = try #require(ready.range(of: "ingress 127.0.0.1:"))
        let port = try #require(Int(ready[ingress.upperBound...].prefix { $0.isNumber }), "\(ready)")
        // servicea@azureuser starts out dropping the route: cycle it to passing everything on.
        try terminal.keys("r", "r")
        try await eventually("servicea passes the route on", terminal: terminal) {
            $0.contains("passes on everything")
        }
        try terminal.keys("g")
        try await eventually("the traffic stops", terminal: terminal) { $0.contains("traffic off") }
        try await Task.sleep(for: .seconds(1))
        let answer = try Curl.get(curl, "http://azureuser.s.default.servicea.localhost:\(port)/flow-e2e")
        #expect(answer.route == "servicea@azureuser")

        // hotfix selected in the tree: the space a replay defaults to.
        try terminal.keys("j", "j")
        try await eventually("hotfix is selected", terminal: terminal) { $0.contains("Services of hotfix") }
        try terminal.keys("v", "Tab", "Tab")
        try await eventually("the flows view", terminal: terminal) { $0.contains("FLOW / CALL") }
        // Only this request's flow, whatever else is still arriving.
        try terminal.keys("/", "flow-e2e", "Enter")
        try await eventually("the filter applies to flows", terminal: terminal) {
            $0.contains("Flows matching flow-e2e")
        }
        try terminal.keys("Enter")
        let tree = try await eventually("the request opens into its calls", terminal: terminal) { screen in
            screen.contains("/flow-e2e") && screen.contains("└─GET serviceb/")
                && screen.contains("└─GET servicec/")
        }
        let lines = tree.split(separator: "\n").map(String.init)
        let root = try #require(
            lines.firstIndex { $0.contains("  GET azureuser.s.default.servicea.localhost/flow-e2e") },
            "\(tree)")
        #expect(lines[root].contains("servicea → azureuser"), "\(tree)")
        #expect(
            lines[root + 1].contains("└─GET serviceb/") && lines[root + 1].contains("serviceb → default ↑"),
            "\(tree)")
        #expect(
            lines[root + 2].contains("└─GET servicec/") && lines[root + 2].contains("servicec → default ↑"),
            "\(tree)")
        #expect(lines[root + 2].contains("━"), "each call has its waterfall bar")

        try terminal.keys("R")
        try await eventually("R asks which space, hotfix first", terminal: terminal) { screen in
            screen.contains("routed as space:") && screen.contains("> hotfix_")
        }
        try terminal.keys("Enter")
        let replayed = try await eventually("the replay's flow opens above the original", terminal: terminal)
        { screen in
            screen.contains("serviceb → hotfix") && screen.contains("↻")
        }
        let after = replayed.split(separator: "\n").map(String.init)
        let replayServiceb = try #require(
            after.firstIndex { $0.contains("└─GET serviceb/") && $0.contains("serviceb → hotfix") },
            "\(replayed)")
        let originalServiceb = try #require(
            after.firstIndex { $0.contains("└─GET serviceb/") && $0.contains("serviceb → default ↑") },
            "\(replayed)")
        #expect(
            replayServiceb < originalServiceb, "the replay is the newer flow, and both are open:\n\(replayed)"
        )
        let replayRoot = try #require(after[..<replayServiceb].lastIndex { $0.contains("/flow-e2e") })
        #expect(
            after[replayRoot].contains("servicea → azureuser ↑ ↻"),
            "servicea in hotfix's chain is azureuser's:\n\(replayed)")

        try terminal.keys("q")
        try await eventually("q ends the demo", terminal: terminal) {
            FileManager.default.fileExists(atPath: demo.exitFile)
        }
    }
}

/// `spaceport demo --name NAME` in a tmux server and a folder of its own, as a newcomer runs it.
struct DemoTerminal {
    let name: String
    let binary: String
    let folder: TemporaryFolder
    let terminal: Tmux

    init(name: String, width: Int) throws {
        _ = try RequiredTool.tmux.path()
        self.name = name
        binary = try #require(
            Tools.spaceport,
            "no spaceport binary beside the tests; run `swift build --product spaceport` first")
        folder = try TemporaryFolder()
        terminal = Tmux(socket: folder.path("tmux.sock"))
        // The pane stays after the demo ends, so a demo that fails to start leaves its error on
        // the screen a failed wait prints.
        do {
            try terminal.start(
                command:
                    "cd \(folder.root) && env LANG=C.UTF-8 XDG_RUNTIME_DIR=\(folder.path("run")) \(binary) demo --name \(name) --ingress 127.0.0.1:0; echo $? > \(folder.path("exit-status"))",
                width: width, height: 40, keepsPane: true)
        } catch {
            stop()
            throw error
        }
    }

    /// Where the demo writes its exit status when it ends.
    var exitFile: String { folder.path("exit-status") }
    /// The demo's feed, for `spaceport tail --feed`.
    var feedSocket: String { folder.path("run") + "/spaceport/\(name).sock" }

    func stop() {
        terminal.killServer()
        folder.remove()
    }
}

/// The README promises a newcomer two commands; CI must run the same test command.
@Suite("The README's two commands")
struct ReadmeCommandsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test("the README's first screen gives the demo and test commands, and CI runs that very test command")
    func readmeCommandsAreWhatCIRuns() throws {
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let firstScreen = readme.split(separator: "\n", omittingEmptySubsequences: false).prefix(40)
            .joined(separator: "\n")
        #expect(firstScreen.contains("swift run spaceport demo"))
        let ci = try String(contentsOf: Self.root.appendingPathComponent(".ci/run"), encoding: .utf8)
        let commands = ci.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        // Suites that need more than a fresh machine has (interop) may follow it.
        let test = try #require(commands.last { $0.hasPrefix("swift test") }, "CI runs no `swift test`")
        #expect(
            firstScreen.contains("\n\(test) "), "CI's last `swift test` is the README's test command, \(test)"
        )
    }

    @Test("`spaceport demo --help` explains what the demo starts and how to try it")
    func demoHelpIsTheManual() throws {
        let binary = try #require(Tools.spaceport, "no spaceport binary beside the tests")
        let output = NSTemporaryDirectory() + "spaceport-demo-help-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let child = try Child(binary, ["demo", "--help"], output: output)
        #expect(child.wait() == 0)
        let help = try String(contentsOfFile: output, encoding: .utf8)
        #expect(help.contains("azureuser"))
        #expect(help.contains("curl http://azureuser.s.default.servicea.localhost:8080/"))
        #expect(help.contains("--no-traffic"))
        #expect(help.contains("--write"))
    }

    @Test("plain `spaceport` in a folder with no spaces.yaml says how to start, and fails")
    func bareCommandExplainsHowToStart() throws {
        let binary = try #require(Tools.spaceport, "no spaceport binary beside the tests")
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let output = folder.path("stderr")
        let child = try Child(
            "/bin/sh", ["-c", "cd \(folder.root) && \(binary) 2> \(output)"], output: nil)
        #expect(child.wait() == 1)
        let message = try String(contentsOfFile: output, encoding: .utf8)
        #expect(message.contains("spaceport demo"))
        #expect(message.contains("spaceport init"))
        #expect(message.split(separator: "\n").count == 1, "one line: \(message)")
    }
}
