/// How numbers and times read on screen.
enum Formatting {
    /// `3.2/s`, `12/s`, `1.4k/s`; empty when nothing happened.
    static func rate(_ perSecond: Double) -> String {
        guard perSecond > 0 else { return "" }
        return count(perSecond) + "/s"
    }

    /// `0.4`, `12`, `14.9k`: a per-second figure as short as it can be.
    static func count(_ value: Double) -> String {
        if value < 10 { return oneDecimal(value) }
        if value < 1000 { return "\(Int(value.rounded()))" }
        return oneDecimal(value / 1000) + "k"
    }

    static func duration(_ milliseconds: Double?) -> String {
        guard let milliseconds else { return "" }
        if milliseconds < 10 { return oneDecimal(milliseconds) + "ms" }
        if milliseconds < 1000 { return "\(Int(milliseconds.rounded()))ms" }
        if milliseconds < 60_000 { return oneDecimal(milliseconds / 1000) + "s" }
        let seconds = Int(milliseconds / 1000)
        return "\(seconds / 60)m\(seconds % 60 < 10 ? "0" : "")\(seconds % 60)s"
    }

    static func bytes(_ count: Int) -> String {
        if count < 1024 { return "\(count) B" }
        if count < 1024 * 1024 { return oneDecimal(Double(count) / 1024) + " kB" }
        return oneDecimal(Double(count) / 1024 / 1024) + " MB"
    }

    /// `HH:MM:SS.mmm` out of the feed's ISO 8601 time (UTC, as the proxy wrote it).
    static func clock(_ time: String, milliseconds: Bool = true) -> String {
        let characters = Array(time)
        guard characters.count >= 19, characters[10] == "T" else {
            return Sanitized.line(String(time.prefix(12)))
        }
        let end = milliseconds && characters.count >= 23 ? 23 : 19
        return Sanitized.line(String(characters[11..<end]))
    }

    static func oneDecimal(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    /// Words wrapped to `width` columns; a word longer than a line is cut.
    static func wrap(_ text: String, width: Int) -> [String] {
        guard width > 0 else { return [] }
        var lines: [String] = []
        for paragraph in text.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = ""
            for word in paragraph.split(separator: " ") {
                let candidate = line.isEmpty ? String(word) : line + " " + word
                if Columns.width(of: candidate) <= width {
                    line = candidate
                } else {
                    if !line.isEmpty { lines.append(line) }
                    line =
                        Columns.width(of: word) > width ? Columns.clip(String(word), to: width) : String(word)
                }
            }
            lines.append(line)
        }
        return lines
    }
}

/// A row of text made of styled pieces, some kept at the right edge.
struct Line {
    var left: [(text: String, role: Role)] = []
    var right: [(text: String, role: Role)] = []
    /// One role for the whole row, as a selected row has.
    var highlight: Role?

    init(_ left: [(String, Role)] = [], right: [(String, Role)] = []) {
        self.left = left.map { (text: $0.0, role: $0.1) }
        self.right = right.map { (text: $0.0, role: $0.1) }
    }

    mutating func add(_ text: String, _ role: Role) { left.append((text, role)) }

    var width: Int { (left + right).reduce(0) { $0 + Columns.width(of: $1.text) } }

    /// Adds `pieces` clipped together to `width` columns, padded with spaces; the pieces at the
    /// end whose role is one of `marks` are never cut: the text before them gives way.
    mutating func add(
        fitting pieces: [(String, Role)], to width: Int, alignRight: Bool = false,
        keeping marks: Set<Role> = []
    ) {
        var pieces = pieces
        let total = pieces.reduce(0) { $0 + Columns.width(of: $1.0) }
        if alignRight && total < width { add(String(repeating: " ", count: width - total), .normal) }
        var tail: [(String, Role)] = []
        while total > width, pieces.count > 1, let last = pieces.last, marks.contains(last.1) {
            tail.insert(pieces.removeLast(), at: 0)
        }
        let tailWidth = tail.reduce(0) { $0 + Columns.width(of: $1.0) }
        let room = width - tailWidth
        var used = 0
        for (text, role) in pieces {
            guard used < room else { break }
            let clipped = used + Columns.width(of: text) > room ? Columns.clip(text, to: room - used) : text
            add(clipped, role)
            used += Columns.width(of: clipped)
        }
        if !tail.isEmpty, used + tailWidth <= width {
            for (text, role) in tail { add(text, role) }
            used += tailWidth
        }
        if used < width && !alignRight { add(String(repeating: " ", count: width - used), .normal) }
    }

    /// Draws the pieces in `width` columns; `override` paints every piece in one role (a selection).
    func draw(on canvas: inout some Canvas, x: Int, y: Int, width: Int, override: Role? = nil) {
        guard width > 0 else { return }
        let override = override ?? highlight
        if let override { canvas.fill(Rect(x: x, y: y, width: width, height: 1), role: override) }
        let rightWidth = right.reduce(0) { $0 + Columns.width(of: $1.text) }
        let leftRoom = rightWidth < width ? width - rightWidth : width
        var column = x
        for piece in left {
            let room = x + leftRoom - column
            if room <= 0 { break }
            column += canvas.write(piece.text, x: column, y: y, width: room, role: override ?? piece.role)
        }
        guard rightWidth < width else { return }
        column = x + width - rightWidth
        for piece in right {
            column += canvas.write(piece.text, x: column, y: y, role: override ?? piece.role)
        }
    }
}
