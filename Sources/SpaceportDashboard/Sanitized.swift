/// Makes text from the network safe to put on a terminal: control characters, DEL, C1
/// controls and bidirectional overrides become visible escapes, so a hostile Host header
/// cannot move the cursor, change colours or reorder what the user reads.
public enum Sanitized {
    public static func line(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            if isUnsafe(scalar) {
                out += escape(scalar)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    public static func line(_ text: String?, placeholder: String = "-") -> String {
        guard let text, !text.isEmpty else { return placeholder }
        return line(text)
    }

    public static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F..<0xA0: return true
        case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true
        case 0xFFF9...0xFFFB: return true
        default: return false
        }
    }

    private static func escape(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        if scalar.value < 0x100 {
            return "\\x" + String(repeating: "0", count: 2 - hex.count) + hex
        }
        return "\\u{" + hex + "}"
    }
}
