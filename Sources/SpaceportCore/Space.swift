/// Where something stands in the spaces file, so an error can point at it.
public struct SourceLocation: Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String { "\(file):\(line):\(column)" }
}

/// What an instance's listen address does with what it receives (`protocol: tcp` in the spaces file).
public enum InstanceProtocol: String, Sendable, CaseIterable {
    case http
    case tcp
}

/// A space's own deployment of a service. While `enabled` is false the space inherits it.
public struct Instance: Sendable, CustomStringConvertible {
    /// The service name as the user wrote it; match with `key`.
    public var service: String
    public var upstream: Address
    public var enabled: Bool
    /// The instance's outbound proxy: its app sets HTTP_PROXY here.
    public var egress: Address?
    /// A pod-like inbound address; non-HTTP bytes pass through to `upstream`.
    public var listen: Address?
    /// What the instance speaks: `http` (its listen address routes HTTP and relays anything
    /// else) or `tcp` (its listen address relays every byte raw, without looking at them).
    public var `protocol`: InstanceProtocol = .http
    /// Which HTTP the proxy speaks to `upstream`: the client's (`auto`), or always HTTP/1.1 or h2c.
    public var upstreamProtocol: UpstreamProtocol = .auto
    public var location: SourceLocation?
    /// Where the file wrote `egress` and `listen`, so a clash can point at the address itself.
    public var egressLocation: SourceLocation?
    public var listenLocation: SourceLocation?

    public init(
        service: String, upstream: Address, enabled: Bool = true, egress: Address? = nil,
        listen: Address? = nil, location: SourceLocation? = nil
    ) {
        self.service = service
        self.upstream = upstream
        self.enabled = enabled
        self.egress = egress
        self.listen = listen
        self.location = location
    }

    /// The values `protocol:` takes: `auto` (as `http`, the default) or `http1` or `h2c`, which
    /// say how the upstream is spoken to, or `tcp`, which says what the listen address relays.
    public static let protocolValues = ["auto", "http", "http1", "h2c", "tcp"]

    /// What `protocol:` says, or nil for a value it does not take.
    public static func protocols(_ value: String) -> (InstanceProtocol, UpstreamProtocol)? {
        switch value {
        case "tcp": (.tcp, .auto)
        case "http": (.http, .auto)
        default: UpstreamProtocol(rawValue: value).map { (.http, $0) }
        }
    }

    /// `protocol:` as the spaces file writes it; nil for the default.
    public var protocolValue: String? {
        if self.protocol == .tcp { return "tcp" }
        return upstreamProtocol == .auto ? nil : upstreamProtocol.rawValue
    }

    public var key: String { Names.serviceKey(service) }
    public var description: String { "\(service) → \(upstream)\(enabled ? "" : " (off)")" }
}

extension Instance: Equatable {
    /// Locations say where a value was read, not what it is.
    public static func == (a: Instance, b: Instance) -> Bool {
        a.service == b.service && a.upstream == b.upstream && a.enabled == b.enabled
            && a.egress == b.egress && a.listen == b.listen && a.protocol == b.protocol
            && a.upstreamProtocol == b.upstreamProtocol
    }
}

public struct Space: Sendable {
    public var name: String
    public var parent: String?
    /// In file order.
    public var services: [Instance]
    public var location: SourceLocation?
    public var parentLocation: SourceLocation?

    public init(
        name: String, parent: String? = nil, services: [Instance] = [],
        location: SourceLocation? = nil, parentLocation: SourceLocation? = nil
    ) {
        self.name = name
        self.parent = parent
        self.services = services
        self.location = location
        self.parentLocation = parentLocation
    }

    /// The space's own instance of a service, enabled or not.
    public func instance(_ service: String) -> Instance? {
        let key = Names.serviceKey(service)
        return services.first { $0.key == key }
    }
}

extension Space: Equatable {
    public static func == (a: Space, b: Space) -> Bool {
        a.name == b.name && a.parent == b.parent && a.services == b.services
    }
}

