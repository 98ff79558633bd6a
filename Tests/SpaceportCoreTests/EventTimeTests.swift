import Foundation
import SpaceportTestSupport
import Testing

@testable import SpaceportCore

@Suite("Event times")
struct EventTimeTests {
    @Test("a time the proxy wrote reads back as the millisecond it stands for, quickly or not")
    func readsBack() {
        var random = SplitMix64(seed: 42)
        for _ in 0..<2_000 {
            let millis = Int64(random.next(4_000_000_000_000))
            // Half a millisecond in, so the float division cannot land just below the millisecond.
            let text = EventTime.format(Date(timeIntervalSince1970: (Double(millis) + 0.5) / 1000))
            #expect(EventTime.milliseconds(text) == Double(millis), "\(text)")
        }
        #expect(
            EventTime.milliseconds("2026-03-01T12:03:04.12Z") == 1_772_366_584_120, "another ISO 8601 shape")
        #expect(EventTime.milliseconds("yesterday") == nil)
        #expect(EventTime.milliseconds("2026-13-01T12:03:04.120Z") == nil)
    }
}
