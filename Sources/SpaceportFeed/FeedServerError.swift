import SpaceportCore

/// Why a feed server could not start. The description is the sentence a user reads.
public enum FeedServerError: Error, Equatable, Sendable, CustomStringConvertible {
    case badName(String, problem: String)
    case folder(String, problem: String)
    case folderNotOwned(String, owner: Int, me: Int)
    case folderOpen(String, mode: Int, problem: String)
    case pathTooLong(String)
    case inUse(String, pid: Int?)
    case token(FeedTokenError)
    case bind(String, problem: String)

    public var description: String {
        switch self {
        case .badName(let name, let problem):
            return "the proxy name '\(Printable.clip(name))' cannot name a feed socket: \(problem)"
        case .folder(let path, let problem):
            return "the feed folder \(path) cannot be used: \(problem)"
        case .folderNotOwned(let path, let owner, let me):
            return
                "the feed folder \(path) belongs to uid \(owner), not to you (uid \(me)); remove it or set XDG_RUNTIME_DIR to a folder of yours"
        case .folderOpen(let path, let mode, let problem):
            return
                "the feed folder \(path) is open to others (mode \(String(mode, radix: 8))) and could not be closed to 0700: \(problem)"
        case .pathTooLong(let path):
            return
                "the feed socket path \(path) is longer than a Unix socket allows; use a shorter --name or XDG_RUNTIME_DIR"
        case .inUse(let path, let pid):
            let holder = pid.map { "process \($0)" } ?? "another process"
            return
                "\(holder) is serving the feed at \(path); stop it, or give this proxy another --name"
        case .token(let error):
            return error.description
        case .bind(let address, let problem):
            return "cannot serve the feed on \(address): \(problem)"
        }
    }
}
