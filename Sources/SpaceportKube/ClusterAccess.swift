import Foundation

/// Where a cluster is and how to prove who we are to it, found as kubectl finds it: inside a
/// pod, the service account; else the kubeconfig's context.
public struct ClusterAccess: Sendable {
    /// Where a bearer token comes from on each request.
    public enum Bearer: Sendable {
        case fixed(String)
        /// Read again on every request: a bound service-account token is rotated on disk.
        case file(String)
        case exec(ExecPlugin)
    }

    /// The API server's base address, `https://host:port`, without a trailing slash.
    public var server: String
    /// The context the kubeconfig named; nil inside the cluster.
    public var context: String?
    /// Where the access was found: the kubeconfig's path, or the service account's folder.
    public var origin: String
    public var caPEM: [UInt8]?
    public var insecureSkipTLSVerify = false
    public var bearer: Bearer?
    public var clientCertificatePEM: [UInt8]?
    public var clientKeyPEM: [UInt8]?
    /// The namespace the proxy runs in (inside the cluster) or the context names.
    public var namespace: String?

    public init(server: String, context: String?, origin: String) {
        self.server = server
        self.context = context
        self.origin = origin
    }

    public static let serviceAccountFolder = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// Inside a pod (KUBERNETES_SERVICE_HOST set and a token mounted) unless a kubeconfig or
    /// context is named; else the kubeconfig, as kubectl reads it.
    public static func find(
        kubeconfig: String?, context: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        serviceAccountFolder: String = ClusterAccess.serviceAccountFolder
    ) throws(KubeError) -> ClusterAccess {
        if kubeconfig == nil, context == nil, environment["KUBERNETES_SERVICE_HOST"] != nil,
            FileManager.default.fileExists(atPath: "\(serviceAccountFolder)/token")
        {
            return try inCluster(environment: environment, folder: serviceAccountFolder)
        }
        let paths = KubeConfig.paths(explicit: kubeconfig, environment: environment)
        let config = try KubeConfig.load(paths: paths, explicit: kubeconfig != nil)
        return try fromConfig(config, context: context, environment: environment)
    }

    static func inCluster(environment: [String: String], folder: String) throws(KubeError) -> ClusterAccess {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty else {
            throw .inCluster("KUBERNETES_SERVICE_HOST is not set; run in a pod, or pass --kubeconfig")
        }
        guard let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty else {
            throw .inCluster("KUBERNETES_SERVICE_PORT is not set; run in a pod, or pass --kubeconfig")
        }
        let hostPart = host.contains(":") ? "[\(host)]" : host
        var access = ClusterAccess(server: "https://\(hostPart):\(port)", context: nil, origin: folder)
        let caPath = "\(folder)/ca.crt"
        guard let ca = FileManager.default.contents(atPath: caPath) else {
            throw .inCluster("\(caPath) cannot be read; is the service account token mounted?")
        }
        access.caPEM = Array(ca)
        access.bearer = .file("\(folder)/token")
        access.namespace = (try? String(contentsOfFile: "\(folder)/namespace", encoding: .utf8))
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        return access
    }

