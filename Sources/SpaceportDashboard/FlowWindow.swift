import SpaceportCore

/// The rows the flows view shows: every flow newest first (those the filter matches, frozen
/// while paused), an opened flow followed by its calls as a tree, scrolled so the selected row
/// keeps its place while newer flows arrive above it. Only the flows on screen are assembled.
public struct FlowWindow: Sendable {
    public struct Row: Sendable {
        public let shape: FlowShape
        /// The node of the flow's tree this row shows; nil for the flow's own row.
        public let node: Int?

        public var id: FlowRowID {
            FlowRowID(
                flow: shape.flow.number,
                hop: node.map { node in
                    let record = shape.records[shape.tree.nodes[node].member]
                    return HopKey(source: record.source, id: record.hop.id)
                })
        }

        /// The hop this row stands for: the node's, or the flow's first root.
        public var record: HopRecord? {
            guard let node else { return shape.root }
            return shape.records[shape.tree.nodes[node].member]
        }
    }

    /// Rows shown, top to bottom.
    public var rows: [Row]
    public var selectedRow: Int?
    /// Index of the top row among all rows.
    public var top: Int

    public var selected: Row? { selectedRow.map { rows[$0] } }

    public static func make(model: DashboardModel, view: ViewState, height: Int) -> FlowWindow {
        let list = FlowList(model: model, view: view)
        guard height > 0, let selected = list.index(of: view.following ? nil : view.flowAnchor) else {
            return FlowWindow(rows: [], selectedRow: nil, top: 0)
        }
        let anchored = !view.following && view.flowAnchor != nil
        let wanted = anchored ? min(max(view.flowRow, 0), height - 1) : 0
        // Near the oldest flow, fill the pane rather than keep the row.
        let total = list.count(upTo: selected + height)
        let top = max(0, min(selected - wanted, total - height))
        let rows = list.rows(from: top, count: height)
        return FlowWindow(rows: rows, selectedRow: rows.isEmpty ? nil : selected - top, top: top)
    }
}

/// Every row of the flows view in order, walked lazily: a flow's own row, then its calls when
/// it is open. Keys move through it by index; the window reads a screenful of it.
struct FlowList {
    let model: DashboardModel
    let view: ViewState

    private struct Entry {
        let flow: FlowIndex.Flow
        let rows: Int
    }

    private var limit: Int? { view.pausedAt ?? model.hops.newestSequence }

    /// Flows newest first that the list shows, with how many rows each takes.
    private var entries: some Sequence<Entry> {
        let limit = self.limit ?? -1
        let oldest = model.hops.oldestSequence
        let filter = view.filter
        let expanded = view.expanded
        let model = self.model
        return model.flows.newestFirst(oldest: oldest).lazy.filter { $0.first <= limit }
            .compactMap { flow -> Entry? in
                let open = expanded.contains(flow.key)
                guard !filter.isEmpty || open else { return Entry(flow: flow, rows: 1) }
                let records = model.records(of: flow, through: limit)
                guard !records.isEmpty, filter.isEmpty || records.contains(where: filter.matches) else {
                    return nil
                }
                return Entry(flow: flow, rows: open ? 1 + records.count : 1)
            }
    }

    /// The index of `id`'s row; for a row no longer listed, the next older flow's, else the last
    /// row; nil `id` (or an empty list) is the first row. Nil when nothing is listed.
    func index(of id: FlowRowID?) -> Int? {
        var index = 0
        var lastRow: Int?
        for entry in entries {
            guard let id else { return 0 }
            if entry.flow.number > id.flow {
                index += entry.rows
                lastRow = index - 1
                continue
            }
            // The anchor's flow, or the next older one when the anchor's is no longer listed.
            guard entry.flow.number == id.flow, let hop = id.hop, entry.rows > 1 else { return index }
            let shape = self.shape(entry.flow)
            let node = shape.tree.nodes.firstIndex {
                let record = shape.records[$0.member]
                return record.hop.id == hop.id && record.source == hop.source
            }
            return index + (node.map { $0 + 1 } ?? 0)
        }
        return lastRow
    }

    /// How many rows there are, counting no further than `bound`.
    func count(upTo bound: Int) -> Int {
        var count = 0
        for entry in entries {
            count += entry.rows
            if count >= bound { break }
        }
        return count
    }

    /// Up to `count` rows from index `first`.
    func rows(from first: Int, count: Int) -> [FlowWindow.Row] {
        var rows: [FlowWindow.Row] = []
        var index = 0
        for entry in entries {
            defer { index += entry.rows }
            guard index + entry.rows > first else { continue }
            let shape = self.shape(entry.flow)
            for offset in max(0, first - index)..<entry.rows {
                // A hop may have left the ring since the entry was counted.
                if offset > 0 && offset > shape.tree.nodes.count { break }
                rows.append(FlowWindow.Row(shape: shape, node: offset == 0 ? nil : offset - 1))
                if rows.count == count { return rows }
            }
        }
        return rows
    }

    /// The id of the row at `index`, or nil past the end.
    func id(at index: Int) -> FlowRowID? {
        rows(from: index, count: 1).first?.id
    }

    func shape(_ flow: FlowIndex.Flow) -> FlowShape {
        FlowShape(flow: flow, records: model.records(of: flow, through: limit ?? -1))
    }
}
