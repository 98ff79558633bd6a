import SpaceportCore

/// The drawing characters, so a terminal without UTF-8 still gets a readable screen.
public struct Glyphs: Equatable, Sendable {
    public var horizontal: String
    public var vertical: String
    public var topLeft: String
    public var topRight: String
    public var bottomLeft: String
    public var bottomRight: String
    public var branch: String
    public var lastBranch: String
    public var pipe: String
    public var arrow: String
    public var fallback: String
    public var on: String
    public var off: String
    public var none: String
    public var served: String
    public var skipped: String
    public var ellipsis: String
    public var dot: String
    /// A hop whose route context its caller dropped, and a service that dropped some.
    public var lost: String
    /// A hop trace memory routed, its context restored.
    public var restored: String
    /// A hop that failed: an error, or a status of 500 or more.
    public var failed: String
    /// A hop that sends an earlier one's request again, as another space.
    public var replay: String
    /// A flow shut, and opened into its calls.
    public var collapsed: String
    public var expanded: String
    /// A waterfall bar: a hop that ended, and one still running.
    public var bar: String
    public var barOpen: String
    /// Tree guides for a call placed by timing alone, a guess.
    public var guessBranch: String
    public var guessLastBranch: String
    /// Before a call whose caller's hop was not seen.
    public var unseen: String

    public static let unicode = Glyphs(
        horizontal: "─", vertical: "│", topLeft: "┌", topRight: "┐", bottomLeft: "└", bottomRight: "┘",
        branch: "├─", lastBranch: "└─", pipe: "│ ", arrow: "→", fallback: "↑", on: "●", off: "○", none: "·",
        served: "✓", skipped: "✗", ellipsis: "…", dot: "·", lost: "⚠", restored: "↺", failed: "✗",
        replay: "↻",
        collapsed: "▸", expanded: "▾", bar: "━", barOpen: "┅", guessBranch: "├┄", guessLastBranch: "└┄",
        unseen: "┄")

    public static let ascii = Glyphs(
        horizontal: "-", vertical: "|", topLeft: "+", topRight: "+", bottomLeft: "+", bottomRight: "+",
        branch: "|-", lastBranch: "`-", pipe: "| ", arrow: ">", fallback: "^", on: "*", off: "o", none: ".",
        served: "+", skipped: "x", ellipsis: "~", dot: "|", lost: "!", restored: "@", failed: "x",
        replay: "R",
        collapsed: ">", expanded: "v", bar: "=", barOpen: "-", guessBranch: "|.", guessLastBranch: "`.",
        unseen: ".")

    /// The mark a hop's route context gets, and its role: only `lost` and `restored` are marked.
    public func mark(for propagation: HopPropagation?) -> (glyph: String, role: Role)? {
        switch propagation {
        case .lost?: return (lost, .lost)
        case .restored?: return (restored, .restored)
        case .kept?, .bridged?, nil: return nil
        }
    }

    /// The roles of the marks a hop can earn, in the order a row shows them.
    public static let markRoles: [Role] = [.fallback, .failed, .lost, .restored, .replay]

    /// Every mark a hop earns, in the order a row shows them (`markRoles`): served by an ancestor,
    /// failed, its route context lost or restored, a replay.
    public func marks(for hop: borrowing HopEvent) -> [(glyph: String, role: Role)] {
        var marks: [(glyph: String, role: Role)] = []
        if hop.isFallback { marks.append((fallback, .fallback)) }
        if hop.isFailed { marks.append((failed, .failed)) }
        if let mark = mark(for: hop.propagation) { marks.append(mark) }
        if hop.replayOf != nil { marks.append((replay, .replay)) }
        return marks
    }

    /// What a terminal without UTF-8 shows instead of a character it cannot draw.
    public static func asciiSubstitute(for character: Character) -> Character {
        if character.isASCII { return character }
        switch character {
        case "…": return "~"
        case "→": return ">"
        case "↑": return "^"
        case "─", "━": return "-"
        case "│": return "|"
        case "┌", "┐", "└", "┘", "├": return "+"
        case "✓": return "+"
        case "✗", "×": return "x"
        case "●": return "*"
        case "○": return "o"
        case "·": return "."
        case "⚠": return "!"
        case "↺": return "@"
        case "▸": return ">"
        case "▾": return "v"
        case "┅", "┄": return "-"
        case "↻": return "R"
        default: return "?"
        }
    }
}
