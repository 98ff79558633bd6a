import Foundation
import SpaceportCore

/// A feed event as one line of JSON, the feed's wire format: Foundation's coder for every
/// event, the hand-written `HopJSON` for hops on the way in.
extension FeedEvent {
    /// The event as one line of JSON, newline included.
    public func jsonLine() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else {
            return "{\"type\":\"error\",\"v\":1,\"message\":\"unencodable event\",\"id\":null}\n"
        }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Parses one line of the feed. Hops, nearly every line, take a hand-written path.
    public static func decode(line: some StringProtocol) throws -> FeedEvent {
        if let hop = HopJSON.decode(line: line) { return .hop(hop) }
        return try JSONDecoder().decode(FeedEvent.self, from: Data(line.utf8))
    }

    /// Parses one line of the feed from its bytes, exactly as `decode(line:)` parses them as text.
    public static func decode(bytes: UnsafeRawBufferPointer) throws -> FeedEvent {
        if let hop = HopJSON.decode(bytes: bytes) { return .hop(hop) }
        // Bytes that are not UTF-8 are repaired as `String(decoding:)` does, as readers did before.
        let line = String(decoding: bytes, as: UTF8.self)
        return try JSONDecoder().decode(FeedEvent.self, from: Data(line.utf8))
    }
}