/// Limits on what a client or upstream may cost the proxy; defaults sit near nginx's and envoy's.
public struct Limits: Equatable, Sendable {
    public var maxHeaderBytes = 64 * 1024
    public var maxHeaderCount = 100
    public var headerTimeoutMs = 10_000
    public var idleTimeoutMs = 60_000
    public var connectTimeoutMs = 5_000
    public var upstreamTimeoutMs = 60_000
    public var drainTimeoutMs = 5_000
    /// Connections open to one upstream at once, across the proxy; requests beyond them wait.
    public var maxUpstreamConnections = 512
    /// Requests that may wait for a connection to one upstream; one more is answered 503.
    public var maxUpstreamQueue = 1024
    /// Idle keep-alive connections kept per upstream; more close after a second unused.
    public var maxIdleUpstreamConnections = 128
    /// Requests whose heads the proxy keeps, the latest first, so a feed client can replay one
    /// as another space; 0 keeps none and turns replay off.
    public var replayRequests = 100
    /// The most the kept requests take together, bodies included; 0 turns replay off.
    public var replayBytes = 1024 * 1024
    /// The largest body kept with its head; 0 keeps none, so a request with a body cannot be replayed.
    public var replayBodyBytes = 0
    /// The most `replayBodyBytes` may be: replay is for looking again, not for uploads.
    public static let maxReplayBodyBytes = 1024 * 1024

    public init() {}

    /// Whether the proxy keeps requests to replay.
    public var keepsRequests: Bool { replayRequests > 0 && replayBytes > 0 }
}

/// Everything in the spaces file apart from the spaces.
public struct Settings: Equatable, Sendable {
    public static let defaultRouteHeader = "azds-route-as"

    public var routeHeader = Settings.defaultRouteHeader
    public var domain = "localhost"
    public var defaultSpace = "default"
    public var ingress: Address? = nil
    /// Where the admin listener (metrics, health, the tree) listens; nil leaves it off.
    public var admin: Address? = nil
    public var limits = Limits()
    /// Peers whose X-Forwarded-Host and X-Forwarded-Proto the ingress keeps (a proxy in
    /// front of it); from anyone else they are replaced by what the ingress saw.
    public var trustedProxies: [IPRange] = []
    /// Which fields carry route-as, and what the proxy does with them.
    public var propagation = Propagation()
    /// Header names, lowercase, whose values never leave the proxy on the feed, besides
    /// `alwaysSensitive`: a replay sends them again only from inside the proxy.
    public var sensitiveHeaders: [String] = []
    /// The headers that carry credentials whatever the spaces file says.
    public static let alwaysSensitive = ["authorization", "cookie", "proxy-authorization"]
    /// Where the file wrote `default_space` and `ingress`; nil when it did not.
    public var defaultSpaceLocation: SourceLocation?
    public var ingressLocation: SourceLocation?
    public var adminLocation: SourceLocation?

    public init() {}

    /// A default_space the file names must be a space; an unnamed "default" may be missing, as in a new tree.
    public var namesDefaultSpace: Bool {
        defaultSpaceLocation != nil || defaultSpace != Settings().defaultSpace
    }

    /// Locations say where a value was read, not what it is.
    public static func == (a: Settings, b: Settings) -> Bool {
        a.routeHeader == b.routeHeader && a.domain == b.domain && a.defaultSpace == b.defaultSpace
            && a.ingress == b.ingress && a.admin == b.admin && a.limits == b.limits
            && a.trustedProxies == b.trustedProxies
            && a.propagation == b.propagation && a.sensitiveHeaders == b.sensitiveHeaders
    }

    /// Whether a header's value stays inside the proxy: a credential, or one the file names.
    public func isSensitive(_ name: some StringProtocol) -> Bool {
        let lower = name.lowercased()
        return Self.alwaysSensitive.contains(lower) || sensitiveHeaders.contains(lower)
    }
}
