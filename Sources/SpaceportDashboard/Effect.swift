import SpaceportCore

/// A change to a feed's tree, numbered so its result can be matched when it comes back.
public struct EditRequest: Equatable, Sendable {
    public var id: Int
    /// The feed whose proxy should apply it.
    public var source: String
    public var edit: SpaceEdit

    public init(id: Int, source: String, edit: SpaceEdit) {
        self.id = id
        self.source = source
        self.edit = edit
    }
}

/// A hop to send again through its proxy, routed as `space`; numbered like an edit.
public struct ReplayRequest: Equatable, Sendable {
    public var id: Int
    /// The feed whose proxy kept the hop's request.
    public var source: String
    public var hop: String
    public var space: String

    public init(id: Int, source: String, hop: String, space: String) {
        self.id = id
        self.source = source
        self.hop = hop
        self.space = space
    }
}

/// What the dashboard asks its shell to do; the shell reports back with a `DashboardUpdate`.
public enum Effect: Equatable, Sendable {
    /// Apply through the store (embedded) or a feed command (attached), then send `.editResult`.
    case edit(EditRequest)
    /// Ask the proxy to replay, then send `.replayResult`.
    case replay(ReplayRequest)
    case quit
    /// A shell's own key binding fired.
    case custom(String)
}

/// What the shell tells the dashboard: feed traffic, connections, results, checks.
public enum DashboardUpdate: Equatable, Sendable {
    case feed(source: String, FeedEvent)
    case connected(source: String)
    case disconnected(source: String, reason: String)
    /// nil error: the edit was applied.
    case editResult(id: Int, error: String?)
    /// nil error: the proxy sent the request again.
    case replayResult(id: Int, error: String?)
    case health([String: Health])
    /// An extra status-bar item (nil removes it), such as the demo's traffic state.
    case status(key: String, value: String?)
    case note(String, isError: Bool)
    /// Events lost between the feeds and the screen.
    case handOffDropped(Int)
}
