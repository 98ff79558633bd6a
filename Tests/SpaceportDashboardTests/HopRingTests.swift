import SpaceportCore
import Testing

@testable import SpaceportDashboard

@Suite("The ring of recent hops")
struct HopRingTests {
    @Test("through many evictions, every hop's end finds its start, with the same ids from two feeds")
    func endsFindStartsThroughEvictions() {
        var ring = HopRing(capacity: 200)
        var waiting: [(source: String, id: String, sequence: Int)] = []
        var startsTakenForOtherHops: [String] = []
        var endsTakenForNewHops: [String] = []
        var state: UInt64 = 0x5EED
        func random(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        func end(at index: Int) {
            let (source, id, _) = waiting.remove(at: index)
            if ring.record(Fixtures.hop(id, phase: .end, status: 200), source: source) {
                endsTakenForNewHops.append("\(source) \(id)")
            }
        }
        for number in 0..<20_000 {
            // Both feeds use each id in turn, so the two hops are in the ring together.
            let source = number % 2 == 0 ? "one" : "two"
            let id = "h\(number / 2 % 7_000)"
            if ring.record(Fixtures.hop(id, phase: .start, status: nil), source: source) {
                waiting.append((source, id, ring.nextSequence - 1))
            } else {
                startsTakenForOtherHops.append("\(source) \(id)")
            }
            // Ends come back out of order, each before its start leaves the ring.
            while let overdue = waiting.firstIndex(where: { ring.nextSequence - $0.sequence > 150 }) {
                end(at: overdue)
            }
            while waiting.count > random(60) { end(at: random(waiting.count)) }
        }
        while !waiting.isEmpty { end(at: 0) }
        #expect(startsTakenForOtherHops.isEmpty, "\(startsTakenForOtherHops.prefix(5))")
        #expect(endsTakenForNewHops.isEmpty, "\(endsTakenForNewHops.prefix(5))")
        #expect(ring.count == 200)
        #expect(ring.newestFirst().allSatisfy { $0.hasEnded && $0.hop.status == 200 })
        for record in ring.newestFirst() {
            #expect(ring.record(source: record.source, id: record.hop.id)?.sequence == record.sequence)
        }
    }
}
