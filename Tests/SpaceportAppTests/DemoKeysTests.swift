import Foundation
import SpaceportApp
import SpaceportDashboard
import SpaceportDemo
import Testing

/// The keys `spaceport demo` adds to the dashboard's, and the README's table of them all.
@Suite("The demo's keys")
struct DemoKeysTests {
    @Test("the README's table of keys is the key table with the demo's keys, row for row")
    func readmeKeyTable() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let section = try #require(
            readme.components(separatedBy: "## The dashboard's keys").dropFirst().first, "no keys section")
        let table = section.split(separator: "\n").drop { !$0.hasPrefix("|") }.prefix { $0.hasPrefix("|") }
            .joined(separator: "\n")
        let expected = KeyMap.standard.markdown(extra: KeyMap.demo.map { ("the demo", $0) })
        #expect(table == expected, "README.md's keys table should read:\n\(expected)")
    }

    @Test("the demo's keys take no key the dashboard already binds, and the status bar names them")
    func demoKeysAreFree() {
        let map = KeyMap.standard.adding(KeyMap.demo)
        for binding in KeyMap.demo {
            for key in binding.keys {
                #expect(KeyMap.standard.action(for: key, in: KeyContext.allCases) == nil, "\(key.label)")
                #expect(map.action(for: key, in: [.global]) == binding.action)
            }
        }
        #expect(DemoRun.forwardingStatus(.nothing) == "passes on nothing, r cycles")
        #expect(DemoRun.forwardingStatus(.traceparent) == "passes on only traceparent, r cycles")
        #expect(DemoRun.trafficStatus(true) == "on, g stops it")
    }
}
