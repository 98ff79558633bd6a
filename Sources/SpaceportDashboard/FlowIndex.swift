import SpaceportCore

/// The flows of the hops in a `HopRing`, oldest first: each flow id (a trace, else a request id)
/// with the ring sequences of its hops, from whichever feed they came, so hops several proxies
/// saw of one request make one flow. Bounded twice: at most `capacity` flows (the oldest go
/// first) and at most `hopsPerFlow` hops a flow (later ones are counted, not kept), so a flood
/// of one-hop flows or one flow of endless calls holds no more than that.
public struct FlowIndex: Sendable {
    public static let defaultCapacity = HopRing.defaultCapacity
    public static let defaultHopsPerFlow = 1_000

    public struct Flow: Sendable {
        /// The flow id the hops carry.
        public let key: String
        /// Order of arrival among flows; larger is newer.
        public let number: Int
        /// The ring sequence of its first hop, which places it in a paused list.
        public let first: Int
        /// Ring sequences of its hops in arrival order; those the ring has let go are skipped on reading.
        public fileprivate(set) var sequences: [Int]
        /// Hops of it that came once `hopsPerFlow` were kept.
        public fileprivate(set) var omitted: Int
        /// The ring sequence of its latest hop: once the ring has let that go, the flow is gone.
        public fileprivate(set) var newest: Int
    }

    public let capacity: Int
    public let hopsPerFlow: Int
    /// Flow `number` sits in slot `number % capacity` while it is kept.
    private var slots: [Flow?]
    private var numbers: [String: Int] = [:]
    private var oldestNumber = 0
    public private(set) var nextNumber = 0

    public init(capacity: Int = FlowIndex.defaultCapacity, hopsPerFlow: Int = FlowIndex.defaultHopsPerFlow) {
        self.capacity = max(1, capacity)
        self.hopsPerFlow = max(1, hopsPerFlow)
        slots = []
    }

    /// Flows kept, including any whose hops have all left the ring since.
    public var count: Int { numbers.count }

    /// Every hop sequence kept, across flows: what the index holds besides the flows themselves.
    public var keptSequences: Int { slots.reduce(0) { $0 + ($1?.sequences.count ?? 0) } }

    /// Files the new hop at `sequence` under its flow; `oldest` is the ring's oldest sequence.
    public mutating func add(flow key: String, sequence: Int, oldest: Int) {
        dropGone(oldest: oldest)
        if let number = numbers[key], let slot = slot(of: number) {
            var flow = slots[slot]!
            slots[slot] = nil
            if flow.sequences.count >= hopsPerFlow,
                let kept = flow.sequences.firstIndex(where: { $0 >= oldest })
            {
                // Make room from the hops the ring let go, so a long flow keeps its latest.
                flow.sequences.removeFirst(kept)
            } else if flow.sequences.count >= hopsPerFlow {
                flow.sequences.removeAll(keepingCapacity: true)
            }
            if flow.sequences.count < hopsPerFlow {
                flow.sequences.append(sequence)
            } else {
                flow.omitted += 1
            }
            flow.newest = sequence
            slots[slot] = flow
            return
        }
        if nextNumber - oldestNumber >= capacity { evictOldest() }
        let number = nextNumber
        nextNumber += 1
        let flow = Flow(
            key: key, number: number, first: sequence, sequences: [sequence], omitted: 0, newest: sequence)
        if slots.count < capacity {
            slots.append(flow)
        } else {
            slots[number % capacity] = flow
        }
        numbers[key] = number
    }

    public func flow(_ key: String) -> Flow? {
        numbers[key].flatMap { slot(of: $0) }.flatMap { slots[$0] }
    }

    public func flow(number: Int) -> Flow? {
        slot(of: number).flatMap { slots[$0] }
    }

    /// Flows from `number` (default the newest) towards the oldest, skipping those whose hops
    /// have all left the ring (`oldest`).
    public func newestFirst(from number: Int? = nil, oldest: Int) -> some Sequence<Flow> {
        let start = min(number ?? Int.max, nextNumber - 1)
        return stride(from: start, through: oldestNumber, by: -1).lazy.compactMap { number in
            self.flow(number: number).flatMap { $0.newest >= oldest ? $0 : nil }
        }
    }

    private func slot(of number: Int) -> Int? {
        guard number >= oldestNumber, number < nextNumber, !slots.isEmpty else { return nil }
        let slot = number % capacity
        guard slot < slots.count, slots[slot]?.number == number else { return nil }
        return slot
    }

    /// Lets go of the oldest flows whose hops the ring no longer holds.
    private mutating func dropGone(oldest: Int) {
        while oldestNumber < nextNumber {
            if let flow = flow(number: oldestNumber), flow.newest >= oldest { return }
            evictOldest()
        }
    }

    private mutating func evictOldest() {
        if let slot = slot(of: oldestNumber), let flow = slots[slot] {
            numbers[flow.key] = nil
            slots[slot] = nil
        }
        oldestNumber += 1
    }
}
