import SpaceportDashboard

/// The terminal as a bare screen for a dashboard, without the key loop: a frame is drawn
/// as `TerminalDashboard` draws one (whole screen rendered, changed cells written, one
/// update). `frame-bench --terminal` times frames through it. Curses starts in
/// `init` and ends in `close()`; only the thread that created it may call it.
public final class TerminalScreen {
    private let screen: CursesScreen
    private var themeName: String?

    /// Fails with a `TerminalError` when this process has no terminal curses can draw on.
    public init(noColor: Bool = false) throws(TerminalError) {
        try TerminalDashboard.checkTerminal()
        screen = try CursesScreen(noColor: noColor, frameMilliseconds: 0)
    }

    public var size: Size { screen.size }

    /// The drawing characters this terminal's locale can show.
    public var glyphs: Glyphs { screen.isUTF8 ? .unicode : .ascii }

    public func draw(_ dashboard: Dashboard, at now: Double) {
        if dashboard.theme.name != themeName {
            themeName = dashboard.theme.name
            screen.apply(dashboard.theme)
        }
        var canvas = GridCanvas(size: screen.size)
        dashboard.render(into: &canvas, at: now)
        screen.draw(canvas)
    }

    /// Gives the terminal back (endwin); later calls do nothing.
    public func close() { screen.close() }
}
