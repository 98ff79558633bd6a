/// What a key does. `custom` actions are the shell's own (the demo's traffic switch, say):
/// the dashboard hands them back as an effect.
public enum Action: Hashable, Sendable {
    case up, down, pageUp, pageDown, top, bottom
    case focusLeft, focusRight, nextPane, previousPane
    case open, back, quit
    case toggleOverride, removeInstance, newSpace, deleteSpace
    case filter, clearFilter, pause, follow, cycleTheme, help
    /// The hop pane between hops and flows; a flow opened or closed; a hop sent again as another space.
    case switchView, expand, replay
    case submit, confirm, cancel
    /// Editing the prompt's line: its last character, its last word, all of it.
    case eraseCharacter, eraseWord, eraseLine
    case custom(String)
}

/// Where a binding applies: a pane when no dialog is open, or the open dialog.
public enum KeyContext: String, CaseIterable, Sendable {
    case global, tree, services, hops, detail, help, prompt, confirm, message

    /// The heading help shows over this context's keys.
    public var title: String {
        switch self {
        case .global: return "Everywhere"
        case .tree: return "Spaces pane"
        case .services: return "Services pane"
        case .hops: return "Hops pane"
        case .detail: return "Hop detail"
        case .help: return "Help"
        case .prompt: return "Prompts"
        case .confirm: return "Questions"
        case .message: return "Messages"
        }
    }
}

/// One row of the key table: it both dispatches and writes the help, so they cannot disagree.
public struct KeyBinding: Equatable, Sendable {
    public var keys: [Key]
    public var action: Action
    public var context: KeyContext
    public var help: String

    public init(_ keys: [Key], _ action: Action, _ context: KeyContext, _ help: String) {
        self.keys = keys
        self.action = action
        self.context = context
        self.help = help
    }
}
