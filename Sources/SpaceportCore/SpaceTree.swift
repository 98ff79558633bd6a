/// A validated tree of spaces and the settings that go with it. Immutable: an edit
/// makes a new tree, so a request routes against one consistent snapshot.
public struct SpaceTree: Equatable, Sendable {
    public static let maxDepth = 3

    public let settings: Settings
    /// In file order.
    public let spaces: [Space]
    private let index: [String: Int]

    public init(settings: Settings = Settings(), spaces: [Space]) throws(SpacesError) {
        var index: [String: Int] = [:]
        for (position, space) in spaces.enumerated() {
            if let problem = Names.problem(with: space.name) {
                throw .badName(space.name, problem: problem, at: space.location)
            }
            if index[space.name] != nil { throw .duplicateSpace(space.name, at: space.location) }
            index[space.name] = position
            var seen: [String: String] = [:]
            for instance in space.services {
                if let problem = Names.serviceProblem(with: instance.service) {
                    throw .badName(instance.service, problem: problem, at: instance.location)
                }
                if let first = seen[instance.key] {
                    throw .duplicateService(
                        space: space.name, first: first, second: instance.service, at: instance.location)
                }
                seen[instance.key] = instance.service
            }
        }
        for space in spaces {
            guard let parent = space.parent else { continue }
            guard index[parent] != nil else {
                throw .unknownParent(
                    space: space.name, parent: parent, at: space.parentLocation ?? space.location)
            }
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
        if let problem = Names.problem(with: settings.defaultSpace) {
            throw .badValue(key: "default_space", problem: problem, at: nil)
        }
        self.settings = settings
        self.spaces = spaces
        self.index = index
    }

    public static func == (a: SpaceTree, b: SpaceTree) -> Bool {
        a.settings == b.settings && a.spaces == b.spaces
    }

    public func space(_ name: String) -> Space? {
        index[name].map { spaces[$0] }
    }

    public func contains(_ name: String) -> Bool { index[name] != nil }

    public var roots: [Space] { spaces.filter { $0.parent == nil } }

    public func children(of name: String) -> [Space] {
        spaces.filter { $0.parent == name }
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
        func visit(_ space: Space) {
            result.append(space)
            for child in children(of: space.name) { visit(child) }
        }
        for root in roots { visit(root) }
        return result
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
