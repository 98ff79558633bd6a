import Foundation
import SpaceportCore

/// `spaceport proxy` as a process of its own (the built binary, or SPACEPORT_BINARY), so its
/// resident memory is the proxy's alone, not the test process's with every test running in it.
/// Its ingress is on a free port; what it logs goes to a file in its folder.
final class ProxyProcess: Sendable {
    let ingress: Address
    let pid: Int32
    private let process: Process
    private let folder: String

    private init(ingress: Address, process: Process, folder: String) {
        self.ingress = ingress
        self.pid = process.processIdentifier
        self.process = process
        self.folder = folder
    }

    static func start(_ yaml: String) async throws -> ProxyProcess {
        let folder = temporaryFolder("pp")
        let spaces = folder + "/spaces.yaml"
        let log = folder + "/proxy.log"
        try yaml.write(toFile: spaces, atomically: true, encoding: .utf8)
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try BuiltSpaceport.require())
        process.arguments = [
            "proxy", "--spaces", spaces, "--ingress", "127.0.0.1:0", "--name", "flood", "--quiet",
        ]
        process.environment = ProcessInfo.processInfo.environment.merging(["XDG_RUNTIME_DIR": folder]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        let marker = "ingress listening on "
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline && process.isRunning {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.contains(marker) }),
                let address = line.components(separatedBy: marker).last
            {
                return ProxyProcess(ingress: try Address(parsing: address), process: process, folder: folder)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.terminate()
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        throw TestFailure("spaceport proxy did not start listening: \(text.suffix(600))")
    }

    /// Starts a proxy, runs `body`, and stops the proxy whether or not `body` threw, so no
    /// process outlives its test.
    static func with<T>(_ yaml: String, _ body: (ProxyProcess) async throws -> T) async throws -> T {
        let proxy = try await start(yaml)
        do {
            let result = try await body(proxy)
            await proxy.stop()
            return result
        } catch {
            await proxy.stop()
            throw error
        }
    }

    var residentBytes: Int { ProcessGauges.residentBytes(of: pid) }

    /// SIGTERM, and the exit it leads to.
    func stop() async {
        let process = self.process
        process.terminate()
        _ = try? await blocking { process.waitUntilExit() }
    }
}
