import Logging
import Synchronization

/// A log handler that keeps what it is given, for tests that read what the proxy said.
public struct CapturingLogHandler: LogHandler {
    public final class Lines: Sendable {
        private let lines = Mutex<[(Logger.Level, String)]>([])

        public init() {}

        func append(_ level: Logger.Level, _ line: String) { lines.withLock { $0.append((level, line)) } }

        public var all: [(level: Logger.Level, message: String)] {
            lines.withLock { $0 }.map { (level: $0.0, message: $0.1) }
        }
    }

    public let lines: Lines
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .trace

    public init(lines: Lines) {
        self.lines = lines
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        lines.append(event.level, event.message.description)
    }
}
