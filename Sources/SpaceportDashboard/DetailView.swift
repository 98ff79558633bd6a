import SpaceportCore

/// A hop opened: what it was, the headers that decided its route, what became of its route
/// context, the chain tried drawn against the tree, and the other hops of its flow.
enum DetailView {
    struct Content {
        var lines: [Line]
        /// The line of the flow's selected hop, the one Enter opens.
        var selectedLine: Int?
    }

    static func draw(_ dashboard: Dashboard, page: HopPage, on canvas: inout some Canvas) {
        let rect = Dialog.area(for: canvas.size)
        let back = dashboard.keyMap.hint(.back, in: .detail, "back").map { " (\($0))" } ?? ""
        let title = "Hop \(Sanitized.line(String(page.id.prefix(HopEvent.idLength))))\(back)"
        guard let record = dashboard.model.hops.record(source: page.source, id: page.id) else {
            Dialog.draw(
                title: title, lines: [Line([("this hop has left the ring of recent hops", .muted)])],
                in: rect, scroll: 0, role: .dialog, glyphs: dashboard.glyphs, on: &canvas)
            return
        }
        let content = self.content(for: record, page: page, in: dashboard, width: Dialog.inside(rect).width)
        Dialog.draw(
            title: title, lines: content.lines, in: rect, scroll: page.scroll, role: .dialog,
            glyphs: dashboard.glyphs, on: &canvas)
    }

    static func content(for record: HopRecord, page: HopPage, in dashboard: Dashboard, width: Int) -> Content
    {
        let hop = record.hop
        let glyphs = dashboard.glyphs
        let tree = dashboard.model.source(record.source)?.tree
        var lines: [Line] = []
        var summary = Line([
            (Sanitized.line(hop.method, placeholder: hop.protocol.rawValue.uppercased()) + " ", .method),
            (Sanitized.line(hop.host, placeholder: "") + Sanitized.line(hop.path, placeholder: ""), .dialog),
        ])
        if let status = hop.status {
            summary.add("  \(status)", Role.status(status))
            if let code = hop.grpcStatus {
                summary.add(
                    "  grpc-status \(code) \(GRPCStatus.describe(code))", Role.status(code == 0 ? 200 : 500))
            }
        } else if !record.hasEnded {
            summary.add("  in flight", .statusPending)
        }
        if let duration = hop.durationMs { summary.add(" in \(Formatting.duration(duration))", .muted) }
        lines.append(summary)
        var facts =
            "\(Formatting.clock(hop.time)) UTC  \(hop.protocol.rawValue)\(hop.upstreamProtocol.map { ", upstream \($0.rawValue)" } ?? "")  listener \(Sanitized.line(hop.listener))"
        facts += "  proxy \(Sanitized.line(hop.proxy))"
        if record.hasEnded {
            facts += "  in \(Formatting.bytes(hop.bytesIn)), out \(Formatting.bytes(hop.bytesOut))"
        }
        lines.append(Line([(facts, .muted)]))
        if let error = hop.error { lines.append(Line([("error: " + Sanitized.line(error), .error)])) }
        if let original = hop.replayOf {
            lines.append(
                Line([
                    (
                        "\(glyphs.replay) a replay of hop \(Sanitized.line(original)), sent again by the proxy",
                        .replay
                    )
                ]))
        }
        lines.append(Line())
        lines.append(contentsOf: routeLines(hop, tree: tree))
        lines.append(Line())
        let context = contextLines(hop, tree: tree, glyphs: glyphs, width: width)
        if !context.isEmpty { lines.append(contentsOf: context + [Line()]) }
        lines.append(contentsOf: chainLines(hop, tree: tree, glyphs: glyphs, width: width))
        lines.append(Line())
        let flow = flowLines(record, selected: page.selected, in: dashboard, glyphs: glyphs)
        let selectedLine = flow.selected.map { lines.count + $0 }
        lines.append(contentsOf: flow.lines)
        return Content(lines: lines, selectedLine: selectedLine)
    }

    /// The headers that decided the route, and what each one decided.
    private static func routeLines(_ hop: HopEvent, tree: SpaceTree?) -> [Line] {
        let header = tree?.settings.routeHeader ?? Settings.defaultRouteHeader
        var lines = [Line([("What decided the route", .header)])]
        let source = hop.routeAsSource
        let carried = Sanitized.line(hop.unknownRouteAs ?? hop.routeAs)
        switch (source, hop.routeAsCarrier) {
        case (.header?, let name):
            lines.append(Line([("  \(Sanitized.line(name ?? header)): ", .muted), (carried, .routeAs)]))
        case (.baggage?, let name?):
            lines.append(
                Line([("  baggage: ", .muted), ("\(Sanitized.line(name))=", .muted), (carried, .routeAs)]))
        default:
            lines.append(Line([("  \(header): ", .muted), ("(absent)", .muted)]))
        }
        lines.append(
            Line([("  Host: ", .muted), (Sanitized.line(hop.host), source == .host ? .routeAs : .dialog)]))
        if let from = hop.from {
            lines.append(
                Line([
                    ("  caller: ", .muted),
                    (
                        "\(Sanitized.line(from.service)) in \(Sanitized.line(from.space))",
                        source == .caller ? .routeAs : .dialog
                    ),
                ]))
        }
        guard let routeAs = hop.routeAs else {
            lines.append(Line([("  no route-as: the request was refused before routing", .muted)]))
            return lines
        }
        let why: String
        switch source {
        case .header?: why = "from the \(Sanitized.line(hop.routeAsCarrier ?? header)) header"
        case .baggage?: why = "from the baggage member \(Sanitized.line(hop.routeAsCarrier ?? "?"))"
        case .trace?: why = "the space its trace was routed as (trace memory)"
        case .host?: why = "from the Host"
        case .caller?: why = "from the calling instance's space"
        case .default?: why = "the default space: nothing else named one"
        case nil: why = "source unknown"
        }
        let asked = hop.unknownRouteAs ?? routeAs
        lines.append(
            Line([("  route-as ", .muted), (Sanitized.line(asked), .routeAs), (", \(why)", .muted)]))
        if hop.unknownRouteAs != nil {
            lines.append(
                Line([
                    ("  \(Sanitized.line(asked)) is not a space, so it routed as ", .fallback),
                    (Sanitized.line(routeAs), .routeAs),
                ]))
        }
        lines.append(Line([("  service ", .muted), (Sanitized.line(hop.service), .dialog)]))
        return lines
    }

