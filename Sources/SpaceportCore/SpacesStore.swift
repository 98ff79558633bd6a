import Foundation
import Synchronization

/// What a store's observers hear, one change at a time, in the order they happened.
public enum SpacesChange: Sendable {
    /// An edit made through this store was saved; its tree is in effect.
    case edited(SpaceEdit, SpaceTree)
    /// The file changed on disk (by hand, or by another process's edit) and its tree is in
    /// effect. `fixed` when the file had been refused until now: the tree may then be the one
    /// that was in effect all along.
    case reloaded(SpaceTree, fixed: Bool)
    /// The file on disk is invalid; the last good tree stays in effect until it is fixed.
    case rejected(SpacesError)

    /// The tree in effect after the change, when it brought one.
    public var tree: SpaceTree? {
        switch self {
        case .edited(_, let tree), .reloaded(let tree, _): return tree
        case .rejected: return nil
        }
    }
}

/// Where a store's edits go when its tree comes from elsewhere than a file (a cluster): the
/// edit is made there, and the tree follows when that source brings it back.
public protocol TreeEditor: Sendable {
    func apply(_ edit: SpaceEdit, to tree: SpaceTree) async throws(SpacesError)
}

/// The live tree: one place that reads, changes, persists and watches the spaces file.
/// Every change is validated first, then written atomically, then announced. An edit takes
/// the file's lock (see `SpacesFile.withLock`) and applies to the file as it is then, so
/// edits from every process land one after another and none is lost.
public final class SpacesStore: Sendable {
    public typealias ObserverID = Int
    public typealias Observer = @Sendable (SpacesChange) -> Void

    /// What an applied edit left.
    public struct Saved: Sendable {
        public var tree: SpaceTree
        /// The file could not be changed in place and was written afresh: its comments are gone.
        public var rewroteWhole: Bool
    }

    public let path: String?
    /// Where edits go instead of the file, when the tree comes from elsewhere.
    public let editor: (any TreeEditor)?
    /// The text last read or written, to tell our own saves from other writers'. Held while
    /// a change is read, saved and announced, so changes go out one at a time, in order.
    private let file: Mutex<String?>
    /// What readers ask for, never held across a file operation.
    private let current: Mutex<Current>
    private let watcher = Mutex<Watcher?>(nil)

    struct Current {
        var tree: SpaceTree
        /// Why the file on disk was refused, until it is valid again.
        var problem: SpacesError?
        var observers: [ObserverID: Observer] = [:]
        var nextObserver: ObserverID = 0
    }

    /// Loads the file at `path`; changes are saved back to it.
    public init(path: String) throws(SpacesError) {
        let text = try SpacesFile.read(path: path)
        let tree = try SpacesFile.parse(text: text, file: path)
        self.path = path
        self.editor = nil
        self.file = Mutex(text)
        self.current = Mutex(Current(tree: tree))
    }

    /// A store over a tree held in memory, saved to `path` on change when one is given.
    public init(tree: SpaceTree, path: String? = nil) {
        self.path = path
        self.editor = nil
        self.file = Mutex(nil)
        self.current = Mutex(Current(tree: tree))
    }

    /// A store whose tree `editor`'s source keeps (see `follow`), and whose edits it makes.
    public init(tree: SpaceTree, editor: any TreeEditor) {
        self.path = nil
        self.editor = editor
        self.file = Mutex(nil)
        self.current = Mutex(Current(tree: tree))
    }

    deinit { stopWatching() }

    /// Puts the source's latest tree in effect, announced as a reload, when it differs.
    public func follow(_ next: SpaceTree) {
        file.withLock { _ in
            guard next != tree else { return }
            adopt(next, announcing: [.reloaded(next, fixed: false)])
        }
    }

    public var tree: SpaceTree { current.withLock { $0.tree } }

    /// Why the file on disk is refused while it is invalid (the tree in effect is the last good one); nil while it is valid.
    public var fileProblem: SpacesError? { current.withLock { $0.problem } }

