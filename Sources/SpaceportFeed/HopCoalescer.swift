import NIOCore
import SpaceportCore

/// Sends a hop that ends soon after it starts as its end alone, for readers that asked for
/// it (`coalesce-hops`): the end carries every field the start did, so under load a reader
/// that merges the two phases reads half the lines and loses nothing.
///
/// A start waits up to `hold` for its end. If the end comes first the start is left out;
/// otherwise the start goes out with the first batch after `hold`, or alone (`flush`). A hop
/// still running then is seen to start a few milliseconds late, as it would be anyway by a
/// reader drawing 30 times a second.
struct HopCoalescer {
    /// Twice the feed's gathering interval for every hop (`HopShaping.gathering`), so a start
    /// sees at least one batch after its own.
    static let hold = TimeAmount.milliseconds(10)

    private struct Held {
        var entry: FeedEntry
        var id: String
        var until: NIODeadline
    }

    /// Starts waiting for their end, oldest first.
    private var held: [Held] = []
    /// Hop ids ended in the batch at hand; kept to reuse its storage.
    private var ended = Set<String>()
    private var sending: [FeedEntry] = []

    /// When the oldest start held is due to go out.
    var nextDue: NIODeadline? { held.first?.until }

    /// Replaces `entries`, just taken from the hub, by what to send now: the held starts that
    /// waited long enough (less those whose end has come), then `entries` less their starts,
    /// which are held unless their end is in `entries` too, when they are left out.
    mutating func coalesce(_ entries: inout [FeedEntry], now: NIODeadline = .now()) {
        ended.removeAll(keepingCapacity: true)
        for entry in entries {
            if case .hop(let hop) = entry.event, hop.phase == .end { ended.insert(hop.id) }
        }
        sending.removeAll(keepingCapacity: true)
        releaseDue(now)
        for entry in entries {
            guard case .hop(let hop) = entry.event, hop.phase == .start else {
                sending.append(entry)
                continue
            }
            if !ended.contains(hop.id) { held.append(Held(entry: entry, id: hop.id, until: now + Self.hold)) }
        }
        swap(&entries, &sending)
        sending.removeAll(keepingCapacity: true)
    }

    /// The starts held for `hold` or longer, to send now though nothing else came.
    mutating func flush(now: NIODeadline = .now()) -> [FeedEntry] {
        ended.removeAll(keepingCapacity: true)
        sending.removeAll(keepingCapacity: true)
        releaseDue(now)
        defer { sending.removeAll(keepingCapacity: true) }
        return sending
    }

    /// Drops the held starts whose end is in `ended`, and moves those due into `sending`.
    private mutating func releaseDue(_ now: NIODeadline) {
        guard !held.isEmpty else { return }
        var kept = 0
        for index in held.indices {
            let start = held[index]
            if ended.contains(start.id) { continue }
            if start.until <= now {
                sending.append(start.entry)
            } else {
                held[kept] = start
                kept += 1
            }
        }
        held.removeLast(held.count - kept)
    }
}
