/// The selected space's services: owned, inherited (from which space) or missing, whether the
/// instance that serves dropped route context lately (`⚠ dropped 3`), the space's own override,
/// the upstream that serves, its health and the request rate.
enum ServicesPane {
    private struct Widths {
        var service: Int
        var servedBy: Int
        /// 3 for on/off, wider while an override is pending.
        var override: Int
        var upstream: Int
        var health: Int
        var rate: Int
    }

    static func draw(_ dashboard: Dashboard, layout: Layout, at now: Double, on canvas: inout some Canvas) {
        let focused = dashboard.view.focus == .services && dashboard.view.modal == nil
        let title = dashboard.view.selectedSpace.map { "Services of \($0.space)" } ?? "Services"
        PaneFrame.draw(
            .services, title: Sanitized.line(title), layout: layout, focused: focused,
            glyphs: dashboard.glyphs,
            on: &canvas)
        guard let area = layout.rows[.services], !area.isEmpty else { return }
        let rows = dashboard.serviceRows(at: now)
        let cells = rows.map { row in
            self.cells(
                for: row, glyphs: dashboard.glyphs,
                pending: dashboard.view.selectedSpace.map {
                    dashboard.isOverridePending($0, service: row.service)
                }
                    ?? false)
        }
        let columns = widths(for: rows, cells: cells, width: area.width)
        if let header = layout.headers[.services] {
            line(
                ["", "SERVICE", "SERVED BY", "OVR", "UPSTREAM", "HEALTH", "RATE"].map { [($0, Role.header)] },
                columns: columns
            ).draw(on: &canvas, x: header.x, y: header.y, width: header.width)
        }
        if rows.isEmpty {
            let text = dashboard.view.selectedSpace == nil ? "no space selected" : "no services in this tree"
            canvas.write(text, x: area.x, y: area.y, width: area.width, role: .muted)
            return
        }
        let top = Dashboard.top(selected: dashboard.view.serviceIndex, height: area.height)
        for (offset, row) in cells.dropFirst(top).prefix(area.height).enumerated() {
            let isSelected = top + offset == dashboard.view.serviceIndex
            line(row, columns: columns).draw(
                on: &canvas, x: area.x, y: area.y + offset, width: area.width,
                override: isSelected ? (focused ? .selection : .selectionInactive) : nil)
        }
    }

    /// The row's pieces: marker, service, served by (and the drops), override, upstream, health, rate.
    private static func cells(for row: ServiceRow, glyphs: Glyphs, pending: Bool) -> [[(String, Role)]] {
        let marker: (String, Role)
        var override: (String, Role)
        switch row.own?.enabled {
        case true?:
            marker = (glyphs.on, .overrideOn)
            override = ("on", .overrideOn)
        case false?:
            marker = (glyphs.off, .overrideOff)
            override = ("off", .overrideOff)
        case nil:
            marker = (" ", .normal)
            override = ("-", .muted)
        }
        // Asked for and not yet in the tree: a cluster's watch has still to bring it.
        if pending { override = ("pending", .note) }
        let name = Sanitized.line(row.service)
        let service: (String, Role)
        let servedBy: (String, Role)
        switch row.ownership {
        case .owned:
            service = (name, .owned)
            servedBy = ("owned", .owned)
        case .inherited(let from, _):
            let text = "inherited from \(Sanitized.line(from))"
            service = (name, row.isOverriddenOff ? .overrideOff : .inherited)
            servedBy = row.isOverriddenOff ? (text + " (own off)", .overrideOff) : (text, .inherited)
        case .missing:
            service = (name, .missing)
            servedBy = (row.isOverriddenOff ? "missing (own off)" : "missing", .missing)
        }
        let health: (String, Role)
        switch row.health {
        case .up: health = ("up", .healthUp)
        case .down: health = ("down", .healthDown)
        case .unknown: health = ("?", .muted)
        }
        let upstreamRole: Role
        if case .owned = row.ownership { upstreamRole = .normal } else { upstreamRole = .muted }
        var upstream = [(row.upstream?.description ?? "-", upstreamRole)]
        if row.upstreamProtocol != .auto { upstream.append((" " + row.upstreamProtocol.rawValue, .muted)) }
        var served = [servedBy]
        if row.dropped > 0 { served.append(("  \(glyphs.lost) dropped \(row.dropped)", .lost)) }
        return [
            [marker], [service], served, [override], upstream,
            [health],
            [(Formatting.rate(row.rate), .rate)],
        ]
    }

    /// Widths for a pane `width` wide; the rightmost columns go first when it is narrow, and
    /// room to spare goes to the served-by text and the upstream where the rows need it.
    private static func widths(for rows: [ServiceRow], cells: [[[(String, Role)]]], width: Int) -> Widths {
        let service = min(max(rows.map { Columns.width(of: $0.service) }.max() ?? 7, 7), 24)
        let need = { (column: Int) in
            cells.map { $0[column].reduce(0) { $0 + Columns.width(of: $1.0) } }.max() ?? 0
        }
        var columns = Widths(
            service: service, servedBy: 0, override: max(3, need(3)), upstream: 21, health: 6, rate: 7)
        let fixed = {
            [1, columns.service, columns.override, columns.upstream, columns.health, columns.rate].reduce(0) {
                $1 > 0 ? $0 + $1 + 1 : $0
            }
        }
        if width - fixed() < 24 { columns.rate = 0 }
        if width - fixed() < 24 { columns.health = 0 }
        if width - fixed() < 24 { columns.upstream = 0 }
        columns.servedBy = max(0, min(width - fixed() - 1, max(34, need(2))))
        if columns.upstream > 0 {
            columns.upstream += max(
                0, min(width - fixed() - columns.servedBy - 1, need(4) - columns.upstream))
        }
        return columns
    }

    private static func line(_ cells: [[(String, Role)]], columns: Widths) -> Line {
        var line = Line()
        let specs = [
            (1, false), (columns.service, false), (columns.servedBy, false), (columns.override, false),
            (columns.upstream, false),
            (columns.health, false), (columns.rate, true),
        ]
        for (pieces, spec) in zip(cells, specs) where spec.0 > 0 {
            line.add(fitting: pieces, to: spec.0, alignRight: spec.1, keeping: [.lost])
            line.add(" ", .normal)
        }
        return line
    }
}
