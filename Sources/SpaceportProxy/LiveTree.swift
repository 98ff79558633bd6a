import NIOCore
import SpaceportCore
import Synchronization

/// The tree every request routes against. Writers (the store's observer) take a lock and
/// bump a generation; readers on an event loop compare one atomic integer with their
/// cached generation, so the hot path takes no lock, yet the very next request after a
/// change sees it.
final class LiveTree: Sendable {
    private let latest: Mutex<SpaceTree>
    private let generation = Atomic<Int>(0)

    init(_ tree: SpaceTree) {
        latest = Mutex(tree)
    }

    func update(_ tree: SpaceTree) {
        latest.withLock { $0 = tree }
        generation.add(1, ordering: .releasing)
    }

    var current: SpaceTree { latest.withLock { $0 } }

    /// The generation is read before the tree, so a cached pair is never newer than it claims.
    func snapshot() -> (generation: Int, tree: SpaceTree) {
        let seen = generation.load(ordering: .acquiring)
        return (seen, latest.withLock { $0 })
    }

    var currentGeneration: Int { generation.load(ordering: .acquiring) }
}
