/// A change to the tree, as the command line, the feed and the dashboard ask for it.
public enum SpaceEdit: Equatable, Sendable, CustomStringConvertible {
    /// Turn a space's own instance on or off.
    case override(space: String, service: String, enabled: Bool)
    /// Point a space's instance at an upstream, creating the instance (enabled) if absent.
    case setUpstream(space: String, service: String, upstream: Address)
    /// Remove a space's own instance of a service, so the space inherits it again.
    case removeInstance(space: String, service: String)
    case createSpace(name: String, parent: String?)
    case deleteSpace(name: String, recursive: Bool)

    public var description: String {
        switch self {
        case .override(let space, let service, let enabled):
            return "override \(service) in \(space) \(enabled ? "on" : "off")"
        case .setUpstream(let space, let service, let upstream):
            return "set \(service) in \(space) to \(upstream)"
        case .removeInstance(let space, let service):
            return "remove \(service) from \(space)"
        case .createSpace(let name, let parent):
            return parent.map { "create space \(name) under \($0)" } ?? "create root space \(name)"
        case .deleteSpace(let name, let recursive):
            return "delete space \(name)\(recursive ? " and its descendants" : "")"
        }
    }
}

extension SpaceTree {
    /// The tree after `edit`, validated; the tree itself is unchanged.
    public func applying(_ edit: SpaceEdit) throws(SpacesError) -> SpaceTree {
        var spaces = self.spaces
        switch edit {
        case .override(let name, let service, let enabled):
            guard let position = spaces.firstIndex(where: { $0.name == name }) else {
                throw .unknownSpace(name)
            }
            let key = Names.serviceKey(service)
            guard let slot = spaces[position].services.firstIndex(where: { $0.key == key }) else {
                throw .unknownService(space: name, service: service)
            }
            spaces[position].services[slot].enabled = enabled
        case .setUpstream(let name, let service, let upstream):
            guard let position = spaces.firstIndex(where: { $0.name == name }) else {
                throw .unknownSpace(name)
            }
            let key = Names.serviceKey(service)
            if let slot = spaces[position].services.firstIndex(where: { $0.key == key }) {
                spaces[position].services[slot].upstream = upstream
            } else {
                if let problem = Names.serviceProblem(with: service) {
                    throw .badName(service, problem: problem, at: nil)
                }
                spaces[position].services.append(Instance(service: service, upstream: upstream))
            }
        case .removeInstance(let name, let service):
            guard let position = spaces.firstIndex(where: { $0.name == name }) else {
                throw .unknownSpace(name)
            }
            let key = Names.serviceKey(service)
            guard let slot = spaces[position].services.firstIndex(where: { $0.key == key }) else {
                throw .unknownService(space: name, service: service)
            }
            spaces[position].services.remove(at: slot)
        case .createSpace(let name, let parent):
            if contains(name) { throw .spaceExists(name) }
            if let parent, !contains(parent) { throw .unknownSpace(parent) }
            spaces.append(Space(name: name, parent: parent))
        case .deleteSpace(let name, let recursive):
            guard contains(name) else { throw .unknownSpace(name) }
            let below = descendants(of: name)
            if !below.isEmpty && !recursive { throw .hasChildren(space: name, children: below) }
            let doomed = Set(below + [name])
            if settings.namesDefaultSpace, doomed.contains(settings.defaultSpace) {
                throw .deletesDefaultSpace(settings.defaultSpace)
            }
            spaces.removeAll { doomed.contains($0.name) }
        }
        return try SpaceTree(settings: settings, spaces: spaces)
    }
}
