/// Where each hop of a `HopRing` is kept, by a key already hashed with the process's random
/// seed: open addressing with linear probing over a power-of-two table. A `Dictionary` would
/// hash the key again on every look-up and on every entry it moves when one is removed, and
/// the ring looks one up, removes one and adds one for every hop.
struct HopIndex: Sendable {
    private struct Entry: Sendable {
        var key: Int
        /// The ring slot, or -1 for an empty entry.
        var slot: Int
    }

    private static let empty = Entry(key: 0, slot: -1)

    private var table: [Entry]
    private let mask: Int
    private var count = 0

    /// Room for `capacity` entries at most half full, so probes stay short.
    init(capacity: Int) {
        var size = 16
        while size < 2 * capacity { size *= 2 }
        table = Array(repeating: Self.empty, count: size)
        mask = size - 1
    }

    /// The slot of the entry with `key` that `matches` accepts; keys of different hops may collide.
    func slot(key: Int, where matches: (Int) -> Bool) -> Int? {
        var index = key & mask
        while table[index].slot >= 0 {
            if table[index].key == key && matches(table[index].slot) { return table[index].slot }
            index = (index + 1) & mask
        }
        return nil
    }

    mutating func insert(key: Int, slot: Int) {
        // Half full at most while the ring keeps its bound; a full table would never end a probe.
        precondition(count < table.count / 2, "the hop index holds more hops than its ring")
        count += 1
        var index = key & mask
        while table[index].slot >= 0 { index = (index + 1) & mask }
        table[index] = Entry(key: key, slot: slot)
    }

    mutating func remove(key: Int, slot: Int) {
        var hole = key & mask
        while table[hole].slot >= 0 && !(table[hole].key == key && table[hole].slot == slot) {
            hole = (hole + 1) & mask
        }
        guard table[hole].slot >= 0 else { return }
        count -= 1
        // Shifts back each later entry of the run that may sit in the hole, so no probe stops short.
        var next = (hole + 1) & mask
        while table[next].slot >= 0 {
            let home = table[next].key & mask
            if (next - home) & mask >= (next - hole) & mask {
                table[hole] = table[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        table[hole] = Self.empty
    }
}
