/// The space tree, each space with the requests per second routed as it; the spaces the flow
/// selected in the flows view crossed stand out.
enum TreePane {
    static func draw(
        _ dashboard: Dashboard, layout: Layout, crossed: Set<SpaceRef> = [], at now: Double,
        on canvas: inout some Canvas
    ) {
        let focused = dashboard.view.focus == .tree && dashboard.view.modal == nil
        PaneFrame.draw(
            .tree, title: "Spaces", layout: layout, focused: focused, glyphs: dashboard.glyphs, on: &canvas)
        guard let area = layout.rows[.tree], !area.isEmpty else { return }
        let rows = dashboard.treeRows
        if rows.isEmpty {
            canvas.write("waiting for a feed…", x: area.x, y: area.y, width: area.width, role: .muted)
            return
        }
        let selected = rows.firstIndex { $0.space != nil && $0.space == dashboard.view.selectedSpace }
        let top = Dashboard.top(selected: selected ?? 0, height: area.height)
        for (offset, row) in rows.dropFirst(top).prefix(area.height).enumerated() {
            var line = Line()
            switch row.kind {
            case .source(_, let connected):
                line.add(row.label, .header)
                if !connected { line.add(" (disconnected)", .error) }
            case .waiting:
                line.add(row.label, .muted)
            case .space(let ref):
                line.add(row.guides, .border)
                line.add(row.label, crossed.contains(ref) ? .flowSpace : .tree)
                let rate = dashboard.model.spaceRate(source: ref.source, space: ref.space, at: now)
                line.right = [(Formatting.rate(rate), .rate)]
                if !line.right[0].text.isEmpty { line.right.insert((" ", .normal), at: 0) }
            }
            let isSelected = selected == top + offset
            line.draw(
                on: &canvas, x: area.x, y: area.y + offset, width: area.width,
                override: isSelected ? (focused ? .selection : .selectionInactive) : nil)
        }
    }
}
