import SpaceportCore

/// Live flows, newest first: one row per request flow (▸ shut, ▾ open), an open flow followed by
/// its calls as a tree. A call's row: method and target under the tree's guides (dotted where
/// the tree guessed from timing), service → the space that served (↑ fallback, ✗ failed, ⚠ route
/// context lost, ↺ restored, ↻ a replay), route-as, status, duration, and a waterfall bar of when
/// it ran within its flow, scaled to the flow's duration and the pane's width.
enum FlowsPane {
    struct Widths: Equatable {
        /// Too narrow for the time of a flow and the service beside its space: both go.
        var narrow = false
        var tree = 0
        var served = 0
        var route = 0
        var status = 3
        var took = 6
        var bar = 0
    }

    /// The marks a row's served column ends with, never cut.
    private static let marks = Set(Glyphs.markRoles)

    static func draw(
        _ dashboard: Dashboard, window: FlowWindow, layout: Layout, on canvas: inout some Canvas
    ) {
        let view = dashboard.view
        guard let (area, focused) = HopsPane.frame(dashboard, named: "Flows", layout: layout, on: &canvas)
        else {
            return
        }
        let widths = self.widths(for: area.width)
        if let header = layout.headers[.hops] {
            let titles = ["FLOW / CALL", "SERVICE → SPACE", "ROUTE-AS", "ST", "TOOK", "WATERFALL"]
            row(titles.map { [($0, Role.header)] }, widths: widths).draw(
                on: &canvas, x: header.x, y: header.y, width: header.width)
        }
        if window.rows.isEmpty {
            HopsPane.drawNone("flow", filtered: !view.filter.isEmpty, area: area, on: &canvas)
            return
        }
        var guides: [Int: [String]] = [:]
        for (offset, flowRow) in window.rows.enumerated() {
            let shape = flowRow.shape
            let cells: [[(String, Role)]]
            if let node = flowRow.node {
                let lead = guides[shape.flow.number] ?? self.guides(shape.tree, glyphs: dashboard.glyphs)
                guides[shape.flow.number] = lead
                cells = self.cells(
                    node: node, of: shape, guide: lead[node], glyphs: dashboard.glyphs, widths: widths)
            } else {
                let open = view.expanded.contains(shape.flow.key)
                cells = self.cells(flow: shape, open: open, glyphs: dashboard.glyphs, widths: widths)
            }
            let isSelected = offset == window.selectedRow
            row(cells, widths: widths).draw(
                on: &canvas, x: area.x, y: area.y + offset, width: area.width,
                override: isSelected ? (focused ? .selection : .selectionInactive) : nil)
        }
    }

    /// Column widths for a pane `width` wide: the waterfall takes a fifth; when narrow, route-as
    /// goes first, then the duration, and the rest is shared by the call and where it went.
    static func widths(for width: Int) -> Widths {
        var widths = Widths()
        if width >= 90 {
            widths.route = 12
            widths.served = 26
            widths.bar = max(10, width / 5)
        } else if width >= 60 {
            widths.served = 24
            widths.bar = width / 6
        } else {
            widths.narrow = width < 50
            widths.took = 0
            widths.bar = 6
            widths.served = max(0, (width - widths.bar - widths.status - 4) / 2)
        }
        let fixed = [widths.served, widths.route, widths.status, widths.took, widths.bar].filter { $0 > 0 }
        widths.tree = max(0, width - fixed.reduce(0, +) - fixed.count - 1)
        return widths
    }

    /// The lead each node's row starts with: the tree's guides, dotted where a link is a guess,
    /// and a mark before a call whose caller's hop was not seen.
    static func guides(_ tree: FlowTree, glyphs: Glyphs) -> [String] {
        var lastAtDepth: [Bool] = []
        return tree.nodes.map { node in
            lastAtDepth = Array(lastAtDepth.prefix(node.depth)) + [node.isLast]
            guard node.depth > 0 else {
                if case .root(_?) = node.link { return "  " + glyphs.unseen + " " }
                return "  "
            }
            var lead = "  "
            for level in 1..<node.depth { lead += lastAtDepth[level] ? "  " : glyphs.pipe }
            switch (node.link.isGuess, node.isLast) {
            case (false, false): lead += glyphs.branch
            case (false, true): lead += glyphs.lastBranch
            case (true, false): lead += glyphs.guessBranch
            case (true, true): lead += glyphs.guessLastBranch
            }
            return lead
        }
    }

