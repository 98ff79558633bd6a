import Logging
import SpaceportDashboard

/// Log lines at warning and above become status-bar notes; the rest are dropped, since
/// the terminal belongs to the dashboard.
public struct StatusBarLogHandler: LogHandler {
    public let inbox: DashboardInbox
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .warning

    public init(inbox: DashboardInbox) {
        self.inbox = inbox
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        inbox.post(.note(event.message.description, isError: event.level >= .error))
    }
}
