import SpaceportCore

/// One flow made ready to draw: its hops, the tree they form, and the span of time they cover.
public struct FlowShape: Sendable {
    public let flow: FlowIndex.Flow
    /// The flow's hops still in the ring, in arrival order; the tree's members index them.
    public let records: [HopRecord]
    public let tree: FlowTree
    /// When the first hop started and the last ended (or the latest moment any hop reported, while
    /// some still run), in milliseconds on the proxy's clock.
    public let start: Double
    public let end: Double
    /// Each record's start, parallel to `records`.
    public let starts: [Double]

    public init(flow: FlowIndex.Flow, records: [HopRecord]) {
        self.flow = flow
        self.records = records
        // A hop whose time cannot be read sorts where it arrived, after those that can.
        let known = records.compactMap(\.startedAt)
        let fallback = known.max() ?? 0
        let starts = records.map { $0.startedAt ?? fallback }
        self.starts = starts
        let members = zip(records, starts).map { record, start in
            FlowTree.Member(record.hop, start: start, ended: record.hasEnded)
        }
        tree = FlowTree(members)
        start = starts.min() ?? 0
        end = members.reduce(start) { max($0, $1.end ?? $1.start) }
    }

    /// The hop the flow's row stands for: the first root, the request as it came in.
    public var root: HopRecord? { tree.nodes.first.map { records[$0.member] } }

    /// The flow's length in milliseconds, so far while it runs.
    public var durationMs: Double { end - start }

    /// Every hop has ended.
    public var hasEnded: Bool { records.allSatisfy(\.hasEnded) }

    /// Where a member's bar starts and ends in `width` cells: at least one cell, inside the width.
    public func bar(for member: Int, width: Int) -> Range<Int> {
        guard width > 0 else { return 0..<0 }
        let span = end - start
        let from = starts[member]
        let to = records[member].hasEnded ? from + (records[member].hop.durationMs ?? 0) : end
        guard span > 0 else { return 0..<width }
        let first = min(width - 1, max(0, Int(((from - start) / span * Double(width)).rounded(.down))))
        let last = min(width, max(first + 1, Int(((to - start) / span * Double(width)).rounded(.up))))
        return first..<last
    }
}
