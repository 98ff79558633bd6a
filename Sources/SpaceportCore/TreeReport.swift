/// What `tree` shows, one row per space and per service the space can reach; `tree --json`
/// and the admin listener's `/tree` print it as JSON.
public struct TreeReport: Encodable, Sendable {
    public struct Service: Encodable, Sendable {
        public var name: String
        public var state: String
        public var servedBy: String?
        public var upstream: String?
        public var override: String?
        /// `h2c` or `http1` when the serving instance forces what the proxy speaks to it; nil: the client's.
        public var upstreamProtocol: String?

        /// Every field, nulls included, so a reader sees the whole shape every time.
        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(state, forKey: .state)
            try container.encode(servedBy, forKey: .servedBy)
            try container.encode(upstream, forKey: .upstream)
            try container.encode(override, forKey: .override)
            try container.encode(upstreamProtocol, forKey: .upstreamProtocol)
        }

        enum CodingKeys: String, CodingKey {
            case name, state, servedBy, upstream, override, upstreamProtocol
        }
    }

    public struct Space: Encodable, Sendable {
        public var name: String
        public var parent: String?
        public var depth: Int
        public var services: [Service]

        public func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(parent, forKey: .parent)
            try container.encode(depth, forKey: .depth)
            try container.encode(services, forKey: .services)
        }

        enum CodingKeys: String, CodingKey { case name, parent, depth, services }
    }

    public var spaces: [Space]

    public init(_ tree: SpaceTree) {
        spaces = tree.ordered.map { space in
            Space(
                name: space.name, parent: space.parent, depth: tree.depth(of: space.name),
                services: tree.serviceStates(of: space.name).map { state in
                    let kind: String
                    switch state.ownership {
                    case .owned: kind = "owned"
                    case .inherited: kind = "inherited"
                    case .missing: kind = "missing"
                    }
                    let spoken = state.ownership.instance?.upstreamProtocol ?? .auto
                    return Service(
                        name: state.service, state: kind, servedBy: state.ownership.servedBy(in: space.name),
                        upstream: state.ownership.instance?.upstream.description,
                        override: state.own.map { $0.enabled ? "on" : "off" },
                        upstreamProtocol: spoken == .auto ? nil : spoken.rawValue)
                })
        }
    }
}
