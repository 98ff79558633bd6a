import Foundation
import Synchronization
import Testing

@testable import SpaceportCore

/// What a store's observers heard, in order.
final class HeardChanges: Sendable {
    private let changes = Mutex<[SpacesChange]>([])

    func record(_ change: SpacesChange) { changes.withLock { $0.append(change) } }

    var all: [SpacesChange] { changes.withLock { $0 } }

    var updates: [SpaceTree] { all.compactMap(\.tree) }

    var rejections: [SpacesError] {
        all.compactMap {
            if case .rejected(let error) = $0 { return error }
            return nil
        }
    }

    /// Waits for `condition`, polling, for up to a minute: the watcher is a timer, so
    /// there is no event to await, and a loaded machine may take a while.
    func wait(until condition: @escaping () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }
}

/// Makes a folder unwritable even for root: `chattr +i` when running as root, else chmod.
enum FolderLock {
    static func lock(_ folder: URL) -> Bool {
        if geteuid() == 0 {
            guard run("/usr/bin/chattr", ["+i", folder.path]) else { return false }
        } else {
            chmod(folder.path, 0o555)
        }
        let probe = folder.appendingPathComponent("probe").path
        let fd = open(probe, O_WRONLY | O_CREAT, 0o644)
        guard fd >= 0 else { return true }
        close(fd)
        unlink(probe)
        unlock(folder)
        return false
    }

    static func unlock(_ folder: URL) {
        if geteuid() == 0 { _ = run("/usr/bin/chattr", ["-i", folder.path]) }
        chmod(folder.path, 0o755)
    }

    /// Whether this machine can lock a folder at all (not every file system has chattr).
    static let works: Bool = {
        guard let folder = try? SpacesFixtures.folder() else { return false }
        defer { try? FileManager.default.removeItem(at: folder) }
        let locked = lock(folder)
        if locked { unlock(folder) }
        return locked
    }()

    private static func run(_ tool: String, _ arguments: [String]) -> Bool {
        guard FileManager.default.isExecutableFile(atPath: tool) else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}

@Suite("The live store validates, saves atomically, announces, and watches the file")
struct SpacesStoreTests {
    typealias F = SpacesFixtures

    /// A folder holding a spaces.yaml with `text`.
    func file(_ text: String) throws -> (folder: URL, path: String) {
        let folder = try F.folder()
        let path = folder.appendingPathComponent("spaces.yaml").path
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return (folder, path)
    }

    func contents(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    @Test("an applied edit is saved with the file's comments, and observers hear the new tree")
    func applyPersists() throws {
        let (folder, path) = try file(SpacesFile.starter)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SpacesStore(path: path)
        let heard = HeardChanges()
        store.observe(heard.record)
        let tree = try store.apply(.override(space: "azureuser", service: "servicea", enabled: false)).tree
        #expect(
            try contents(path)
                == SpacesFile.starter.replacingOccurrences(of: "enabled: true", with: "enabled: false"))
        #expect(store.tree == tree)
        #expect(heard.updates == [tree])
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["spaces.yaml"])
    }

