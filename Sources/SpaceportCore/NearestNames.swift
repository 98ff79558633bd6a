/// The names nearest a mistyped one, for "did you mean …": a service a request asked for, a
/// subcommand. Near means few edits (a letter added, dropped, changed, or two swapped).
public enum NearestNames {
    /// The names in `names` nearest `name` (without case), when near enough to be a typo:
    /// all those at the smallest distance, in the order given, at most `limit`. None when
    /// `name` is one of them.
    public static func nearest(to name: String, among names: [String], limit: Int = 3) -> [String] {
        let wanted = Array(name.lowercased().unicodeScalars)
        if names.contains(where: { $0.lowercased() == name.lowercased() }) { return [] }
        let allowed = max(1, min(3, wanted.count / 3))
        var best = allowed + 1
        var found: [String] = []
        for candidate in names {
            let distance = self.distance(wanted, Array(candidate.lowercased().unicodeScalars))
            if distance < best {
                best = distance
                found = [candidate]
            } else if distance == best, !found.contains(candidate) {
                found.append(candidate)
            }
        }
        return Array(found.prefix(limit))
    }

    /// Edits from `a` to `b`, a swap of neighbours counting as one (optimal string alignment).
    static func distance(_ a: [Unicode.Scalar], _ b: [Unicode.Scalar]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var before = [Int](repeating: 0, count: b.count + 1)
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    current[j] = min(current[j], before[j - 2] + 1)
                }
            }
            (before, previous, current) = (previous, current, before)
        }
        return previous[b.count]
    }

    /// `a`, `a or b`, `a, b or c`: how a message offers the names.
    public static func list(_ names: [String], joinedBy word: String = "or") -> String {
        guard let last = names.last else { return "" }
        guard names.count > 1 else { return last }
        return names.dropLast().joined(separator: ", ") + " \(word) " + last
    }
}
