import Foundation
import Yams

/// The spaces file: YAML in, a validated `SpaceTree` out, every error pointing at a
/// file:line:column; and atomic writes that never leave a half-written file.
public enum SpacesFile {
    static let topKeys = [
        "route_header", "domain", "default_space", "ingress", "admin", "trusted_proxies", "propagation",
        "sensitive_headers", "limits", "spaces",
    ]
    static let propagationKeys = ["write_route_header", "headers", "baggage", "trace_memory"]
    static let carrierKeys = ["name", "write"]
    static let traceMemoryKeys = ["seconds", "traces"]
    static let spaceKeys = ["parent", "services"]
    static let instanceKeys = ["upstream", "enabled", "egress", "listen", "protocol"]
    static var limitKeys: [(String, WritableKeyPath<Limits, Int>)] {
        [
            ("max_header_bytes", \.maxHeaderBytes), ("max_header_count", \.maxHeaderCount),
            ("header_timeout_ms", \.headerTimeoutMs), ("idle_timeout_ms", \.idleTimeoutMs),
            ("connect_timeout_ms", \.connectTimeoutMs), ("upstream_timeout_ms", \.upstreamTimeoutMs),
            ("drain_timeout_ms", \.drainTimeoutMs), ("max_upstream_connections", \.maxUpstreamConnections),
            ("max_upstream_queue", \.maxUpstreamQueue),
            ("max_idle_upstream_connections", \.maxIdleUpstreamConnections),
            ("replay_requests", \.replayRequests), ("replay_bytes", \.replayBytes),
            ("replay_body_bytes", \.replayBodyBytes),
        ]
    }
    /// The limits 0 turns off rather than makes nonsense of.
    static let limitsOffAtZero: Set<String> = ["replay_requests", "replay_bytes", "replay_body_bytes"]

    /// Reads and validates the file at `path`.
    public static func load(path: String) throws(SpacesError) -> SpaceTree {
        try parse(text: try read(path: path), file: path)
    }

    /// The most a spaces file may hold, checked before it is read: the YAML tree of a file
    /// takes about 25 times its size while it is parsed, and a team's file is a few KiB.
    public static let maxBytes = 4 * 1024 * 1024

    /// The file's text; a missing, unreadable or too large file is an error that says so.
    public static func read(path: String) throws(SpacesError) -> String {
        guard let text = try readIfPresent(path: path) else {
            throw .io("\(path): no such file; `spaceport init` writes a starter one")
        }
        return text
    }

