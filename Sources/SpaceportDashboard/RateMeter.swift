/// Counts per key in one-second buckets, so a rate is "how many in the last few seconds".
public struct RateMeter<Key: Hashable & Sendable>: Sendable {
    public let window: Int
    private var counters: [Key: RateCounter] = [:]

    public init(window: Int = 5) {
        self.window = max(1, window)
    }

    public mutating func add(_ key: Key, at now: Double, count: Int = 1) {
        let window = window
        // Counted in place: copying a counter out and back would copy its buckets every time.
        counters[key, default: RateCounter(window: window, at: now)].add(count, at: now)
        if counters.count > 4096 { prune(at: now) }
    }

    /// Events per second over the last `window` seconds, or since `origin` (when counting
    /// began) if that is later.
    public func rate(_ key: Key, at now: Double, since origin: Double) -> Double {
        counters[key]?.rate(at: now, since: origin) ?? 0
    }

    /// How many over the last `window` seconds.
    public func count(_ key: Key, at now: Double) -> Int {
        counters[key]?.count(at: now) ?? 0
    }

    /// Forgets keys with nothing in the window, so names from the network cannot grow it forever.
    public mutating func prune(at now: Double) {
        counters = counters.filter { !$0.value.isIdle(at: now) }
    }
}

/// One key's counts: `window` one-second buckets, the newest at `second`.
struct RateCounter: Sendable {
    private var second: Int
    private var buckets: [Int]

    init(window: Int = 5, at now: Double) {
        second = Int(now.rounded(.down))
        buckets = Array(repeating: 0, count: max(1, window))
    }

    mutating func add(_ count: Int = 1, at now: Double) {
        let second = Int(now.rounded(.down))
        advance(to: second)
        buckets[second % buckets.count] += count
    }

    /// Events per second over the time the buckets cover: the whole seconds before this one
    /// and as much of this one as has passed, but not before `origin`, when counting began,
    /// so the first seconds are not divided by a window nobody watched. At least a second,
    /// so one early event does not read as a burst.
    func rate(at now: Double, since origin: Double) -> Double {
        let current = now.rounded(.down)
        let covered = min(Double(buckets.count - 1) + (now - current), now - origin)
        return Double(count(at: now)) / max(1, covered)
    }

    /// The events in the buckets still in the window at `now`.
    func count(at now: Double) -> Int {
        var counter = self
        counter.advance(to: Int(now.rounded(.down)))
        return counter.buckets.reduce(0, +)
    }

    /// True when the window has moved past every count.
    func isIdle(at now: Double) -> Bool { Int(now.rounded(.down)) - second >= buckets.count }

    private mutating func advance(to second: Int) {
        guard second > self.second else { return }
        let gap = min(second - self.second, buckets.count)
        for step in 1...gap { buckets[(self.second + step) % buckets.count] = 0 }
        self.second = second
    }
}
