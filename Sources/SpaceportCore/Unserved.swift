/// Why no space serves a route: the body of the proxy's 404, and what `spaceport route`
/// says first. The description is the sentence the user reads.
public enum Unserved: Equatable, Sendable, CustomStringConvertible {
    /// No space in the whole tree has an instance of the service: most likely a typo, or a
    /// URL read as a bare host. `nearest` are names some space does run that are a few edits
    /// away; `known` every service the tree runs, for when none is near.
    case unknownService(String, nearest: [String], known: [String], chain: String)
    /// Some space has the service, but none on the chain tried has it enabled.
    case noneOnChain(service: String, chain: String)

    /// How many of the tree's services a message lists when none is near the name asked for.
    static let listedServices = 5

    public var description: String {
        switch self {
        case .unknownService(let service, let nearest, let known, let chain):
            var sentence = "no space runs '\(Printable.clip(service))'"
            if !nearest.isEmpty {
                sentence += "; did you mean \(NearestNames.list(nearest))?"
            } else if !known.isEmpty {
                let listed = Array(known.prefix(Self.listedServices))
                let more = known.count > listed.count ? " and \(known.count - listed.count) more" : ""
                sentence += "; the spaces run \(listed.joined(separator: ", "))\(more)"
            }
            return sentence + " (tried \(chain))"
        case .noneOnChain(let service, let chain):
            return "no space on the chain \(chain) serves \(Printable.clip(service))"
        }
    }

    /// The names offered instead of the service asked for.
    public var suggestions: [String] {
        if case .unknownService(_, let nearest, _, _) = self { return nearest }
        return []
    }
}

extension Unserved {
    /// Why no space of `tree` serves `route`, a route whose `space` is nil.
    public init(_ route: Route, in tree: SpaceTree) {
        let chain =
            route.tried.isEmpty ? "'\(route.resolution.routeAs)'" : route.tried.joined(separator: " → ")
        let known = tree.serviceNames
        let key = Names.serviceKey(route.service)
        if known.contains(where: { Names.serviceKey($0) == key }) {
            self = .noneOnChain(service: route.service, chain: chain)
        } else {
            self = .unknownService(
                route.service, nearest: NearestNames.nearest(to: route.service, among: known), known: known,
                chain: chain)
        }
    }
}