    /// The file's text, or nil when there is no file at `path` yet. At most `maxBytes` are
    /// read, so a huge file (or one that never ends) costs no memory.
    static func readIfPresent(path: String) throws(SpacesError) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw .io("\(path): cannot be read (\(String(cString: strerror(errno)))); check its permissions")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw .io("\(path): cannot be read (\(String(cString: strerror(errno)))); check its permissions")
        }
        if info.st_mode & S_IFMT == S_IFDIR { throw .io("\(path): is a folder, not a spaces file") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .io("\(path): is not a regular file") }
        if info.st_size > maxBytes { throw .tooLarge(file: path, bytes: Int(info.st_size)) }
        // Room for the size it has now and a little more; a file that grows gets up to one byte past the limit.
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size) + 4096)
        var filled = 0
        while filled <= maxBytes {
            if filled == bytes.count {
                bytes += [UInt8](repeating: 0, count: min(bytes.count, maxBytes + 1 - filled))
            }
            let count = bytes.withUnsafeMutableBytes {
                Glibc.read(fd, $0.baseAddress! + filled, $0.count - filled)
            }
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else {
                throw .io(
                    "\(path): cannot be read (\(String(cString: strerror(errno)))); check its permissions")
            }
            if count == 0 { break }
            filled += count
        }
        // It grew while being read.
        if filled > maxBytes { throw .tooLarge(file: path, bytes: nil) }
        guard let text = String(validating: bytes[..<filled], as: UTF8.self) else {
            throw .io("\(path): is not UTF-8 text")
        }
        return text
    }

    /// Parses spaces-file text; `file` names it in errors.
    public static func parse(text: String, file: String) throws(SpacesError) -> SpaceTree {
        if text.utf8.count > maxBytes { throw .tooLarge(file: file, bytes: text.utf8.count) }
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw SpacesError.missingKey(
                    "spaces", in: "the spaces file", at: SourceLocation(file: file, line: 1, column: 1))
            }
            root = node
        } catch let error as SpacesError {
            throw error
        } catch let error as YamlError {
            throw syntaxError(error, text: text, file: file)
        } catch {
            throw .syntax("\(error)", at: SourceLocation(file: file, line: 1, column: 1))
        }
        let reader = Reader(file: file)
        return try reader.tree(root)
    }

    /// The settings part of a spaces file (every key but `spaces`), as a cluster keeps it in
    /// a ConfigMap; `file` names it in errors.
    public static func parseSettings(text: String, file: String) throws(SpacesError) -> Settings {
        if text.utf8.count > maxBytes { throw .tooLarge(file: file, bytes: text.utf8.count) }
        let root: Node
        do {
            guard let node = try Yams.compose(yaml: text) else { return Settings() }
            root = node
        } catch let error as YamlError {
            throw syntaxError(error, text: text, file: file)
        } catch {
            throw .syntax("\(error)", at: SourceLocation(file: file, line: 1, column: 1))
        }
        let reader = Reader(file: file)
        let top = try reader.mapping(root, "the settings")
        try reader.checkKeys(top, allowed: topKeys.filter { $0 != "spaces" })
        return try reader.settings(top)
    }

    static func syntaxError(_ error: YamlError, text: String, file: String) -> SpacesError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let detail = context.map { "\(problem) (\($0.text))" } ?? problem
            return .syntax(detail, at: SourceLocation(file: file, line: mark.line, column: mark.column))
        case .duplicatedKeysInMapping(let duplicates, let context):
            let first = context.mark
            let key = duplicates.first ?? ""
            guard let second = repeatedKey(key, after: first, in: text) else {
                return .syntax(
                    "the key '\(duplicates.joined(separator: "', '"))' appears twice in one mapping; keep one",
                    at: SourceLocation(file: file, line: first.line, column: first.column))
            }
            return .syntax(
                "the key '\(key)' appears twice in one mapping (first at line \(first.line)); keep one",
                at: SourceLocation(file: file, line: second.line, column: second.column))
        case .reader(let problem, _, _, _):
            return .syntax(problem, at: SourceLocation(file: file, line: 1, column: 1))
        default:
            return .syntax("\(error)", at: SourceLocation(file: file, line: 1, column: 1))
        }
    }

    /// Where a block mapping's key is written again, since Yams points at its first use:
    /// the next line at the same indentation that starts with the key, before the mapping ends.
    static func repeatedKey(_ key: String, after first: Mark, in text: String) -> (line: Int, column: Int)? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let indent = first.column - 1
        var number = first.line
        while number < lines.count {
            let line = lines[number]
            number += 1
            let body = line.drop { $0 == " " }
            if body.isEmpty || body.hasPrefix("#") { continue }
            let depth = line.count - body.count
            if depth < indent { return nil }
            guard depth == indent else { continue }
            for spelling in [key, "'\(key)'", "\"\(key)\""] {
                let rest = body.dropFirst(spelling.count).drop { $0 == " " }
                if body.hasPrefix(spelling), rest.hasPrefix(":") {
                    return (number, indent + 1)
                }
            }
        }
        return nil
    }

    /// Walks the YAML nodes, keeping the position of each for error messages.
    struct Reader {
        var file: String

        func at(_ node: Node) -> SourceLocation {
            SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
        }

        func mapping(_ node: Node, _ what: String) throws(SpacesError) -> Node.Mapping {
            guard let mapping = node.mapping else {
                throw .wrongType(key: what, expected: "a mapping of keys to values", at: at(node))
            }
            return mapping
        }

        func string(_ node: Node, _ key: String) throws(SpacesError) -> String {
            guard let scalar = node.scalar else {
                throw .wrongType(key: key, expected: "a single value, not a list or mapping", at: at(node))
            }
            return scalar.string
        }

        func address(_ node: Node, _ key: String) throws(SpacesError) -> Address {
            let text = try string(node, key)
            do {
                return try Address(parsing: text)
            } catch {
                throw .badAddress(error, at: at(node))
            }
        }

        func checkKeys(_ mapping: Node.Mapping, allowed: [String]) throws(SpacesError) {
            for key in mapping.keys {
                let name = try string(key, "a key")
                if !allowed.contains(name) { throw .unknownKey(name, allowed: allowed, at: at(key)) }
            }
        }

        /// Every top-level key but `spaces`: what a spaces file and a cluster's settings share.
        func settings(_ top: Node.Mapping) throws(SpacesError) -> Settings {
            var settings = Settings()
            if let node = top["route_header"] {
                let value = try string(node, "route_header").lowercased()
                guard Names.isValid(value) else {
                    throw .badValue(
                        key: "route_header",
                        problem: "'\(Printable.clip(value))' is not a header name (letters, digits, '-')",
                        at: at(node))
                }
                settings.routeHeader = value
            }
            if let node = top["domain"] {
                let value = try string(node, "domain").lowercased()
                let labels = value.split(separator: ".", omittingEmptySubsequences: false)
                guard !value.isEmpty, labels.allSatisfy({ Names.isValid(String($0)) }) else {
                    throw .badValue(
                        key: "domain",
                        problem:
                            "'\(Printable.clip(value))' is not a DNS name such as localhost or dev.example.com",
                        at: at(node))
                }
                settings.domain = value
            }
            if let node = top["default_space"] {
                let value = try string(node, "default_space")
                if let problem = Names.problem(with: value) {
                    throw .badName(value, problem: problem, at: at(node))
                }
                settings.defaultSpace = value
                settings.defaultSpaceLocation = at(node)
            }
            if let node = top["ingress"] {
                settings.ingress = try address(node, "ingress")
                settings.ingressLocation = at(node)
            }
            if let node = top["admin"], node.null == nil {
                settings.admin = try address(node, "admin")
                settings.adminLocation = at(node)
            }
            if let node = top["trusted_proxies"], node.null == nil {
                guard let list = node.sequence else {
                    throw .wrongType(
                        key: "trusted_proxies", expected: "a list of addresses or CIDR blocks", at: at(node))
                }
                for item in list {
                    let text = try string(item, "trusted_proxies")
                    do {
                        settings.trustedProxies.append(try IPRange(parsing: text))
                    } catch {
                        throw .badAddress(error, at: at(item))
                    }
                }
            }
            if let node = top["propagation"], node.null == nil {
                settings.propagation = try propagation(node)
            }
            if let node = top["limits"] {
                let limits = try mapping(node, "limits")
                try checkKeys(limits, allowed: SpacesFile.limitKeys.map(\.0))
                for (key, path) in SpacesFile.limitKeys {
                    guard let value = limits[key] else { continue }
                    let offAtZero = SpacesFile.limitsOffAtZero.contains(key)
                    guard let number = value.int, number > 0 || (offAtZero && number == 0) else {
                        throw .badValue(
                            key: key,
                            problem: offAtZero
                                ? "must be a whole number, 0 or more (0 turns replay off)"
                                : "must be a whole number above 0", at: at(value))
                    }
                    if key == "replay_body_bytes", number > Limits.maxReplayBodyBytes {
                        throw .badValue(
                            key: key,
                            problem:
                                "must be at most \(Limits.maxReplayBodyBytes): bodies are kept to look at a request again, not to upload files",
                            at: at(value))
                    }
                    settings.limits[keyPath: path] = number
                }
            }
            if let node = top["sensitive_headers"], node.null == nil {
                guard let list = node.sequence else {
                    throw .wrongType(
                        key: "sensitive_headers", expected: "a list of header names", at: at(node))
                }
                for item in list {
                    let name = try string(item, "sensitive_headers").lowercased()
                    guard HTTPToken.isToken(name) else {
                        throw .badValue(
                            key: "sensitive_headers",
                            problem: "'\(Printable.clip(name))' is not a header name (letters, digits, '-')",
                            at: at(item))
                    }
                    if !settings.isSensitive(name) { settings.sensitiveHeaders.append(name) }
                }
            }
            return settings
        }

        func tree(_ root: Node) throws(SpacesError) -> SpaceTree {
            let top = try mapping(root, "the spaces file")
            try checkKeys(top, allowed: SpacesFile.topKeys)
            let settings = try self.settings(top)
            guard let spacesNode = top["spaces"] else {
                throw .missingKey("spaces", in: "the spaces file", at: at(root))
            }
            var spaces: [Space] = []
            if spacesNode.null == nil {
                for (key, value) in try mapping(spacesNode, "spaces") {
                    spaces.append(try space(key: key, value: value))
                }
            }
            return try SpaceTree(settings: settings, spaces: spaces)
        }

        func propagation(_ node: Node) throws(SpacesError) -> Propagation {
            let body = try mapping(node, "propagation")
            try checkKeys(body, allowed: SpacesFile.propagationKeys)
            var propagation = Propagation()
            if let flag = body["write_route_header"] {
                guard let value = flag.bool else {
                    throw .wrongType(key: "write_route_header", expected: "true or false", at: at(flag))
                }
                propagation.writeRouteHeader = value
            }
            if let list = body["headers"] {
                propagation.headers = try carriers(list, "headers", what: "a header name")
                for (carrier, item) in zip(propagation.headers, list.sequence ?? []) {
                    if Propagation.reservedHeaders.contains(carrier.name) {
                        throw .badValue(
                            key: "headers",
                            problem:
                                "'\(carrier.name)' means something else to HTTP; carry route-as in a header of its own",
                            at: at(item))
                    }
                }
            }
            if let list = body["baggage"] {
                propagation.baggage = try carriers(list, "baggage", what: "a baggage key")
            }
            if let memory = body["trace_memory"] {
                let fields = try mapping(memory, "trace_memory")
                try checkKeys(fields, allowed: SpacesFile.traceMemoryKeys)
                for (key, path) in [
                    ("seconds", \Propagation.traceMemorySeconds), ("traces", \.traceMemoryTraces),
                ] {
                    guard let value = fields[key] else { continue }
                    guard let number = value.int, number >= 0 else {
                        throw .badValue(
                            key: key, problem: "must be a whole number, 0 or more (0 turns trace memory off)",
                            at: at(value))
                    }
                    propagation[keyPath: path] = number
                }
            }
            return propagation
        }

        /// A list of carriers: each a name, or `{ name: ..., write: false }`. Names are HTTP tokens,
        /// in lowercase, each listed once.
        func carriers(_ node: Node, _ key: String, what: String) throws(SpacesError) -> [Propagation.Carrier]
        {
            if node.null != nil { return [] }
            guard let list = node.sequence else {
                throw .wrongType(key: key, expected: "a list of names, or of { name, write }", at: at(node))
            }
            var carriers: [Propagation.Carrier] = []
            for item in list {
                var carrier: Propagation.Carrier
                let nameNode: Node
                if item.scalar != nil {
                    nameNode = item
                    carrier = Propagation.Carrier(try string(item, key))
                } else {
                    let fields = try mapping(item, key)
                    try checkKeys(fields, allowed: SpacesFile.carrierKeys)
                    guard let name = fields["name"] else {
                        throw .missingKey("name", in: "a carrier of \(key)", at: at(item))
                    }
                    nameNode = name
                    carrier = Propagation.Carrier(try string(name, "name"))
                    if let write = fields["write"] {
                        guard let flag = write.bool else {
                            throw .wrongType(key: "write", expected: "true or false", at: at(write))
                        }
                        carrier.write = flag
                    }
                }
                // Header names match without case; baggage keys, as the W3C spec has them, with it.
                if key == "headers" { carrier.name = carrier.name.lowercased() }
                guard HTTPToken.isToken(carrier.name) else {
                    throw .badValue(
                        key: key,
                        problem:
                            "'\(Printable.clip(carrier.name))' is not \(what) (letters, digits and -._~!#$%&'*+^`|)",
                        at: at(nameNode))
                }
                guard !carriers.contains(where: { $0.name == carrier.name }) else {
                    throw .badValue(
                        key: key, problem: "'\(carrier.name)' is listed twice; keep one", at: at(nameNode))
                }
                carriers.append(carrier)
            }
            return carriers
        }

        func space(key: Node, value: Node) throws(SpacesError) -> Space {
            let name = try string(key, "a space name")
            if let problem = Names.problem(with: name) { throw .badName(name, problem: problem, at: at(key)) }
            var space = Space(name: name, location: at(key))
            if value.null != nil { return space }
            let body = try mapping(value, "space '\(name)'")
            try checkKeys(body, allowed: SpacesFile.spaceKeys)
            if let parent = body["parent"], parent.null == nil {
                space.parent = try string(parent, "parent")
                space.parentLocation = at(parent)
            }
            if let services = body["services"], services.null == nil {
                for (serviceKey, serviceValue) in try mapping(services, "services of '\(name)'") {
                    space.services.append(try instance(key: serviceKey, value: serviceValue, space: name))
                }
            }
            return space
        }

        func instance(key: Node, value: Node, space: String) throws(SpacesError) -> Instance {
            let service = try string(key, "a service name")
            if let problem = Names.serviceProblem(with: service) {
                throw .badName(service, problem: problem, at: at(key))
            }
            if value.scalar != nil {
                return Instance(service: service, upstream: try address(value, "upstream"), location: at(key))
            }
            let body = try mapping(value, "service '\(service)' in '\(space)'")
            try checkKeys(body, allowed: SpacesFile.instanceKeys)
            guard let upstream = body["upstream"] else {
                throw .missingKey("upstream", in: "service '\(service)' in space '\(space)'", at: at(value))
            }
            var instance = Instance(
                service: service, upstream: try address(upstream, "upstream"), location: at(key))
            if let enabled = body["enabled"] {
                guard let flag = enabled.bool else {
                    throw .wrongType(key: "enabled", expected: "true or false", at: at(enabled))
                }
                instance.enabled = flag
            }
            if let egress = body["egress"] {
                instance.egress = try address(egress, "egress")
                instance.egressLocation = at(egress)
            }
            if let node = body["protocol"] {
                let text = try string(node, "protocol")
                guard let (relayed, spoken) = Instance.protocols(text) else {
                    throw .badValue(
                        key: "protocol",
                        problem:
                            "'\(Printable.clip(text))' is not one of: \(Instance.protocolValues.joined(separator: ", ")) (h2c: HTTP/2 with prior knowledge to the upstream, http1: HTTP/1.1, auto: the client's)",
                        at: at(node))
                }
                instance.protocol = relayed
                instance.upstreamProtocol = spoken
            }
            if let listen = body["listen"] {
                instance.listen = try address(listen, "listen")
                instance.listenLocation = at(listen)
            }
            return instance
        }
    }
}
