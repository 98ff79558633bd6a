/// A first-in first-out queue that never holds more than `capacity` elements: appending
/// to a full queue evicts the oldest. Storage grows as needed, up to the capacity.
struct BoundedQueue<Element> {
    let capacity: Int
    private var storage: [Element?] = []
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) {
        precondition(capacity > 0, "a queue holds at least one element")
        self.capacity = capacity
    }

    var isEmpty: Bool { count == 0 }

    /// Appends `element`; returns the element evicted to make room, if any.
    @discardableResult
    mutating func append(_ element: Element) -> Element? {
        var evicted: Element? = nil
        if count == capacity {
            evicted = popFirst()
        } else if count == storage.count {
            grow()
        }
        storage[slot(count)] = element
        count += 1
        return evicted
    }

    mutating func popFirst() -> Element? {
        guard count > 0 else { return nil }
        let element = storage[head]
        storage[head] = nil
        head = slot(1)
        count -= 1
        return element
    }

    /// The newest `limit` elements, oldest first.
    func suffix(_ limit: Int) -> [Element] {
        let taken = min(limit, count)
        return (count - taken..<count).map { storage[slot($0)]! }
    }

    /// Where the element `offset` places after the oldest is stored (a wrap, not a division:
    /// the hub's replay appends twice a request).
    private func slot(_ offset: Int) -> Int {
        let index = head + offset
        return index < storage.count ? index : index - storage.count
    }

    /// Doubles the storage (up to the capacity), laying the elements out from index 0.
    private mutating func grow() {
        let size = min(capacity, max(16, storage.count * 2))
        var next = [Element?](repeating: nil, count: size)
        for offset in 0..<count { next[offset] = storage[slot(offset)] }
        storage = next
        head = 0
    }
}
