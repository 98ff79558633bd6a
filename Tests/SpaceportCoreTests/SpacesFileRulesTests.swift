import Foundation
import Testing

@testable import SpaceportCore

/// Files that parse and name only real spaces, yet could not run: refused at load, where they are written.
@Suite("The spaces file is refused when it could not run")
struct SpacesFileRulesTests {
    typealias F = SpacesFixtures

    /// A file with `ingress` and two spaces whose instances have the given fields.
    static func file(ingress: String = "127.0.0.1:8080", a: String, b: String) -> String {
        """
        ingress: \(ingress)
        spaces:
          default:
            services:
              servicea: { upstream: 127.0.0.1:5001, \(a) }
          azureuser:
            parent: default
            services:
              serviceb: { upstream: 127.0.0.1:6002, \(b) }

        """
    }

    @Test(
        "two listeners on one address, or one on the ingress, are refused where the second is written",
        arguments: [
            (
                file(a: "egress: 127.0.0.1:7001", b: "egress: 127.0.0.1:7001"),
                "spaces.yaml:9:53: the egress of serviceb in azureuser is 127.0.0.1:7001, which is already the egress of servicea in default (line 5); two listeners cannot share an address, so give each its own"
            ),
            (
                file(a: "listen: 127.0.0.1:7001", b: "egress: 127.0.0.1:7001"),
                "spaces.yaml:9:53: the egress of serviceb in azureuser is 127.0.0.1:7001, which is already the listen address of servicea in default (line 5); two listeners cannot share an address, so give each its own"
            ),
            (
                file(a: "egress: 127.0.0.1:7001, listen: 127.0.0.1:7001", b: "enabled: true"),
                "spaces.yaml:5:77: the listen address of servicea in default is 127.0.0.1:7001, which is already the egress of servicea in default (line 5); two listeners cannot share an address, so give each its own"
            ),
            (
                file(a: "enabled: true", b: "listen: 127.0.0.1:8080"),
                "spaces.yaml:9:53: the listen address of serviceb in azureuser is 127.0.0.1:8080, which is already the ingress (line 1); two listeners cannot share an address, so give each its own"
            ),
            (
                file(a: "egress: 0.0.0.0:7001", b: "egress: 127.0.0.1:7001"),
                "spaces.yaml:9:53: the egress of serviceb in azureuser is 127.0.0.1:7001, which is already the egress of servicea in default (line 5); two listeners cannot share an address, so give each its own"
            ),
            (
                file(a: "egress: LOCALHOST:7001", b: "listen: localhost:7001"),
                "spaces.yaml:9:53: the listen address of serviceb in azureuser is localhost:7001, which is already the egress of servicea in default (line 5); two listeners cannot share an address, so give each its own"
            ),
        ])
    func listenerClash(text: String, message: String) {
        #expect(F.failure(text) == message)
    }

