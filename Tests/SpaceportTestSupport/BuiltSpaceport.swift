import Foundation

/// The `spaceport` executable the end-to-end tests run: the one `swift test` builds beside
/// the test bundle, or SPACEPORT_BINARY when set (to run the tests against another build).
public enum BuiltSpaceport {
    public static let path: String? = {
        var candidates: [String] = []
        if let path = ProcessInfo.processInfo.environment["SPACEPORT_BINARY"], !path.isEmpty {
            candidates.append(path)
        }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            candidates.append(
                bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("spaceport").path)
        }
        for executable in [Bundle.main.executableURL, URL(fileURLWithPath: CommandLine.arguments[0])] {
            if let executable {
                candidates.append(
                    executable.deletingLastPathComponent().appendingPathComponent("spaceport").path)
            }
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    public static func require() throws -> String {
        guard let path else {
            throw TestFailure(
                "no spaceport binary beside the tests; run `swift build --product spaceport` first")
        }
        return path
    }
}
