import SpaceportCore

/// The most recent hops, oldest dropped first, with a hop's start and end merged by id.
public struct HopRing: Sendable {
    public static let defaultCapacity = 10_000

    public let capacity: Int
    /// Filled up to `capacity`, then overwritten oldest first: slot `sequence % capacity`.
    private var slots: [HopRecord] = []
    /// Each slot's `key(id:)`, so evicting a hop never reads its record.
    private var keys: [Int] = []
    /// The sequence the next new hop gets; every sequence below it was used once.
    public private(set) var nextSequence = 0
    /// Slots by `key(id:)`, confirmed against the record on every look-up.
    private var index: HopIndex

    public init(capacity: Int = HopRing.defaultCapacity) {
        self.capacity = max(1, capacity)
        index = HopIndex(capacity: self.capacity)
    }

    public var count: Int { min(nextSequence, capacity) }
    public var oldestSequence: Int { nextSequence - count }
    public var newestSequence: Int? { nextSequence > 0 ? nextSequence - 1 : nil }

    /// Records a phase of a hop. Returns true when it is a hop not seen before.
    @discardableResult
    public mutating func record(_ hop: consuming HopEvent, source: String) -> Bool {
        let key = Self.key(id: hop.id)
        if let slot = slot(key: key, source: source, id: hop.id) {
            slots[slot].merge(consume hop)
            return false
        }
        let sequence = nextSequence
        let slot = sequence % capacity
        let record = HopRecord(sequence: sequence, source: source, hop: consume hop)
        if slots.count < capacity {
            slots.append(record)
            keys.append(key)
        } else {
            index.remove(key: keys[slot], slot: slot)
            slots[slot] = record
            keys[slot] = key
        }
        index.insert(key: key, slot: slot)
        nextSequence += 1
        return true
    }

    public subscript(sequence: Int) -> HopRecord? {
        guard sequence >= oldestSequence, sequence < nextSequence else { return nil }
        return slots[sequence % capacity]
    }

    public func record(source: String, id: String) -> HopRecord? {
        slot(key: Self.key(id: id), source: source, id: id).map { slots[$0] }
    }

    /// Hops from `sequence` (default the newest) towards the oldest.
    public func newestFirst(from sequence: Int? = nil) -> some Sequence<HopRecord> {
        let start = min(sequence ?? Int.max, nextSequence - 1)
        return stride(from: start, through: oldestSequence, by: -1).lazy.compactMap { self[$0] }
    }

    private func slot(key: Int, source: String, id: String) -> Int? {
        index.slot(key: key) { slots[$0].hop.id == id && slots[$0].source == source }
    }

    /// The id hashed once per event with the process's random seed, so the index compares
    /// Ints rather than strings and a feed cannot choose ids that collide. The source, often
    /// a long socket path, is left out: the same id from two feeds is rare, and told apart
    /// when the record is checked.
    private static func key(id: String) -> Int { id.hashValue }
}
