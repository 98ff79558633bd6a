import Foundation
import Yams

/// A kubeconfig file, or several merged as kubectl merges the files KUBECONFIG lists: the
/// first file to set current-context wins, and so does the first to define each name.
public struct KubeConfig: Sendable {
    public struct Cluster: Codable, Sendable {
        public var server: String?
        public var certificateAuthority: String?
        public var certificateAuthorityData: String?
        public var insecureSkipTLSVerify: Bool?

        enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthority = "certificate-authority"
            case certificateAuthorityData = "certificate-authority-data"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
        }
    }

    public struct Context: Codable, Sendable {
        public var cluster: String?
        public var user: String?
        public var namespace: String?
    }

    public struct ExecConfig: Codable, Sendable {
        public struct EnvVar: Codable, Sendable {
            public var name: String
            public var value: String
        }

        public var apiVersion: String?
        public var command: String?
        public var args: [String]?
        public var env: [EnvVar]?
        public var installHint: String?
        public var provideClusterInfo: Bool?
    }

    public struct User: Codable, Sendable {
        public var token: String?
        public var tokenFile: String?
        public var clientCertificate: String?
        public var clientCertificateData: String?
        public var clientKey: String?
        public var clientKeyData: String?
        public var exec: ExecConfig?

        enum CodingKeys: String, CodingKey {
            case token
            case tokenFile
            case clientCertificate = "client-certificate"
            case clientCertificateData = "client-certificate-data"
            case clientKey = "client-key"
            case clientKeyData = "client-key-data"
            case exec
        }
    }

    /// An entry and the file that defined it, so relative paths and errors name that file.
    public struct Entry<Value: Sendable>: Sendable {
        public var value: Value
        public var file: String
    }

    public var currentContext: String?
    /// The file that set current-context, else the first file.
    public var currentContextFile: String
    public var clusters: [String: Entry<Cluster>] = [:]
    public var contexts: [String: Entry<Context>] = [:]
    public var users: [String: Entry<User>] = [:]

    private struct File: Codable {
        var currentContext: String?
        var clusters: [NamedCluster]?
        var contexts: [NamedContext]?
        var users: [NamedUser]?

        enum CodingKeys: String, CodingKey {
            case currentContext = "current-context"
            case clusters, contexts, users
        }
    }

    private struct NamedCluster: Codable {
        var name: String
        var cluster: Cluster?
    }

    private struct NamedContext: Codable {
        var name: String
        var context: Context?
    }

    private struct NamedUser: Codable {
        var name: String
        var user: User?
    }

    /// The files named by `--kubeconfig`, else KUBECONFIG (a colon-separated list; missing
    /// files are skipped as kubectl skips them), else ~/.kube/config.
    public static func paths(explicit: String?, environment: [String: String]) -> [String] {
        if let explicit { return [explicit] }
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            return list.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return ["\(home)/.kube/config"]
    }

    /// Reads and merges `paths`; an explicit path must exist, listed ones may be missing.
    public static func load(paths: [String], explicit: Bool) throws(KubeError) -> KubeConfig {
        var merged: KubeConfig?
        for path in paths {
            guard FileManager.default.fileExists(atPath: path) else {
                if explicit { throw .unreadable(path: path, reason: "no such file") }
                continue
            }
            let file = try parse(path: path)
            var config = merged ?? KubeConfig(currentContext: nil, currentContextFile: path)
            if config.currentContext == nil, let current = file.currentContext, !current.isEmpty {
                config.currentContext = current
                config.currentContextFile = path
            }
            for named in file.clusters ?? [] where config.clusters[named.name] == nil {
                config.clusters[named.name] = Entry(value: named.cluster ?? Cluster(), file: path)
            }
            for named in file.contexts ?? [] where config.contexts[named.name] == nil {
                config.contexts[named.name] = Entry(value: named.context ?? Context(), file: path)
            }
            for named in file.users ?? [] where config.users[named.name] == nil {
                config.users[named.name] = Entry(value: named.user ?? User(), file: path)
            }
            merged = config
        }
        guard let merged else { throw .noConfig(tried: paths) }
        return merged
    }

    private static func parse(path: String) throws(KubeError) -> File {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw .unreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        do {
            return try YAMLDecoder().decode(File.self, from: text)
        } catch let error as DecodingError {
            throw .syntax(path: path, detail: Self.describe(error))
        } catch {
            throw .syntax(path: path, detail: "\(error)")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func place(_ path: [any CodingKey]) -> String {
            path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "\(place(context.codingPath)) should be \(type)"
        case .valueNotFound(_, let context):
            return "\(place(context.codingPath)) has no value"
        case .keyNotFound(let key, let context):
            return "\(place(context.codingPath + [key])) is missing"
        case .dataCorrupted(let context):
            return context.debugDescription
        @unknown default:
            return "\(error)"
        }
    }
}
