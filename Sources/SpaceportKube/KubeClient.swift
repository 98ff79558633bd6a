import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOSSL
import Synchronization

/// The few calls the cluster source makes to the Kubernetes API: list, watch, get a
/// ConfigMap, merge-patch a Service's annotation. Every answer but 2xx becomes a `KubeError`
/// read from the API's Status body; a 401 renews the credentials once and tries again.
public final class KubeClient: Sendable {
    public let access: ClusterAccess
    let http: HTTPClient
    let logger: Logger
    private let closed = Atomic<Bool>(false)
    /// How long a list, a patch or a watch's first answer may take.
    let requestTimeout: TimeAmount

    /// The largest answer read whole (a list of a big cluster's Services is a few MiB).
    static let maxBody = 64 * 1024 * 1024
    /// The longest line of a watch stream (one object).
    static let maxLine = 4 * 1024 * 1024

    /// - Parameter silence: a watch that sends nothing (not even a bookmark) for this long is
    ///   ended, so the informer starts it again.
    public init(
        access: ClusterAccess, silence: Duration = .seconds(90), requestTimeout: Duration = .seconds(30),
        logger: Logger = Logger(label: "spaceport.kube")
    ) {
        self.access = access
        self.logger = logger
        self.requestTimeout = Self.amount(requestTimeout)
        let silent = Self.amount(silence)
        var configuration = HTTPClient.Configuration(
            timeout: HTTPClient.Configuration.Timeout(connect: self.requestTimeout, read: silent))
        configuration.httpVersion = .http1Only
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    static func amount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(Int64((duration / .nanoseconds(1)).rounded()))
    }

    /// Closes the client's connections; call it once done.
    public func shutdown() async {
        guard !closed.exchange(true, ordering: .relaxed) else { return }
        try? await http.shutdown()
    }

    deinit {
        // Dropped without shutdown (an error on the way): the task keeps the HTTP client until it has closed.
        guard !closed.load(ordering: .relaxed) else { return }
        let http = http
        Task.detached { try? await http.shutdown() }
    }

    /// What a call is, for a 403's advice when the Status body does not say.
    struct Call: Sendable {
        var verb: String
        var resource: String
        var namespace: String?
        var method: HTTPMethod = .GET
        var path: String
        var query: [(String, String)] = []
        var body: [UInt8]? = nil
        var contentType: String? = nil
    }

