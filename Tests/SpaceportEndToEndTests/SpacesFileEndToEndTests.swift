import Foundation
import SpaceportCore
import Testing

/// The spaces file changed under a running `spaceport proxy` and `spaceport dash`, as a user
/// changes it: by hand, broken, put right.
@Suite("The spaces file under a running proxy and dashboard", .serialized)
struct SpacesFileEndToEndTests {
    static let small = "spaces:\n  default:\n    services:\n      app: 127.0.0.1:5001\n"

    /// A valid file just under the size limit: 110 spaces of 1,000 services each.
    static let large: String = {
        var lines = ["spaces:"]
        for space in 0..<110 {
            lines += ["  space\(space):", "    services:"]
            for service in 0..<SpaceTree.maxServicesPerSpace {
                lines.append("      service\(service): 127.0.0.1:\(1 + service)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }()

    @Test(
        "a running proxy logs a hand edit, an invalid file and its fix, and gives back the memory a large tree took"
    )
    func proxyFollowsTheFile() async throws {
        let binary = try #require(Tools.spaceport, "no spaceport binary beside the tests")
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let spaces = folder.path("spaces.yaml")
        let log = folder.path("proxy.log")
        try Self.small.write(toFile: spaces, atomically: true, encoding: .utf8)
        #expect(Self.large.utf8.count < SpacesFile.maxBytes)
        FileManager.default.createFile(atPath: log, contents: nil)
        let proxy = Process()
        proxy.executableURL = URL(fileURLWithPath: binary)
        proxy.arguments = ["proxy", "--spaces", spaces, "--ingress", "127.0.0.1:0", "--name", "follow"]
        proxy.environment = ProcessInfo.processInfo.environment.merging([
            "XDG_RUNTIME_DIR": folder.path("run")
        ]) {
            $1
        }
        proxy.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        proxy.standardOutput = FileHandle.nullDevice
        try proxy.run()
        defer {
            proxy.terminate()
            proxy.waitUntilExit()
        }
        var logged: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        func status(_ field: String) throws -> Int {
            let text = try String(contentsOfFile: "/proc/\(proxy.processIdentifier)/status", encoding: .utf8)
            let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("\(field):") })
            return try #require(Int(line.split(separator: " ").dropFirst().first { !$0.isEmpty } ?? ""))
                * 1024
        }
        func eventually(_ what: String, _ condition: () -> Bool) async throws {
            let deadline = Date().addingTimeInterval(120)
            while !condition() {
                guard Date() < deadline else {
                    Issue.record("timed out waiting until \(what); the proxy logged:\n\(logged)")
                    throw TimedOut()
                }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        func count(_ words: String) -> Int { logged.components(separatedBy: words).count - 1 }
        func replace(with text: String) throws {
            try text.write(toFile: spaces, atomically: true, encoding: .utf8)
        }

        try await eventually("the proxy listens") { logged.contains("ingress listening on") }
        try await Task.sleep(for: .milliseconds(300))
        let baseline = try status("VmRSS")

        try replace(with: Self.large)
        try await eventually("the large file is in effect") {
            count("the spaces file changed; its spaces are in effect") == 1
        }
        let peak = try status("VmHWM")
        #expect(
            peak - baseline > 20 << 20,
            "the large tree took only \((peak - baseline) >> 20) MiB: was it read?")

        try replace(with: Self.small + "  bob: { parent: nobody }\n")
        try await eventually("the broken file is refused") { logged.contains("names parent 'nobody'") }
        #expect(logged.contains("\(spaces):5:18: space 'bob' names parent 'nobody'"))
        #expect(logged.contains("the spaces in effect stay as they were until the file is fixed"))

        try replace(with: Self.small)
        try await eventually("the fix is logged") {
            logged.contains("the spaces file is valid again; its spaces are in effect")
        }
        // The memory goes back once every holder of the large tree has let it go: give it a few seconds.
        var after = try status("VmRSS")
        let settle = Date().addingTimeInterval(10)
        while after - baseline >= 16 << 20 && Date() < settle {
            try await Task.sleep(for: .milliseconds(200))
            after = try status("VmRSS")
        }
        #expect(
            after - baseline < 16 << 20,
            "resident memory was \(baseline >> 20) MiB, \(peak >> 20) MiB at its peak with the large tree, and \(after >> 20) MiB once the small one was back"
        )
    }

    @Test(
        "the dashboard says the spaces file is invalid for as long as it is, and names the file once in the problem it shows"
    )
    func dashboardShowsInvalidFile() async throws {
        _ = try RequiredTool.tmux.path()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let spaces = folder.path("spaces.yaml")
        let good = """
            spaces:
              default:
                services:
                  servicea: { upstream: 127.0.0.1:5001 }
              azureuser:
                parent: default
                services:
                  servicea: { upstream: 127.0.0.1:6001 }

            """
        try good.write(toFile: spaces, atomically: true, encoding: .utf8)
        let dash = try await DashInTmux.start(in: folder, name: "invalid", width: 160, height: 30)
        defer { dash.stop() }
        let terminal = dash.terminal
        try await eventually("the tree is on screen", terminal: terminal) { $0.contains("azureuser") }
        let sign = "spaces file invalid, last good tree in effect"
        #expect(try !terminal.capture().contains(sign))

        try (good + "  bob: { parent: nobody }\n").write(toFile: spaces, atomically: true, encoding: .utf8)
        try await eventually("the status bar says the file is invalid", terminal: terminal) {
            $0.contains(sign)
        }
        // Longer than a note stays: the sign lasts.
        try await Task.sleep(for: .seconds(5))
        let lasting = try terminal.capture()
        #expect(lasting.contains(sign), "the sign went while the file is still invalid:\n\(lasting)")
        #expect(lasting.contains("azureuser"), "the last good tree stays on screen")

        // An edit from the dashboard is refused while the file is invalid, naming the file once.
        try terminal.keys("j", "Tab")
        try await eventually("azureuser's services are focused", terminal: terminal) {
            $0.contains("Services of azureuser")
        }
        try terminal.keys("Space")
        let screen = try await eventually("the refusal is shown", terminal: terminal) {
            $0.contains("┌ Problem")
        }
        let dialog = Self.dialogText(screen)
        #expect(
            dialog.hasPrefix(
                "spaces.yaml:9:18: space 'bob' names parent 'nobody', which is not a space here; create it or fix the name; fix the spaces file before changing it from here (nothing was written)"
            ), "\(screen)")
        try terminal.keys("Escape")

        try good.write(toFile: spaces, atomically: true, encoding: .utf8)
        try await eventually("the sign goes once the file is valid again", terminal: terminal) {
            !$0.contains(sign)
        }
        try terminal.keys("q")
    }

    /// The words of the dialog box on `screen`, its wrapped lines joined.
    static func dialogText(_ screen: String) -> String {
        let lines = screen.split(separator: "\n").map(String.init)
        guard let top = lines.firstIndex(where: { $0.contains("┌ Problem") }) else { return "" }
        let left = lines[top].distance(
            from: lines[top].startIndex, to: lines[top].range(of: "┌ Problem")!.lowerBound)
        var words: [String] = []
        for line in lines[(top + 1)...] {
            let inside = line.dropFirst(left)
            guard inside.hasPrefix("│") else { break }
            words += inside.dropFirst().prefix { $0 != "│" }.split(separator: " ").map(String.init)
        }
        return words.joined(separator: " ")
    }
}
