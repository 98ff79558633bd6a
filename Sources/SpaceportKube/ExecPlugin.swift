import Foundation
import Synchronization

/// A kubeconfig user's `exec` credential plugin (client.authentication.k8s.io/v1): run with
/// its args and env and KUBERNETES_EXEC_INFO, its ExecCredential's status kept until
/// expirationTimestamp, then asked again; a 401 asks again at once.
public final class ExecPlugin: Sendable {
    public struct Credential: Sendable, Equatable {
        public var token: String?
        public var clientCertificatePEM: [UInt8]?
        public var clientKeyPEM: [UInt8]?
        public var expires: Date?
    }

    static let apiVersion = "client.authentication.k8s.io/v1"
    static let acceptedVersions: Set<String> = [apiVersion, "client.authentication.k8s.io/v1beta1"]

    let command: String
    let args: [String]
    let env: [(String, String)]
    let user: String
    let path: String
    let installHint: String?
    let execInfo: String
    private let cached = Mutex<Credential?>(nil)
    /// How many times the plugin has run, for the log and the tests.
    private let runs = Atomic<Int>(0)

    init(
        config: KubeConfig.ExecConfig, user: String, path: String, server: String, caPEM: [UInt8]?,
        environment: [String: String]
    ) throws(KubeError) {
        guard let command = config.command, !command.isEmpty else {
            throw .missingField(
                "exec.command", in: "user '\(user)'", path: path, advice: "name the credential plugin to run")
        }
        let version = config.apiVersion ?? Self.apiVersion
        guard Self.acceptedVersions.contains(version) else {
            throw .badField(
                "exec.apiVersion", in: "user '\(user)'", path: path,
                problem: "is '\(version)'; Spaceport speaks \(Self.apiVersion)")
        }
        // A relative path with a slash is relative to the kubeconfig, as in kubectl; a bare name is looked up on PATH.
        self.command = command.contains("/") ? ClusterAccess.resolve(command, against: path) : command
        self.args = config.args ?? []
        self.env = (config.env ?? []).map { ($0.name, $0.value) }
        self.user = user
        self.path = path
        self.installHint = config.installHint
        var spec: [String: Any] = ["interactive": false]
        if config.provideClusterInfo == true {
            var cluster: [String: Any] = ["server": server]
            if let caPEM { cluster["certificate-authority-data"] = Data(caPEM).base64EncodedString() }
            spec["cluster"] = cluster
        }
        let info: [String: Any] = ["apiVersion": version, "kind": "ExecCredential", "spec": spec]
        let data =
            (try? JSONSerialization.data(
                withJSONObject: info, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        self.execInfo = String(decoding: data, as: UTF8.self)
    }

    public var timesRun: Int { runs.load(ordering: .relaxed) }

    /// The cached credential while it has not expired, else the plugin's answer now.
    public func credential(refresh: Bool = false, now: Date = Date()) throws(KubeError) -> Credential {
        if !refresh, let kept = cached.withLock({ $0 }), kept.expires.map({ $0 > now }) ?? true {
            return kept
        }
        let fresh = try run()
        cached.withLock { $0 = fresh }
        return fresh
    }

    private func fail(_ problem: String) -> KubeError {
        .execFailed(command: command, user: user, path: path, problem: problem, installHint: installHint)
    }

    private func run() throws(KubeError) -> Credential {
        runs.add(1, ordering: .relaxed)
        let process = Process()
        if command.contains("/") {
            process.executableURL = URL(fileURLWithPath: command)
            process.arguments = args
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [command] + args
        }
        var environment = ProcessInfo.processInfo.environment
        for (name, value) in env { environment[name] = value }
        environment["KUBERNETES_EXEC_INFO"] = execInfo
        process.environment = environment
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw fail("cannot be started (\((error as NSError).localizedDescription))")
        }
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let said = String(decoding: stderr, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw fail("exited with status \(process.terminationStatus)\(said.isEmpty ? "" : ": \(said)")")
        }
        return try parse(stdout)
    }

    private struct Answer: Decodable {
        struct Status: Decodable {
            var token: String?
            var clientCertificateData: String?
            var clientKeyData: String?
            var expirationTimestamp: String?
        }

        var apiVersion: String?
        var kind: String?
        var status: Status?
    }

    func parse(_ data: Data) throws(KubeError) -> Credential {
        let answer: Answer
        do {
            answer = try JSONDecoder().decode(Answer.self, from: data)
        } catch {
            throw fail("printed no ExecCredential JSON (\(error))")
        }
        guard answer.kind == "ExecCredential", let status = answer.status else {
            throw fail("printed JSON that is not an ExecCredential with a status")
        }
        var credential = Credential()
        credential.token = status.token.flatMap { $0.isEmpty ? nil : $0 }
        credential.clientCertificatePEM = status.clientCertificateData.map { Array($0.utf8) }
        credential.clientKeyPEM = status.clientKeyData.map { Array($0.utf8) }
        if credential.token == nil, credential.clientCertificatePEM == nil {
            throw fail("gave neither status.token nor status.clientCertificateData")
        }
        if let stamp = status.expirationTimestamp {
            guard let date = Self.timestamp(stamp) else {
                throw fail("gave an expirationTimestamp '\(stamp)' that is not RFC 3339")
            }
            credential.expires = date
        }
        return credential
    }

    static func timestamp(_ text: String) -> Date? {
        let plain = ISO8601DateFormatter()
        if let date = plain.date(from: text) { return date }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return fractional.date(from: text)
    }
}
