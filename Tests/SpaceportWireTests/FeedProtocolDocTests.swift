import Foundation
import Testing

@testable import SpaceportCore
@testable import SpaceportWire

/// docs/feed-protocol.md shows readers the lines a proxy writes: each must be one.
@Suite("The feed protocol's document")
struct FeedProtocolDocTests {
    @Test("every hop line docs/feed-protocol.md shows is one the proxy writes, byte for byte")
    func hopExamples() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let document = try String(
            contentsOf: root.appendingPathComponent("docs/feed-protocol.md"), encoding: .utf8)
        let lines = document.split(separator: "\n").filter {
            $0.hasPrefix("{") && $0.contains("\"type\":\"hop\"")
        }
        #expect(lines.count >= 7, "the hop examples, route context ones included")
        var fields: Set<String> = []
        for line in lines {
            guard case .hop(let hop) = try FeedEvent.decode(line: line) else {
                Issue.record("not a hop: \(line)")
                continue
            }
            #expect(FeedEvent.hop(hop).jsonLine() == line + "\n")
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            fields.formUnion(object.keys)
        }
        for field in [
            "routeAsCarrier", "conflicts", "traceId", "propagation", "lostBy", "expected", "bridgeProblem",
            "replayOf",
        ] {
            #expect(fields.contains(field), "docs/feed-protocol.md shows no hop with \(field)")
        }
    }
}
