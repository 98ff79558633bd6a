import Foundation

/// JSON as the commands print it (and the admin listener's `/tree` serves it): indented, keys
/// sorted, so output is stable to diff.
public enum CommandJSON {
    public static func text(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{\"error\": \"unencodable output\"}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// `{"error": "..."}`, what a `--json` command prints instead of its answer.
    public static func error(_ message: String) -> String {
        text(["error": message])
    }
}