    @Test("a refused edit changes nothing and is not announced")
    func refusedEdit() throws {
        let (folder, path) = try file(F.azure)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SpacesStore(path: path)
        let heard = HeardChanges()
        store.observe(heard.record)
        #expect(throws: SpacesError.unknownSpace("nobody")) {
            try store.apply(.override(space: "nobody", service: "servicea", enabled: false))
        }
        #expect(throws: SpacesError.hasChildren(space: "default", children: ["azureuser"])) {
            try store.apply(.deleteSpace(name: "default", recursive: false))
        }
        #expect(try contents(path) == F.azure)
        #expect(heard.all.isEmpty)
    }

    @Test("the watcher picks up a hand edit")
    func watchPicksUpHandEdit() async throws {
        let (folder, path) = try file(F.azure)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SpacesStore(path: path)
        let heard = HeardChanges()
        store.observe(heard.record)
        store.startWatching(intervalMs: 20)
        defer { store.stopWatching() }
        try (F.azure + "  alice:\n    parent: azureuser\n").write(
            toFile: path, atomically: true, encoding: .utf8)
        #expect(await heard.wait { store.tree.contains("alice") })
        #expect(heard.updates.last?.contains("alice") == true)
    }

    @Test("an invalid hand edit is rejected once, with its place, and the last good tree is kept")
    func invalidHandEditRejected() async throws {
        let (folder, path) = try file(F.azure)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SpacesStore(path: path)
        let good = store.tree
        let heard = HeardChanges()
        store.observe(heard.record)
        store.startWatching(intervalMs: 20)
        defer { store.stopWatching() }
        try (F.azure + "  bob:\n    parent: nobody\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(await heard.wait { !heard.rejections.isEmpty })
        #expect(
            heard.rejections.first?.description.hasPrefix("\(path):11:13: space 'bob' names parent") == true)
        #expect(store.tree == good)
        try (F.azure + "  bob: {}\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(await heard.wait { store.tree.contains("bob") })
        #expect(heard.rejections.count == 1)
    }

    @Test("the same breakage is reported again after the file was put right in between")
    func breakageReportedAgain() throws {
        let (folder, path) = try file(F.azure)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SpacesStore(path: path)
        let heard = HeardChanges()
        store.observe(heard.record)
        let broken = F.azure + "  bob: { parent: nobody }\n"
        try broken.write(toFile: path, atomically: true, encoding: .utf8)
        store.reload()
        store.reload()
        #expect(heard.rejections.count == 1, "a broken file is reported once, not on every look")
        try F.azure.write(toFile: path, atomically: true, encoding: .utf8)
        store.reload()
        try broken.write(toFile: path, atomically: true, encoding: .utf8)
        store.reload()
        #expect(heard.rejections.count == 2)
        #expect(
            heard.updates == [try F.tree(F.azure)],
            "putting the file right is announced, with the tree it had")
    }

    @Test("an edit while the file on disk is invalid is refused and writes nothing")
    func editWhileInvalidRefused() throws {
        let (folder, path) = try file(F.azure)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SpacesStore(path: path)
        let broken = "spaces:\n  default: {\n"
        try broken.write(toFile: path, atomically: true, encoding: .utf8)
        do {
            try store.apply(.override(space: "azureuser", service: "servicea", enabled: false))
            Issue.record("the edit was applied over a broken file")
        } catch {
            #expect(error.description.hasPrefix("\(path):3:1: not valid YAML"))
            #expect(
                error.description.hasSuffix(
                    "fix the spaces file before changing it from here (nothing was written)"))
        }
        #expect(try contents(path) == broken)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["spaces.yaml"])
    }

    @Test("an edit lands on top of a hand edit made since the file was read")
    func editKeepsHandEdit() throws {
        let (folder, path) = try file(F.azure)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SpacesStore(path: path)
        let handEdited = "# mine\n" + F.azure + "  bob: {}\n"
        try handEdited.write(toFile: path, atomically: true, encoding: .utf8)
        try store.apply(.override(space: "default", service: "serviceb", enabled: false))
        let saved = try contents(path)
        #expect(saved.hasPrefix("# mine\n"))
        #expect(saved.contains("  bob: {}\n"))
        #expect(store.tree.space("default")?.instance("serviceb")?.enabled == false)
    }

    @Test("a hand edit picked up by a failing edit is still announced")
    func failedEditAnnouncesHandEdit() throws {
        let (folder, path) = try file(F.azure)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SpacesStore(path: path)
        let heard = HeardChanges()
        store.observe(heard.record)
        try (F.azure + "  bob: {}\n").write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: SpacesError.self) { try store.apply(.createSpace(name: "bob", parent: nil)) }
        #expect(store.tree.contains("bob"))
        #expect(heard.updates.last?.contains("bob") == true)
    }

    @Test(
        "a save into a folder that cannot be written leaves the old file whole",
        .enabled(if: FolderLock.works, "this machine cannot make a folder unwritable"))
    func unwritableFolder() throws {
        let (folder, path) = try file(SpacesFile.starter)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SpacesStore(path: path)
        let heard = HeardChanges()
        store.observe(heard.record)
        #expect(FolderLock.lock(folder))
        defer { FolderLock.unlock(folder) }
        do {
            try store.apply(.createSpace(name: "alice", parent: "azureuser"))
            Issue.record("the save into a locked folder succeeded")
        } catch {
            let realFolder = URL(fileURLWithPath: folder.path).resolvingSymlinksInPath().path
            #expect(
                error.description
                    == "\(path): cannot write beside it in \(realFolder) (\(String(cString: strerror(geteuid() == 0 ? EPERM : EACCES)))); the file is unchanged"
            )
        }
        #expect(try contents(path) == SpacesFile.starter)
        #expect(!store.tree.contains("alice"))
        #expect(heard.all.isEmpty)
    }

    @Test("a save to a path under a regular file fails with a message and writes nothing")
    func folderIsAFile() throws {
        let folder = try F.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let notAFolder = folder.appendingPathComponent("plain")
        try "x".write(to: notAFolder, atomically: false, encoding: .utf8)
        let path = notAFolder.appendingPathComponent("spaces.yaml").path
        #expect(throws: SpacesError.self) { try SpacesFile.writeAtomically("spaces: {}\n", to: path) }
        #expect(try contents(notAFolder.path) == "x")
    }

    @Test("saving through a symbolic link replaces its target and keeps the link")
    func symlinkKept() throws {
        let (folder, path) = try file(F.azure)
        defer { try? FileManager.default.removeItem(at: folder) }
        let link = folder.appendingPathComponent("link.yaml").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        let store = try SpacesStore(path: link)
        try store.apply(.createSpace(name: "bob", parent: nil))
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link) == path)
        #expect(try contents(path).hasSuffix("  bob:\n    services: {}\n"))
    }

    @Test("a store in memory applies and announces edits without a file")
    func inMemory() throws {
        let store = SpacesStore(tree: try F.tree(F.azure))
        let heard = HeardChanges()
        let id = store.observe(heard.record)
        try store.apply(.createSpace(name: "bob", parent: "default"))
        #expect(heard.updates.count == 1)
        store.removeObserver(id)
        try store.apply(.deleteSpace(name: "bob", recursive: false))
        #expect(heard.updates.count == 1)
        #expect(store.reload() == nil)
    }

    @Test("reloading an unchanged file, or one changed only in comments, announces nothing")
    func reloadQuiet() throws {
        let (folder, path) = try file(F.azure)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SpacesStore(path: path)
        #expect(store.reload() == nil)
        try ("# a comment\n" + F.azure).write(toFile: path, atomically: true, encoding: .utf8)
        #expect(store.reload() == nil)
    }

    @Test(
        "putting an invalid file right is announced, even back to the tree in effect, and the store says the file is valid"
    )
    func fixAnnounced() throws {
        let (folder, path) = try file(F.azure)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SpacesStore(path: path)
        let heard = HeardChanges()
        store.observe(heard.record)
        try "spaces:\n  default: {\n".write(toFile: path, atomically: true, encoding: .utf8)
        store.reload()
        #expect(store.fileProblem?.description.hasPrefix("\(path):3:1: not valid YAML") == true)
        try F.azure.write(toFile: path, atomically: true, encoding: .utf8)
        store.reload()
        #expect(store.fileProblem == nil)
        guard case .reloaded(let tree, let fixed)? = heard.all.last else {
            Issue.record("the fix was not announced: \(heard.all)")
            return
        }
        #expect(fixed)
        #expect(tree == store.tree)
        try (F.azure + "  bob: {}\n").write(toFile: path, atomically: true, encoding: .utf8)
        store.reload()
        guard case .reloaded(_, let fixedAgain)? = heard.all.last else {
            Issue.record("a hand edit was not announced as a reload: \(heard.all)")
            return
        }
        #expect(!fixedAgain, "a valid file changed by hand is a reload, not a fix")
    }

    @Test("an edit waits for another writer's lock, and says so when it is held too long")
    func lockHeldTooLong() throws {
        let (folder, path) = try file(F.azure)
        defer { try? FileManager.default.removeItem(at: folder) }
        let lockPath = folder.appendingPathComponent(".spaces.yaml.lock").path
        let resolvedLock = LockedSpacesFile.resolve(folder.path) + "/.spaces.yaml.lock"
        let holder = open(lockPath, O_RDWR | O_CREAT, 0o600)
        try #require(holder >= 0 && flock(holder, LOCK_EX) == 0)
        let started = ContinuousClock.now
        do {
            try SpacesFile.withLock(path, timeout: .milliseconds(300)) { _ throws(SpacesError) in }
            Issue.record("the lock was taken while another held it")
        } catch {
            #expect(
                error.description.hasPrefix("\(path): another edit has held its lock (\(resolvedLock)) for "))
            #expect(error.description.hasSuffix("; try again when it is done (nothing was written)"))
        }
        #expect(ContinuousClock.now - started >= .milliseconds(300))
        #expect(try contents(path) == F.azure)
        close(holder)
        try SpacesFile.withLock(path, timeout: .milliseconds(300)) { file throws(SpacesError) in
            #expect(try file.read() == F.azure)
        }
        #expect(!FileManager.default.fileExists(atPath: lockPath), "the lock file goes with its last holder")
    }

    @Test("edits from many threads at once, through one store and through stores of their own, all land")
    func concurrentStores() throws {
        let services = (0..<24).map { "s\($0)" }
        let (folder, path) = try file(
            "spaces:\n  default:\n    services:\n" + services.map { "      \($0): 127.0.0.1:5001\n" }.joined()
        )
        defer { try? FileManager.default.removeItem(at: folder) }
        let shared = try SpacesStore(path: path)
        for round in 0..<6 {
            let enabled = round % 2 == 1
            let failures = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: services.count) { number in
                do {
                    // A third through one store, as a proxy's feed commands; the rest each through its own, as commands.
                    let store = number % 3 == 0 ? shared : try SpacesStore(path: path)
                    try store.apply(.override(space: "default", service: services[number], enabled: enabled))
                } catch {
                    failures.withLock { $0.append("\(error)") }
                }
            }
            #expect(failures.withLock { $0 }.isEmpty)
            let lost = try SpacesFile.load(path: path).spaces[0].services.filter { $0.enabled != enabled }
            #expect(lost.isEmpty, "round \(round) lost the edits of \(lost.map(\.service))")
        }
    }

    @Test("a link retargeted while edits run never leaves one file with the other's contents")
    func retargetedLink() throws {
        let folder = try F.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        @Sendable func named(_ name: String) -> String { folder.appendingPathComponent(name).path }
        for side in ["a", "b"] {
            try "# file \(side)\nspaces:\n  \(side)-root: {}\n".write(
                toFile: named("\(side).yaml"), atomically: true, encoding: .utf8)
        }
        let link = named("spaces.yaml")
        try #require(symlink("a.yaml", link) == 0)
        let stop = Atomic<Bool>(false)
        let retargets = Atomic<Int>(0)
        // As `ln -sfn` does: a new link beside, renamed over the old one.
        let mover = Thread {
            var side = "b"
            while !stop.load(ordering: .relaxed) {
                unlink(named("next"))
                symlink("\(side).yaml", named("next"))
                rename(named("next"), link)
                retargets.add(1, ordering: .relaxed)
                side = side == "a" ? "b" : "a"
            }
        }
        mover.start()
        var refused = 0
        for number in 0..<150 {
            do {
                try SpacesStore(path: link).apply(.createSpace(name: "e\(number)", parent: nil))
            } catch {
                refused += 1
                #expect(error.description.contains("which this edit read; nothing was written"), "\(error)")
            }
            for (side, other) in [("a", "b"), ("b", "a")] {
                let text = try String(contentsOfFile: named("\(side).yaml"), encoding: .utf8)
                #expect(
                    text.hasPrefix("# file \(side)\n"), "\(side).yaml took the other's contents:\n\(text)")
                #expect(!text.contains("\(other)-root"))
            }
        }
        stop.store(true, ordering: .relaxed)
        while !mover.isFinished { usleep(1000) }
        #expect(retargets.load(ordering: .relaxed) > 150, "the link hardly moved")
        #expect(refused < 150, "every edit was refused")
    }
}
