/// HTTP's `token` (RFC 9110 §5.6.2): what a header name or a W3C baggage key may be.
public enum HTTPToken {
    /// The characters a token may hold besides letters and digits.
    public static let symbols = "!#$%&'*+-.^_`|~"

    /// Whether `byte` is a tchar. Every byte of every field name and baggage key is checked, so
    /// the set is two constant words of bits (bit n of the first: byte n; of the second: byte
    /// 64 + n) rather than a table, whose lazily made global cost a check at every byte.
    @inlinable
    public static func isTokenByte(_ byte: UInt8) -> Bool {
        let below64: UInt64 = 0x03FF_6CFA_0000_0000  // ! # $ % & ' * + - . and the digits
        let below128: UInt64 = 0x57FF_FFFF_C7FF_FFFE  // the letters, ^ _ ` | ~
        switch byte {
        case 0..<64: return (below64 >> UInt64(byte)) & 1 == 1
        case 64..<128: return (below128 >> UInt64(byte - 64)) & 1 == 1
        default: return false
        }
    }

    /// Whether `text` is a token: one or more tchars.
    public static func isToken(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(isTokenByte)
    }
}
