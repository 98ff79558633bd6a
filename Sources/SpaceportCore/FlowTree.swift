/// How the hops of one flow hang together, worked out from what the proxy knows: a hop that came
/// through an instance's egress is a call made by the hop that instance served in the same flow
/// (`caller`); a hop that came from elsewhere and started while another hop of the flow was
/// running, in no other hop of it that started later, is taken for that hop's call (`timing`, a
/// guess); anything else is a root. Built from values, so the dashboard and `spaceport tail`
/// draw the same tree.
public struct FlowTree: Equatable, Sendable {
    /// One hop, as far as the tree needs it.
    public struct Member: Equatable, Sendable {
        /// The instance whose egress the request came through, when it did.
        public var from: HopCaller?
        /// The instance that served it, when one did.
        public var space: String?
        public var service: String?
        /// When it started and ended, in milliseconds on the proxy's clock; `end` is nil while it runs.
        public var start: Double
        public var end: Double?

        public init(from: HopCaller?, space: String?, service: String?, start: Double, end: Double?) {
            self.from = from
            self.space = space
            self.service = service
            self.start = start
            self.end = end
        }

        public init(_ hop: borrowing HopEvent, start: Double, ended: Bool) {
            self.init(
                from: hop.from, space: hop.space, service: hop.service, start: start,
                end: ended ? start + (hop.durationMs ?? 0) : nil)
        }
    }

    /// Why a node sits where it does.
    public enum Link: Equatable, Sendable {
        /// Nothing says it was called by a hop of the flow. `caller` is the instance whose
        /// egress it came through when that instance's hop was not seen (sampled out, or gone).
        case root(caller: HopCaller?)
        /// It came through the egress of the instance that served its parent. `certain` is
        /// false when that instance served more than one hop of the flow and timing chose.
        case caller(certain: Bool)
        /// It started while its parent ran, and nothing else says who called it: a guess.
        case timing

        /// The tree drew this link from timing alone, or chose between hops by it.
        public var isGuess: Bool {
            switch self {
            case .root: return false
            case .caller(let certain): return !certain
            case .timing: return true
            }
        }
    }

    public struct Node: Equatable, Sendable {
        /// The member's index in the list the tree was built from.
        public var member: Int
        /// 0 for a root.
        public var depth: Int
        /// The parent's member index, nil for a root.
        public var parent: Int?
        public var link: Link
        /// The last of its parent's children (or of the roots), for drawing guides.
        public var isLast: Bool
    }

    /// Every member once, depth first: each root, then its calls in the order they started.
    public let nodes: [Node]

    /// How late a child may seem to start before its parent: the proxy writes times to the
    /// millisecond, and a start worked out from an end and a duration may be off by one.
    public static let slackMs = 1.0

    public init(_ members: [Member]) {
        let count = members.count
        var parents = [Int?](repeating: nil, count: count)
        var links = [Link](repeating: .root(caller: nil), count: count)
        // Hops served by each instance, to find a call's caller without looking at every hop.
        var served: [String: [Int]] = [:]
        for (index, member) in members.enumerated() {
            guard let space = member.space, let service = member.service else { continue }
            served[Self.key(space: space, service: service), default: []].append(index)
        }
        for (index, member) in members.enumerated() {
            if let from = member.from {
                let candidates = (served[Self.key(space: from.space, service: from.service)] ?? []).filter {
                    $0 != index && members[$0].start <= member.start + Self.slackMs
                }
                let enclosing = candidates.filter { Self.encloses(members[$0], member) }
                if let parent = Self.innermost(enclosing.isEmpty ? candidates : enclosing, in: members) {
                    parents[index] = parent
                    links[index] = .caller(certain: candidates.count == 1 || enclosing.count == 1)
                } else {
                    links[index] = .root(caller: from)
                }
            } else {
                let enclosing = members.indices.filter {
                    $0 != index && members[$0].start <= member.start && Self.encloses(members[$0], member)
                }
                if let parent = Self.innermost(enclosing, in: members) {
                    parents[index] = parent
                    links[index] = .timing
                }
            }
        }
        Self.breakCycles(&parents, &links, members)
        var children = [[Int]](repeating: [], count: count)
        var roots: [Int] = []
        for index in 0..<count {
            if let parent = parents[index] { children[parent].append(index) } else { roots.append(index) }
        }
        let byStart = { (a: Int, b: Int) in (members[a].start, a) < (members[b].start, b) }
        var nodes: [Node] = []
        nodes.reserveCapacity(count)
        // Depth first without recursion: a flow may be thousands of calls deep.
        var stack: [(member: Int, depth: Int, isLast: Bool)] = roots.sorted(by: byStart).reversed()
            .enumerated().map { ($0.element, 0, $0.offset == 0) }
        while let (member, depth, isLast) = stack.popLast() {
            nodes.append(
                Node(
                    member: member, depth: depth, parent: parents[member], link: links[member], isLast: isLast
                ))
            for (offset, child) in children[member].sorted(by: byStart).reversed().enumerated() {
                stack.append((child, depth + 1, offset == 0))
            }
        }
        self.nodes = nodes
    }

    /// Whether any link in the tree is a guess.
    public var hasGuesses: Bool { nodes.contains { $0.link.isGuess } }

    /// `parent` was running when `child` started.
    private static func encloses(_ parent: Member, _ child: Member) -> Bool {
        guard parent.start <= child.start + slackMs else { return false }
        guard let end = parent.end else { return true }
        return child.start <= end + slackMs
    }

    /// The candidate that started last: the innermost of hops that all enclose the same moment.
    private static func innermost(_ candidates: [Int], in members: [Member]) -> Int? {
        candidates.max { (members[$0].start, $0) < (members[$1].start, $1) }
    }

    /// Two instances calling each other, or clocks of two proxies that disagree, could make a hop
    /// its own ancestor; the earliest hop of such a loop becomes a root instead.
    private static func breakCycles(_ parents: inout [Int?], _ links: inout [Link], _ members: [Member]) {
        var state = [UInt8](repeating: 0, count: parents.count)  // 0 unseen, 1 on the path, 2 done
        for start in parents.indices where state[start] == 0 {
            var path: [Int] = []
            var current: Int? = start
            while let node = current, state[node] == 0 {
                state[node] = 1
                path.append(node)
                current = parents[node]
            }
            if let node = current, state[node] == 1, let from = path.firstIndex(of: node) {
                let loop = path[from...]
                let first = loop.min { (members[$0].start, $0) < (members[$1].start, $1) }!
                parents[first] = nil
                links[first] = .root(caller: members[first].from)
            }
            for node in path { state[node] = 2 }
        }
    }

    private static func key(space: String, service: String) -> String {
        space + "/" + Names.serviceKey(service)
    }
}
