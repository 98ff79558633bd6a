/// A box over the panes holding lines of text, scrolled from `scroll`.
enum Dialog {
    static func draw(
        title: String, lines: [Line], in rect: Rect, scroll: Int, role: Role, glyphs: Glyphs,
        on canvas: inout some Canvas
    ) {
        guard rect.width >= 4, rect.height >= 3 else { return }
        canvas.fill(rect, role: role)
        canvas.box(rect, title: title, glyphs: glyphs, role: role, titleRole: .titleFocused)
        let inside = self.inside(rect)
        let first = min(max(scroll, 0), max(0, lines.count - inside.height))
        for (offset, line) in lines.dropFirst(first).prefix(inside.height).enumerated() {
            line.draw(on: &canvas, x: inside.x, y: inside.y + offset, width: inside.width)
        }
        if first + inside.height < lines.count {
            canvas.write(" \(glyphs.arrow) more ", x: rect.maxX - 10, y: rect.maxY - 1, role: .muted)
        }
    }

    /// Where a dialog's lines go inside its box.
    static func inside(_ rect: Rect) -> Rect {
        Rect(x: rect.x + 2, y: rect.y + 1, width: max(0, rect.width - 4), height: max(0, rect.height - 2))
    }

    /// A rect `width` × `height` centred in `bounds`, shrunk to fit.
    static func centred(width: Int, height: Int, in bounds: Rect) -> Rect {
        let w = min(width, bounds.width)
        let h = min(height, bounds.height)
        return Rect(
            x: bounds.x + (bounds.width - w) / 2, y: bounds.y + (bounds.height - h) / 2, width: w, height: h)
    }

    /// The area a full-screen dialog takes: everything above the status bar, with a margin when there is room.
    static func area(for size: Size) -> Rect {
        let screen = Rect(x: 0, y: 0, width: size.width, height: size.height - 1)
        return size.width >= 80 && size.height >= 20
            ? Rect(x: 2, y: 1, width: size.width - 4, height: size.height - 3) : screen
    }
}
