import Foundation
import SpaceportCore
import Testing

/// `spaceport proxy` running as its own process, its stderr read line by line.
private final class ProxyProcess {
    let process = Process()
    let stderr: LineReader
    private(set) var lines: [String] = []

    init(_ arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: try BuiltSpaceport.require())
        process.arguments = ["proxy"] + arguments
        // A feed folder of its own, so no other proxy's socket of the same name can stand in the way.
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_RUNTIME_DIR"] = (temporaryPath("run") as NSString).deletingLastPathComponent
        process.environment = environment
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        stderr = LineReader(pipe.fileHandleForReading)
        try process.run()
    }

    /// Reads stderr until a line contains `text`, and returns it.
    func line(containing text: String) async throws -> String {
        while true {
            let line = try await stderr.next()
            lines.append(line)
            if line.contains(text) { return line }
        }
    }

    /// The rest of stderr and the exit status, once the process has ended.
    func finish() async throws -> (status: Int32, rest: [String]) {
        var rest: [String] = []
        while let line = try? await stderr.next() { rest.append(line) }
        let process = self.process
        try await blocking { process.waitUntilExit() }
        return (process.terminationStatus, rest)
    }
}

@Suite("spaceport proxy")
struct ProxyCommandTests {
    private func spacesFile(_ upstream: TestUpstream) throws -> String {
        let path = temporaryPath("spaces.yaml")
        try "spaces:\n  default:\n    services:\n      app: { upstream: \(upstream.address) }\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test("it logs one line per request, and SIGTERM makes it finish and exit 0")
    func runsAndStops() async throws {
        let upstream = try await TestUpstream.start("app")
        let proxy = try ProxyProcess([
            "--spaces", try spacesFile(upstream), "--ingress", "127.0.0.1:0", "--name", "cmd",
        ])
        let listening = try await proxy.line(containing: "ingress listening on ")
        let address = try #require(listening.components(separatedBy: "listening on ").last)
        let response = try await Curl.run(["http://app.localhost:\(address.split(separator: ":")[1])/hi"])
        #expect(response.header("x-spaceport-route") == "app@default")
        let hopLine = try await proxy.line(containing: "GET app.localhost")
        #expect(hopLine.contains("→ app@default 200"))
        proxy.process.terminate()
        let end = try await proxy.finish()
        #expect(end.status == 0)
        await upstream.stop()
    }

    @Test(
        "every line it logs, from the command or the proxy inside it, has one prefix: its time, level and spaceport:"
    )
    func onePrefix() async throws {
        let upstream = try await TestUpstream.start("app")
        let proxy = try ProxyProcess([
            "--spaces", try spacesFile(upstream), "--ingress", "127.0.0.1:0", "--name", "prefix",
        ])
        let listening = try await proxy.line(containing: "ingress listening on ")
        let port = try #require(listening.split(separator: ":").last)
        #expect(try await Curl.run(["http://app.localhost:\(port)/"]).status == 200)
        _ = try await proxy.line(containing: "GET app.localhost")
        proxy.process.terminate()
        let end = try await proxy.finish()
        #expect(end.status == 0)
        let lines = proxy.lines + end.rest
        #expect(
            lines.contains { $0.contains("proxy 'prefix' stopped") },
            "a line the proxy's library logs: \(lines)")
        #expect(lines.contains { $0.contains("feed on ") }, "a line the command logs: \(lines)")
        let pattern = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (info|notice|warning|error) spaceport: [^\[]/
        for line in lines {
            #expect(line.firstMatch(of: pattern) != nil, "\(line)")
        }
    }

    @Test("with --quiet it logs no line per request")
    func quiet() async throws {
        let upstream = try await TestUpstream.start("app")
        let proxy = try ProxyProcess([
            "--spaces", try spacesFile(upstream), "--ingress", "127.0.0.1:0", "--quiet",
        ])
        let listening = try await proxy.line(containing: "ingress listening on ")
        let port = try #require(listening.components(separatedBy: ":").last)
        #expect(try await Curl.run(["http://app.localhost:\(port)/"]).status == 200)
        proxy.process.terminate()
        let end = try await proxy.finish()
        #expect(end.status == 0)
        #expect(!end.rest.contains { $0.contains("GET ") })
        await upstream.stop()
    }

    @Test("an address in use is one clear line naming it, and a failing exit")
    func addressInUse() async throws {
        let upstream = try await TestUpstream.start("app")
        let proxy = try ProxyProcess([
            "--spaces", try spacesFile(upstream), "--ingress", upstream.address.description,
        ])
        let end = try await proxy.finish()
        #expect(end.status != 0)
        #expect(
            end.rest.contains {
                $0.contains("error: cannot listen on \(upstream.address)") && $0.contains("in use")
            })
        await upstream.stop()
    }

    @Test("a missing spaces file is one clear line and a failing exit")
    func missingFile() async throws {
        let proxy = try ProxyProcess(["--spaces", "/nonexistent/spaces.yaml", "--ingress", "127.0.0.1:0"])
        let end = try await proxy.finish()
        #expect(end.status != 0)
        #expect(end.rest.contains { $0.contains("/nonexistent/spaces.yaml") })
    }
}
