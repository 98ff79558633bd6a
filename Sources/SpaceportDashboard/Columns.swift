import SpaceportCore

/// Text measured the way a terminal lays it out: in columns, where an East Asian wide
/// character or an emoji takes two and a combining mark takes none.
public enum Columns {
    /// Ranges of scalars a terminal draws two columns wide (East Asian Wide and Fullwidth).
    private static let wide: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x23E9...0x23EC, 0x23F0...0x23F0,
        0x23F3...0x23F3, 0x25FD...0x25FE, 0x2614...0x2615, 0x2648...0x2653, 0x267F...0x267F,
        0x2693...0x2693, 0x26A1...0x26A1, 0x26AA...0x26AB, 0x26BD...0x26BE, 0x26C4...0x26C5,
        0x26CE...0x26CE, 0x26D4...0x26D4, 0x26EA...0x26EA, 0x26F2...0x26F3, 0x26F5...0x26F5,
        0x26FA...0x26FA, 0x26FD...0x26FD, 0x2705...0x2705, 0x270A...0x270B, 0x2728...0x2728,
        0x274C...0x274C, 0x274E...0x274E, 0x2753...0x2755, 0x2757...0x2757, 0x2795...0x2797,
        0x27B0...0x27B0, 0x27BF...0x27BF, 0x2B1B...0x2B1C, 0x2B50...0x2B50, 0x2B55...0x2B55,
        0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF,
        0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F,
        0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x16FE0...0x16FE4, 0x17000...0x18AFF, 0x1B000...0x1B2FF,
        0x1F004...0x1F004, 0x1F0CF...0x1F0CF, 0x1F18E...0x1F18E, 0x1F191...0x1F19A,
        0x1F200...0x1F251, 0x1F300...0x1F64F, 0x1F680...0x1F6FF, 0x1F7E0...0x1F7EB,
        0x1F90C...0x1F9FF, 0x1FA70...0x1FAFF, 0x20000...0x2FFFD, 0x30000...0x3FFFD,
    ]

    /// Columns one scalar takes: 0 for combining marks and zero-width format characters.
    public static func width(of scalar: Unicode.Scalar) -> Int {
        let value = scalar.value
        if value < 0x300 { return value < 0x20 || (0x7F..<0xA0).contains(value) ? 0 : 1 }
        // Punctuation, arrows, box drawing and shapes the screen draws with: one column each,
        // and no mark among them, so no Unicode property lookup.
        if (0x2010...0x2027).contains(value) || (0x2190...0x21FF).contains(value)
            || (0x2500...0x25FC).contains(value)
        {
            return 1
        }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if (0x1160...0x11FF).contains(value) || value == 0x200B { return 0 }
        return isWide(value) ? 2 : 1
    }

    /// Columns a grapheme takes: its first scalar decides, and an emoji presentation
    /// selector (U+FE0F) widens it, as terminals do.
    public static func width(of character: Character) -> Int {
        let scalars = character.unicodeScalars
        guard let first = scalars.first else { return 0 }
        var width = self.width(of: first)
        if width == 1, scalars.contains(where: { $0.value == 0xFE0F }) { width = 2 }
        if width == 0, character.isASCII == false {
            width = scalars.dropFirst().map { self.width(of: $0) }.max() ?? 0
        }
        return width
    }

    public static func width(of text: some StringProtocol) -> Int {
        if Printable.isPrintableASCII(text) { return text.utf8.count }
        var total = 0
        for character in text { total += width(of: character) }
        return total
    }

    /// The longest prefix that fits in `columns`, ending in `…` when something was cut.
    public static func clip(_ text: String, to columns: Int, ellipsis: String = "…") -> String {
        guard columns > 0 else { return "" }
        if width(of: text) <= columns { return text }
        let room = columns - width(of: ellipsis)
        guard room >= 0 else { return prefix(text, columns) }
        return prefix(text, room) + ellipsis
    }

    /// The text clipped or padded with spaces to exactly `columns`.
    public static func fit(_ text: String, to columns: Int, alignRight: Bool = false) -> String {
        let clipped = clip(text, to: columns)
        let padding = String(repeating: " ", count: max(0, columns - width(of: clipped)))
        return alignRight ? padding + clipped : clipped + padding
    }

    /// The longest prefix no wider than `columns`, never splitting a wide character.
    public static func prefix(_ text: String, _ columns: Int) -> String {
        if Printable.isPrintableASCII(text) { return String(text.utf8.prefix(max(0, columns)))! }
        var used = 0
        var out = ""
        for character in text {
            let next = width(of: character)
            if used + next > columns { break }
            used += next
            out.append(character)
        }
        return out
    }

    static func isWide(_ value: UInt32) -> Bool {
        var low = 0
        var high = wide.count - 1
        while low <= high {
            let middle = (low + high) / 2
            let range = wide[middle]
            if value < range.lowerBound {
                high = middle - 1
            } else if value > range.upperBound {
                low = middle + 1
            } else {
                return true
            }
        }
        return false
    }
}
