import SpaceportCore

/// The most recent hops, oldest dropped first, with a hop's start and end merged by id.
public struct HopRing: Sendable {
    public static let defaultCapacity = 10_000

    public let capacity: Int
    private var slots: [HopRecord?]
    /// The sequence the next new hop gets; every sequence below it was used once.
    public private(set) var nextSequence = 0
    private var bySourceAndID: [String: Int] = [:]

    public init(capacity: Int = HopRing.defaultCapacity) {
        self.capacity = max(1, capacity)
        slots = Array(repeating: nil, count: self.capacity)
    }

    public var count: Int { min(nextSequence, capacity) }
    public var oldestSequence: Int { nextSequence - count }
    public var newestSequence: Int? { nextSequence > 0 ? nextSequence - 1 : nil }

    /// Records a phase of a hop. Returns true when it is a hop not seen before.
    @discardableResult
    public mutating func record(_ hop: HopEvent, source: String) -> Bool {
        let key = Self.key(source: source, id: hop.id)
        if let sequence = bySourceAndID[key], sequence >= oldestSequence {
            slots[sequence % capacity]?.merge(hop)
            return false
        }
        let sequence = nextSequence
        if let evicted = slots[sequence % capacity] {
            bySourceAndID[Self.key(source: evicted.source, id: evicted.hop.id)] = nil
        }
        slots[sequence % capacity] = HopRecord(sequence: sequence, source: source, hop: hop)
        bySourceAndID[key] = sequence
        nextSequence += 1
        return true
    }

    public subscript(sequence: Int) -> HopRecord? {
        guard sequence >= oldestSequence, sequence < nextSequence else { return nil }
        return slots[sequence % capacity]
    }

    public func record(source: String, id: String) -> HopRecord? {
        bySourceAndID[Self.key(source: source, id: id)].flatMap { self[$0] }
    }

    /// Hops from `sequence` (default the newest) towards the oldest.
    public func newestFirst(from sequence: Int? = nil) -> some Sequence<HopRecord> {
        let start = min(sequence ?? Int.max, nextSequence - 1)
        return stride(from: start, through: oldestSequence, by: -1).lazy.compactMap { self[$0] }
    }

    private static func key(source: String, id: String) -> String { source + "\u{1F}" + id }
}
