/// Space and service names are DNS labels, so they can stand in a host name.
public enum Names {
    public static let maxLength = 63

    /// Why `name` is not a DNS label, or nil when it is one.
    public static func problem(with name: String) -> String? {
        if name.isEmpty { return "a name cannot be empty" }
        if name.utf8.count > maxLength {
            return "'\(Printable.clip(name))' is longer than \(maxLength) characters"
        }
        let bytes = Array(name.utf8)
        for byte in bytes where !(isLowerAlnum(byte) || byte == UInt8(ascii: "-")) {
            return
                "'\(Printable.clip(name))' may hold only lowercase letters, digits and '-' (a DNS label)"
        }
        if bytes.first == UInt8(ascii: "-") || bytes.last == UInt8(ascii: "-") {
            return "'\(name)' cannot start or end with '-'"
        }
        return nil
    }

    public static func isValid(_ name: String) -> Bool { problem(with: name) == nil }

    /// Services are written as the user likes but matched without case.
    public static func serviceKey(_ name: String) -> String { name.lowercased() }

    /// Why a service name cannot be used, or nil. Services may use uppercase letters.
    public static func serviceProblem(with name: String) -> String? {
        problem(with: serviceKey(name)).map { $0.replacingOccurrences(of: "lowercase ", with: "") }
    }

    @inline(__always)
    static func isLowerAlnum(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }
}

/// Makes untrusted text safe to show in a message, a log line or a terminal.
public enum Printable {
    /// Escapes control characters and invalid bytes, and shortens long text.
    public static func clip(_ text: String, max: Int = 80) -> String {
        // Most text is short printable ASCII and comes back as it is, without a copy.
        if text.utf8.count <= max, isPrintableASCII(text) { return text }
        var out = ""
        var count = 0
        for scalar in text.unicodeScalars {
            if count >= max {
                out += "…"
                break
            }
            if !isUnsafe(scalar) {
                out.unicodeScalars.append(scalar)
            } else if scalar.value < 0x100 {
                out += "\\x" + hex(UInt8(truncatingIfNeeded: scalar.value))
            } else {
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
            count += 1
        }
        return out
    }

    /// Whether `scalar` must not reach a terminal as it is: controls (C0, DEL, C1) move the
    /// cursor or start escape sequences; format characters (bidirectional overrides and
    /// isolates, zero-width spaces and joiners, the byte-order mark, tags) and line or
    /// paragraph separators reorder, hide or break what the reader sees around them.
    public static func isUnsafe(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.value >= 0x20 && scalar.value < 0x7F { return false }
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator: return true
        default: return false
        }
    }

    /// Text of visible ASCII and spaces only: nothing to escape, one column and one grapheme a byte.
    /// Inlinable, so the dashboard's per-cell fast paths get it specialized to their string type
    /// and reading a buffer; called through the generic entry point, it doubled the frame time.
    @inlinable
    public static func isPrintableASCII(_ text: some StringProtocol) -> Bool {
        let contiguous = text.utf8.withContiguousStorageIfAvailable { bytes in
            for byte in bytes where byte < 0x20 || byte >= 0x7F { return false }
            return true
        }
        return contiguous ?? text.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
    }

    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }
}
