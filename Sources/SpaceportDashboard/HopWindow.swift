/// The hops the hop pane shows: newest first, filtered, frozen while paused, and scrolled
/// so the selected hop keeps its row while newer hops arrive above it.
public struct HopWindow: Equatable, Sendable {
    /// Sequences of the rows shown, top to bottom.
    public var sequences: [Int]
    /// The selected row, if any hop is shown.
    public var selectedRow: Int?
    /// Index of the top row in the whole filtered list.
    public var top: Int

    public static func make(model: DashboardModel, view: ViewState, height: Int) -> HopWindow {
        let ring = model.hops
        let limit = view.pausedAt ?? ring.newestSequence
        guard height > 0, let limit else { return HopWindow(sequences: [], selectedRow: nil, top: 0) }
        let matching = ring.newestFirst(from: limit).lazy.filter { view.filter.matches($0) }.map(\.sequence)
        guard let anchor = view.following ? nil : view.hopAnchor else {
            let rows = Array(matching.prefix(height))
            return HopWindow(sequences: rows, selectedRow: rows.isEmpty ? nil : 0, top: 0)
        }
        var above: [Int] = []
        var selected: Int?
        var below: [Int] = []
        for sequence in matching {
            if selected == nil {
                if sequence <= anchor {
                    selected = sequence
                } else {
                    above.append(sequence)
                }
            } else if below.count < height {
                below.append(sequence)
            } else {
                break
            }
        }
        guard let selected else {
            // Everything newer than the anchor: the anchored hop is gone, so select the oldest shown.
            let rows = Array(above.suffix(height))
            return HopWindow(
                sequences: rows, selectedRow: rows.isEmpty ? nil : rows.count - 1,
                top: max(0, above.count - height))
        }
        let index = above.count
        let all = above + [selected] + below
        // Near the oldest hop, fill the pane rather than keep the row.
        let top = max(0, min(index - min(max(view.hopRow, 0), height - 1), all.count - height))
        let rows = Array(all[top..<min(all.count, top + height)])
        return HopWindow(sequences: rows, selectedRow: index - top, top: top)
    }

    public var selected: Int? { selectedRow.map { sequences[$0] } }
}
