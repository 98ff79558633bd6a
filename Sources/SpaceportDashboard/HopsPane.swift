import SpaceportCore

/// Live hops, newest first: time, method, host and path, route-as and its source,
/// service → the space that served (↑ marks a fallback to an ancestor, ⚠ a route context
/// lost on the way, ↺ one trace memory restored), status, duration, and on a wide screen the error.
enum HopsPane {
    struct Widths: Equatable {
        var time = 12
        var method = 6
        var target = 0
        var route = 0
        var served = 0
        var status = 3
        var duration = 6
        var error = 0
    }

    /// The hop pane's frame, titled `name` and whether the list is paused or filtered; the area
    /// of its rows, and whether it has the focus, unless it has no room for rows.
    static func frame(
        _ dashboard: Dashboard, named name: String, layout: Layout, on canvas: inout some Canvas
    )
        -> (area: Rect, focused: Bool)?
    {
        let view = dashboard.view
        let focused = view.focus == .hops && view.modal == nil
        var title = name
        if view.isPaused { title += " (paused)" }
        if !view.filter.isEmpty { title += " matching \(view.filter.text)" }
        PaneFrame.draw(
            .hops, title: Sanitized.line(title), layout: layout, focused: focused, glyphs: dashboard.glyphs,
            on: &canvas)
        guard let area = layout.rows[.hops], !area.isEmpty else { return nil }
        return (area, focused)
    }

    /// What the pane says when it has no `noun` to show: none yet, or none the filter keeps.
    static func drawNone(_ noun: String, filtered: Bool, area: Rect, on canvas: inout some Canvas) {
        let text =
            filtered ? "no \(noun) matches the filter" : "no \(noun)s yet: send a request through the proxy"
        canvas.write(text, x: area.x, y: area.y, width: area.width, role: .muted)
    }

    static func draw(_ dashboard: Dashboard, layout: Layout, on canvas: inout some Canvas) {
        let view = dashboard.view
        guard let (area, focused) = frame(dashboard, named: "Hops", layout: layout, on: &canvas) else {
            return
        }
        let window = HopWindow.make(model: dashboard.model, view: view, height: area.height)
        let shown = window.sequences.compactMap { dashboard.model.hops[$0] }
        let widths = self.widths(for: area.width, needs: needs(of: shown, glyphs: dashboard.glyphs))
        if let header = layout.headers[.hops] {
            let titles = [
                "TIME", "METHOD", "HOST/PATH", "ROUTE-AS", "SERVICE → SPACE", "ST", "TOOK", "ERROR",
            ]
            row(titles.map { ($0, Role.header) }, widths: widths).draw(
                on: &canvas, x: header.x, y: header.y, width: header.width)
        }
        if window.sequences.isEmpty {
            drawNone("hop", filtered: !view.filter.isEmpty, area: area, on: &canvas)
            return
        }
        for (offset, record) in shown.enumerated() {
            let isSelected = offset == window.selectedRow
            row(cells(for: record, glyphs: dashboard.glyphs, widths: widths), widths: widths).draw(
                on: &canvas, x: area.x, y: area.y + offset, width: area.width,
                override: isSelected ? (focused ? .selection : .selectionInactive) : nil)
        }
    }

    /// The row's pieces, each a list of (text, role) so the fallback marker has its own role.
    static func cells(for record: HopRecord, glyphs: Glyphs, widths: Widths) -> [[(String, Role)]] {
        let hop = record.hop
        var route: [(String, Role)] = []
        // What the request asked for: the SERVICE → SPACE column says where it went.
        if let routeAs = hop.unknownRouteAs ?? hop.routeAs {
            route.append((Sanitized.line(routeAs), .routeAs))
            if let source = hop.routeAsSource { route.append((" (\(source.rawValue))", .muted)) }
        }
        var served: [(String, Role)] = [(Sanitized.line(hop.service, placeholder: "?"), .normal)]
        if let space = hop.space {
            served.append((" \(glyphs.arrow) ", .muted))
            served.append((Sanitized.line(space), .tree))
            if hop.isFallback { served.append((" \(glyphs.fallback)", .fallback)) }
        } else {
            served.append((" \(glyphs.arrow) ", .muted))
            served.append(("none", .missing))
        }
        if let mark = glyphs.mark(for: hop.propagation) { served.append((" " + mark.glyph, mark.role)) }
        let status: (String, Role)
        if let code = hop.grpcStatus {
            // A gRPC call's outcome is its own status, by name; its HTTP status is nearly always 200.
            status = (GRPCStatus.describe(code), Role.status(code == 0 ? 200 : 500))
        } else if let code = hop.status {
            status = (String(code), Role.status(code))
        } else if hop.error != nil || record.hasEnded {
            status = ("ERR", .status5xx)
        } else {
            status = (glyphs.ellipsis, .statusPending)
        }
        return [
            [(Formatting.clock(hop.time, milliseconds: widths.time >= 12), .muted)],
            [
                (
                    hop.protocol == .grpc
                        ? "gRPC"
                        : Sanitized.line(hop.method, placeholder: hop.protocol.rawValue.uppercased()), .method
                )
            ],
            [
                (widths.method < 6 ? "" : withoutPort(Sanitized.line(hop.host, placeholder: "")), .muted),
                (Sanitized.line(hop.path, placeholder: "-"), .normal),
            ],
            route,
            served,
            [status],
            [(record.hasEnded ? Formatting.duration(hop.durationMs) : "", .muted)],
            [(Sanitized.line(hop.error, placeholder: ""), .error)],
        ]
    }

