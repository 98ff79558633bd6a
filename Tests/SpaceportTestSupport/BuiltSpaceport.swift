import Foundation

/// The `spaceport` executable the end-to-end tests run: the one `swift test` builds beside
/// the test bundle, or SPACEPORT_BINARY when set (to run the tests against another build).
public enum BuiltSpaceport {
    public static let path = BuiltExecutable.spaceport.path

    public static func require() throws -> String { try BuiltExecutable.spaceport.require() }
}

/// An executable of this package that tests run: the one SwiftPM builds beside the test
/// bundle, or the one an environment variable names.
public struct BuiltExecutable: Sendable {
    public let name: String
    /// Names another build to run instead.
    public let variable: String

    public static let spaceport = BuiltExecutable(name: "spaceport", variable: "SPACEPORT_BINARY")
    /// bench/'s dashboard frame timer, which is not part of the `spaceport` product.
    public static let frameBench = BuiltExecutable(name: "frame-bench", variable: "FRAME_BENCH_BINARY")

    public var path: String? {
        var candidates: [String] = []
        if let path = ProcessInfo.processInfo.environment[variable], !path.isEmpty {
            candidates.append(path)
        }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append(bundle.bundleURL.deletingLastPathComponent().appendingPathComponent(name).path)
        }
        for executable in [Bundle.main.executableURL, URL(fileURLWithPath: CommandLine.arguments[0])] {
            if let executable {
                candidates.append(executable.deletingLastPathComponent().appendingPathComponent(name).path)
            }
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    public func require() throws -> String {
        guard let path else {
            throw TestFailure("no \(name) binary beside the tests; run `swift build --product \(name)` first")
        }
        return path
    }
}
