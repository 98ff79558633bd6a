/// Help, written from the same key table that dispatches keys, so the two cannot disagree.
enum HelpView {
    static func lines(keyMap: KeyMap, glyphs: Glyphs) -> [Line] {
        var lines: [Line] = []
        for context in KeyContext.allCases {
            let bindings = keyMap.bindings(in: context)
            guard !bindings.isEmpty else { continue }
            if !lines.isEmpty { lines.append(Line()) }
            lines.append(Line([(context.title, .header)]))
            for binding in bindings {
                let keys = binding.keys.map(\.label).joined(separator: " ")
                lines.append(
                    Line([("  " + Columns.fit(keys, to: 16) + " ", .helpKey), (binding.help, .help)]))
            }
        }
        lines.append(Line())
        lines.append(Line([("Mouse", .header)]))
        lines.append(Line([("  click selects a row and its pane; the wheel scrolls", .help)]))
        lines.append(Line())
        lines.append(Line([("Marks", .header)]))
        lines.append(
            Line([("  \(glyphs.on) ", .overrideOn), ("the space's own instance is on (owned)", .help)]))
        lines.append(
            Line([("  \(glyphs.off) ", .overrideOff), ("its own instance is off, so it inherits", .help)]))
        lines.append(
            Line([
                ("  \(glyphs.fallback) ", .fallback),
                ("an ancestor served the hop, not the route-as space", .help),
            ]))
        lines.append(
            Line([
                ("  \(glyphs.lost) ", .lost),
                ("its caller dropped the hop's route context (filter: lost)", .help),
            ]))
        lines.append(
            Line([
                ("  \(glyphs.lost) dropped N ", .lost),
                (
                    "the service dropped route context N times in the last \(DashboardModel.dropMinutes) minutes",
                    .help
                ),
            ]))
        lines.append(
            Line([
                ("  \(glyphs.restored) ", .restored),
                ("trace memory restored the hop's route context (filter: restored)", .help),
            ]))
        lines.append(
            Line([
                ("  \(glyphs.failed) ", .failed),
                ("the hop failed: an error, or a status of 500 or more", .help),
            ]))
        lines.append(
            Line([
                ("  \(glyphs.replay) ", .replay),
                ("a replay: the proxy sent an earlier hop's request again", .help),
            ]))
        lines.append(
            Line([
                ("  \(glyphs.collapsed) \(glyphs.expanded) ", .titleFocused),
                ("a flow shut, and opened into its calls (flows view)", .help),
            ]))
        lines.append(
            Line([
                ("  \(glyphs.guessLastBranch) ", .muted),
                ("a call placed under another by timing alone, a guess", .help),
            ]))
        lines.append(
            Line([
                ("  \(glyphs.unseen) ", .muted),
                ("a call whose caller's hop was not seen (sampled out, or gone)", .help),
            ]))
        lines.append(
            Line([
                ("  \(glyphs.bar) ", .waterfall),
                ("when the call ran within its flow; \(glyphs.barOpen) still running", .help),
            ]))
        return lines
    }

    static func draw(_ dashboard: Dashboard, scroll: Int, on canvas: inout some Canvas) {
        let lines = self.lines(keyMap: dashboard.keyMap, glyphs: dashboard.glyphs)
        let area = Dialog.area(for: canvas.size)
        let width = min(area.width, max(60, lines.map(\.width).max() ?? 0) + 4)
        let rect = Rect(x: area.x + (area.width - width) / 2, y: area.y, width: width, height: area.height)
        let closes = dashboard.keyMap.hint(.back, in: .help, "closes").map { " (\($0))" } ?? ""
        Dialog.draw(
            title: "Keys\(closes)", lines: lines, in: rect, scroll: scroll, role: .help,
            glyphs: dashboard.glyphs,
            on: &canvas)
    }
}