    @Test(
        "admin: names the admin listener's address, and one the ingress or an instance has is refused where it is written"
    )
    func adminAddress() throws {
        let tree = try F.tree(
            "admin: 127.0.0.1:9901\n" + Self.file(a: "egress: 127.0.0.1:7001", b: "enabled: true"))
        #expect(tree.settings.admin == Address(host: "127.0.0.1", port: 9901))
        #expect(SpacesFile.render(tree).contains("admin: 127.0.0.1:9901\n"))
        #expect(
            F.failure("admin: 127.0.0.1:8080\n" + Self.file(a: "enabled: true", b: "enabled: true"))
                == "spaces.yaml:1:8: the admin listener is 127.0.0.1:8080, which is already the ingress (line 2); two listeners cannot share an address, so give each its own"
        )
        #expect(
            F.failure("admin: 127.0.0.1:7001\n" + Self.file(a: "egress: 127.0.0.1:7001", b: "enabled: true"))
                == "spaces.yaml:6:53: the egress of servicea in default is 127.0.0.1:7001, which is already the admin listener (line 1); two listeners cannot share an address, so give each its own"
        )
        #expect(
            F.failure("admin: nowhere\n" + Self.file(a: "enabled: true", b: "enabled: true"))?.hasPrefix(
                "spaces.yaml:1:8:") == true)
    }

    @Test("port 0 takes a free port each time, and other ports or hosts are distinct: such files load")
    func distinctListeners() throws {
        for text in [
            Self.file(
                ingress: "127.0.0.1:0", a: "egress: 127.0.0.1:0, listen: 127.0.0.1:0",
                b: "egress: 127.0.0.1:0"),
            Self.file(a: "egress: 127.0.0.1:7001", b: "egress: 127.0.0.2:7001"),
            Self.file(a: "egress: 127.0.0.1:7001", b: "egress: 127.0.0.1:7002, listen: 127.0.0.1:8081"),
        ] {
            let tree = try F.tree(text)
            #expect(tree.spaces.count == 2)
        }
    }

    @Test("an edit or a snapshot that would make two listeners share an address is refused too")
    func clashInCode() throws {
        let tree = try F.tree(Self.file(a: "egress: 127.0.0.1:7001", b: "enabled: true"))
        var spaces = tree.spaces
        spaces[1].services[0].egress = Address(host: "127.0.0.1", port: 7001)
        #expect(throws: SpacesError.self) { try SpaceTree(settings: tree.settings, spaces: spaces) }
        var settings = tree.settings
        settings.ingress = Address(host: "127.0.0.1", port: 7001)
        #expect(throws: SpacesError.self) { try SpaceTree(settings: settings, spaces: tree.spaces) }
    }

    @Test("default_space naming no space is refused at its line, like an unknown parent")
    func unknownDefaultSpace() {
        #expect(
            F.failure("default_space: nosuch\n" + F.azure)
                == "spaces.yaml:1:16: default_space names 'nosuch', which is not a space here; create it or fix the name"
        )
        #expect(F.failure("default_space: azureuser\n" + F.azure) == nil)
        #expect(
            F.failure("default_space: default\nspaces: {}\n") != nil,
            "a default_space written is one that must exist")
        #expect(F.failure("spaces: {}\n") == nil, "a new file without a default space loads")
    }

    @Test("deleting the space default_space names is refused, saying what to change first")
    func deletingDefaultSpace() throws {
        let tree = try F.tree("default_space: azureuser\n" + F.azure)
        #expect(throws: SpacesError.deletesDefaultSpace("azureuser")) {
            try tree.applying(.deleteSpace(name: "azureuser", recursive: false))
        }
        #expect(throws: SpacesError.deletesDefaultSpace("azureuser")) {
            try tree.applying(.deleteSpace(name: "default", recursive: true))
        }
        #expect(
            SpacesError.deletesDefaultSpace("azureuser").description
                == "space 'azureuser' is the default_space; point default_space at another space before deleting it"
        )
    }

    @Test("more spaces, or more services in a space, than the limits is refused at the first one too many")
    func countLimits() {
        let spaces = (0...SpaceTree.maxSpaces).map { "  s\($0): {}\n" }.joined()
        #expect(
            F.failure("spaces:\n" + spaces)
                == "spaces.yaml:\(SpaceTree.maxSpaces + 2):3: more than \(SpaceTree.maxSpaces) spaces; a spaces file holds at most \(SpaceTree.maxSpaces), so delete the ones no one uses"
        )
        #expect(
            F.failure("spaces:\n" + spaces.split(separator: "\n").dropLast().joined(separator: "\n")) == nil)
        let services = (0...SpaceTree.maxServicesPerSpace).map { "      s\($0): 127.0.0.1:1\n" }.joined()
        #expect(
            F.failure("spaces:\n  big:\n    services:\n" + services)
                == "spaces.yaml:\(SpaceTree.maxServicesPerSpace + 4):7: space 'big' has more than \(SpaceTree.maxServicesPerSpace) services, the most a space holds; remove some"
        )
    }

    @Test("an edit past a limit is refused and the tree stays")
    func editPastLimit() throws {
        let full = try SpaceTree(spaces: (0..<SpaceTree.maxSpaces).map { Space(name: "s\($0)") })
        #expect(throws: SpacesError.tooManySpaces(at: nil)) {
            try full.applying(.createSpace(name: "one-more", parent: nil))
        }
    }

    @Test("a file larger than the limit is refused before it is read, with its size")
    func sizeLimit() throws {
        let folder = try F.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("spaces.yaml").path
        // Sparse: 50 MB that take no disk and, if read, would cost the memory the limit saves.
        let fd = open(path, O_WRONLY | O_CREAT, 0o644)
        try #require(fd >= 0)
        ftruncate(fd, 50_000_000)
        close(fd)
        #expect(throws: SpacesError.tooLarge(file: path, bytes: 50_000_000)) {
            try SpacesFile.load(path: path)
        }
        #expect(
            SpacesError.tooLarge(file: "spaces.yaml", bytes: 50_000_000).description
                == "spaces.yaml: is 50000000 bytes; a spaces file may hold at most 4194304 bytes (4 MiB); remove the spaces no one uses"
        )
        #expect(throws: SpacesError.self) { try SpacesStore(path: path) }
        let text = String(repeating: "#\n", count: SpacesFile.maxBytes / 2 + 1)
        #expect(throws: SpacesError.tooLarge(file: "x.yaml", bytes: text.utf8.count)) {
            try SpacesFile.parse(text: text, file: "x.yaml")
        }
    }

    @Test("a fifo in the spaces file's place is refused, not read until it ends")
    func fifoIsRefused() throws {
        let folder = try F.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("spaces.yaml").path
        try #require(mkfifo(path, 0o600) == 0)
        #expect(throws: SpacesError.io("\(path): is not a regular file")) { try SpacesFile.load(path: path) }
    }

    @Test("the README's spaces-file section states the limits the code enforces")
    func readmeStatesLimits() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let section =
            try #require(readme.components(separatedBy: "## The spaces file").dropFirst().first)
            .components(separatedBy: "\n## ").first ?? ""
        #expect(section.contains("at most \(SpacesFile.maxBytes / 1024 / 1024) MiB"))
        #expect(section.contains("\(SpaceTree.maxSpaces) spaces"))
        #expect(section.contains("\(SpaceTree.maxServicesPerSpace) services in a space"))
    }
}