    /// TLS as the access says: its CA alone (or no check at all with insecure-skip-tls-verify),
    /// and a client certificate from the kubeconfig or the credential plugin.
    func tls(certificate: [UInt8]?, key: [UInt8]?) throws(KubeError) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            if access.insecureSkipTLSVerify {
                tls.certificateVerification = .none
            } else if let ca = access.caPEM {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
            }
            if let certificate, let key {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(certificate).map {
                    .certificate($0)
                }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
            }
        } catch {
            throw .tls(server: access.server, detail: "a certificate or key cannot be read: \(error)")
        }
        return tls
    }

    /// The bearer token and client certificate for the next request; `renew` asks a plugin again.
    func credentials(renew: Bool) throws(KubeError) -> (token: String?, certificate: [UInt8]?, key: [UInt8]?)
    {
        var certificate = access.clientCertificatePEM
        var key = access.clientKeyPEM
        var token: String?
        switch access.bearer {
        case .fixed(let value): token = value
        case .file(let path):
            do {
                token = try String(contentsOfFile: path, encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw .unreadableReference(
                    field: "token file", file: path,
                    in: access.context.map { "context '\($0)'" } ?? "the pod",
                    path: access.origin, reason: (error as NSError).localizedDescription)
            }
        case .exec(let plugin):
            let credential = try plugin.credential(refresh: renew)
            token = credential.token
            if let pem = credential.clientCertificatePEM, let pemKey = credential.clientKeyPEM {
                certificate = pem
                key = pemKey
            }
        case nil: break
        }
        return (token, certificate, key)
    }

    /// Sends `call`; a 401 renews the credentials once. Answers other than 2xx throw.
    func send(_ call: Call, deadline: TimeAmount? = nil) async throws(KubeError) -> HTTPClientResponse {
        var renewed = false
        while true {
            let credentials = try credentials(renew: renewed)
            var request = HTTPClientRequest(url: access.server + call.path + Self.query(call.query))
            request.method = call.method
            request.tlsConfiguration = try tls(certificate: credentials.certificate, key: credentials.key)
            request.headers.add(name: "Accept", value: "application/json")
            request.headers.add(name: "User-Agent", value: "spaceport")
            if let token = credentials.token {
                request.headers.add(name: "Authorization", value: "Bearer \(token)")
            }
            if let body = call.body {
                request.body = .bytes(ByteBuffer(bytes: body))
                request.headers.add(name: "Content-Type", value: call.contentType ?? "application/json")
            }
            let response: HTTPClientResponse
            do {
                response = try await http.execute(
                    request, timeout: deadline ?? requestTimeout, logger: logger)
            } catch {
                throw transportError(error)
            }
            // A plugin is asked again; a token file is read again (a rotation may have raced this request).
            if response.status == .unauthorized, !renewed, access.canRenew {
                renewed = true
                _ = try? await response.body.collect(upTo: Self.maxBody)
                continue
            }
            guard (200..<300).contains(response.status.code) else {
                throw await failure(response, call: call)
            }
            return response
        }
    }

    func transportError(_ error: any Error) -> KubeError {
        if let ssl = error as? NIOSSLError { return .tls(server: access.server, detail: "\(ssl)") }
        if let boring = error as? BoringSSLError { return .tls(server: access.server, detail: "\(boring)") }
        return .unreachable(server: access.server, detail: "\(error)")
    }

    /// The API's Status body, read into the error a user can act on.
    func failure(_ response: HTTPClientResponse, call: Call) async -> KubeError {
        let body = (try? await response.body.collect(upTo: 1024 * 1024)).map { Data(buffer: $0) } ?? Data()
        let status = try? JSONDecoder().decode(Status.self, from: body)
        let message = status?.message ?? String(decoding: body.prefix(200), as: UTF8.self)
        switch response.status.code {
        case 401: return .unauthorized(server: access.server, message: message)
        case 403:
            let said = Self.forbiddenParts(message)
            return .forbidden(
                verb: said.verb ?? call.verb, resource: said.resource ?? call.resource,
                namespace: said.namespace ?? call.namespace, message: message)
        case 404: return .notFound(path: call.path)
        case 410: return .gone(path: call.path)
        default: return .api(code: Int(response.status.code), path: call.path, message: message)
        }
    }

    /// `... cannot patch resource "services" in API group "" in the namespace "team"`.
    static func forbiddenParts(_ message: String) -> (verb: String?, resource: String?, namespace: String?) {
        let said = message.firstMatch(of: /cannot (\S+) resource "([^"]+)"/)
        let namespace = message.firstMatch(of: /in the namespace "([^"]+)"/)
        return (said.map { String($0.1) }, said.map { String($0.2) }, namespace.map { String($0.1) })
    }

    static func query(_ items: [(String, String)]) -> String {
        guard !items.isEmpty else { return "" }
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return "?"
            + items.map { name, value in
                "\(name)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)"
            }.joined(separator: "&")
    }

    func decode<T: Decodable>(_ type: T.Type, from response: HTTPClientResponse, path: String)
        async throws(KubeError)
        -> T
    {
        let buffer: ByteBuffer
        do {
            buffer = try await response.body.collect(upTo: Self.maxBody)
        } catch {
            throw .badResponse(path: path, detail: "\(error)")
        }
        do {
            return try JSONDecoder().decode(T.self, from: buffer)
        } catch {
            throw .badResponse(path: path, detail: "\(error)")
        }
    }

    /// Every object of a kind, with the list's resourceVersion to watch from.
    public func list<R: KubeResource>(_ type: R.Type, labelSelector: String? = nil) async throws(KubeError)
        -> (
            items: [R], resourceVersion: String
        )
    {
        let call = Call(
            verb: "list", resource: R.resource, path: R.path,
            query: labelSelector.map { [("labelSelector", $0)] } ?? [])
        let list = try await decode(ObjectList<R>.self, from: try await send(call), path: R.path)
        return (list.items ?? [], list.metadata?.resourceVersion ?? "")
    }

    /// Watches a kind from `resourceVersion`, calling `handle` with each event as its line
    /// arrives; returns when the API ends the stream (after about `timeoutSeconds`). A stream
    /// that drops or goes silent throws `.streamEnded`; a 410 answer throws `.gone`. `opened`
    /// is called once the API has answered 200 and the stream begins.
    public func watch<R: KubeResource>(
        _ type: R.Type, labelSelector: String? = nil, from resourceVersion: String, timeoutSeconds: Int,
        opened: () -> Void = {}, handle: (WatchEvent<R>) async throws(KubeError) -> Void
    ) async throws(KubeError) {
        var query = [
            ("watch", "true"), ("resourceVersion", resourceVersion), ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", String(timeoutSeconds)),
        ]
        if let labelSelector { query.append(("labelSelector", labelSelector)) }
        let call = Call(verb: "watch", resource: R.resource, path: R.path, query: query)
        let response = try await send(call)
        opened()
        var pending: [UInt8] = []
        let decoder = JSONDecoder()
        do {
            for try await chunk in response.body {
                pending.append(contentsOf: chunk.readableBytesView)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = pending[..<newline]
                    defer { pending.removeSubrange(...newline) }
                    if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") }) { continue }
                    let event: WatchEvent<R>
                    do {
                        event = try decoder.decode(WatchLine<R>.self, from: Data(line)).event
                    } catch {
                        throw KubeError.badResponse(path: R.path, detail: "a watch event: \(error)")
                    }
                    try await handle(event)
                }
                if pending.count > Self.maxLine {
                    throw KubeError.badResponse(
                        path: R.path, detail: "a watch event longer than \(Self.maxLine) bytes")
                }
            }
        } catch let error as KubeError {
            throw error
        } catch let error as HTTPClientError where error == .readTimeout {
            throw .streamEnded(path: R.path, detail: "silent for longer than the client waits")
        } catch {
            throw .streamEnded(path: R.path, detail: "\(error)")
        }
    }

    /// A ConfigMap, or nil when there is none by that name.
    public func configMap(namespace: String, name: String) async throws(KubeError) -> ConfigMap? {
        let path = "/api/v1/namespaces/\(namespace)/configmaps/\(name)"
        let call = Call(verb: "get", resource: "configmaps", namespace: namespace, path: path)
        do {
            return try await decode(ConfigMap.self, from: try await send(call), path: path)
        } catch .notFound {
            return nil
        }
    }

    /// Sets (or, with nil, removes) one annotation on a Service with a JSON merge patch.
    public func annotateService(namespace: String, name: String, key: String, value: String?)
        async throws(KubeError)
    {
        let patch: [String: Any] = ["metadata": ["annotations": [key: value.map { $0 as Any } ?? NSNull()]]]
        let body =
            (try? JSONSerialization.data(
                withJSONObject: patch, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data()
        let path = "/api/v1/namespaces/\(namespace)/services/\(name)"
        let call = Call(
            verb: "patch", resource: "services", namespace: namespace, method: .PATCH, path: path,
            body: Array(body), contentType: "application/merge-patch+json")
        _ = try await decode(Service.self, from: try await send(call), path: path)
    }
}