    /// A flow's own row: when it began, the request as it came in and where it went, its route-as
    /// and status, how long the whole flow took, and how many hops it has with every mark they earned.
    static func cells(flow shape: FlowShape, open: Bool, glyphs: Glyphs, widths: Widths) -> [[(String, Role)]]
    {
        guard let root = shape.root else { return [] }
        let hop = root.hop
        let lead = (open ? glyphs.expanded : glyphs.collapsed) + " "
        let count = shape.records.count + shape.flow.omitted
        var summary: [(String, Role)] = [("\(count) hop\(count == 1 ? "" : "s")", .muted)]
        // Each mark any of its hops earned, once, in the order a call's row has them.
        var earned: [Role: String] = [:]
        for record in shape.records {
            for mark in glyphs.marks(for: record.hop) { earned[mark.role] = mark.glyph }
        }
        for role in Glyphs.markRoles { if let glyph = earned[role] { summary.append((" " + glyph, role)) } }
        if shape.flow.omitted > 0 { summary.append((", \(shape.flow.omitted) not kept", .muted)) }
        if shape.tree.hasGuesses { summary.append((", guessed", .muted)) }
        return [
            [
                (lead, .titleFocused),
                (widths.narrow ? "" : Formatting.clock(hop.time, milliseconds: false) + " ", .muted),
                (method(hop) + " ", .method), (target(hop), .normal),
            ],
            served(root, glyphs: glyphs, narrow: widths.narrow),
            route(hop),
            [status(root, glyphs: glyphs)],
            [(Formatting.duration(shape.durationMs) + (shape.hasEnded ? "" : glyphs.ellipsis), .muted)],
            summary,
        ]
    }

    /// A call's row: under its guides, what it asked for, where it went, and when it ran.
    static func cells(node index: Int, of shape: FlowShape, guide: String, glyphs: Glyphs, widths: Widths)
        -> [[(String, Role)]]
    {
        let node = shape.tree.nodes[index]
        let record = shape.records[node.member]
        let hop = record.hop
        let bar = shape.bar(for: node.member, width: widths.bar)
        let barRole: Role = hop.isFailed ? .failed : record.hasEnded ? .waterfall : .statusPending
        let barGlyph = record.hasEnded ? glyphs.bar : glyphs.barOpen
        return [
            [
                (guide, node.link.isGuess ? .muted : .border), (method(hop) + " ", .method),
                (target(hop), .normal),
            ],
            served(record, glyphs: glyphs, narrow: widths.narrow),
            route(hop),
            [status(record, glyphs: glyphs)],
            [(record.hasEnded ? Formatting.duration(hop.durationMs) : "", .muted)],
            [
                (String(repeating: " ", count: bar.lowerBound), .normal),
                (String(repeating: barGlyph, count: bar.count), barRole),
            ],
        ]
    }

    private static func method(_ hop: HopEvent) -> String {
        Sanitized.line(hop.method, placeholder: hop.protocol.rawValue.uppercased())
    }

    private static func target(_ hop: HopEvent) -> String {
        HopsPane.withoutPort(Sanitized.line(hop.host, placeholder: ""))
            + Sanitized.line(hop.path, placeholder: "")
    }

    /// `servicea → azureuser ↑ ✗`: the service, the space that served it, and its marks; when
    /// narrow, the space and the marks alone.
    private static func served(_ record: HopRecord, glyphs: Glyphs, narrow: Bool) -> [(
        String, Role
    )] {
        let hop = record.hop
        var pieces: [(String, Role)] =
            narrow
            ? [] : [(Sanitized.line(hop.service, placeholder: "?"), .normal), (" \(glyphs.arrow) ", .muted)]
        if let space = hop.space {
            pieces.append((Sanitized.line(space), .tree))
        } else {
            pieces.append(("none", .missing))
        }
        pieces += glyphs.marks(for: hop).map { (" " + $0.glyph, $0.role) }
        return pieces
    }

    private static func route(_ hop: HopEvent) -> [(String, Role)] {
        guard let routeAs = hop.unknownRouteAs ?? hop.routeAs else { return [] }
        return [(Sanitized.line(routeAs), .routeAs)]
    }

    private static func status(_ record: HopRecord, glyphs: Glyphs) -> (String, Role) {
        if let code = record.hop.status { return (String(code), Role.status(code)) }
        if record.hop.error != nil || record.hasEnded { return ("ERR", .status5xx) }
        return (glyphs.ellipsis, .statusPending)
    }

    private static func row(_ cells: [[(String, Role)]], widths: Widths) -> Line {
        var line = Line()
        let order = [widths.tree, widths.served, widths.route, widths.status, widths.took, widths.bar]
        for (index, (pieces, width)) in zip(cells, order).enumerated() where width > 0 {
            line.add(fitting: pieces, to: width, alignRight: index == 4, keeping: marks)
            line.add(" ", .normal)
        }
        return line
    }
}
