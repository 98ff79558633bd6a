import Foundation

/// A program some tests run that a machine may lack. `swift test` needs only Swift, curl,
/// tmux, ncurses and pkg-config: a test that needs a tool never skips when it is missing, it
/// fails with one line naming the tool and how to install it.
public struct RequiredTool: Sendable {
    public let name: String
    /// The Debian package that has it.
    public let package: String

    public init(name: String, package: String) {
        self.name = name
        self.package = package
    }

    public static let curl = RequiredTool(name: "curl", package: "curl")
    public static let tmux = RequiredTool(name: "tmux", package: "tmux")

    /// Where the tool is on PATH (else /usr/bin, /bin).
    public var location: String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let folders = path.split(separator: ":").map(String.init) + ["/usr/bin", "/bin"]
        return folders.map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The tool's path, or the failure that says how to get it.
    public func path() throws -> String {
        guard let location else { throw Missing(tool: self) }
        return location
    }

    public struct Missing: Error, CustomStringConvertible {
        public let tool: RequiredTool
        public var description: String {
            "this test needs \(tool.name), which is not installed: `apt-get install \(tool.package)` (or your system's package of it; `bash .ci/run` installs it)"
        }
    }
}
