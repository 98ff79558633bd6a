import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization

/// A stand-in Kubernetes API server over HTTPS on 127.0.0.1: it checks the bearer token,
/// lists and watches Namespaces (with a label selector) and Services (chunked,
/// newline-delimited WatchEvents with resourceVersions and bookmarks), serves ConfigMaps,
/// takes merge patches on Services, answers errors with Status bodies, and fails on cue (a 410
/// in the stream or as the answer, a dropped or silent stream, a forbidden patch). Every
/// document it serves starts from a file under Resources/, shaped as the API reference shows.
public final class StandInAPIServer: Sendable {
    public enum Kind: String, Sendable {
        case namespaces
        case services
    }

    /// What the next watch of a kind does instead of streaming.
    public enum Fault: Sendable {
        /// Answers 410 Gone with a Status body.
        case httpGone
        /// Streams an ERROR event with a 410 Status, reason Expired, then ends.
        case expiredInStream
        /// Sends what it has, then closes the connection mid-body.
        case drop
        /// Sends the head and then nothing, ever.
        case silence
    }

    public struct Request: Sendable {
        public var method: String
        public var path: String
        public var query: [String: String]
        public var token: String?
        public var body: String
    }

    public let certificates: TestCertificates
    /// Whether the handshake asked for, and checked, a client certificate.
    let clientCertificates: Bool
    public let port: Int
    private let channel: any Channel
    let state: Mutex<State>

    struct Watch {
        var kind: Kind
        var selector: (String, String)?
        var channel: any Channel
    }

    struct Change {
        var version: Int
        var kind: Kind
        var type: String
        var object: Data
        /// For namespaces: the labels before a change, to tell a watch with a selector that an
        /// object left it (DELETED) or joined it (ADDED).
        var labelsBefore: [String: String]?
    }

    struct State {
        var tokens: Set<String>
        var version = 100
        var namespaces: [String: Data] = [:]
        var services: [String: Data] = [:]
        var configMaps: [String: Data] = [:]
        var history: [Change] = []
        var watches: [ObjectIdentifier: Watch] = [:]
        var faults: [Kind: [Fault]] = [:]
        var forbidPatches = false
        var requests: [Request] = []
        /// While set, watch events wait here instead of going out, as a slow watch would keep them.
        var held: [(line: Data, channel: any Channel)]?
    }

    private init(
        certificates: TestCertificates, port: Int, channel: any Channel, tokens: Set<String>,
        clientCertificates: Bool
    ) {
        self.clientCertificates = clientCertificates
        self.certificates = certificates
        self.port = port
        self.channel = channel
        self.state = Mutex(State(tokens: tokens))
    }

    public var server: String { "https://127.0.0.1:\(port)" }

