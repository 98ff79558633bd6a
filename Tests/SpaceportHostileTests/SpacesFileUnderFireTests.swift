import Foundation
import SpaceportCore
import Synchronization
import Testing

/// A spaces file broken one way, and what the refusal must say.
struct BrokenSpacesFile: Sendable, CustomTestStringConvertible {
    var name: String
    var bytes: [UInt8]
    /// Words the error must contain.
    var says: String
    /// The error points at a line and column of the file.
    var located = true

    var testDescription: String { name }

    static func text(_ name: String, _ text: String, says: String, located: Bool = true) -> BrokenSpacesFile {
        BrokenSpacesFile(name: name, bytes: Array(text.utf8), says: says, located: located)
    }

    static let all: [BrokenSpacesFile] = [
        text(
            "truncated in the middle of an instance",
            "spaces:\n  default:\n    services:\n      app: { upstream: 127.0.", says: "spaces.yaml:"),
        text("invalid YAML", "spaces:\n  default: [\n    services\n", says: "spaces.yaml:"),
        text("a tab for indentation", "spaces:\n\tdefault:\n\t\tservices: {}\n", says: "spaces.yaml:"),
        text(
            "a cycle of parents",
            "spaces:\n  a:\n    parent: b\n  b:\n    parent: a\n", says: "cycle"),
        text(
            "a fourth level",
            "spaces:\n  a: {}\n  b: { parent: a }\n  c: { parent: b }\n  d: { parent: c }\n",
            says: "fourth level"),
        text("an unknown parent", "spaces:\n  a: { parent: nowhere }\n", says: "nowhere"),
        text(
            "an upstream that is not an address",
            "spaces:\n  default:\n    services:\n      app: { upstream: \"not an address\" }\n",
            says: "is not an address"),
        text("an empty file", "", says: "spaces", located: false),
        BrokenSpacesFile(
            name: "bytes that are not UTF-8", bytes: [0xFF, 0xFE, 0x73, 0x70, 0x0A, 0xC3, 0x28],
            says: "UTF-8",
            located: false),
        text(
            "an alias bomb",
            "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                + "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                + "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                + "spaces: *f\n", says: "spaces.yaml:"),
    ]
}

@Suite("The spaces file under fire")
struct SpacesFileUnderFireTests {
    private static func tree(_ upstream: Address) -> String {
        "# the good tree\nspaces:\n  default:\n    services:\n      app: { upstream: \(upstream) }\n"
    }

    @Test(
        "a broken spaces file is refused at its line and column, and the proxy keeps routing with the last good tree",
        arguments: BrokenSpacesFile.all)
    func brokenFile(_ broken: BrokenSpacesFile) async throws {
        let upstream = try await RecordingUpstream.start()
        let folder = temporaryFolder("hb")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/spaces.yaml"
        try await HostileProxy.with(Self.tree(upstream.address), path: path) { proxy in
            let good = proxy.store.tree
            let refusals = Mutex<[SpacesError]>([])
            proxy.store.observe { change in
                if case .rejected(let error) = change { refusals.withLock { $0.append(error) } }
            }
            try Data(broken.bytes).write(to: URL(fileURLWithPath: path), options: .atomic)
            try await eventually("the broken file to be refused") {
                proxy.log.all.contains { $0.level == .error } && !refusals.withLock { $0 }.isEmpty
            }
            let error = try #require(refusals.withLock { $0.first })
            #expect(error.description.contains(broken.says), "the refusal said: \(error.description)")
            if broken.located {
                let location = try #require(error.location, "the refusal names no line: \(error.description)")
                #expect(location.file == path)
                #expect(location.line >= 1)
            }
            #expect(!hasUnsafeCharacter(error.description))
            #expect(proxy.store.tree == good)
            #expect(try await proxy.probe().status == 200, "the proxy stopped routing after a broken file")
        }
        await upstream.stop()
    }