    /// How wide the rows' host and path, route-as, service → space and error are, whole.
    static func needs(of records: [HopRecord], glyphs: Glyphs) -> Widths {
        var needs = Widths(time: 0, method: 0, status: 0, duration: 0)
        for record in records {
            let cells = self.cells(for: record, glyphs: glyphs, widths: Widths()).map {
                $0.reduce(0) { $0 + Columns.width(of: $1.0) }
            }
            needs.target = max(needs.target, cells[2])
            needs.route = max(needs.route, cells[3])
            needs.served = max(needs.served, cells[4])
            needs.status = max(needs.status, cells[5])
            needs.error = max(needs.error, cells[7])
        }
        return needs
    }

    /// Column widths for a pane `width` wide: time, route-as and duration go first when narrow.
    /// When wide, the host and path keep 30 columns (a host gives way to its path) and the rest
    /// goes to the columns that would cut their text: route-as, service → space, then the
    /// error, in a column of its own; what they do not need goes back to the host and path.
    static func widths(for width: Int, needs: Widths = Widths()) -> Widths {
        var widths = Widths()
        if width >= 90 {
            widths.time = width >= 130 ? 12 : 8
            widths.route = 18
        } else {
            widths.time = 0
            widths.route = 0
        }
        if width < 60 {
            widths.method = 4
            widths.duration = 0
        }
        // A gRPC status by name (`UNAVAILABLE`) widens the column from the three digits of HTTP's.
        widths.status = max(widths.status, min(needs.status, width >= 90 ? 17 : 11))
        let fixed = [widths.time, widths.method, widths.route, widths.status, widths.duration].filter {
            $0 > 0
        }
        let room = width - fixed.reduce(0, +) - fixed.count - 2
        widths.served = min(26, max(room - (width >= 90 ? 20 : 10), 0))
        widths.target = max(0, room - widths.served)
        guard widths.route > 0 else { return widths }
        let unneeded = widths.target - max(min(needs.target, 30), 20)
        var spare = unneeded
        for column in [\Widths.route, \Widths.served]
        where spare > 0 && needs[keyPath: column] > widths[keyPath: column] {
            let grown = min(spare, needs[keyPath: column] - widths[keyPath: column])
            widths[keyPath: column] += grown
            spare -= grown
        }
        // A column of its own, and its separator, when the error fits or nearly does.
        if needs.error > 0, spare > min(needs.error, 20) {
            widths.error = min(spare - 1, needs.error)
            spare -= widths.error + 1
        }
        widths.target -= max(0, unneeded - spare)
        return widths
    }

    static func row(_ cells: [[(String, Role)]], widths: Widths) -> Line {
        var line = Line()
        let order = [
            widths.time, widths.method, widths.target, widths.route, widths.served, widths.status,
            widths.duration, widths.error,
        ]
        for (index, (pieces, width)) in zip(cells, order).enumerated() where width > 0 {
            fit(pieces, to: width, alignRight: index == 6, into: &line)
            line.add(" ", .normal)
        }
        return line
    }

    static func row(_ titles: [(String, Role)], widths: Widths) -> Line {
        row(titles.map { [$0] }, widths: widths)
    }

    /// The roles of the marks a row's service → space ends with.
    private static let marks: Set<Role> = [.fallback, .lost, .restored]

    /// The ingress port is the same on every row, so the list leaves it out.
    static func withoutPort(_ host: String) -> String {
        guard let colon = host.lastIndex(of: ":"), !host.hasSuffix("]"),
            host[host.index(after: colon)...].allSatisfy(\.isNumber)
        else { return host }
        return String(host[..<colon])
    }

    /// Pieces clipped together to `width` columns, padded with spaces; the marks at the end (a
    /// fallback, a route context lost or restored) are never cut, and a host gives way to the path
    /// after it.
    private static func fit(
        _ pieces: [(String, Role)], to width: Int, alignRight: Bool, into line: inout Line
    ) {
        var pieces = pieces
        let total = pieces.reduce(0) { $0 + Columns.width(of: $1.0) }
        if total > width, pieces.count == 2, pieces[0].1 == .muted, pieces[1].1 == .normal {
            let path = Columns.width(of: pieces[1].0)
            let hostRoom = max(min(8, Columns.width(of: pieces[0].0)), width - path)
            pieces[0].0 = Columns.clip(pieces[0].0, to: hostRoom)
        }
        line.add(fitting: pieces, to: width, alignRight: alignRight, keeping: marks)
    }
}
