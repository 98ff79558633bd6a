/// A pane's outline and title: a box when there is room, a title line when stacked.
enum PaneFrame {
    static func draw(
        _ pane: Pane, title: String, layout: Layout, focused: Bool, glyphs: Glyphs,
        on canvas: inout some Canvas
    ) {
        guard let frame = layout.frames[pane] else { return }
        let titleRole: Role = focused ? .titleFocused : .title
        switch layout.mode {
        case .full:
            canvas.box(frame, title: title, glyphs: glyphs, role: .border, titleRole: titleRole)
        case .compact:
            let used = canvas.write(title + " ", x: frame.x, y: frame.y, width: frame.width, role: titleRole)
            if used < frame.width {
                canvas.write(
                    String(repeating: glyphs.horizontal, count: frame.width - used), x: frame.x + used,
                    y: frame.y,
                    role: .border)
            }
        case .tooSmall:
            break
        }
    }
}
