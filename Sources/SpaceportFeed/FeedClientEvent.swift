import SpaceportCore

/// What a client attached to one or more feeds hears, merged. `source` names the feed
/// (a socket path or `tcp://HOST:PORT`).
public enum FeedClientEvent: Equatable, Sendable {
    /// The feed answered with its `hello`, which follows as an event.
    case connected(source: String)
    case event(source: String, FeedEvent)
    /// The feed went away; the client tries again unless it was discovered and its socket is gone.
    case disconnected(source: String, reason: String)
}

/// Why a client could not attach or a command did not apply. The description is the sentence a user reads.
public enum FeedClientError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Nothing answered; one reason per feed tried.
    case noFeed([String])
    /// The feed named is not connected; nil when none is.
    case notConnected(String?)
    /// A command needs a source when several feeds are attached.
    case ambiguous([String])
    /// The proxy refused the command; its own words.
    case rejected(String)
    case timedOut(String)
    case disconnected(String)
    case stopped

    public var description: String {
        switch self {
        case .noFeed(let reasons):
            return "no proxy feed answered: " + reasons.joined(separator: "; ")
                + "; start one with `spaceport proxy`"
        case .notConnected(let source?):
            return "the feed \(source) is not connected"
        case .notConnected(nil):
            return "no feed is connected"
        case .ambiguous(let sources):
            return "several feeds are attached (\(sources.joined(separator: ", "))); say which one to send to"
        case .rejected(let message):
            return Printable.clip(message, max: 400)
        case .timedOut(let source):
            return "the feed \(source) did not answer the command in time"
        case .disconnected(let source):
            return "the feed \(source) went away before answering"
        case .stopped:
            return "the feed client has stopped"
        }
    }
}
