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

    public static let unicode = Glyphs(
        horizontal: "─", vertical: "│", topLeft: "┌", topRight: "┐", bottomLeft: "└", bottomRight: "┘",
        branch: "├─", lastBranch: "└─", pipe: "│ ", arrow: "→", fallback: "↑", on: "●", off: "○", none: "·",
        served: "✓", skipped: "✗", ellipsis: "…", dot: "·", lost: "⚠", restored: "↺")

    public static let ascii = Glyphs(
        horizontal: "-", vertical: "|", topLeft: "+", topRight: "+", bottomLeft: "+", bottomRight: "+",
        branch: "|-", lastBranch: "`-", pipe: "| ", arrow: ">", fallback: "^", on: "*", off: "o", none: ".",
        served: "+", skipped: "x", ellipsis: "~", dot: "|", lost: "!", restored: "@")

    /// The mark a hop's route context gets, and its role: only `lost` and `restored` are marked.
    public func mark(for propagation: HopPropagation?) -> (glyph: String, role: Role)? {
        switch propagation {
        case .lost?: return (lost, .lost)
        case .restored?: return (restored, .restored)
        case .kept?, .bridged?, nil: return nil
        }
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
        default: return "?"
        }
    }
}
