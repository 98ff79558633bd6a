import Foundation
import SpaceportCore
import Testing

/// `spaceport proxy` run as a team runs it: stderr written to a file, read as lines.
struct LoggingProxy {
    let process: Process
    let log: String

    init(_ arguments: [String], in folder: TemporaryFolder, environment: [String: String] = [:]) throws {
        log = folder.path("proxy-\(UUID().uuidString.prefix(6)).log")
        FileManager.default.createFile(atPath: log, contents: nil)
        process = Process()
        process.executableURL = URL(fileURLWithPath: try BuiltSpaceport.require())
        process.arguments = ["proxy"] + arguments
        process.environment = ProcessInfo.processInfo.environment
            .filter { !$0.key.hasPrefix("SPACEPORT_LOG") }
            .merging(environment.merging(["XDG_RUNTIME_DIR": folder.path("run")]) { $1 }) { $1 }
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    var lines: [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Every line as a JSON object; a line that is not one fails the test.
    func objects() throws -> [[String: Any]] {
        try lines.map { line in
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return try #require(object, "not one JSON object: \(line)")
        }
    }

    /// The port in the message `<words> 127.0.0.1:<port>...`, once the proxy has logged it.
    func port(after words: String) async throws -> Int {
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let line = lines.first(where: { $0.contains(words) }),
                let range = line.range(of: "\(words) 127.0.0.1:")
            {
                return try #require(Int(line[range.upperBound...].prefix { $0.isNumber }))
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("the proxy never logged '\(words)':\n\(lines.joined(separator: "\n"))")
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }
}

@Suite("Operating the proxy: the admin listener and log lines from the command line", .serialized)
struct OperatingTests {
    static let spaces = """
        spaces:
          default:
            services:
              servicea: 127.0.0.1:1
          azureuser:
            parent: default

        """

    @Test(
        "proxy --log-format json writes one object a line, its hop lines with the hop's fields; --admin serves /tree as tree --json prints it"
    )
    func jsonLinesAndAdmin() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let spaces = folder.path("spaces.yaml")
        try Self.spaces.write(toFile: spaces, atomically: true, encoding: .utf8)
        let proxy = try LoggingProxy(
            [
                "--spaces", spaces, "--ingress", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--log-format",
                "json",
            ],
            in: folder)
        defer { proxy.stop() }
        let admin = try await proxy.port(after: "admin listening on")
        let ingress = try await proxy.port(after: "ingress listening on")
        _ = try await curl([
            "-H", "Host: azureuser.s.default.nothere.localhost", "http://127.0.0.1:\(ingress)/a",
        ])

        let tree = try await curl(["-s", "http://127.0.0.1:\(admin)/tree"])
        let printed = try Workspace(under: URL(fileURLWithPath: folder.root)).run(
            "tree", "--json", "--spaces", spaces)
        #expect(tree.hasSuffix("\r\n\r\n" + printed.stdout), "\(tree)\n---\n\(printed.stdout)")
        let metrics = try await curl(["http://127.0.0.1:\(admin)/metrics"])
        #expect(metrics.contains("spaceport_no_route_total{route_as=\"azureuser\"} 1"), "\(metrics)")

        let deadline = Date().addingTimeInterval(30)
        while !proxy.lines.contains(where: { $0.contains("\"hop\":") }) && Date() < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        let objects = try proxy.objects()
        #expect(objects.allSatisfy { $0["label"] as? String == "spaceport" && $0["time"] is String })
        let hopLine = try #require(objects.first { $0["hop"] != nil }, "\(proxy.lines)")
        #expect(hopLine["level"] as? String == "warning")
        let hop = try #require(hopLine["hop"] as? [String: Any])
        #expect(hop["status"] as? Int == 404 && hop["routeAs"] as? String == "azureuser", "\(hop)")
        #expect(hop["service"] as? String == "nothere" && hop["path"] as? String == "/a")
        #expect((hop["tried"] as? [String]) == ["azureuser", "default"] && hop["durationMs"] is Double)
    }

    @Test(
        "SPACEPORT_LOG_FORMAT and SPACEPORT_LOG_LEVEL do what the flags do, and admin: in the spaces file starts the admin listener"
    )
    func environmentAndFile() async throws {
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let spaces = folder.path("spaces.yaml")
        try ("admin: 127.0.0.1:0\n" + Self.spaces).write(toFile: spaces, atomically: true, encoding: .utf8)
        let proxy = try LoggingProxy(
            ["--spaces", spaces, "--ingress", "127.0.0.1:0"], in: folder,
            environment: ["SPACEPORT_LOG_FORMAT": "json", "SPACEPORT_LOG_LEVEL": "notice"])
        defer { proxy.stop() }
        let admin = try await proxy.port(after: "admin listening on")
        let ready = try await curl(["http://127.0.0.1:\(admin)/readyz"])
        #expect(ready.contains("200 OK") && ready.hasSuffix("ready\n"), "\(ready)")
        let objects = try proxy.objects()
        #expect(!objects.isEmpty)
        #expect(
            objects.allSatisfy {
                ["notice", "warning", "error", "critical"].contains($0["level"] as? String)
            })
    }

    @Test(
        "the command refuses an admin listener off loopback without a token file, and a log format or level that names nothing",
        arguments: [
            (
                ["--admin", "0.0.0.0:0"], Int32(1),
                "spaceport: error: the admin listener would listen on 0.0.0.0:0 (--admin), which other machines can reach, with no token: pass --admin-token-file FILE"
            ),
            (
                ["--admin-token", "x"], Int32(64),
                "--admin-token would show the token to every user of this machine"
            ),
            (
                ["--admin", "127.0.0.1:0", "--admin-token-file", "/nonexistent/token"], Int32(1),
                "cannot read the admin token file /nonexistent/token"
            ),
            (
                ["--admin-token-file", "/nonexistent/token"], Int32(64),
                "--admin-token-file needs --admin HOST:PORT"
            ),
            (["--log-format", "yaml"], Int32(64), "--log-format: 'yaml' is no log format; use text or json"),
            (
                ["--log-level", "loud"], Int32(64),
                "--log-level: 'loud' is no log level; use one of trace, debug"
            ),
        ])
    func refusals(arguments: [String], status: Int32, message: String) throws {
        let workspace = try Workspace()
        defer { workspace.remove() }
        try workspace.write(Self.spaces)
        let run = try workspace.run(["proxy", "--ingress", "127.0.0.1:0"] + arguments)
        #expect(run.status == status, "\(run)")
        #expect(run.stderr.contains(message), "\(run)")
    }
}

@Suite("Completions, as the README says to load them")
struct CompletionTests {
    @Test("the README's bash line loads spaceport's completions, and each shell has its line")
    func readmeLines() throws {
        let readme = try String(
            contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                .deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("README.md"), encoding: .utf8)
        func line(_ shell: String) throws -> String {
            let row = try #require(readme.split(separator: "\n").first { $0.hasPrefix("| \(shell) (") })
            let code = row.split(separator: "`").dropFirst().last {
                $0.contains("--generate-completion-script")
            }
            return try #require(code.map(String.init), "no completion line for \(shell)")
        }
        for shell in ["zsh", "fish"] {
            #expect(try line(shell).contains("--generate-completion-script \(shell)"))
        }
        let binary = try BuiltSpaceport.require()
        let bash = Process()
        bash.executableURL = URL(fileURLWithPath: "/bin/bash")
        // The README's line verbatim, with `spaceport` the binary the tests built.
        bash.arguments = [
            "-c", "spaceport() { '\(binary)' \"$@\"; }\n\(try line("bash"))\ncomplete -p spaceport",
        ]
        let output = Pipe()
        bash.standardOutput = output
        bash.standardError = output
        try bash.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        bash.waitUntilExit()
        #expect(bash.terminationStatus == 0, "\(text)")
        #expect(text.contains("-F _spaceport spaceport"), "\(text)")
    }
}
