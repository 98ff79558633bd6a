import Foundation
import SpaceportCore
import Testing

@testable import SpaceportWire

/// A hop's fields are listed once, in `HopEvent.CodingKeys`; the hand-written encoder and
/// decoder must follow that list. A field added to `HopEvent` but not to either fails here.
@Suite("Every hop field on the wire")
struct HopFieldsTests {
    /// A hop with every field set to something other than its default, so a field either
    /// side leaves out shows as a difference.
    static let full = HopEvent(
        id: "0123456789abcde", flow: "flow-1", phase: .end, time: "2026-12-06T12:00:00.000Z", proxy: "p",
        listener: "egress:default/servicea", from: HopCaller(space: "default", service: "servicea"),
        routeAs: "default", unknownRouteAs: "nosuch", routeAsSource: .header,
        routeAsCarrier: "kubernetes-route-as",
        conflicts: [HopConflict(carrier: "baggage member okteto-divert", value: "other")],
        traceId: "4bf92f3577b34da6a3ce929d0e0e4736", propagation: .lost,
        lostBy: HopCaller(space: "hotfix", service: "serviceb"), expected: "hotfix",
        bridgeProblem: "the baggage has 64 members", replayOf: "fedcba987654321", service: "serviceb",
        tried: ["default"], space: "default", upstream: "127.0.0.1:5002", upstreamProtocol: .h2c,
        protocol: .websocket,
        method: "PATCH",
        host: "serviceb", path: "/p?q=1", status: 418, grpcStatus: 14, durationMs: 1.5, bytesIn: 3,
        bytesOut: 4, error: "boom"
    )

    /// The line the hand-written encoder writes.
    static func written(_ hop: HopEvent) throws -> String {
        var bytes = [UInt8](repeating: 0, count: HopJSON.bound(hop))
        let count = try #require(bytes.withUnsafeMutableBytes { HopJSON.write(hop, into: $0) })
        return String(decoding: bytes[..<count], as: UTF8.self)
    }

    @Test("the encoder writes every field HopEvent has, with the bytes Foundation writes")
    func encoderWritesEveryField() throws {
        let line = try Self.written(Self.full)
        for key in HopEvent.CodingKeys.allCases {
            #expect(line.contains("\"\(key.stringValue)\":"), "the encoder leaves out \(key.stringValue)")
        }
        #expect(line == FeedEvent.hop(Self.full).jsonLine())
    }

    @Test("the fast decoder reads every field HopEvent has, as Foundation's decoder does")
    func decoderReadsEveryField() throws {
        let line = FeedEvent.hop(Self.full).jsonLine()
        let fast = try #require(HopJSON.decode(line: line), "the fast decoder declined a plain hop line")
        #expect(fast == Self.full, "a field the fast decoder leaves out is back to its default")
        let foundation = try JSONDecoder().decode(FeedEvent.self, from: Data(line.utf8))
        #expect(foundation == .hop(Self.full))
    }

    @Test("every field of the full hop differs from a new hop's, so the checks above see each one")
    func fullHopSetsEveryField() {
        let empty = HopEvent(id: "", flow: "", phase: .start, time: "", proxy: "", listener: "")
        let full = Mirror(reflecting: Self.full).children
        let blank = Mirror(reflecting: empty).children
        for (field, other) in zip(full, blank) {
            #expect(
                "\(field.value)" != "\(other.value)", "\(field.label ?? "?") has its default in the full hop")
        }
        #expect(
            full.count == HopEvent.CodingKeys.allCases.count, "HopEvent has fields its CodingKeys do not list"
        )
    }
}
