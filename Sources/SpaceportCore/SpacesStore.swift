import Foundation
import Synchronization

/// What a store's observers hear: a new tree, or a file change that was refused.
public enum SpacesChange: Sendable {
    case updated(SpaceTree)
    case rejected(SpacesError)
}

/// The live tree: one place that reads, changes, persists and watches the spaces file.
/// Every change is validated first, then written atomically, then announced.
public final class SpacesStore: Sendable {
    public typealias ObserverID = Int

    public let path: String?
    private let state: Mutex<State>
    private let watcher = Mutex<Watcher?>(nil)

    struct State {
        var tree: SpaceTree
        /// The text last read or written, to tell our own saves from the user's edits.
        var text: String?
        var observers: [ObserverID: @Sendable (SpacesChange) -> Void] = [:]
        var nextObserver: ObserverID = 0
        var lastRejected: String?
    }

    /// Loads the file at `path`; changes are saved back to it.
    public init(path: String) throws(SpacesError) {
        let text = try SpacesFile.read(path: path)
        let tree = try SpacesFile.parse(text: text, file: path)
        self.path = path
        self.state = Mutex(State(tree: tree, text: text))
    }

    /// A store over a tree held in memory, saved to `path` on change when one is given.
    public init(tree: SpaceTree, path: String? = nil) {
        self.path = path
        self.state = Mutex(State(tree: tree, text: nil))
    }

    deinit { stopWatching() }

    public var tree: SpaceTree { state.withLock { $0.tree } }

    /// Applies `edit`, persists it, and tells the observers. When the file was changed by
    /// hand since it was last read, that version is taken first (or the edit is refused
    /// while the file is invalid), so a hand edit is never overwritten; observers hear of
    /// it even when the edit itself then fails.
    @discardableResult
    public func apply(_ edit: SpaceEdit) throws(SpacesError) -> SpaceTree {
        let (outcome, pickedUp, observers) = state.withLock {
            state -> (Result<SpaceTree, SpacesError>, SpaceTree?, [@Sendable (SpacesChange) -> Void]) in
            var pickedUp: SpaceTree? = nil
            if let path, let onDisk = try? SpacesFile.read(path: path), onDisk != state.text {
                do throws(SpacesError) {
                    let tree = try SpacesFile.parse(text: onDisk, file: path)
                    state.text = onDisk
                    state.lastRejected = nil
                    if tree != state.tree {
                        state.tree = tree
                        pickedUp = tree
                    }
                } catch {
                    let refusal = SpacesError.io(
                        "\(error); fix the spaces file before changing it from here (nothing was written)")
                    return (.failure(refusal), nil, [])
                }
            }
            do throws(SpacesError) {
                let next = try state.tree.applying(edit)
                if let path {
                    let text = SpacesFile.updatedText(
                        state.text, from: state.tree, to: next, by: edit, file: path)
                    try SpacesFile.writeAtomically(text, to: path)
                    state.text = text
                }
                state.tree = next
                state.lastRejected = nil
                return (.success(next), nil, Array(state.observers.values))
            } catch {
                return (.failure(error), pickedUp, pickedUp == nil ? [] : Array(state.observers.values))
            }
        }
        switch outcome {
        case .success(let tree):
            for observer in observers { observer(.updated(tree)) }
            return tree
        case .failure(let error):
            if let pickedUp { for observer in observers { observer(.updated(pickedUp)) } }
            throw error
        }
    }

    /// Re-reads the file now. Returns what changed, or nil when nothing did.
    @discardableResult
    public func reload() -> SpacesChange? {
        guard let path else { return nil }
        let (change, observers): (SpacesChange?, [@Sendable (SpacesChange) -> Void]) = state.withLock {
            state in
            let text: String
            do throws(SpacesError) {
                text = try SpacesFile.read(path: path)
            } catch {
                return reject(error, in: &state)
            }
            guard text != state.text else {
                // Back to the last good text: the same breakage again is news again.
                state.lastRejected = nil
                return (nil, [])
            }
            do throws(SpacesError) {
                let tree = try SpacesFile.parse(text: text, file: path)
                state.text = text
                state.lastRejected = nil
                guard tree != state.tree else { return (nil, []) }
                state.tree = tree
                return (.updated(tree), Array(state.observers.values))
            } catch {
                return reject(error, in: &state)
            }
        }
        if let change { for observer in observers { observer(change) } }
        return change
    }

    /// A broken file is reported once per distinct problem, not on every poll.
    private func reject(_ error: SpacesError, in state: inout State) -> (
        SpacesChange?, [@Sendable (SpacesChange) -> Void]
    ) {
        guard state.lastRejected != error.description else { return (nil, []) }
        state.lastRejected = error.description
        return (.rejected(error), Array(state.observers.values))
    }

    @discardableResult
    public func observe(_ handler: @escaping @Sendable (SpacesChange) -> Void) -> ObserverID {
        state.withLock { state in
            let id = state.nextObserver
            state.nextObserver += 1
            state.observers[id] = handler
            return id
        }
    }

    public func removeObserver(_ id: ObserverID) {
        _ = state.withLock { $0.observers.removeValue(forKey: id) }
    }

    /// Polls the file's identity (inode, size, mtime) so editors that replace the file
    /// by rename are seen as well as those that write in place.
    public func startWatching(intervalMs: Int = 250) {
        guard path != nil else { return }
        watcher.withLock { current in
            guard current == nil else { return }
            current = Watcher(store: self, intervalMs: intervalMs)
        }
    }

    public func stopWatching() {
        let stopped = watcher.withLock { current -> Watcher? in
            defer { current = nil }
            return current
        }
        stopped?.cancel()
    }

    func fileIdentity() -> FileIdentity? {
        guard let path else { return nil }
        var info = stat()
        guard stat(path, &info) == 0 else {
            return FileIdentity(inode: 0, size: -1, seconds: 0, nanoseconds: 0)
        }
        return FileIdentity(
            inode: UInt64(info.st_ino), size: Int64(info.st_size), seconds: Int64(info.st_mtim.tv_sec),
            nanoseconds: Int64(info.st_mtim.tv_nsec))
    }

    struct FileIdentity: Equatable {
        var inode: UInt64
        var size: Int64
        var seconds: Int64
        var nanoseconds: Int64
    }

    /// The timer is only touched at creation and cancel, both safe from any thread.
    final class Watcher: @unchecked Sendable {
        private let timer: DispatchSourceTimer

        init(store: SpacesStore, intervalMs: Int) {
            let queue = DispatchQueue(label: "spaceport.spaces-watch")
            let timer = DispatchSource.makeTimerSource(queue: queue)
            let last = Mutex(store.fileIdentity())
            timer.schedule(deadline: .now() + .milliseconds(intervalMs), repeating: .milliseconds(intervalMs))
            timer.setEventHandler { [weak store] in
                guard let store else { return }
                let now = store.fileIdentity()
                let changed = last.withLock { previous in
                    defer { previous = now }
                    return previous != now
                }
                if changed { store.reload() }
            }
            self.timer = timer
            timer.resume()
        }

        func cancel() { timer.cancel() }
    }
}
