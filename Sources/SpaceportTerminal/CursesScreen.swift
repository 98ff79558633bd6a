import CNcurses
import Glibc
import SpaceportDashboard

/// The terminal under curses: started in `init`, ended by `close()` (endwin). Only the
/// thread that created it may call it.
final class CursesScreen {
    private let screen: OpaquePointer
    private var previous: GridCanvas?
    private var palette: CursesPalette?
    private(set) var colors = 0
    private let noColor: Bool
    private var defaultColors = false
    private var closed = false
    /// True when the locale's codeset is UTF-8, so box-drawing characters will show.
    let isUTF8: Bool

    init(noColor: Bool, frameMilliseconds: Int32) throws(TerminalError) {
        // Wide characters only work once the locale is set, and it must come before curses starts.
        setlocale(LC_ALL, "")
        isUTF8 = String(cString: spaceport_codeset()).uppercased().filter { $0 != "-" } == "UTF8"
        guard let screen = spaceport_newterm() else {
            throw .cannotStart(term: getenv("TERM").map { String(cString: $0) } ?? "")
        }
        self.screen = screen
        self.noColor = noColor
        frameTimeout = frameMilliseconds
        set_term(screen)
        cbreak()
        noecho()
        nonl()
        intrflush(spaceport_stdscr(), false)
        keypad(spaceport_stdscr(), true)
        curs_set(0)
        set_escdelay(25)
        wtimeout(spaceport_stdscr(), frameMilliseconds)
        mouseinterval(0)
        mousemask(
            spaceport_button1_pressed() | spaceport_button1_clicked() | spaceport_button4_pressed()
                | spaceport_button5_pressed(), nil)
        if !noColor && has_colors() {
            start_color()
            defaultColors = use_default_colors() == OK
            colors = Int(spaceport_colors())
        }
    }

    var size: Size { Size(width: Int(spaceport_cols()), height: Int(spaceport_lines())) }

    func apply(_ theme: Theme) {
        palette = CursesPalette(theme: theme, colors: colors, defaultColors: defaultColors)
        forceRepaint()
    }

    /// Everything is drawn again on the next frame: after a resize or a theme change.
    func forceRepaint() {
        previous = nil
        clearok(spaceport_curscr(), true)
    }

    /// Writes the cells that differ from the last frame, then shows them in one update.
    func draw(_ frame: GridCanvas) {
        guard let palette else { return }
        let old = previous?.size == frame.size ? previous : nil
        if old == nil { werase(spaceport_stdscr()) }
        var cell = cchar_t()
        for y in 0..<frame.size.height {
            for x in 0..<frame.size.width {
                let now = frame.cell(x: x, y: y)
                if now.isContinuation || old?.cell(x: x, y: y) == now { continue }
                let character = isUTF8 ? now.character : Glyphs.asciiSubstitute(for: now.character)
                var wide = character.unicodeScalars.map { wchar_t(bitPattern: $0.value) }
                wide.append(0)
                setcchar(&cell, wide, palette.attributes(for: now.role), palette.pair(for: now.role), nil)
                mvwadd_wch(spaceport_stdscr(), Int32(y), Int32(x), &cell)
                // Where the C library thinks a character we measured wide is narrow, blank its right half.
                if x + 1 < frame.size.width, frame.cell(x: x + 1, y: y).isContinuation,
                    spaceport_wcwidth(wide[0]) < 2
                {
                    setcchar(
                        &cell, [32, 0], palette.attributes(for: now.role), palette.pair(for: now.role), nil)
                    mvwadd_wch(spaceport_stdscr(), Int32(y), Int32(x + 1), &cell)
                }
            }
        }
        previous = frame
        wnoutrefresh(spaceport_stdscr())
        doupdate()
    }

    /// The next input, waiting at most one frame when `wait`; nil when there was none.
    func read(wait: Bool) -> Input? {
        wtimeout(spaceport_stdscr(), wait ? frameTimeout : 0)
        var value: wint_t = 0
        let kind = wget_wch(spaceport_stdscr(), &value)
        if kind == ERR { return nil }
        if kind == spaceport_key_code_yes() { return function(Int32(value)) }
        return character(UInt32(value))
    }

    private let frameTimeout: Int32

    private func function(_ code: Int32) -> Input? {
        switch code {
        case spaceport_key_up(): return .key(.up)
        case spaceport_key_down(): return .key(.down)
        case spaceport_key_left(): return .key(.left)
        case spaceport_key_right(): return .key(.right)
        case spaceport_key_home(): return .key(.home)
        case spaceport_key_end(): return .key(.end)
        case spaceport_key_npage(): return .key(.pageDown)
        case spaceport_key_ppage(): return .key(.pageUp)
        case spaceport_key_btab(): return .key(.backTab)
        case spaceport_key_backspace(): return .key(.backspace)
        case spaceport_key_dc(): return .key(.delete)
        case spaceport_key_enter(): return .key(.enter)
        case spaceport_key_resize():
            forceRepaint()
            return .resize(size)
        case spaceport_key_mouse(): return mouse()
        default: return nil
        }
    }

    private func character(_ value: UInt32) -> Input? {
        switch value {
        case 9: return .key(.tab)
        case 10, 13: return .key(.enter)
        case 27: return .key(.escape)
        case 8, 127: return .key(.backspace)
        case 1...26: return .key(.control(Character(Unicode.Scalar(UInt8(96 + value)))))
        case 0..<32: return nil
        default:
            guard let scalar = Unicode.Scalar(value) else { return nil }
            return .key(.character(Character(scalar)))
        }
    }

    private func mouse() -> Input? {
        var event = MEVENT()
        guard getmouse(&event) == OK else { return nil }
        let kind: MouseEvent.Kind
        if event.bstate & spaceport_button4_pressed() != 0 {
            kind = .scrollUp
        } else if event.bstate & spaceport_button5_pressed() != 0 {
            kind = .scrollDown
        } else if event.bstate & (spaceport_button1_pressed() | spaceport_button1_clicked()) != 0 {
            kind = .press
        } else {
            return nil
        }
        return .mouse(MouseEvent(x: Int(event.x), y: Int(event.y), kind: kind))
    }

    /// Gives the terminal back: endwin, on every way out.
    func close() {
        guard !closed else { return }
        closed = true
        endwin()
        delscreen(screen)
    }

    deinit { close() }
}
