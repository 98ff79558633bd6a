import Foundation
import Testing

/// What `swift test` needs of a machine, and what it prints: a fresh machine with Swift, curl,
/// tmux, ncurses and pkg-config runs every test, and the output counts the tests that ran.
@Suite("The test suite on a fresh machine")
struct TestToolsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Every Swift file under Tests/, with its path from the package root.
    static func testSources() throws -> [(path: String, text: String)] {
        let tests = root.appendingPathComponent("Tests")
        let files = FileManager.default.enumerator(atPath: tests.path)?.compactMap { $0 as? String } ?? []
        return try files.filter { $0.hasSuffix(".swift") }.sorted().map {
            ("Tests/" + $0, try String(contentsOf: tests.appendingPathComponent($0), encoding: .utf8))
        }
    }

    @Test("a test that needs a missing tool fails with one line naming it and how to install it")
    func missingTool() throws {
        let missing = RequiredTool(name: "spaceport-no-such-tool", package: "spaceport-no-such-package")
        #expect(missing.location == nil)
        let error = try #require(throws: RequiredTool.Missing.self) { try missing.path() }
        #expect(
            error.description
                == "this test needs spaceport-no-such-tool, which is not installed: `apt-get install spaceport-no-such-package` (or your system's package of it; `bash .ci/run` installs it)"
        )
        #expect(try RequiredTool.curl.path().hasSuffix("/curl"))
    }

    @Test("no test runs Python: the WebSocket peers are SwiftNIO's")
    func noPython() throws {
        let python = "python" + "3"
        for (path, text) in try Self.testSources() {
            #expect(!text.contains(python) && !text.contains("import " + "websockets"), "\(path) runs Python")
        }
    }

    @Test(
        "every test is Swift Testing, so `swift test --disable-xctest` skips none, and CI installs nothing for Python"
    )
    func swiftTestingOnly() throws {
        for (path, text) in try Self.testSources() {
            #expect(
                !text.contains("import " + "XCTest"),
                "\(path) uses XCTest, which `--disable-xctest` would not run")
        }
        let ci = try String(contentsOf: Self.root.appendingPathComponent(".ci/run"), encoding: .utf8)
        #expect(!ci.contains("websockets"), "CI installs nothing for Python")
    }
}
