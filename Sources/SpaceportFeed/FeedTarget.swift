import SpaceportCore

/// A feed to attach to.
public enum FeedTarget: Equatable, Sendable, CustomStringConvertible {
    /// A proxy's Unix socket.
    case unix(String)
    /// A proxy's TCP feed; it needs a token.
    case tcp(host: String, port: Int)
    /// Every socket in the runtime folder, as proxies start and stop.
    case auto

    /// Reads `auto`, `tcp://HOST:PORT`, a socket path, or a proxy's `--name` (its socket
    /// in `directory`).
    public static func parse(_ text: String, directory: String = FeedPaths.directory())
        throws(FeedTargetError)
        -> FeedTarget
    {
        if text == "auto" { return .auto }
        if text.hasPrefix("tcp://") {
            do {
                let address = try Address(parsing: String(text.dropFirst("tcp://".count)))
                return .tcp(host: address.host, port: address.port)
            } catch {
                throw FeedTargetError(text: text, problem: error.description)
            }
        }
        if text.contains("/") { return .unix(text) }
        if Names.isValid(text) { return .unix(FeedPaths.socket(name: text, in: directory)) }
        throw FeedTargetError(
            text: text, problem: "expected auto, a socket path, a proxy name or tcp://HOST:PORT")
    }

    public var isTCP: Bool {
        if case .tcp = self { return true }
        return false
    }

    /// How events from this feed name their source.
    public var description: String {
        switch self {
        case .unix(let path): return path
        case .tcp(let host, let port): return "tcp://\(host.contains(":") ? "[\(host)]" : host):\(port)"
        case .auto: return "auto"
        }
    }
}

public struct FeedTargetError: Error, Equatable, Sendable, CustomStringConvertible {
    public var text: String
    public var problem: String

    public var description: String { "bad feed '\(Printable.clip(text))': \(problem)" }
}
