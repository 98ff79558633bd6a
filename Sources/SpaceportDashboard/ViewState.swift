import SpaceportCore

public enum Pane: Int, CaseIterable, Sendable {
    case tree, services, hops

    public var context: KeyContext {
        switch self {
        case .tree: return .tree
        case .services: return .services
        case .hops: return .hops
        }
    }
}

/// What the hop pane lists: every hop, newest first, or every flow with its calls.
public enum HopsView: Sendable {
    case hops, flows
}

/// A hop of one feed, by id.
public struct HopKey: Hashable, Sendable {
    public var source: String
    public var id: String

    public init(source: String, id: String) {
        self.source = source
        self.id = id
    }
}

/// A row of the flows view: a flow's own row (`hop` nil), or one of its hops.
public struct FlowRowID: Hashable, Sendable {
    /// The flow's arrival number (`FlowIndex.Flow.number`).
    public var flow: Int
    public var hop: HopKey?

    public init(flow: Int, hop: HopKey? = nil) {
        self.flow = flow
        self.hop = hop
    }
}

/// A space of one feed's tree.
public struct SpaceRef: Hashable, Sendable {
    public var source: String
    public var space: String

    public init(source: String, space: String) {
        self.source = source
        self.space = space
    }
}

/// A line of text the user is typing, and what it is for.
public struct Prompt: Equatable, Sendable {
    public enum Purpose: Equatable, Sendable {
        /// The filter to restore on cancel.
        case filter(previous: HopFilter)
        case newSpace(parent: SpaceRef)
        case upstream(SpaceRef, service: String)
        /// The hop to send again, routed as the space typed.
        case replay(HopKey)
    }

    public var purpose: Purpose
    public var question: String
    public var text: String
    /// Why the text cannot be accepted as it stands.
    public var problem: String?
}

/// A yes/no question standing between a key and an edit.
public struct Confirmation: Equatable, Sendable {
    public var question: String
    public var request: EditRequest
}

/// An opened hop, by source and id so it stays open while newer hops arrive.
public struct HopPage: Equatable, Sendable {
    public var source: String
    public var id: String
    public var scroll: Int
    /// The hop of its flow that Enter opens, by id: the hop itself until another is selected.
    public var selected: String

    public init(source: String, id: String, scroll: Int = 0, selected: String? = nil) {
        self.source = source
        self.id = id
        self.scroll = scroll
        self.selected = selected ?? id
    }
}

public enum Modal: Equatable, Sendable {
    case help(scroll: Int)
    /// A hop's detail, and the hops opened before it from their flows, which Esc goes back to.
    case detail(HopPage, back: [HopPage])
    case prompt(Prompt)
    case confirm(Confirmation)
    case message(String, isError: Bool)
}

/// A short message in the status bar that goes away by itself.
public struct Note: Equatable, Sendable {
    public var text: String
    public var isError: Bool
    public var until: Double
}

/// Everything about what the user is looking at; the model knows nothing of it.
public struct ViewState: Equatable, Sendable {
    public var size: Size
    public var focus: Pane = .tree
    public var selectedSpace: SpaceRef?
    public var serviceIndex = 0
    /// The selected hop's sequence when not following; nil selects the newest.
    public var hopAnchor: Int?
    /// The selected hop's row in the hop pane, kept while newer hops arrive above.
    public var hopRow = 0
    public var filter: HopFilter = .none
    /// Hops or flows; both keep their selection while the other shows.
    public var hopsView: HopsView = .hops
    /// The selected row of the flows view when not following; nil selects the newest flow.
    public var flowAnchor: FlowRowID?
    /// The selected row's place in the pane, kept while newer flows arrive above.
    public var flowRow = 0
    /// Flows opened into their calls, by flow id.
    public var expanded: Set<String> = []
    public var following = true
    /// The newest hop shown while paused.
    public var pausedAt: Int?
    public var themeIndex: Int
    public var modal: Modal?
    public var note: Note?

    public init(size: Size, themeIndex: Int = 0) {
        self.size = size
        self.themeIndex = themeIndex
    }

    public var isPaused: Bool { pausedAt != nil }
}
