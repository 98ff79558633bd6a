/// Where each pane goes for a terminal size: boxed panes when there is room, stacked
/// panes with title lines down to 40×10, and below that only a message.
public struct Layout: Equatable, Sendable {
    public enum Mode: Equatable, Sendable {
        case full, compact, tooSmall
    }

    public static let minimum = Size(width: 40, height: 10)
    public static let fullMinimum = Size(width: 72, height: 16)

    public var mode: Mode
    /// Each pane's outline (full) or title line (compact), where its title is drawn.
    public var frames: [Pane: Rect] = [:]
    /// Each pane's inside: its column header line, if any, then its rows.
    public var content: [Pane: Rect] = [:]
    /// The column header line of panes that have one (full mode only).
    public var headers: [Pane: Rect] = [:]
    /// Each pane's selectable rows.
    public var rows: [Pane: Rect] = [:]
    public var statusBar: Rect

    public static func make(size: Size, focus: Pane, treeWidth: Int, serviceRows: Int) -> Layout {
        guard size.width >= minimum.width, size.height >= minimum.height else {
            return Layout(mode: .tooSmall, statusBar: Rect(x: 0, y: 0, width: 0, height: 0))
        }
        let statusBar = Rect(x: 0, y: size.height - 1, width: size.width, height: 1)
        if size.width >= fullMinimum.width && size.height >= fullMinimum.height {
            return full(size: size, treeWidth: treeWidth, serviceRows: serviceRows, statusBar: statusBar)
        }
        return compact(size: size, focus: focus, statusBar: statusBar)
    }

    private static func full(size: Size, treeWidth: Int, serviceRows: Int, statusBar: Rect) -> Layout {
        var layout = Layout(mode: .full, statusBar: statusBar)
        let height = size.height - 1
        let left = min(max(treeWidth + 2, 22), size.width / 3)
        let servicesHeight = min(max(serviceRows + 3, 5), height / 2)
        layout.frames[.tree] = Rect(x: 0, y: 0, width: left, height: height)
        layout.frames[.services] = Rect(x: left, y: 0, width: size.width - left, height: servicesHeight)
        layout.frames[.hops] = Rect(
            x: left, y: servicesHeight, width: size.width - left, height: height - servicesHeight)
        for (pane, frame) in layout.frames {
            let inside = frame.inset(1)
            layout.content[pane] = inside
            if pane == .tree {
                layout.rows[pane] = inside
            } else {
                layout.headers[pane] = Rect(x: inside.x, y: inside.y, width: inside.width, height: 1)
                layout.rows[pane] = Rect(
                    x: inside.x, y: inside.y + 1, width: inside.width, height: inside.height - 1)
            }
        }
        return layout
    }

    /// Stacked panes: every pane keeps a title line and at least one row; the focused pane gets the rest.
    private static func compact(size: Size, focus: Pane, statusBar: Rect) -> Layout {
        var layout = Layout(mode: .compact, statusBar: statusBar)
        let rows = size.height - 1 - Pane.allCases.count
        let small = max(1, rows / 5)
        var heights: [Pane: Int] = [:]
        for pane in Pane.allCases where pane != focus { heights[pane] = small }
        heights[focus] = rows - small * 2
        var y = 0
        for pane in Pane.allCases {
            let height = heights[pane] ?? 1
            layout.frames[pane] = Rect(x: 0, y: y, width: size.width, height: 1)
            layout.content[pane] = Rect(x: 0, y: y + 1, width: size.width, height: height)
            layout.rows[pane] = layout.content[pane]
            y += height + 1
        }
        return layout
    }

    /// The pane whose rows hold the point, and the row within them.
    public func hit(x: Int, y: Int) -> (pane: Pane, row: Int)? {
        for pane in Pane.allCases {
            if let rect = rows[pane], rect.contains(x: x, y: y) { return (pane, y - rect.y) }
            if let frame = frames[pane], frame.contains(x: x, y: y) { return (pane, -1) }
            if let rect = content[pane], rect.contains(x: x, y: y) { return (pane, -1) }
        }
        return nil
    }
}
