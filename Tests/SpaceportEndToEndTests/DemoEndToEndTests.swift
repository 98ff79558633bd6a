import Foundation
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
        let binary = try #require(
            Tools.spaceport,
            "no spaceport binary beside the tests; run `swift build --product spaceport` first")
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let terminal = Tmux(socket: folder.path("tmux.sock"))
        defer { terminal.killServer() }
        let exitFile = folder.path("exit-status")
        let command =
            "cd \(folder.root) && env LANG=C.UTF-8 XDG_RUNTIME_DIR=\(folder.path("run")) \(binary) demo --name e2edemo --ingress 127.0.0.1:0; echo $? > \(exitFile)"
        try terminal.start(command: command, width: 130, height: 40)

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
