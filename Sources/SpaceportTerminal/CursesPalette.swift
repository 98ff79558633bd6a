import CNcurses
import SpaceportDashboard

/// A theme turned into curses colour pairs and attributes, one pair per role.
struct CursesPalette {
    private var attributes: [Role: attr_t] = [:]
    private var pairs: [Role: Int16] = [:]

    /// Defines the pairs for `theme` on this terminal (`colors` 0 means no colour at all).
    init(theme: Theme, colors: Int, defaultColors: Bool) {
        let adapted = theme.adapted(toColors: colors)
        for (index, role) in Role.allCases.enumerated() {
            let style = adapted.style(for: role)
            attributes[role] = Self.attributes(style.attributes)
            guard colors >= 8, index + 1 < spaceport_color_pairs() else { continue }
            let pair = Int16(index + 1)
            let foreground = Self.number(style.foreground, fallback: defaultColors ? -1 : 7)
            let background = Self.number(style.background, fallback: defaultColors ? -1 : 0)
            init_pair(pair, foreground, background)
            pairs[role] = pair
        }
    }

    func attributes(for role: Role) -> attr_t { attributes[role] ?? spaceport_a_normal() }
    func pair(for role: Role) -> Int16 { pairs[role] ?? 0 }

    private static func number(_ color: ThemeColor, fallback: Int16) -> Int16 {
        switch color {
        case .terminalDefault: return fallback
        case .index(let index): return Int16(index)
        }
    }

    private static func attributes(_ set: TextAttributes) -> attr_t {
        var result = spaceport_a_normal()
        if set.contains(.bold) { result |= spaceport_a_bold() }
        if set.contains(.dim) { result |= spaceport_a_dim() }
        if set.contains(.underline) { result |= spaceport_a_underline() }
        if set.contains(.reverse) { result |= spaceport_a_reverse() }
        if set.contains(.italic) { result |= spaceport_a_italic() }
        return result
    }
}
