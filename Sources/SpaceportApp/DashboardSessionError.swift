import SpaceportFeed
import SpaceportTerminal

/// Why an attached dashboard ended badly, as the sentence the user reads.
public enum DashboardSessionError: Error, CustomStringConvertible {
    /// No feed answered (and the targets did not include auto).
    case feed(FeedClientError)
    /// The terminal could not show the dashboard.
    case terminal(TerminalError)

    public var description: String {
        switch self {
        case .feed(let error): error.description
        case .terminal(let error): error.description
        }
    }
}
