import NIOCore
import SpaceportCore
import Synchronization

/// Which space each recent trace was routed as, for the requests of that trace that come
/// back without any route carrier (an app that forwards `traceparent` but drops the route
/// header and baggage): trace memory, `routeAsSource: "trace"`. Shared by every event loop,
/// since a trace's calls arrive on other connections. Bounded whatever the traffic: at most
/// `traces` entries, each forgotten `seconds` after its trace was last seen, the oldest first
/// when full. Split into shards so loops seldom wait on each other's lock.
final class TraceMemory: Sendable {
    private static let shardCount = 16

    private struct Entry {
        var space: String
        var expires: NIODeadline
    }

    private struct Shard {
        var entries: [TraceID: Entry] = [:]
        /// Insertion order, for forgetting the oldest first; a trace seen again is not moved
        /// (its entry's expiry is), so the queue may name a trace that is already gone.
        var order = CircularBuffer<TraceID>(initialCapacity: 16)
    }

    private final class Lock: Sendable {
        let shard = Mutex(Shard())
    }

    private let shards = (0..<TraceMemory.shardCount).map { _ in Lock() }

    private func shard(_ trace: TraceID) -> Lock {
        shards[Int(truncatingIfNeeded: trace.low % UInt64(Self.shardCount))]
    }

    /// The space `trace` was routed as, if it was seen within the time `settings` keep it.
    func space(of trace: TraceID, _ settings: Propagation, now: NIODeadline = .now()) -> String? {
        guard settings.remembersTraces else { return nil }
        return shard(trace).shard.withLock { shard in
            guard let entry = shard.entries[trace] else { return nil }
            guard entry.expires > now else {
                shard.entries[trace] = nil
                return nil
            }
            return entry.space
        }
    }

    /// Remembers that `trace` was routed as `space`, for `settings.traceMemorySeconds` from now.
    func remember(_ trace: TraceID, as space: String, _ settings: Propagation, now: NIODeadline = .now()) {
        guard settings.remembersTraces else { return }
        let capacity = max(settings.traceMemoryTraces / Self.shardCount, 1)
        let expires = now + .seconds(Int64(settings.traceMemorySeconds))
        shard(trace).shard.withLock { shard in
            if shard.entries.updateValue(Entry(space: space, expires: expires), forKey: trace) == nil {
                shard.order.append(trace)
            }
            // The oldest go first: those forgotten already, those expired, then, while the shard
            // is over its share, whatever is oldest.
            while let oldest = shard.order.first {
                // Found once, by index: a lookup in a table this size is a cache miss each time.
                if let index = shard.entries.index(forKey: oldest) {
                    guard shard.entries.values[index].expires <= now || shard.entries.count > capacity else {
                        break
                    }
                    shard.entries.remove(at: index)
                }
                shard.order.removeFirst()
            }
        }
    }

    /// How many traces are remembered now (expired ones not yet forgotten included).
    var count: Int { shards.reduce(0) { total, lock in total + lock.shard.withLock { $0.entries.count } } }
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