    /// Applies `edit` to the file as it is now, persists it, and tells the observers. A
    /// change made to the file since this store last read it is taken first (announced as a
    /// reload, even when the edit itself then fails), so it is never overwritten; while the
    /// file is invalid the edit is refused.
    /// With an editor, the edit is checked against the tree, made at the source (this waits for
    /// its answer, so call it off an event loop) and the tree is unchanged until the source brings it.
    @discardableResult
    public func apply(_ edit: SpaceEdit) throws(SpacesError) -> Saved {
        if let editor {
            let base = tree
            _ = try base.applying(edit)
            let outcome = Mutex<Result<Void, SpacesError>?>(nil)
            let done = DispatchSemaphore(value: 0)
            Task {
                let result: Result<Void, SpacesError>
                do throws(SpacesError) {
                    try await editor.apply(edit, to: base)
                    result = .success(())
                } catch {
                    result = .failure(error)
                }
                outcome.withLock { $0 = result }
                done.signal()
            }
            done.wait()
            try outcome.withLock { $0 }?.get()
            return Saved(tree: tree, rewroteWhole: false)
        }
        return try file.withLock { known throws(SpacesError) -> Saved in
            guard let path else {
                let next = try tree.applying(edit)
                adopt(next, announcing: [.edited(edit, next)])
                return Saved(tree: next, rewroteWhole: false)
            }
            return try SpacesFile.withLock(path) { locked throws(SpacesError) -> Saved in
                let onDisk = try locked.read()
                var base = tree
                var news: [SpacesChange] = []
                if let onDisk, onDisk != known {
                    do throws(SpacesError) {
                        let tree = try SpacesFile.parse(text: onDisk, file: path)
                        known = onDisk
                        let fixed = fileProblem != nil
                        if tree != base || fixed {
                            base = tree
                            news.append(.reloaded(tree, fixed: fixed))
                        }
                    } catch {
                        reject(error)
                        throw .io(
                            "\(error); fix the spaces file before changing it from here (nothing was written)"
                        )
                    }
                }
                do throws(SpacesError) {
                    let next = try base.applying(edit)
                    let original = onDisk ?? known
                    let text = SpacesFile.updatedText(original, from: base, to: next, by: edit, file: path)
                    try locked.replace(with: text)
                    known = text
                    adopt(next, announcing: news + [.edited(edit, next)])
                    let rewrote =
                        text.hasPrefix(SpacesFile.rewriteNotice)
                        && original?.hasPrefix(SpacesFile.rewriteNotice) != true
                    return Saved(tree: next, rewroteWhole: rewrote)
                } catch {
                    if let picked = news.last?.tree { adopt(picked, announcing: news) }
                    throw error
                }
            }
        }
    }

    /// `apply` for a caller on a task: a source's answer is awaited without holding a thread
    /// (the blocking `apply` is for threads of their own, as the feed's command queue).
    @discardableResult
    public func applyAwaitingSource(_ edit: SpaceEdit) async throws(SpacesError) -> Saved {
        guard let editor else { return try apply(edit) }
        let base = tree
        _ = try base.applying(edit)
        try await editor.apply(edit, to: base)
        return Saved(tree: tree, rewroteWhole: false)
    }

    /// Re-reads the file now. Returns what changed, or nil when nothing did.
    @discardableResult
    public func reload() -> SpacesChange? {
        guard let path else { return nil }
        // Parsing leaves the freed YAML nodes in the allocator's arenas: give them back, now and
        // once the observers (a proxy's listeners, say) have let go of the tree this one replaced.
        defer { MemoryRelease.trimNowAndSoon() }
        return file.withLock { known -> SpacesChange? in
            let text: String
            do throws(SpacesError) {
                text = try SpacesFile.read(path: path)
            } catch {
                return reject(error)
            }
            let fixed = fileProblem != nil
            // Back to the last good text is a fix too (the same breakage again is news again).
            guard text != known else {
                guard fixed else { return nil }
                let change = SpacesChange.reloaded(tree, fixed: true)
                adopt(tree, announcing: [change])
                return change
            }
            do throws(SpacesError) {
                let next = try SpacesFile.parse(text: text, file: path)
                known = text
                guard next != tree || fixed else { return nil }
                let change = SpacesChange.reloaded(next, fixed: fixed)
                adopt(next, announcing: [change])
                return change
            } catch {
                return reject(error)
            }
        }
    }

    /// Puts `tree` in effect, the file valid, and tells the observers `changes`, in order.
    /// Called with the file's state held, so no later change can overtake these.
    private func adopt(_ tree: SpaceTree, announcing changes: [SpacesChange]) {
        let observers = current.withLock { current in
            current.tree = tree
            current.problem = nil
            return Array(current.observers.values)
        }
        for change in changes {
            for observer in observers { observer(change) }
        }
    }

    /// A broken file is reported once per distinct problem, not on every poll.
    @discardableResult
    private func reject(_ error: SpacesError) -> SpacesChange? {
        let observers = current.withLock { current -> [Observer]? in
            guard current.problem != error else { return nil }
            current.problem = error
            return Array(current.observers.values)
        }
        guard let observers else { return nil }
        let change = SpacesChange.rejected(error)
        for observer in observers { observer(change) }
        return change
    }

    /// Calls `handler` with every change from now on, one at a time and in order, on the
    /// thread that made it. A handler must not edit this store (it would wait on itself).
    @discardableResult
    public func observe(_ handler: @escaping Observer) -> ObserverID {
        current.withLock { current in
            let id = current.nextObserver
            current.nextObserver += 1
            current.observers[id] = handler
            return id
        }
    }

    public func removeObserver(_ id: ObserverID) {
        _ = current.withLock { $0.observers.removeValue(forKey: id) }
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

/// glibc keeps memory freed by other threads in their arenas; `malloc_trim` returns it to
/// the system. Looked up at run time, since Swift's Glibc module does not show it.
enum MemoryRelease {
    private typealias Trim = @convention(c) (Int) -> Int32
    private static let call: Trim? = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim").map {
        unsafeBitCast($0, to: Trim.self)
    }

    static func trim() { _ = call?(0) }

    static func trimNowAndSoon() {
        trim()
        DispatchQueue.global().asyncAfter(deadline: .now() + 1) { trim() }
    }
}
