import Foundation
import Synchronization
import Testing

@testable import SpaceportCore

/// What a store's observers heard, in order.
final class HeardChanges: Sendable {
    private let changes = Mutex<[SpacesChange]>([])

    func record(_ change: SpacesChange) { changes.withLock { $0.append(change) } }

    var all: [SpacesChange] { changes.withLock { $0 } }

    var updates: [SpaceTree] {
        all.compactMap {
            if case .updated(let tree) = $0 { return tree }
            return nil
        }
    }

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
        let tree = try store.apply(.override(space: "azureuser", service: "servicea", enabled: false))
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
        #expect(heard.updates.isEmpty)
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
}
