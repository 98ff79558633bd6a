import SpaceportCore
import SpaceportProxy

/// The values a metric's labels may take: names from the tree in effect, never bytes a client
/// sent, so no request can add a series. A hop's value that is not in the tree is `unknown`
/// (a service no space runs, asked for by a 404), an absent one `none`.
struct MetricLabels: Sendable {
    static let none = "none"
    static let unknown = "unknown"

    private var spaces: Set<String> = []
    /// Service names match without case: by their lowercased form, to the tree's spelling.
    private var services: [String: String] = [:]
    private var listeners: Set<String> = []

    init(_ tree: SpaceTree) {
        spaces = Set(tree.spaces.map(\.name))
        for name in tree.serviceNames { services[name.lowercased()] = name }
        listeners = RoutingProxy.listenerNames(of: tree)
    }

    func space(_ name: String?) -> String {
        guard let name else { return Self.none }
        return spaces.contains(name) ? name : Self.unknown
    }

    func service(_ name: String?) -> String {
        guard let name else { return Self.none }
        return services[name] ?? services[name.lowercased()] ?? Self.unknown
    }

    func listener(_ name: String) -> String {
        listeners.contains(name) ? name : Self.unknown
    }

    /// `2xx` and the like; `none` for a hop that ended with no status (the client went, an abort).
    static func statusClass(_ status: Int?) -> String {
        guard let status else { return none }
        guard (100...599).contains(status) else { return "other" }
        return "\(status / 100)xx"
    }
}
