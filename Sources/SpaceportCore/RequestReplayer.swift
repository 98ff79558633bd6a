/// What a proxy does for its feed's clients besides editing spaces: show the request a hop kept
/// and send it again as another space. The feed server asks it for a client allowed to send
/// commands; the proxy alone holds the requests, sensitive fields and all.
public protocol RequestReplayer: AnyObject, Sendable {
    /// Sends the request hop `hop` kept again through the proxy's ingress, routed as `space`, as
    /// a new hop marked `replayOf` it. Returns once its response began: the status, or the
    /// sentence why nothing was sent.
    func replay(hop: String, as space: String) async -> Result<Int, ReplayError>

    /// The request hop `hop` kept, with the values of sensitive fields left out, or why there is none.
    func keptRequest(hop: String) async -> Result<KeptRequestView, ReplayError>
}

/// Why a replay was not sent; the description is the sentence a user reads.
public enum ReplayError: Error, Equatable, Sendable, CustomStringConvertible {
    case off
    case notKept(hop: String, keeps: Int)
    case noSpace(String)
    case cannotReplay(hop: String, reason: String)
    case failed(String)
    case notOffered

    public var description: String {
        switch self {
        case .off:
            return
                "this proxy keeps no requests to replay: its spaces file sets limits.replay_requests or replay_bytes to 0"
        case .notKept(let hop, let keeps):
            return
                "hop \(Printable.clip(hop)) is no longer kept (the proxy keeps the last \(keeps) requests); send the request again and replay that one"
        case .noSpace(let space):
            return "there is no space '\(Printable.clip(space))'; `spaceport tree` lists them"
        case .cannotReplay(let hop, let reason):
            return "hop \(Printable.clip(hop)) cannot be replayed: \(reason)"
        case .failed(let reason):
            return "the replay was not answered: \(reason)"
        case .notOffered:
            return "this feed does not replay requests"
        }
    }
}

/// A kept request as the feed shows it: never the value of a sensitive field, nor any body.
public struct KeptRequestView: Codable, Equatable, Sendable {
    public struct Field: Codable, Equatable, Sendable {
        public var name: String
        /// nil for a sensitive field: its value stays inside the proxy.
        public var value: String?
        /// Present, and true, for a sensitive field.
        public var sensitive: Bool?

        public init(name: String, value: String?, sensitive: Bool? = nil) {
            self.name = name
            self.value = value
            self.sensitive = sensitive
        }
    }

    public var hop: String
    public var method: String
    public var target: String
    public var version: String
    public var fields: [Field]
    /// The body's length when it was kept; nil when the request had none or it was not kept.
    public var bodyBytes: Int?
    /// Why a body the request had was not kept, so a replay of it would be refused.
    public var bodyProblem: String?

    public init(
        hop: String, method: String, target: String, version: String, fields: [Field], bodyBytes: Int?,
        bodyProblem: String?
    ) {
        self.hop = hop
        self.method = method
        self.target = target
        self.version = version
        self.fields = fields
        self.bodyBytes = bodyBytes
        self.bodyProblem = bodyProblem
    }
}
