import Foundation
import Logging

/// Log lines as the commands write them on stderr: `<time> <level> spaceport: <message>`,
/// the same prefix whichever module logs (swift-log's StreamLogHandler adds the caller's
/// module, so the proxy's lines said `[SpaceportProxy]` and the command's `[spaceport]`).
struct CommandLogHandler: LogHandler {
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Sends every logger of this process through the handler; once, before the first log line.
    static func bootstrap() {
        LoggingSystem.bootstrap { _ in CommandLogHandler() }
    }

    func log(event: LogEvent) {
        var fields = metadata
        if let more = event.metadata { fields.merge(more) { $1 } }
        let extra = fields.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        let line = "\(Date.now.ISO8601Format()) \(event.level) spaceport: \(event.message)\(extra)\n"
        try? FileHandle.standardError.write(contentsOf: Data(line.utf8))
    }
}
