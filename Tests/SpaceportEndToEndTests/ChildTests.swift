import Foundation
import Testing

@Suite("Programs the end-to-end tests start")
struct ChildTests {
    @Test("a program the tests start inherits none of the test process's sockets")
    func noInheritedSockets() throws {
        // As SwiftNIO opens its sockets: without close-on-exec. A tmux server started meanwhile
        // must not keep such a socket open after the test that owns it has closed it.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd > 2)
        defer { close(fd) }
        let (status, output) = try Tools.run("/bin/sh", ["-c", "ls /proc/$$/fd"])
        #expect(status == 0)
        let inherited = output.split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
        #expect(inherited.contains(1), "the listing did not come from the child: \(output)")
        #expect(!inherited.contains(fd), "the child holds descriptor \(fd): \(inherited)")
    }
}