    static func fromConfig(
        _ config: KubeConfig, context requested: String?, environment: [String: String]
    ) throws(KubeError) -> ClusterAccess {
        let path = config.currentContextFile
        guard let name = requested ?? config.currentContext else { throw .noCurrentContext(path: path) }
        guard let contextEntry = config.contexts[name] else {
            throw .unknownContext(name, path: path, known: config.contexts.keys.sorted())
        }
        let context = contextEntry.value
        let file = contextEntry.file
        guard let clusterName = context.cluster else {
            throw .missingField(
                "cluster", in: "context '\(name)'", path: file, advice: "name one of the file's clusters")
        }
        guard let clusterEntry = config.clusters[clusterName] else {
            throw .unknownEntry(kind: "cluster", name: clusterName, context: name, path: file)
        }
        let cluster = clusterEntry.value
        let owner = "cluster '\(clusterName)'"
        guard let server = cluster.server, !server.isEmpty else {
            throw .missingField(
                "server", in: owner, path: clusterEntry.file,
                advice: "set it to the API server's https:// address")
        }
        guard server.hasPrefix("https://") || server.hasPrefix("http://") else {
            throw .badField(
                "server", in: owner, path: clusterEntry.file,
                problem: "'\(server)' is not an http(s):// address")
        }
        var access = ClusterAccess(
            server: server.hasSuffix("/") ? String(server.dropLast()) : server, context: name,
            origin: clusterEntry.file)
        access.namespace = context.namespace
        access.insecureSkipTLSVerify = cluster.insecureSkipTLSVerify ?? false
        access.caPEM = try material(
            data: cluster.certificateAuthorityData, file: cluster.certificateAuthority,
            field: "certificate-authority", owner: owner, path: clusterEntry.file)
        guard let userName = context.user else { return access }
        guard let userEntry = config.users[userName] else {
            throw .unknownEntry(kind: "user", name: userName, context: name, path: file)
        }
        let user = userEntry.value
        let userOwner = "user '\(userName)'"
        access.clientCertificatePEM = try material(
            data: user.clientCertificateData, file: user.clientCertificate, field: "client-certificate",
            owner: userOwner, path: userEntry.file)
        access.clientKeyPEM = try material(
            data: user.clientKeyData, file: user.clientKey, field: "client-key", owner: userOwner,
            path: userEntry.file)
        if (access.clientCertificatePEM == nil) != (access.clientKeyPEM == nil) {
            throw .missingField(
                access.clientKeyPEM == nil ? "client-key" : "client-certificate", in: userOwner,
                path: userEntry.file,
                advice: "a client certificate needs its key, and the key its certificate")
        }
        if let token = user.token, !token.isEmpty {
            access.bearer = .fixed(token)
        } else if let tokenFile = user.tokenFile, !tokenFile.isEmpty {
            access.bearer = .file(resolve(tokenFile, against: userEntry.file))
        } else if let exec = user.exec {
            access.bearer = .exec(
                try ExecPlugin(
                    config: exec, user: userName, path: userEntry.file, server: access.server,
                    caPEM: access.caPEM, environment: environment))
        }
        return access
    }

    /// Inline base64 data wins over a file, as in kubectl.
    private static func material(
        data: String?, file: String?, field: String, owner: String, path: String
    ) throws(KubeError) -> [UInt8]? {
        if let data, !data.isEmpty {
            guard let bytes = Data(base64Encoded: data, options: .ignoreUnknownCharacters) else {
                throw .badField("\(field)-data", in: owner, path: path, problem: "is not base64")
            }
            return Array(bytes)
        }
        guard let file, !file.isEmpty else { return nil }
        let full = resolve(file, against: path)
        guard let bytes = FileManager.default.contents(atPath: full) else {
            let reason = FileManager.default.fileExists(atPath: full) ? "permission denied" : "no such file"
            throw .unreadableReference(field: field, file: full, in: owner, path: path, reason: reason)
        }
        return Array(bytes)
    }

    /// Relative paths in a kubeconfig are relative to the file that holds them.
    static func resolve(_ file: String, against config: String) -> String {
        if file.hasPrefix("/") { return file }
        if file.hasPrefix("~/") { return NSHomeDirectory() + file.dropFirst(1) }
        return (config as NSString).deletingLastPathComponent + "/" + file
    }

    /// Whether asking again could give other credentials after a 401.
    var canRenew: Bool {
        switch bearer {
        case .exec, .file: return true
        case .fixed, nil: return false
        }
    }

    /// "CONTEXT @ HOST:PORT", short enough for the status bar.
    public var shortSummary: String {
        let host = server.replacingOccurrences(of: "https://", with: "").replacingOccurrences(
            of: "http://", with: "")
        return "\(context ?? "in-cluster") @ \(host)"
    }

    /// "context NAME on SERVER", or "in-cluster on SERVER", for logs and messages.
    public var summary: String {
        "\(context.map { "context \($0)" } ?? "in-cluster") on \(server)"
    }
}
