import Foundation

/// Text that looks like what the parsers expect, bent in the ways that break parsers.
public enum Mutator {
    public static let pieces = [
        ".", ":", "s", "default", "azureuser", "servicea", "localhost", "-", "[", "]", "{", "}", ",", "\n",
        "\r", "\0", " ", "\t", "#", "\"", "'", "\\", "é", "💥", "\u{1B}[31m", "8080", "::1", "A", "..",
        "parent", "services", "upstream", "enabled", "true", "127.0.0.1:5001", "&a", "*a", "!!str", "? ",
        "- ", "|", ">", "%", "@", "`",
    ]

    public static func mutate(_ text: String, using rng: inout SplitMix64, edits: Int = 3) -> String {
        var scalars = Array(text.unicodeScalars)
        for _ in 0..<Int.random(in: 1...edits, using: &rng) {
            let position = scalars.isEmpty ? 0 : Int.random(in: 0...scalars.count, using: &rng)
            switch Int.random(in: 0..<4, using: &rng) {
            case 0 where !scalars.isEmpty && position < scalars.count:
                scalars.remove(at: position)
            case 1:
                let piece = pieces.randomElement(using: &rng)!
                scalars.insert(contentsOf: piece.unicodeScalars, at: position)
            case 2 where !scalars.isEmpty:
                let start = Int.random(in: 0..<scalars.count, using: &rng)
                let end = min(scalars.count, start + Int.random(in: 1...20, using: &rng))
                let copy = Array(scalars[start..<end])
                scalars.insert(contentsOf: copy, at: min(position, scalars.count))
            default:
                let scalar = Unicode.Scalar(UInt8.random(in: 0...127, using: &rng))
                scalars.insert(scalar, at: position)
            }
        }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return String(out)
    }
}
