import Foundation
import SpaceportKubeTestSupport
import SpaceportTestSupport
import Testing

extension RequiredTool {
    static let kubectl = RequiredTool(name: "kubectl", package: "kubernetes-client")
}

@Suite("The stand-in API server, checked by kubectl")
struct StandInTests {
    @Test("kubectl get ns,svc -A lists the stand-in's namespaces and Services")
    func kubectlLists() async throws {
        let kubectl = try RequiredTool.kubectl.path()
        let fixture = try await KubeFixture.start()
        defer { Task { await fixture.api.stop() } }
        fixture.seed()
        let output = try await blocking {
            try run(
                kubectl, ["--kubeconfig", fixture.kubeconfig, "get", "ns,svc", "-A", "--request-timeout=10s"])
        }
        #expect(output.status == 0, "kubectl said: \(output.stderr)")
        for name in ["namespace/default", "namespace/team", "namespace/alice", "namespace/kube-system"] {
            #expect(output.stdout.contains(name), "\(name) missing from:\n\(output.stdout)")
        }
        let services = output.stdout.split(separator: "\n").filter { $0.contains("service/") }
        #expect(services.count == 3, "\(output.stdout)")
        #expect(services.contains { $0.hasPrefix("alice") && $0.contains("service/serviceb") })
        #expect(services.contains { $0.hasPrefix("kube-system") && $0.contains("service/kube-dns") })
    }

    @Test("kubectl with a wrong token is refused with the stand-in's 401 Status")
    func kubectlRefused() async throws {
        let kubectl = try RequiredTool.kubectl.path()
        let fixture = try await KubeFixture.start(user: "token: wrong")
        defer { Task { await fixture.api.stop() } }
        let output = try await blocking {
            try run(kubectl, ["--kubeconfig", fixture.kubeconfig, "get", "ns", "--request-timeout=10s"])
        }
        #expect(output.status != 0)
        #expect(
            output.stderr.contains("Unauthorized") || output.stderr.contains("provide credentials"),
            "\(output.stderr)")
    }
}

struct ProcessOutput: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program to its end, with HOME in a fresh folder so no cache or config of the machine's is read.
func run(_ program: String, _ arguments: [String], environment extra: [String: String] = [:]) throws
    -> ProcessOutput
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment
    environment["HOME"] = temporaryFolder("home")
    environment.removeValue(forKey: "KUBECONFIG")
    for (key, value) in extra { environment[key] = value }
    process.environment = environment
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return ProcessOutput(
        status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
        stderr: String(decoding: stderr, as: UTF8.self))
}