    /// The route-as space's whole tree, each space marked served, tried-and-skipped, or off the
    /// chain; the space chosen for a hop that failed says so, and why.
    private static func chainLines(_ hop: HopEvent, tree: SpaceTree?, glyphs: Glyphs, width: Int) -> [Line] {
        var lines = [Line([("Chain tried, drawn against the tree", .header)])]
        let tried = hop.tried
        guard let first = tried.first, let tree, tried.allSatisfy(tree.contains) else {
            let chain =
                tried.isEmpty ? "none" : tried.map(Sanitized.line).joined(separator: " \(glyphs.arrow) ")
            lines.append(Line([("  tried: \(chain)", .dialog)]))
            if let space = hop.space {
                if let error = hop.error {
                    lines.append(Line([("  chose \(Sanitized.line(space)), which failed", .error)]))
                    lines.append(contentsOf: reasonLines(error, indent: 4, width: width))
                } else {
                    lines.append(Line([("  served by \(Sanitized.line(space))", .chainServed)]))
                }
            }
            return lines
        }
        let root = tree.chain(from: first).last ?? first
        let service = Sanitized.line(hop.service, placeholder: "the service")
        for row in TreeRow.rows(of: tree, source: "", roots: [root], glyphs: glyphs) {
            guard let name = row.space?.space else { continue }
            var line = Line([("  " + row.guides, .border)])
            if name == hop.space, let error = hop.error {
                line.add(name, .error)
                line.add("  \(glyphs.skipped) chosen, and failed", .error)
                if let upstream = hop.upstream { line.add(" at \(Sanitized.line(upstream))", .muted) }
                if hop.isFallback { line.add("  \(glyphs.fallback) fallback", .fallback) }
                lines.append(line)
                lines.append(
                    contentsOf: reasonLines(
                        error, indent: Columns.width(of: "  " + row.guides) + 2, width: width))
                continue
            } else if name == hop.space {
                line.add(name, .chainServed)
                line.add("  \(glyphs.served) served", .chainServed)
                if let upstream = hop.upstream { line.add(" by \(Sanitized.line(upstream))", .muted) }
                if hop.isFallback { line.add("  \(glyphs.fallback) fallback", .fallback) }
            } else if tried.contains(name) {
                line.add(name, .chainSkipped)
                line.add("  \(glyphs.skipped) tried: no enabled \(service)", .chainSkipped)
            } else {
                line.add(name, .muted)
            }
            lines.append(line)
        }
        if hop.space == nil {
            lines.append(Line([("  no space on the chain serves \(service)", .error)]))
        }
        return lines
    }

    /// Why the chosen space's upstream failed, wrapped under its line.
    private static func reasonLines(_ error: String, indent: Int, width: Int) -> [Line] {
        let pad = String(repeating: " ", count: indent)
        return Formatting.wrap("why: " + Sanitized.line(error), width: max(1, width - indent)).map {
            Line([(pad + $0, .error)])
        }
    }

    /// Every hop of the same request id in the order they started, this one marked and the
    /// selected one (which Enter opens) highlighted; `selected` is its index among the lines.
    private static func flowLines(
        _ record: HopRecord, selected: String, in dashboard: Dashboard, glyphs: Glyphs
    ) -> (lines: [Line], selected: Int?) {
        let flow = dashboard.model.flow(of: record)
        var header = Line([
            ("Flow \(Sanitized.line(record.hop.flow))", .header),
            ("  \(flow.count) hop\(flow.count == 1 ? "" : "s")", .muted),
        ])
        let keys = dashboard.keyMap
        if flow.count > 1, let up = keys.key(for: .up, in: .detail),
            let down = keys.key(for: .down, in: .detail),
            let open = keys.hint(.open, in: .detail, "opens it")
        {
            header.add("  (\(up) \(down) select a hop, \(open))", .muted)
        }
        var lines = [header]
        var selectedLine: Int?
        for other in flow {
            let hop = other.hop
            if hop.id == selected { selectedLine = lines.count }
            let mark = other.sequence == record.sequence ? glyphs.arrow + " " : "  "
            var line = Line([
                (mark, .titleFocused), (Formatting.clock(hop.time) + " ", .muted),
                (Sanitized.line(hop.listener) + " ", .muted),
                (Sanitized.line(hop.method, placeholder: hop.protocol.rawValue.uppercased()) + " ", .method),
                (Sanitized.line(hop.service, placeholder: "?"), .dialog),
                (" \(glyphs.arrow) " + Sanitized.line(hop.space, placeholder: "none"), .tree),
            ])
            if hop.isFallback { line.add(" \(glyphs.fallback)", .fallback) }
            if let mark = glyphs.mark(for: hop.propagation) { line.add(" " + mark.glyph, mark.role) }
            if let status = hop.status { line.add(" \(status)", Role.status(status)) }
            line.add(" " + Formatting.duration(hop.durationMs), .muted)
            if hop.id == selected && flow.count > 1 { line.highlight = .selection }
            lines.append(line)
        }
        return (lines, selectedLine)
    }
}
