/// A validated tree of spaces and the settings that go with it. Immutable: an edit
/// makes a new tree, so a request routes against one consistent snapshot.
public struct SpaceTree: Equatable, Sendable {
    public static let maxDepth = 3
    /// A team's tree is tens of spaces and services; these bounds keep the largest tree a
    /// proxy holds, and every screen and report of it, small enough to build in a blink.
    public static let maxSpaces = 1000
    public static let maxServicesPerSpace = 1000

    public let settings: Settings
    /// In file order.
    public let spaces: [Space]
    private let index: [String: Int]
    /// By a space's position: its instances' positions by service key, and its children's positions.
    private let instanceIndex: [[String: Int]]
    private let childPositions: [[Int]]
    /// By a space's position: its root's position.
    private let rootPositions: [Int]
    /// By a root's position: every service its family has an instance of, first as written, in file order.
    private let familyServices: [Int: [Instance]]

    public init(settings: Settings = Settings(), spaces: [Space]) throws(SpacesError) {
        if spaces.count > Self.maxSpaces { throw .tooManySpaces(at: spaces[Self.maxSpaces].location) }
        var index: [String: Int] = [:]
        var instanceIndex: [[String: Int]] = []
        instanceIndex.reserveCapacity(spaces.count)
        for (position, space) in spaces.enumerated() {
            if let problem = Names.problem(with: space.name) {
                throw .badName(space.name, problem: problem, at: space.location)
            }
            if index[space.name] != nil { throw .duplicateSpace(space.name, at: space.location) }
            index[space.name] = position
            if space.services.count > Self.maxServicesPerSpace {
                throw .tooManyServices(
                    space: space.name, at: space.services[Self.maxServicesPerSpace].location ?? space.location
                )
            }
            var instances: [String: Int] = [:]
            for (slot, instance) in space.services.enumerated() {
                if let problem = Names.serviceProblem(with: instance.service) {
                    throw .badName(instance.service, problem: problem, at: instance.location)
                }
                if let first = instances[instance.key] {
                    throw .duplicateService(
                        space: space.name, first: space.services[first].service, second: instance.service,
                        at: instance.location)
                }
                instances[instance.key] = slot
            }
            instanceIndex.append(instances)
        }
        var childPositions = [[Int]](repeating: [], count: spaces.count)
        for (position, space) in spaces.enumerated() {
            guard let parent = space.parent else { continue }
            guard let above = index[parent] else {
                throw .unknownParent(
                    space: space.name, parent: parent, at: space.parentLocation ?? space.location)
            }
            childPositions[above].append(position)
        }
        for space in spaces {
            var chain = [space.name]
            var current = space
            while let parent = current.parent, let next = index[parent] {
                if chain.contains(parent) {
                    throw .cycle(chain + [parent], at: space.parentLocation ?? space.location)
                }
                chain.append(parent)
                current = spaces[next]
            }
            if chain.count > Self.maxDepth {
                throw .tooDeep(
                    space: space.name, chain: chain.reversed(), at: space.parentLocation ?? space.location)
            }
        }
        var rootPositions: [Int] = []
        rootPositions.reserveCapacity(spaces.count)
        for position in spaces.indices {
            var top = position
            while let parent = spaces[top].parent, let above = index[parent] { top = above }
            rootPositions.append(top)
        }
        var familyServices: [Int: [Instance]] = [:]
        var seen: [Int: Set<String>] = [:]
        for (position, space) in spaces.enumerated() {
            let root = rootPositions[position]
            for instance in space.services where seen[root, default: []].insert(instance.key).inserted {
                familyServices[root, default: []].append(instance)
            }
        }
        if let problem = Names.problem(with: settings.defaultSpace) {
            throw .badValue(key: "default_space", problem: problem, at: nil)
        }
        if settings.namesDefaultSpace, index[settings.defaultSpace] == nil {
            throw .unknownDefaultSpace(settings.defaultSpace, at: settings.defaultSpaceLocation)
        }
        try ListenerAddresses.check(settings: settings, spaces: spaces)
        self.settings = settings
        self.spaces = spaces
        self.index = index
        self.instanceIndex = instanceIndex
        self.childPositions = childPositions
        self.rootPositions = rootPositions
        self.familyServices = familyServices
    }

    public static func == (a: SpaceTree, b: SpaceTree) -> Bool {
        a.settings == b.settings && a.spaces == b.spaces
    }

    public func space(_ name: String) -> Space? {
        index[name].map { spaces[$0] }
    }

    public func contains(_ name: String) -> Bool { index[name] != nil }

    /// The space's own instance of a service, enabled or not, found by key.
    public func instance(_ service: String, in spaceName: String) -> Instance? {
        guard let position = index[spaceName] else { return nil }
        return instanceIndex[position][Names.serviceKey(service)].map { spaces[position].services[$0] }
    }

    public var roots: [Space] { spaces.filter { $0.parent == nil } }

    public func children(of name: String) -> [Space] {
        guard let position = index[name] else { return [] }
        return childPositions[position].map { spaces[$0] }
    }

    /// The space, its parent and its grandparent, nearest first.
    public func chain(from name: String) -> [String] {
        var chain: [String] = []
        var next: String? = name
        while let current = next, let space = space(current) {
            chain.append(current)
            next = space.parent
        }
        return chain
    }

    /// 0 for a root, 1 for a child, 2 for a grandchild.
    public func depth(of name: String) -> Int { max(chain(from: name).count - 1, 0) }

    /// Spaces in tree order: each root, then its descendants depth first, each level in file order.
    public var ordered: [Space] {
        var result: [Space] = []
        result.reserveCapacity(spaces.count)
        func visit(_ position: Int) {
            result.append(spaces[position])
            for child in childPositions[position] { visit(child) }
        }
        for (position, space) in spaces.enumerated() where space.parent == nil { visit(position) }
        return result
    }

    public func descendants(of name: String) -> [String] {
        guard let position = index[name] else { return [] }
        return descendantPositions(of: position).map { spaces[$0].name }
    }

    /// Depth first, each level in file order.
    func descendantPositions(of position: Int) -> [Int] {
        childPositions[position].flatMap { [$0] + descendantPositions(of: $0) }
    }

    /// Every service the space's family (its root and all below it) has an instance of, first as written, in file order.
    func familyServices(of name: String) -> [Instance] {
        guard let position = index[name] else { return [] }
        return familyServices[rootPositions[position]] ?? []
    }

    /// Every service any space has an instance of, named as first written, in file order.
    public var serviceNames: [String] {
        var seen = Set<String>()
        var names: [String] = []
        for space in spaces {
            for instance in space.services where seen.insert(instance.key).inserted {
                names.append(instance.service)
            }
        }
        return names
    }
}
