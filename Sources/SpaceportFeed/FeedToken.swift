/// The shared secret a TCP client must present first.
enum FeedToken {
    /// Compares in time that depends only on the expected token's length, so a wrong
    /// guess cannot learn how many of its first bytes were right.
    static func matches(_ given: String, expected: String) -> Bool {
        let given = Array(given.utf8)
        let expected = Array(expected.utf8)
        var difference: UInt8 = given.count == expected.count ? 0 : 1
        for index in expected.indices {
            difference |= (index < given.count ? given[index] : 0) ^ expected[index]
        }
        return difference == 0 && !expected.isEmpty
    }
}