    /// With `clientCertificates`, the handshake asks for a certificate the test CA signed, and
    /// a client that shows one is signed in without a token, as the API server's x509 authenticator does.
    public static func start(tokens: Set<String>, clientCertificates: Bool = false) async throws
        -> StandInAPIServer
    {
        let certificates = try TestCertificates()
        let key = try NIOSSLPrivateKey(bytes: Array(certificates.serverKeyPEM.utf8), format: .pem)
        let chain = try NIOSSLCertificate.fromPEMBytes(Array(certificates.serverCertificatePEM.utf8))
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        if clientCertificates {
            tls.certificateVerification = .noHostnameVerification
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(certificates.caPEM.utf8)))
        }
        let context = try NIOSSLContext(configuration: tls)
        let box = ServerBox()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(StandInHandler(server: box))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let server = StandInAPIServer(
            certificates: certificates, port: channel.localAddress?.port ?? 0, channel: channel,
            tokens: tokens, clientCertificates: clientCertificates)
        box.server.withLock { $0 = server }
        return server
    }

    public func stop() async {
        let open = state.withLock { state in
            defer { state.watches = [:] }
            return state.watches.values.map(\.channel)
        }
        for channel in open { try? await channel.close() }
        try? await channel.close()
    }

    // MARK: what the tests change

    public func accept(token: String) { state.withLock { _ = $0.tokens.insert(token) } }
    public func revoke(token: String) { state.withLock { _ = $0.tokens.remove(token) } }

    public var forbidPatches: Bool {
        get { state.withLock { $0.forbidPatches } }
        set { state.withLock { $0.forbidPatches = newValue } }
    }

    public var requests: [Request] { state.withLock { $0.requests } }

    /// Holds every watch event back until `release()`, so a client's view lags the cluster.
    public func hold() { state.withLock { $0.held = $0.held ?? [] } }

    /// Sends the events held back, in order, and stops holding.
    public func release() {
        state.withLock { state in
            for (line, channel) in state.held ?? [] { Self.send(line, on: channel) }
            state.held = nil
        }
    }

    /// The requests of a kind's watches, in order.
    public func watches(of kind: Kind) -> [Request] {
        requests.filter { $0.path == "/api/v1/\(kind.rawValue)" && $0.query["watch"] == "true" }
    }

    public func lists(of kind: Kind) -> [Request] {
        requests.filter { $0.path == "/api/v1/\(kind.rawValue)" && $0.query["watch"] != "true" }
    }

    public func inject(_ fault: Fault, into kind: Kind) {
        state.withLock { $0.faults[kind, default: []].append(fault) }
    }

    public var resourceVersion: Int { state.withLock { $0.version } }

    /// Creates or replaces a namespace with these labels (besides kubernetes.io/metadata.name).
    public func putNamespace(_ name: String, labels: [String: String] = [:]) {
        state.withLock { state in
            let before = state.namespaces[name].map(Self.labels)
            state.version += 1
            let object = Resource.object("Namespace") { object in
                var metadata = object["metadata"] as! [String: Any]
                metadata["name"] = name
                metadata["uid"] = Self.uid(for: "ns/\(name)")
                metadata["resourceVersion"] = String(state.version)
                metadata["labels"] = labels.merging(["kubernetes.io/metadata.name": name]) { mine, _ in mine }
                object["metadata"] = metadata
            }
            state.namespaces[name] = object
            record(
                &state, kind: .namespaces, type: before == nil ? "ADDED" : "MODIFIED", object: object,
                before: before)
        }
    }

    public func deleteNamespace(_ name: String) {
        state.withLock { state in
            guard let object = state.namespaces.removeValue(forKey: name) else { return }
            state.version += 1
            let gone = Self.mutate(object) { Self.setVersion(&$0, state.version) }
            record(&state, kind: .namespaces, type: "DELETED", object: gone, before: Self.labels(object))
        }
    }

    /// Creates or replaces a Service. `ports` as the API writes them (name, port, protocol, appProtocol).
    public func putService(
        _ name: String, namespace: String, ports: [[String: any Sendable]] = [["name": "http", "port": 80]],
        clusterIP: String = "10.96.0.10", annotations: [String: String] = [:]
    ) {
        state.withLock { state in
            let key = "\(namespace)/\(name)"
            let existed = state.services[key] != nil
            state.version += 1
            let object = Resource.object("Service") { object in
                var metadata = object["metadata"] as! [String: Any]
                metadata["name"] = name
                metadata["namespace"] = namespace
                metadata["uid"] = Self.uid(for: "svc/\(key)")
                metadata["resourceVersion"] = String(state.version)
                metadata["labels"] = ["app": name]
                metadata["annotations"] = annotations
                object["metadata"] = metadata
                var spec = object["spec"] as! [String: Any]
                spec["clusterIP"] = clusterIP
                spec["clusterIPs"] = [clusterIP]
                spec["selector"] = ["app": name]
                spec["ports"] = ports.map { port -> [String: Any] in
                    var full: [String: Any] = ["protocol": "TCP", "targetPort": port["port"] ?? 80]
                    for (key, value) in port { full[key] = value }
                    return full
                }
                object["spec"] = spec
            }
            state.services[key] = object
            record(&state, kind: .services, type: existed ? "MODIFIED" : "ADDED", object: object, before: nil)
        }
    }

    public func deleteService(_ name: String, namespace: String) {
        state.withLock { state in
            guard let object = state.services.removeValue(forKey: "\(namespace)/\(name)") else { return }
            state.version += 1
            record(
                &state, kind: .services, type: "DELETED",
                object: Self.mutate(object) { Self.setVersion(&$0, state.version) }, before: nil)
        }
    }

    public func annotations(ofService name: String, namespace: String) -> [String: String]? {
        state.withLock { state in
            state.services["\(namespace)/\(name)"].flatMap {
                ((try? JSONSerialization.jsonObject(with: $0)) as? [String: Any])
                    .flatMap { ($0["metadata"] as? [String: Any])?["annotations"] as? [String: String] }
            }
        }
    }

    public func putConfigMap(_ name: String, namespace: String, settings: String) {
        state.withLock { state in
            state.version += 1
            state.configMaps["\(namespace)/\(name)"] = Resource.object("ConfigMap") { object in
                var metadata = object["metadata"] as! [String: Any]
                metadata["name"] = name
                metadata["namespace"] = namespace
                metadata["resourceVersion"] = String(state.version)
                object["metadata"] = metadata
                object["data"] = ["settings.yaml": settings]
            }
        }
    }

    /// How many watches of `kind` are open and hearing changes.
    public func openWatches(_ kind: Kind) -> Int {
        state.withLock { $0.watches.values.filter { $0.kind == kind }.count }
    }

    /// Closes every open watch of `kind` mid-body, as a lost connection would.
    public func dropWatches(_ kind: Kind) {
        let open = state.withLock { state -> [any Channel] in
            let dropped = state.watches.filter { $0.value.kind == kind }
            for key in dropped.keys { state.watches.removeValue(forKey: key) }
            return dropped.values.map(\.channel)
        }
        for channel in open { channel.close(promise: nil) }
    }

    /// Sends every open watch of `kind` a BOOKMARK at the current resourceVersion.
    public func bookmark(_ kind: Kind) {
        state.withLock { state in
            let line = Self.line(
                type: "BOOKMARK",
                object: Resource.object("Bookmark") { object in
                    object["kind"] = kind == .namespaces ? "Namespace" : "Service"
                    object["metadata"] = ["resourceVersion": String(state.version)]
                })
            for watch in state.watches.values where watch.kind == kind { Self.send(line, on: watch.channel) }
        }
    }

    /// Writes a kubeconfig for this server, its CA inline, with a user whose `user` mapping is given.
    public func kubeconfig(in folder: String, user: String, context: String = "stand-in") throws -> String {
        let ca = Data(certificates.caPEM.utf8).base64EncodedString()
        let text = """
            apiVersion: v1
            kind: Config
            current-context: \(context)
            clusters:
            - name: stand-in
              cluster:
                server: \(server)
                certificate-authority-data: \(ca)
            contexts:
            - name: \(context)
              context:
                cluster: stand-in
                user: tester
            users:
            - name: tester
              user:
            \(user.split(separator: "\n").map { "    \($0)" }.joined(separator: "\n"))

            """
        let path = "\(folder)/kubeconfig"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    // MARK: serving

    private func record(
        _ state: inout State, kind: Kind, type: String, object: Data, before: [String: String]?
    ) {
        let change = Change(
            version: state.version, kind: kind, type: type, object: object, labelsBefore: before)
        state.history.append(change)
        for watch in state.watches.values where watch.kind == kind {
            guard let line = Self.line(for: change, selector: watch.selector) else { continue }
            if state.held != nil {
                state.held?.append((line, watch.channel))
            } else {
                Self.send(line, on: watch.channel)
            }
        }
    }

    /// The event a watch with `selector` sees of a change: ADDED when an object joins the
    /// selection, DELETED when it leaves, nothing when it was never in it.
    static func line(for change: Change, selector: (String, String)?) -> Data? {
        guard let selector, change.kind == .namespaces else {
            return line(type: change.type, object: change.object)
        }
        let matchesNow = labels(change.object)[selector.0] == selector.1 && change.type != "DELETED"
        let matchedBefore = change.labelsBefore.map { $0[selector.0] == selector.1 } ?? false
        switch (matchedBefore, matchesNow) {
        case (false, false): return nil
        case (false, true): return line(type: "ADDED", object: change.object)
        case (true, false): return line(type: "DELETED", object: change.object)
        case (true, true): return line(type: change.type, object: change.object)
        }
    }

    static func line(type: String, object: Data) -> Data {
        let event = Resource.object("WatchEvent") { event in
            event["type"] = type
            event["object"] = try? JSONSerialization.jsonObject(with: object)
        }
        return Self.compact(event) + Data("\n".utf8)
    }

    static func send(_ line: Data, on channel: any Channel) {
        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: line))), promise: nil)
    }

    func handle(_ request: Request, on channel: any Channel) -> Answer {
        state.withLock { $0.requests.append(request) }
        let signedIn =
            clientCertificates
            || request.token.map { token in state.withLock { $0.tokens.contains(token) } } == true
        guard signedIn else {
            return .status(401, Resource.document("Status-401", [:]))
        }
        let parts = request.path.split(separator: "/").map(String.init)
        switch (request.method, parts) {
        case ("GET", ["api"]): return .json(Resource.document("APIVersions", [:]))
        case ("GET", ["apis"]): return .json(Resource.document("APIGroupList", [:]))
        case ("GET", ["api", "v1"]): return .json(Resource.document("APIResourceList", [:]))
        case ("GET", ["api", "v1", "namespaces"]): return collection(.namespaces, request, channel)
        case ("GET", ["api", "v1", "services"]): return collection(.services, request, channel)
        default: break
        }
        // /api/v1/namespaces/{namespace}/{kind}/{name}
        if parts.count == 6, parts[0...2] == ["api", "v1", "namespaces"] {
            let (namespace, kind, name) = (parts[3], parts[4], parts[5])
            if request.method == "GET", kind == "configmaps" {
                guard let map = state.withLock({ $0.configMaps["\(namespace)/\(name)"] }) else {
                    return .status(
                        404, Resource.document("Status-404", ["NAME": name, "KIND": "configmaps"]))
                }
                return .json(map)
            }
            if request.method == "PATCH", kind == "services" {
                return patch(service: name, namespace: namespace, request)
            }
        }
        return .status(404, Resource.document("Status-404", ["NAME": request.path, "KIND": "paths"]))
    }

    enum Answer {
        case json(Data)
        case status(Int, Data)
        /// Headers sent; `then` says what the stream does next.
        case stream(lines: [Data], then: StreamEnd)
    }

    enum StreamEnd {
        case stayOpen
        case end
        case drop
    }

    private func collection(_ kind: Kind, _ request: Request, _ channel: any Channel) -> Answer {
        let selector = request.query["labelSelector"].flatMap { text -> (String, String)? in
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        }
        guard request.query["watch"] == "true" else {
            return state.withLock { state in
                let objects = (kind == .namespaces ? state.namespaces : state.services).sorted {
                    $0.key < $1.key
                }
                .map(\.value)
                .filter { object in selector.map { Self.labels(object)[$0.0] == $0.1 } ?? true }
                let list = Resource.object(kind == .namespaces ? "NamespaceList" : "ServiceList") { list in
                    list["metadata"] = ["resourceVersion": String(state.version)]
                    list["items"] = objects.compactMap { try? JSONSerialization.jsonObject(with: $0) }
                }
                return .json(list)
            }
        }
        let from = Int(request.query["resourceVersion"] ?? "") ?? 0
        return state.withLock { state in
            let fault = state.faults[kind]?.isEmpty == false ? state.faults[kind]!.removeFirst() : nil
            switch fault {
            case .httpGone?: return .status(410, Resource.document("Status-410-Gone", [:]))
            case .expiredInStream?:
                let status = Resource.document(
                    "Status-410-Expired", ["FROM": String(from), "NOW": String(state.version)])
                return .stream(lines: [Self.line(type: "ERROR", object: status)], then: .end)
            case .silence?: return .stream(lines: [], then: .stayOpen)
            case .drop?, nil:
                let lines = state.history.filter { $0.kind == kind && $0.version > from }
                    .compactMap { Self.line(for: $0, selector: selector) }
                if fault != nil { return .stream(lines: lines, then: .drop) }
                state.watches[ObjectIdentifier(channel)] = Watch(
                    kind: kind, selector: selector, channel: channel)
                let seconds = Int(request.query["timeoutSeconds"] ?? "") ?? 1800
                channel.eventLoop.scheduleTask(in: .seconds(Int64(seconds))) { [weak self] in
                    self?.endWatch(channel)
                }
                // Held: what the watch would start with waits too, after its head.
                if state.held != nil {
                    state.held? += lines.map { ($0, channel) }
                    return .stream(lines: [], then: .stayOpen)
                }
                return .stream(lines: lines, then: .stayOpen)
            }
        }
    }

    func forget(_ channel: any Channel) {
        state.withLock { _ = $0.watches.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    private func endWatch(_ channel: any Channel) {
        guard state.withLock({ $0.watches.removeValue(forKey: ObjectIdentifier(channel)) }) != nil else {
            return
        }
        channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
    }

    private func patch(service name: String, namespace: String, _ request: Request) -> Answer {
        state.withLock { state in
            if state.forbidPatches {
                return .status(403, Resource.document("Status-403", ["NAME": name, "NAMESPACE": namespace]))
            }
            let key = "\(namespace)/\(name)"
            guard let object = state.services[key] else {
                return .status(404, Resource.document("Status-404", ["NAME": name, "KIND": "services"]))
            }
            guard
                let patch = (try? JSONSerialization.jsonObject(with: Data(request.body.utf8)))
                    as? [String: Any]
            else {
                return .status(400, Resource.document("Status-404", ["NAME": "patch", "KIND": "bodies"]))
            }
            state.version += 1
            let patched = Self.mutate(object) { object in
                object = Self.mergePatch(object, patch) as! [String: Any]
                Self.setVersion(&object, state.version)
            }
            state.services[key] = patched
            record(&state, kind: .services, type: "MODIFIED", object: patched, before: nil)
            return .json(patched)
        }
    }

    /// RFC 7386: null removes a key, objects merge, anything else replaces.
    static func mergePatch(_ target: Any, _ patch: Any) -> Any {
        guard let patch = patch as? [String: Any] else { return patch }
        var result = target as? [String: Any] ?? [:]
        for (key, value) in patch {
            if value is NSNull {
                result.removeValue(forKey: key)
            } else {
                result[key] = mergePatch(result[key] ?? [String: Any](), value)
            }
        }
        return result
    }

    static func labels(_ object: Data) -> [String: String] {
        ((try? JSONSerialization.jsonObject(with: object)) as? [String: Any])
            .flatMap { ($0["metadata"] as? [String: Any])?["labels"] as? [String: String] } ?? [:]
    }

    static func mutate(_ object: Data, _ change: (inout [String: Any]) -> Void) -> Data {
        var parsed = (try? JSONSerialization.jsonObject(with: object)) as? [String: Any] ?? [:]
        change(&parsed)
        return compact(parsed)
    }

    static func setVersion(_ object: inout [String: Any], _ version: Int) {
        var metadata = object["metadata"] as? [String: Any] ?? [:]
        metadata["resourceVersion"] = String(version)
        object["metadata"] = metadata
    }

    static func compact(_ object: Any) -> Data {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    }

    static func compact(_ object: Data) -> Data {
        compact((try? JSONSerialization.jsonObject(with: object)) ?? [:])
    }

    static func uid(for key: String) -> String {
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 1_099_511_628_211 }
        let hex = String(hash, radix: 16).padding(toLength: 16, withPad: "0", startingAt: 0)
        return "\(hex.prefix(8))-\(hex.dropFirst(8).prefix(4))-4000-8000-\(hex.suffix(4))00000000"
    }
}

