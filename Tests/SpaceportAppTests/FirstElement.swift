import SpaceportTestSupport

/// The first element of `stream` that `pick` takes, or a failure naming `what` after
/// `seconds` (long: the whole suite at once keeps two shared cores busy).
func first<Element: Sendable, Picked: Sendable>(
    _ what: String, of stream: AsyncStream<Element>, within seconds: Int = 30,
    _ pick: @escaping @Sendable (Element) -> Picked?
) async throws -> Picked {
    try await withThrowingTaskGroup(of: Picked.self) { group in
        group.addTask {
            for await element in stream {
                if let picked = pick(element) { return picked }
            }
            throw TestFailure("the stream ended before \(what)")
        }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw TestFailure("no \(what) within \(seconds) s")
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
