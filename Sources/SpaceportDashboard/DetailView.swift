import SpaceportCore

/// A hop opened: what it was, the headers that decided its route, the chain tried drawn
/// against the tree, and the other hops of its flow.
enum DetailView {
    static func draw(
        _ dashboard: Dashboard, source: String, id: String, scroll: Int, on canvas: inout some Canvas
    ) {
        let rect = Dialog.area(for: canvas.size)
        guard let record = dashboard.model.hops.record(source: source, id: id) else {
            Dialog.draw(
                title: "Hop", lines: [Line([("this hop has left the ring of recent hops", .muted)])],
                in: rect,
                scroll: 0, role: .dialog, glyphs: dashboard.glyphs, on: &canvas)
            return
        }
        let lines = self.lines(for: record, in: dashboard, width: rect.width - 4)
        Dialog.draw(
            title: "Hop \(Sanitized.line(String(id.prefix(12))))", lines: lines, in: rect, scroll: scroll,
            role: .dialog, glyphs: dashboard.glyphs, on: &canvas)
    }

    static func lines(for record: HopRecord, in dashboard: Dashboard, width: Int) -> [Line] {
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
        } else if !record.hasEnded {
            summary.add("  in flight", .statusPending)
        }
        if let duration = hop.durationMs { summary.add(" in \(Formatting.duration(duration))", .muted) }
        lines.append(summary)
        var facts =
            "\(Formatting.clock(hop.time)) UTC  \(hop.protocol.rawValue)  listener \(Sanitized.line(hop.listener))"
        facts += "  proxy \(Sanitized.line(hop.proxy))"
        if record.hasEnded {
            facts += "  in \(Formatting.bytes(hop.bytesIn)), out \(Formatting.bytes(hop.bytesOut))"
        }
        lines.append(Line([(facts, .muted)]))
        if let error = hop.error { lines.append(Line([("error: " + Sanitized.line(error), .error)])) }
        lines.append(Line())
        lines.append(contentsOf: routeLines(hop, tree: tree))
        lines.append(Line())
        lines.append(contentsOf: chainLines(hop, tree: tree, glyphs: glyphs))
        lines.append(Line())
        lines.append(contentsOf: flowLines(record, in: dashboard, glyphs: glyphs))
        return lines
    }

    /// The headers that decided the route, and what each one decided.
    private static func routeLines(_ hop: HopEvent, tree: SpaceTree?) -> [Line] {
        let header = tree?.settings.routeHeader ?? Settings.defaultRouteHeader
        var lines = [Line([("What decided the route", .header)])]
        let source = hop.routeAsSource
        let carried = source == .header ? Sanitized.line(hop.routeAs) : "(absent)"
        lines.append(Line([("  \(header): ", .muted), (carried, source == .header ? .routeAs : .muted)]))
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
        case .header?: why = "from the \(header) header"
        case .host?: why = "from the Host"
        case .caller?: why = "from the calling instance's space"
        case .default?: why = "the default space: nothing else named one"
        case nil: why = "source unknown"
        }
        lines.append(
            Line([("  route-as ", .muted), (Sanitized.line(routeAs), .routeAs), (", \(why)", .muted)]))
        if let effective = hop.tried.first, effective != routeAs {
            lines.append(
                Line([
                    ("  \(Sanitized.line(routeAs)) is not a space, so it routed as ", .fallback),
                    (Sanitized.line(effective), .routeAs),
                ]))
        }
        lines.append(Line([("  service ", .muted), (Sanitized.line(hop.service), .dialog)]))
        return lines
    }

    /// The route-as space's whole tree, each space marked served, tried-and-skipped, or off the chain.
    private static func chainLines(_ hop: HopEvent, tree: SpaceTree?, glyphs: Glyphs) -> [Line] {
        var lines = [Line([("Chain tried, drawn against the tree", .header)])]
        let tried = hop.tried
        guard let first = tried.first, let tree, tried.allSatisfy(tree.contains) else {
            let chain =
                tried.isEmpty ? "none" : tried.map(Sanitized.line).joined(separator: " \(glyphs.arrow) ")
            lines.append(Line([("  tried: \(chain)", .dialog)]))
            if let space = hop.space {
                lines.append(Line([("  served by \(Sanitized.line(space))", .chainServed)]))
            }
            return lines
        }
        let root = tree.chain(from: first).last ?? first
        let service = Sanitized.line(hop.service, placeholder: "the service")
        for row in TreeRow.rows(of: tree, source: "", roots: [root], glyphs: glyphs) {
            guard let name = row.space?.space else { continue }
            var line = Line([("  " + row.guides, .border)])
            if name == hop.space {
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

    /// Every hop of the same request id, this one marked.
    private static func flowLines(_ record: HopRecord, in dashboard: Dashboard, glyphs: Glyphs) -> [Line] {
        let flow = dashboard.model.flow(of: record)
        var lines = [
            Line([
                ("Flow \(Sanitized.line(String(record.hop.flow.prefix(16))))", .header),
                ("  \(flow.count) hop\(flow.count == 1 ? "" : "s")", .muted),
            ])
        ]
        for other in flow {
            let hop = other.hop
            let mark = other.sequence == record.sequence ? glyphs.arrow + " " : "  "
            var line = Line([
                (mark, .titleFocused), (Formatting.clock(hop.time) + " ", .muted),
                (Sanitized.line(hop.listener) + " ", .muted),
                (Sanitized.line(hop.method, placeholder: hop.protocol.rawValue.uppercased()) + " ", .method),
                (Sanitized.line(hop.service, placeholder: "?"), .dialog),
                (" \(glyphs.arrow) " + Sanitized.line(hop.space, placeholder: "none"), .tree),
            ])
            if hop.isFallback { line.add(" \(glyphs.fallback)", .fallback) }
            if let status = hop.status { line.add(" \(status)", Role.status(status)) }
            line.add(" " + Formatting.duration(hop.durationMs), .muted)
            lines.append(line)
        }
        return lines
    }
}
