/// The bottom line: a note, following or paused, the filter, listen addresses, feeds,
/// events per second, dropped events and the shell's own items. When narrow, the least
/// important pieces go first.
enum StatusBar {
    private struct Piece {
        var text: String
        var role: Role
        /// Lower survives longer.
        var priority: Int
    }

    static func draw(_ dashboard: Dashboard, layout: Layout, at now: Double, on canvas: inout some Canvas) {
        let bar = layout.statusBar
        guard !bar.isEmpty else { return }
        canvas.fill(bar, role: .statusBar)
        var pieces = self.pieces(dashboard, width: bar.width, at: now)
        let help = Piece(
            text: dashboard.keyMap.hint(.help, in: .global, "help") ?? "", role: .statusBarKey, priority: 5)
        let separator = "  "
        func width() -> Int {
            (pieces + [help]).reduce(0) { $0 + Columns.width(of: $1.text) + Columns.width(of: separator) } + 1
        }
        while width() > bar.width, pieces.count > 1 {
            let worst = pieces.indices.reduce(0) { pieces[$1].priority >= pieces[$0].priority ? $1 : $0 }
            pieces.remove(at: worst)
        }
        var x = bar.x + 1
        for piece in pieces {
            x += canvas.write(piece.text, x: x, y: bar.y, width: bar.maxX - x, role: piece.role)
            x += canvas.write(separator, x: x, y: bar.y, width: bar.maxX - x, role: .statusBar)
        }
        let helpWidth = Columns.width(of: help.text)
        if x + helpWidth < bar.maxX {
            canvas.write(help.text, x: bar.maxX - helpWidth - 1, y: bar.y, role: help.role)
        }
    }

    /// The pieces in screen order; on a tie the rightmost goes first.
    private static func pieces(_ dashboard: Dashboard, width: Int, at now: Double) -> [Piece] {
        let view = dashboard.view
        let model = dashboard.model
        var pieces: [Piece] = []
        if let note = view.note, note.until > now {
            pieces.append(Piece(text: note.text, role: note.isError ? .error : .note, priority: 0))
        }
        // Lasts until the file is valid again, unlike the note that told of it.
        for source in model.sources where source.fileProblem != nil {
            let whose = model.sources.count > 1 ? "\(Sanitized.line(source.name)): " : ""
            pieces.append(
                Piece(
                    text: "\(whose)spaces file invalid, last good tree in effect", role: .error, priority: 0))
        }
        if view.isPaused {
            pieces.append(Piece(text: "PAUSED", role: .statusBarKey, priority: 1))
        } else {
            pieces.append(
                Piece(text: view.following ? "following" : "scrolled", role: .statusBar, priority: 4))
        }
        if !view.filter.isEmpty {
            pieces.append(
                Piece(text: "filter \(Sanitized.line(view.filter.text))", role: .statusBarKey, priority: 1))
        }
        let listeners = model.sources.flatMap { $0.hello?.listeners ?? [] }.map(Sanitized.line)
        for ingress in listeners where ingress.hasPrefix("ingress ") {
            pieces.append(Piece(text: ingress, role: .statusBar, priority: 2))
        }
        pieces.append(
            Piece(text: "\(Formatting.count(model.eventRate(at: now))) ev/s", role: .statusBar, priority: 3))
        if let sampling = model.sampling(at: now) {
            // The list is a sample: say of how much, so a quiet list under load is not a surprise.
            let percent = Formatting.count(sampling.share * 100)
            pieces.append(
                Piece(
                    text: "sampled \(percent)% of \(Formatting.count(sampling.hopsPerSecond)) hops/s",
                    role: .statusBarKey, priority: 2))
        }
        let dropped = model.totalDropped
        pieces.append(
            Piece(
                text: "dropped \(dropped)", role: dropped > 0 ? .error : .statusBar,
                priority: dropped > 0 ? 2 : 5))
        // A long value (a socket path) keeps its end, the part that tells one from another.
        let room = max(20, width / 4)
        for item in dashboard.statusItems {
            var value = Sanitized.line(item.value)
            if Columns.width(of: value) > room { value = "…" + String(value.suffix(room - 1)) }
            pieces.append(Piece(text: "\(item.key) \(value)", role: .statusBar, priority: 3))
        }
        let connected = model.sources.filter(\.connected).count
        pieces.append(Piece(text: "feeds \(connected)/\(model.sources.count)", role: .statusBar, priority: 4))
        let others = listeners.filter { !$0.hasPrefix("ingress ") }.count
        if others > 0 {
            pieces.append(
                Piece(text: "+\(others) listener\(others == 1 ? "" : "s")", role: .statusBar, priority: 6))
        }
        return pieces
    }
}
