/// Counts per key in one-second buckets, so a rate is "how many in the last few seconds".
public struct RateMeter: Sendable {
    public let window: Int
    private var counters: [String: Counter] = [:]

    private struct Counter: Sendable {
        var second: Int
        var buckets: [Int]
    }

    public init(window: Int = 5) {
        self.window = max(1, window)
    }

    public mutating func add(_ key: String, at now: Double, count: Int = 1) {
        let second = Int(now.rounded(.down))
        var counter = counters[key] ?? Counter(second: second, buckets: Array(repeating: 0, count: window))
        advance(&counter, to: second)
        counter.buckets[second % window] += count
        counters[key] = counter
        if counters.count > 4096 { prune(at: now) }
    }

    /// Events per second over the last `window` seconds, the current one included.
    public func rate(_ key: String, at now: Double) -> Double {
        guard var counter = counters[key] else { return 0 }
        advance(&counter, to: Int(now.rounded(.down)))
        return Double(counter.buckets.reduce(0, +)) / Double(window)
    }

    /// Forgets keys with nothing in the window, so names from the network cannot grow it forever.
    public mutating func prune(at now: Double) {
        let second = Int(now.rounded(.down))
        counters = counters.filter { second - $0.value.second < window }
    }

    private func advance(_ counter: inout Counter, to second: Int) {
        guard second > counter.second else { return }
        let gap = min(second - counter.second, window)
        for step in 1...gap { counter.buckets[(counter.second + step) % window] = 0 }
        counter.second = second
    }
}
