import Foundation

/// A space as the feed and `tree --json` show it.
public struct SpaceSnapshot: Codable, Equatable, Sendable {
    public struct Service: Codable, Equatable, Sendable {
        public var name: String
        public var upstream: String
        public var enabled: Bool
        public var egress: String?
        public var listen: String?
        /// `h2c` or `http1` when the instance forces what the proxy speaks to it; absent for `auto`.
        public var upstreamProtocol: UpstreamProtocol?
    }
    public var name: String
    public var parent: String?
    public var services: [Service]
}

/// The whole tree as one feed event: enough for a client to rebuild a `SpaceTree`.
public struct SpacesSnapshot: Codable, Equatable, Sendable {
    public var spaces: [SpaceSnapshot]
    public var routeHeader: String
    public var domain: String
    public var defaultSpace: String
    /// The headers read after `routeHeader`, in order (`propagation.headers`); absent from
    /// proxies older than them, which a reader takes as the defaults.
    public var carrierHeaders: [String]?
    /// The baggage keys read after the headers, in order (`propagation.baggage`).
    public var baggageKeys: [String]?
    /// Whether trace memory is on: a request that carries only `traceparent` can be routed.
    public var traceMemory: Bool?
    /// Present while the spaces file on disk is invalid: why, as the proxy logged it. The tree
    /// is then the last good one, still in effect; a later snapshot without it means the file
    /// is valid again.
    public var fileProblem: String?

    public init(_ tree: SpaceTree, fileProblem: String? = nil) {
        spaces = tree.spaces.map { space in
            SpaceSnapshot(
                name: space.name, parent: space.parent,
                services: space.services.map {
                    .init(
                        name: $0.service, upstream: $0.upstream.description, enabled: $0.enabled,
                        egress: $0.egress?.description, listen: $0.listen?.description,
                        upstreamProtocol: $0.upstreamProtocol == .auto ? nil : $0.upstreamProtocol)
                })
        }
        routeHeader = tree.settings.routeHeader
        domain = tree.settings.domain
        defaultSpace = tree.settings.defaultSpace
        let propagation = tree.settings.propagation
        carrierHeaders = propagation.headers.map(\.name)
        baggageKeys = propagation.baggage.map(\.name)
        traceMemory = propagation.remembersTraces
        self.fileProblem = fileProblem
    }

    /// Rebuilds the tree a proxy sent; throws if the snapshot is not a valid tree. Its carriers
    /// are the proxy's, for display: which of them the proxy writes is not sent.
    public func tree() throws -> SpaceTree {
        var settings = Settings()
        settings.routeHeader = routeHeader
        settings.domain = domain
        settings.defaultSpace = defaultSpace
        if let carrierHeaders { settings.propagation.headers = carrierHeaders.map { .init($0) } }
        if let baggageKeys { settings.propagation.baggage = baggageKeys.map { .init($0) } }
        if traceMemory == false { settings.propagation.traceMemoryTraces = 0 }
        return try SpaceTree(
            settings: settings,
            spaces: spaces.map { space in
                Space(
                    name: space.name, parent: space.parent,
                    services: try space.services.map {
                        var instance = Instance(
                            service: $0.name, upstream: try Address(parsing: $0.upstream),
                            enabled: $0.enabled, egress: try $0.egress.map { try Address(parsing: $0) },
                            listen: try $0.listen.map { try Address(parsing: $0) })
                        instance.upstreamProtocol = $0.upstreamProtocol ?? .auto
                        return instance
                    })
            })
    }
}

public struct FeedHello: Codable, Equatable, Sendable {
    public var proxy: String
    public var pid: Int
    public var version: String
    public var listeners: [String]
    /// The spaces file edits are saved to; nil when the proxy keeps its spaces in memory only.
    public var spacesFile: String?
    /// The proxy's clock (as a hop's `time`) when this connection began: a hop that ended
    /// before it is one of the recent hops replayed on connect, not live traffic.
    public var since: String?

    public init(
        proxy: String, pid: Int, version: String, listeners: [String], spacesFile: String? = nil,
        since: String? = nil
    ) {
        self.proxy = proxy
        self.pid = pid
        self.version = version
        self.listeners = listeners
        self.spacesFile = spacesFile
        self.since = since
    }

    /// Whether `hop` is one of the hops replayed on connect: it ended before this connection began.
    /// Times are compared as the proxy wrote them, fixed-width UTC, so their order is the text's.
    public func isReplayed(_ hop: borrowing HopEvent) -> Bool {
        guard let since, hop.phase == .end else { return false }
        return hop.time < since
    }
}

/// One line of the feed. Every line carries `"type"` and `"v": 1`.
public enum FeedEvent: Equatable, Sendable {
    case hello(FeedHello)
    case spaces(SpacesSnapshot)
    case hop(HopEvent)
    case dropped(count: Int)
    /// Counts for a sampling reader (`sample-hops`): every hop since the last tally.
    case tally(HopTally)
    case error(message: String, id: String?)
    case ack(id: String)
    /// The answer to a `request` command: the request a hop kept, sensitive values left out.
    case request(id: String, KeptRequestView)

    public static let version = 1

    public var type: String {
        switch self {
        case .hello: return "hello"
        case .spaces: return "spaces"
        case .hop: return "hop"
        case .dropped: return "dropped"
        case .tally: return "tally"
        case .error: return "error"
        case .ack: return "ack"
        case .request: return "request"
        }
    }
}

extension FeedEvent: Codable {
    enum Keys: String, CodingKey { case type, v, count, message, id }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(type, forKey: .type)
        try c.encode(Self.version, forKey: .v)
        switch self {
        case .hello(let hello): try hello.encode(to: encoder)
        case .spaces(let snapshot): try snapshot.encode(to: encoder)
        case .hop(let hop): try hop.encode(to: encoder)
        case .dropped(let count): try c.encode(count, forKey: .count)
        case .tally(let tally): try tally.encode(to: encoder)
        case .error(let message, let id):
            try c.encode(message, forKey: .message)
            try c.encode(id, forKey: .id)
        case .ack(let id): try c.encode(id, forKey: .id)
        case .request(let id, let view):
            try c.encode(id, forKey: .id)
            try view.encode(to: encoder)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        let type = try c.decode(String.self, forKey: .type)
        switch type {
        case "hello": self = .hello(try FeedHello(from: decoder))
        case "spaces": self = .spaces(try SpacesSnapshot(from: decoder))
        case "hop": self = .hop(try HopEvent(from: decoder))
        case "dropped": self = .dropped(count: try c.decode(Int.self, forKey: .count))
        case "tally": self = .tally(try HopTally(from: decoder))
        case "error":
            self = .error(
                message: try c.decode(String.self, forKey: .message),
                id: try c.decodeIfPresent(String.self, forKey: .id))
        case "ack": self = .ack(id: try c.decode(String.self, forKey: .id))
        case "request":
            self = .request(id: try c.decode(String.self, forKey: .id), try KeptRequestView(from: decoder))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: c, debugDescription: "unknown event type '\(type)'")
        }
    }
}
