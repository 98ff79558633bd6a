import Foundation

/// The long part of the suite: the same tests at full size, run by `reliability/run` with
/// SPACEPORT_RELIABILITY=1. Each long case appends a line to the report that script prints.
enum Reliability {
    static var isLong: Bool { ProcessInfo.processInfo.environment["SPACEPORT_RELIABILITY"] == "1" }

    /// `fast` in `swift test`, `long` under `reliability/run`.
    static func scale(fast: Int, long: Int) -> Int { isLong ? long : fast }

    /// Appends `case<TAB>tried<TAB>passed<TAB>rss before<TAB>rss after` to the report, if one is kept.
    static func report(_ name: String, tried: Int, passed: Int, rssBefore: Int, rssAfter: Int) {
        guard let path = ProcessInfo.processInfo.environment["SPACEPORT_RELIABILITY_REPORT"], !path.isEmpty
        else {
            return
        }
        let line = "\(name)\t\(tried)\t\(passed)\t\(rssBefore)\t\(rssAfter)\n"
        guard let handle = FileHandle(forWritingAtPath: path) ?? create(path) else { return }
        handle.seekToEndOfFile()
        handle.write(Data(line.utf8))
        try? handle.close()
    }

    private static func create(_ path: String) -> FileHandle? {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        return FileHandle(forWritingAtPath: path)
    }
}