    @Test(
        "a file at the limits (1,000 spaces, 1,000 services in one) loads and routes to its deepest space in bounded time, and one space more is refused at its line"
    )
    func fileAtTheLimits() async throws {
        var text = "spaces:\n  r0:\n    services:\n"
        for service in 0..<SpaceTree.maxServicesPerSpace {
            text += "      s\(service): { upstream: 127.0.0.1:\(1 + service) }\n"
        }
        // Pairs of a child of r0 and its own child, down to the last space the limit allows.
        for number in 1..<SpaceTree.maxSpaces {
            text +=
                number % 2 == 1
                ? "  c\(number): { parent: r0 }\n" : "  g\(number): { parent: c\(number - 1) }\n"
        }
        let deepest = "g\((SpaceTree.maxSpaces - 1) / 2 * 2)"
        let started = Date()
        // On a thread of its own, so a long parse holds none of the threads other tests share.
        let tree = try await blocking { [text] in try SpacesFile.parse(text: text, file: "huge.yaml") }
        let seconds = Date().timeIntervalSince(started)
        #expect(tree.spaces.count == SpaceTree.maxSpaces)
        #expect(seconds < 60, "parsing took \(seconds) s")
        let last = "s\(SpaceTree.maxServicesPerSpace - 1)"
        let route = try tree.route(RouteRequest(host: "\(last).localhost", routeHeaderValue: deepest))
        #expect(route.space == "r0")
        #expect(route.tried.count == 3)
        let lines = text.split(separator: "\n").count
        #expect(
            throws: SpacesError.tooManySpaces(
                at: SourceLocation(file: "huge.yaml", line: lines + 1, column: 3))
        ) {
            try SpacesFile.parse(text: text + "  one-more: {}\n", file: "huge.yaml")
        }
        Reliability.report(
            "spaces file at the limits (\(tree.spaces.count) spaces) parsed in \(String(format: "%.2f", seconds)) s",
            tried: 1, passed: 1, rssBefore: 0, rssAfter: ProcessGauges.residentBytes())
    }

    @Test("a file written in two halves while the proxy watches is never adopted half-written")
    func halfWritten() async throws {
        let first = try await RecordingUpstream.start()
        let second = try await RecordingUpstream.start()
        let folder = temporaryFolder("hh")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/spaces.yaml"
        try Self.tree(first.address).write(toFile: path, atomically: true, encoding: .utf8)
        let store = try SpacesStore(path: path)
        store.startWatching(intervalMs: 20)
        let changes = Mutex<[SpacesChange]>([])
        store.observe { change in changes.withLock { $0.append(change) } }
        let whole = """
            # the good tree, moved
            spaces:
              default:
                services:
                  app: { upstream: \(second.address) }
                  other: { upstream: \(first.address) }
              alice:
                parent: default

            """
        let cut = whole.range(of: "upstream: 127.0")!.upperBound
        // Written in place, as an editor that does not rename would: the watcher sees the first half alone.
        let fd = open(path, O_WRONLY | O_TRUNC)
        try #require(fd >= 0)
        _ = String(whole[..<cut]).withCString { write(fd, $0, strlen($0)) }
        fsync(fd)
        try await eventually("the watcher to see the half file") {
            changes.withLock { $0 }.contains { if case .rejected = $0 { true } else { false } }
        }
        _ = String(whole[cut...]).withCString { write(fd, $0, strlen($0)) }
        close(fd)
        let wholeTree = try SpacesFile.parse(text: whole, file: path)
        try await eventually("the whole file to be adopted") { store.tree == wholeTree }
        store.stopWatching()
        let updates = changes.withLock { $0 }.compactMap(\.tree)
        #expect(updates == [wholeTree], "the store adopted a tree that was not the whole file")
        await first.stop()
        await second.stop()
    }

    @Test("a deleted spaces file keeps the old tree, is reported once, and a re-created file is adopted")
    func deletedFile() async throws {
        let first = try await RecordingUpstream.start()
        let second = try await RecordingUpstream.start()
        let folder = temporaryFolder("hd")
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = folder + "/spaces.yaml"
        try await HostileProxy.with(Self.tree(first.address), path: path) { proxy in
            let good = proxy.store.tree
            let changes = Mutex<[SpacesChange]>([])
            proxy.store.observe { change in changes.withLock { $0.append(change) } }
            var rejections: [SpacesError] {
                changes.withLock { $0 }.compactMap {
                    if case .rejected(let error) = $0 { error } else { nil }
                }
            }
            try FileManager.default.removeItem(atPath: path)
            try await eventually("the deletion to be reported") { !rejections.isEmpty }
            #expect(rejections.first?.description.contains("no such file") == true)
            // The watcher polls every 250 ms: a few more polls must not report it again.
            try await Task.sleep(for: .milliseconds(1200))
            #expect(rejections.count == 1, "the missing file was reported \(rejections.count) times")
            #expect(proxy.store.tree == good)
            #expect(try await proxy.probe().status == 200)
            try Self.tree(second.address).write(toFile: path, atomically: true, encoding: .utf8)
            try await eventually("the re-created file to be adopted") {
                proxy.store.tree.space("default")?.instance("app")?.upstream == second.address
            }
            #expect(try await proxy.probe(path: "/after").status == 200)
        }
        #expect(second.snapshot.requests.map(\.target) == ["/after"])
        await first.stop()
        await second.stop()
    }
}
