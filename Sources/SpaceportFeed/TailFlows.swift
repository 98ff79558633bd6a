import Foundation
import SpaceportCore

/// What `spaceport tail --flows` prints: hops gathered by flow (from every feed) until the flow
/// has finished, then the flow as an indented tree (`FlowTree`, the dashboard's), or with
/// `--json` as one object whose hops nest their calls. A flow has finished once every hop seen
/// of it has ended and nothing more came for `quietSeconds`, if the request that began it (a hop
/// from outside) was seen; else after `rootlessSeconds`. Bounded: at most `maxFlows` wait, the
/// oldest printed as it stands when more come, and at most `maxHopsPerFlow` hops each, the rest
/// counted.
struct TailFlows: Sendable {
    static let quietSeconds = 0.5
    static let rootlessSeconds = 2.0
    static let maxFlows = 1_000
    static let maxHopsPerFlow = 1_000

    struct Flow: Sendable {
        let key: String
        var hops: [HopEvent] = []
        /// Each hop's place in `hops`, by feed and id.
        var places: [String: Int] = [:]
        var omitted = 0
        /// When tail last heard of the flow, on its own clock in seconds.
        var lastSeen: Double

        var hasEnded: Bool { hops.allSatisfy { $0.phase == .end } }

        /// The request that began it was seen: a hop from outside, not through an egress.
        var hasRoot: Bool { hops.contains { $0.from == nil } }
    }

    private var flows: [String: Flow] = [:]
    /// Flow ids in the order they began, the oldest first to go when too many wait.
    private var order: [String] = []

    /// Takes a phase of a hop; returns flows it pushed out because too many were waiting.
    mutating func add(_ hop: HopEvent, from source: String, at now: Double) -> [Flow] {
        let key = hop.flow
        let place = source + "\u{0}" + hop.id
        if var flow = flows.removeValue(forKey: key) {
            flow.lastSeen = now
            if let index = flow.places[place] {
                if hop.phase == .end { flow.hops[index] = hop }
            } else if flow.hops.count < Self.maxHopsPerFlow {
                flow.places[place] = flow.hops.count
                flow.hops.append(hop)
            } else {
                flow.omitted += 1
            }
            flows[key] = flow
            return []
        }
        var flow = Flow(key: key, lastSeen: now)
        flow.places[place] = 0
        flow.hops = [hop]
        flows[key] = flow
        order.append(key)
        var pushed: [Flow] = []
        while flows.count > Self.maxFlows, let oldest = order.first {
            order.removeFirst()
            if let flow = flows.removeValue(forKey: oldest) { pushed.append(flow) }
        }
        return pushed
    }

    /// The flows that have finished by `now`, oldest first; every flow waiting when `all`.
    mutating func finished(at now: Double, all: Bool = false) -> [Flow] {
        var done: [Flow] = []
        order.removeAll { key in
            guard let flow = flows[key] else { return true }
            let quiet = now - flow.lastSeen
            guard
                all
                    || (flow.hasEnded
                        && quiet >= (flow.hasRoot ? Self.quietSeconds : Self.rootlessSeconds))
            else { return false }
            done.append(flow)
            flows[key] = nil
            return true
        }
        return done
    }

    /// `flow` as tail prints it: a line saying which flow, then each hop under its caller.
    static func text(_ flow: Flow) -> [String] {
        let (tree, first, span) = shape(flow)
        let began = EventTime.format(Date(timeIntervalSince1970: first / 1000))
        var head = "\(HopLine.clock(began))  flow \(Printable.clip(flow.key, max: 64))"
        let count = flow.hops.count + flow.omitted
        head += "  \(count) hop\(count == 1 ? "" : "s") in \(HopLine.milliseconds(span))"
        if flow.omitted > 0 { head += " (\(flow.omitted) not kept)" }
        if !flow.hasEnded { head += " (unfinished)" }
        var lines = [head]
        var lastAtDepth: [Bool] = []
        for node in tree.nodes {
            lastAtDepth = Array(lastAtDepth.prefix(node.depth)) + [node.isLast]
            var lead = "  "
            if node.depth > 0 {
                for level in 1..<node.depth { lead += lastAtDepth[level] ? "   " : "│  " }
                lead += node.isLast ? "└─ " : "├─ "
            }
            var note = ""
            switch node.link {
            case .root(let caller?):
                note =
                    "(called by \(Printable.clip(caller.service, max: 63))@\(Printable.clip(caller.space, max: 63)), not seen) "
            case .timing, .caller(certain: false): note = "(guessed) "
            case .root(nil), .caller(certain: true): break
            }
            lines.append(lead + note + HopLine.format(flow.hops[node.member], withClock: false))
        }
        return lines
    }

    /// `flow` as one JSON object: `{"type":"flow","flow",…,"hops":[hop, each with its "link" and
    /// its "calls"]}`, keys sorted, as `spaceport tail --flows --json` prints it.
    static func json(_ flow: Flow) -> String {
        let (tree, _, span) = shape(flow)
        var calls = [[Int]](repeating: [], count: flow.hops.count)
        var roots: [Int] = []
        for node in tree.nodes {
            if let parent = node.parent {
                calls[parent].append(node.member)
            } else {
                roots.append(node.member)
            }
        }
        let links = Dictionary(uniqueKeysWithValues: tree.nodes.map { ($0.member, $0.link) })
        func node(_ member: Int) -> Node {
            Node(
                hop: flow.hops[member], link: links[member] ?? .root(caller: nil),
                calls: calls[member].map(node))
        }
        let object = FlowObject(
            flow: flow.key, hopCount: flow.hops.count + flow.omitted, notKept: flow.omitted,
            durationMs: span, finished: flow.hasEnded, guessed: tree.hasGuesses, hops: roots.map(node))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(object)) ?? Data("{}".utf8)
        return TailPrinter.terminalSafe(String(decoding: data, as: UTF8.self))
    }

    /// The flow's tree, when it began (milliseconds since 1970) and how long it took, from the
    /// first start to the last end.
    private static func shape(_ flow: Flow) -> (FlowTree, Double, Double) {
        let starts = flow.hops.map { hop in
            (hop.phase == .end ? hop.endedStart : EventTime.milliseconds(hop.time)) ?? 0
        }
        let members = zip(flow.hops, starts).map { hop, start in
            FlowTree.Member(hop, start: start, ended: hop.phase == .end)
        }
        let first = starts.min() ?? 0
        let last = members.reduce(first) { max($0, $1.end ?? $1.start) }
        return (FlowTree(members), first, last - first)
    }

    private struct FlowObject: Encodable {
        let type = "flow"
        let v = FeedEvent.version
        let flow: String
        let hopCount: Int
        let notKept: Int
        let durationMs: Double
        let finished: Bool
        let guessed: Bool
        let hops: [Node]
    }

    /// A hop with every field the feed gives it, how the tree placed it, and the calls it made.
    private struct Node: Encodable {
        let hop: HopEvent
        let link: FlowTree.Link
        let calls: [Node]

        enum Keys: String, CodingKey { case link, calledBy, calls }

        func encode(to encoder: Encoder) throws {
            try hop.encode(to: encoder)
            var c = encoder.container(keyedBy: Keys.self)
            switch link {
            case .root(let caller):
                try c.encode("root", forKey: .link)
                try c.encodeIfPresent(caller, forKey: .calledBy)
            case .caller(let certain): try c.encode(certain ? "caller" : "caller-guessed", forKey: .link)
            case .timing: try c.encode("timing-guessed", forKey: .link)
            }
            try c.encode(calls, forKey: .calls)
        }
    }
}
