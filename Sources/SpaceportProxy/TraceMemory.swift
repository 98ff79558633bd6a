import NIOCore
import SpaceportCore
import Synchronization

/// Which space each recent trace was routed as, for the requests of that trace that come
/// back without any route carrier (an app that forwards `traceparent` but drops the route
/// header and baggage): trace memory, `routeAsSource: "trace"`. Shared by every event loop,
/// since a trace's calls arrive on other connections. Bounded whatever the traffic: a table of
/// at most `traces` slots, made once, each trace forgotten `seconds` after it was last seen.
/// A trace has a set of eight slots it may take (as a processor's cache has); when all eight
/// hold traces still remembered, the one seen longest ago makes room. Split into shards so loops
/// seldom wait on each other's lock.
final class TraceMemory: Sendable {
    private static let shardCount = 16
    /// Slots a trace may take: few enough to scan at once, enough that a set seldom evicts early.
    private static let ways = 8

    private struct Shard {
        /// Each slot's trace; a set's are side by side, so finding a trace reads two cache lines.
        var traces: [TraceID] = []
        var entries: [Entry] = []
        /// The slots this shard was made with, from the `traces` setting in effect then.
        var slots = 0

        struct Entry {
            var space = ""
            /// Nanoseconds on the proxy's clock; 0 for an empty slot.
            var expires: UInt64 = 0
        }

        /// The slots of `trace`'s set; the table made to `slots` first when the setting changed.
        mutating func set(of trace: TraceID, slots wanted: Int) -> Range<Int> {
            if slots != wanted {
                slots = wanted
                traces = Array(repeating: TraceID(high: 0, low: 0), count: wanted)
                entries = Array(repeating: Entry(), count: wanted)
            }
            let ways = min(TraceMemory.ways, slots)
            // Trace ids are random, but a client may send any: mixed, so counted ones spread too.
            let mixed = trace.high ^ trace.low &* 0x9E37_79B9_7F4A_7C15
            // The mixed id scaled to the number of sets, a multiplication where `%` is a division.
            let set = mixed.multipliedFullWidth(by: UInt64(slots / ways)).high
            let first = Int(truncatingIfNeeded: set) * ways
            return first..<(first + ways)
        }
    }

    private final class Lock: Sendable {
        let shard = Mutex(Shard())
    }

    private let shards = (0..<TraceMemory.shardCount).map { _ in Lock() }

    private func shard(_ trace: TraceID) -> Lock {
        shards[Int(truncatingIfNeeded: trace.low % UInt64(Self.shardCount))]
    }

    /// A shard's slots for `settings`: its share of `traces`, whole sets of them.
    private static func slots(_ settings: Propagation) -> Int {
        let share = max(settings.traceMemoryTraces / shardCount, 1)
        return share < ways ? share : share - share % ways
    }

    /// The space `trace` was routed as, if it was seen within the time `settings` keep it.
    func space(of trace: TraceID, _ settings: Propagation, now: NIODeadline = .now()) -> String? {
        guard settings.remembersTraces else { return nil }
        let slots = Self.slots(settings)
        return shard(trace).shard.withLock { shard in
            let set = shard.set(of: trace, slots: slots)
            guard let slot = set.first(where: { shard.traces[$0] == trace }),
                shard.entries[slot].expires > now.uptimeNanoseconds
            else { return nil }
            return shard.entries[slot].space
        }
    }

    /// Remembers that `trace` was routed as `space`, for `settings.traceMemorySeconds` from now.
    func remember(_ trace: TraceID, as space: String, _ settings: Propagation, now: NIODeadline = .now()) {
        guard settings.remembersTraces else { return }
        let slots = Self.slots(settings)
        let expires = (now + .seconds(Int64(settings.traceMemorySeconds))).uptimeNanoseconds
        shard(trace).shard.withLock { shard in
            let set = shard.set(of: trace, slots: slots)
            // Its own slot, else the one whose trace expires first: an empty or expired one when
            // there is one, else the trace seen longest ago. One walk over the set finds either.
            var slot = set.lowerBound
            for candidate in set {
                if shard.traces[candidate] == trace {
                    slot = candidate
                    break
                }
                if shard.entries[candidate].expires < shard.entries[slot].expires { slot = candidate }
            }
            shard.traces[slot] = trace
            shard.entries[slot] = Shard.Entry(space: space, expires: expires)
        }
    }

    /// How many traces are remembered now (expired ones not yet forgotten included).
    var count: Int {
        shards.reduce(0) { total, lock in total + lock.shard.withLock { $0.entries.count { $0.expires != 0 } }
        }
    }
}

/// The route-as of the requests each instance is serving right now, for the instances that
/// have an egress listener: a call its app makes through that egress with no route carrier
/// should have been routed as those requests were. Shared by every event loop.
final class InFlightRoutes: Sendable {
    private let serving = Mutex<[InstanceRef: [String: Int]]>([:])

    func started(_ instance: InstanceRef, routeAs: String) {
        serving.withLock { $0[instance, default: [:]][routeAs, default: 0] += 1 }
    }

    func ended(_ instance: InstanceRef, routeAs: String) {
        serving.withLock { serving in
            guard var counts = serving[instance], let count = counts[routeAs] else { return }
            counts[routeAs] = count > 1 ? count - 1 : nil
            serving[instance] = counts.isEmpty ? nil : counts
        }
    }

    /// The one space every request `instance` serves now was routed as; nil when it serves
    /// none, or requests routed as different spaces (then no single one is expected).
    func expected(from instance: InstanceRef) -> String? {
        serving.withLock { serving in
            guard let counts = serving[instance], counts.count == 1 else { return nil }
            return counts.keys.first
        }
    }
}