/// The documents under Resources/, read as the stand-in serves them.
enum Resource {
    static func text(_ name: String) -> String {
        guard
            let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Resources"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { fatalError("the stand-in's document \(name).json is missing from Resources/") }
        return text
    }

    /// A document with `$NAME`-style blanks filled in (JSON-escaped), compacted.
    static func document(_ name: String, _ blanks: [String: String]) -> Data {
        var text = text(name)
        // The longest first, so $NAME does not eat the start of $NAMESPACE.
        for (blank, value) in blanks.sorted(by: { $0.key.count > $1.key.count }) {
            let escaped = String(decoding: StandInAPIServer.compact([value]), as: UTF8.self).dropFirst(2)
                .dropLast(2)
            text = text.replacingOccurrences(of: "$\(blank)", with: escaped)
        }
        return StandInAPIServer.compact(Data(text.utf8))
    }

    /// A document changed by `change`, compacted.
    static func object(_ name: String, _ change: (inout [String: Any]) -> Void) -> Data {
        StandInAPIServer.mutate(Data(text(name).utf8), change)
    }
}

/// Lets the child channels reach the server made after they were configured.
final class ServerBox: Sendable {
    let server = Mutex<StandInAPIServer?>(nil)
}

final class StandInHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let box: ServerBox
    private var head: HTTPRequestHead?
    private var body = ""

    init(server: ServerBox) { self.box = server }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = ""
        case .body(let buffer):
            body += String(buffer: buffer)
        case .end:
            guard let head, let server = box.server.withLock({ $0 }) else { return }
            let components = URLComponents(string: head.uri)
            var query: [String: String] = [:]
            for item in components?.queryItems ?? [] { query[item.name] = item.value ?? "" }
            let authorization = head.headers.first(name: "authorization")
            let token = authorization.flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
            let request = StandInAPIServer.Request(
                method: head.method.rawValue, path: components?.path ?? head.uri, query: query, token: token,
                body: body)
            respond(server.handle(request, on: context.channel), context: context)
        }
    }

    private func respond(_ answer: StandInAPIServer.Answer, context: ChannelHandlerContext) {
        var headers = HTTPHeaders([
            ("Content-Type", "application/json"), ("Cache-Control", "no-cache, private"),
        ])
        switch answer {
        case .json(let data), .status(_, let data):
            let code: Int = if case .status(let code, _) = answer { code } else { 200 }
            headers.add(name: "Content-Length", value: String(data.count))
            context.write(
                wrapOutboundOut(
                    .head(
                        HTTPResponseHead(version: .http1_1, status: .init(statusCode: code), headers: headers)
                    )), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: data)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        case .stream(let lines, let then):
            headers.add(name: "Transfer-Encoding", value: "chunked")
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                promise: nil)
            for line in lines {
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: line)))), promise: nil)
            }
            context.flush()
            switch then {
            case .stayOpen: break
            case .end: context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            case .drop: context.close(promise: nil)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        box.server.withLock { $0 }?.forget(context.channel)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
