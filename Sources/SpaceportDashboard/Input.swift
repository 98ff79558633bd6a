/// A key as the dashboard understands it, whatever terminal library read it.
public enum Key: Hashable, Sendable {
    case character(Character)
    /// A letter typed with Ctrl held, as `control("u")` for Ctrl-U.
    case control(Character)
    case up, down, left, right
    case tab, backTab, enter, escape, backspace, delete
    case pageUp, pageDown, home, end

    public static let space = Key.character(" ")

    /// How help shows the key.
    public var label: String {
        switch self {
        case .character(" "): return "Space"
        case .character(let character): return String(character)
        case .control(let letter): return "Ctrl-" + letter.uppercased()
        case .up: return "↑"
        case .down: return "↓"
        case .left: return "←"
        case .right: return "→"
        case .tab: return "Tab"
        case .backTab: return "Shift-Tab"
        case .enter: return "Enter"
        case .escape: return "Esc"
        case .backspace: return "Bksp"
        case .delete: return "Del"
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .home: return "Home"
        case .end: return "End"
        }
    }
}

public struct MouseEvent: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case press
        case scrollUp
        case scrollDown
    }

    public var x: Int
    public var y: Int
    public var kind: Kind

    public init(x: Int, y: Int, kind: Kind) {
        self.x = x
        self.y = y
        self.kind = kind
    }
}

/// What the user did.
public enum Input: Equatable, Sendable {
    case key(Key)
    case mouse(MouseEvent)
    case resize(Size)
}
