/// What went wrong reaching a cluster, as the user reads it: what, where (file, context,
/// field) and what to do.
public enum KubeError: Error, Equatable, Sendable, CustomStringConvertible {
    case noConfig(tried: [String])
    case unreadable(path: String, reason: String)
    case syntax(path: String, detail: String)
    case noCurrentContext(path: String)
    case unknownContext(String, path: String, known: [String])
    case unknownEntry(kind: String, name: String, context: String, path: String)
    case missingField(String, in: String, path: String, advice: String)
    case badField(String, in: String, path: String, problem: String)
    case unreadableReference(field: String, file: String, in: String, path: String, reason: String)
    case inCluster(String)
    case execFailed(command: String, user: String, path: String, problem: String, installHint: String?)
    case tls(server: String, detail: String)
    case unreachable(server: String, detail: String)
    case unauthorized(server: String, message: String)
    case forbidden(verb: String, resource: String, namespace: String?, message: String)
    case notFound(path: String)
    case gone(path: String)
    case streamEnded(path: String, detail: String)
    case api(code: Int, path: String, message: String)
    case badResponse(path: String, detail: String)
    case settings(configMap: String, problem: String)

    public var description: String {
        switch self {
        case .noConfig(let tried):
            return
                "no kubeconfig found (tried \(tried.joined(separator: ", "))) and not inside a cluster; pass --kubeconfig FILE or set KUBECONFIG"
        case .unreadable(let path, let reason):
            return "\(path): cannot be read (\(reason)); check the path and its permissions"
        case .syntax(let path, let detail):
            return "\(path): is not a kubeconfig (\(detail)); `kubectl config view` shows what kubectl reads"
        case .noCurrentContext(let path):
            return
                "\(path): sets no current-context; pass --context NAME or run `kubectl config use-context NAME`"
        case .unknownContext(let name, let path, let known):
            let list = known.isEmpty ? "it has none" : "it has \(known.joined(separator: ", "))"
            return "\(path): no context '\(name)' (\(list)); `kubectl config get-contexts` lists them"
        case .unknownEntry(let kind, let name, let context, let path):
            return
                "\(path): context '\(context)' names the \(kind) '\(name)', which the file does not define; add it under \(kind)s:"
        case .missingField(let field, let owner, let path, let advice):
            return "\(path): \(owner) has no \(field); \(advice)"
        case .badField(let field, let owner, let path, let problem):
            return "\(path): \(owner)'s \(field) \(problem)"
        case .unreadableReference(let field, let file, let owner, let path, let reason):
            return
                "\(path): \(owner)'s \(field) names \(file), which cannot be read (\(reason)); fix the path or its permissions"
        case .inCluster(let detail):
            return "inside the cluster: \(detail)"
        case .execFailed(let command, let user, let path, let problem, let hint):
            let advice = hint.map { "; \($0)" } ?? "; run it by hand to see why"
            return "\(path): user '\(user)''s credential plugin '\(command)' \(problem)\(advice)"
        case .tls(let server, let detail):
            return
                "\(server): the TLS handshake failed (\(detail)); check certificate-authority(-data) in the kubeconfig"
        case .unreachable(let server, let detail):
            return
                "\(server): cannot be reached (\(detail)); check the cluster's server address and your network"
        case .unauthorized(let server, let message):
            return
                "\(server): refused the credentials (401\(message.isEmpty ? "" : ": \(message)")); renew them (`kubectl get ns` shows whether kubectl can)"
        case .forbidden(let verb, let resource, let namespace, let message):
            let scope = namespace.map { " in namespace \($0)" } ?? " across the cluster"
            return
                "forbidden: the account may not \(verb) \(resource)\(scope) (\(message)); grant '\(verb)' on '\(resource)' in its ClusterRole (`spaceport kube manifests` prints one that does)"
        case .notFound(let path):
            return "\(path): not found in the cluster"
        case .gone(let path):
            return "\(path): the resourceVersion asked for is too old (410 Gone); list again"
        case .streamEnded(let path, let detail):
            return "\(path): the watch stream ended (\(detail)); watching again"
        case .api(let code, let path, let message):
            return "\(path): the API answered \(code)\(message.isEmpty ? "" : ": \(message)")"
        case .badResponse(let path, let detail):
            return "\(path): the API's answer could not be read (\(detail))"
        case .settings(let configMap, let problem):
            return "ConfigMap \(configMap), key settings.yaml: \(problem)"
        }
    }
}
