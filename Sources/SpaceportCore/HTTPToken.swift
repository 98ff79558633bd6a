/// HTTP's `token` (RFC 9110 §5.6.2): what a header name or a W3C baggage key may be.
public enum HTTPToken {
    /// The characters a token may hold besides letters and digits.
    public static let symbols = "!#$%&'*+-.^_`|~"

    /// Whether `byte` is a tchar; looked up, since every byte of a baggage key is checked.
    @inline(__always)
    public static func isTokenByte(_ byte: UInt8) -> Bool { tokenBytes[Int(byte)] }

    /// Whether `text` is a token: one or more tchars.
    public static func isToken(_ text: some StringProtocol) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(isTokenByte)
    }

    private static let tokenBytes: [Bool] = (0...255).map { value in
        let byte = UInt8(value)
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return symbols.utf8.contains(byte)
        }
    }
}
