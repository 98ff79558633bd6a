/// The key table. `standard` is Spaceport's; a shell adds its own rows with `adding`.
/// Every hint on screen (`? help`, `y yes, n no`, …) is looked up here, so rebinding a key
/// cannot leave a hint that names the old one.
public struct KeyMap: Equatable, Sendable {
    public private(set) var bindings: [KeyBinding]

    public init(_ bindings: [KeyBinding]) {
        self.bindings = bindings
    }

    /// The first binding for `key` in the first of `contexts` that has one.
    public func action(for key: Key, in contexts: [KeyContext]) -> Action? {
        for context in contexts {
            if let binding = bindings.first(where: { $0.context == context && $0.keys.contains(key) }) {
                return binding.action
            }
        }
        return nil
    }

    /// This table with `extra` rows; an extra row's keys take precedence in its context.
    public func adding(_ extra: [KeyBinding]) -> KeyMap {
        KeyMap(extra + bindings)
    }

    public func bindings(in context: KeyContext) -> [KeyBinding] {
        bindings.filter { $0.context == context }
    }

    /// The label of the first key that does `action` in `context`; nil when no key does.
    public func key(for action: Action, in context: KeyContext) -> String? {
        bindings.first { $0.context == context && $0.action == action }?.keys.first?.label
    }

    /// `? help`: the key that does `action` in `context`, then `words`; nil when no key does it.
    public func hint(_ action: Action, in context: KeyContext, _ words: String) -> String? {
        key(for: action, in: context).map { "\($0) \(words)" }
    }

    /// The table as the README shows it, one row per binding; `extra` rows (a shell's own,
    /// such as the demo's) follow with their own words for where they apply.
    public func markdown(extra: [(where: String, binding: KeyBinding)] = []) -> String {
        let rows =
            KeyContext.allCases.flatMap { context in
                bindings(in: context).map { (context.title.lowercased(), $0) }
            } + extra.map { ($0.where, $0.binding) }
        var lines = ["| key | where | does |", "| --- | --- | --- |"]
        for (place, binding) in rows {
            let keys = binding.keys.map { key in
                if case .character(let character) = key, character != " " { return "`\(character)`" }
                return key.label
            }
            lines.append("| \(keys.joined(separator: " ")) | \(place) | \(binding.help) |")
        }
        return lines.joined(separator: "\n")
    }

    /// The demo's traffic switch, which `spaceport demo` adds to the standard table.
    public static let demoTraffic = KeyBinding(
        [.character("g")], .custom("traffic"), .global, "switch the demo's traffic on or off")

    public static let standard = KeyMap([
        KeyBinding([.up, .character("k")], .up, .global, "move up"),
        KeyBinding([.down, .character("j")], .down, .global, "move down"),
        KeyBinding([.pageUp], .pageUp, .global, "page up"),
        KeyBinding([.pageDown], .pageDown, .global, "page down"),
        KeyBinding([.home], .top, .global, "first row"),
        KeyBinding([.end], .bottom, .global, "last row"),
        KeyBinding([.left, .character("h")], .focusLeft, .global, "pane to the left"),
        KeyBinding([.right, .character("l")], .focusRight, .global, "pane to the right"),
        KeyBinding([.tab], .nextPane, .global, "next pane"),
        KeyBinding([.backTab], .previousPane, .global, "previous pane"),
        KeyBinding(
            [.character("/")], .filter, .global,
            "filter hops: service:X space:X 5xx method:GET path:/x lost restored text, !term negates"),
        KeyBinding([.escape], .clearFilter, .global, "clear the filter"),
        KeyBinding([.character("p")], .pause, .global, "pause the hop list (new hops wait), or resume it"),
        KeyBinding(
            [.character("f")], .follow, .global, "follow: resume the list and select the newest hop or flow"),
        KeyBinding(
            [.character("v")], .switchView, .global,
            "show flows (each request as a tree of its calls) or hops in the hop pane"),
        KeyBinding([.character("t")], .cycleTheme, .global, "next theme"),
        KeyBinding([.character("?")], .help, .global, "this help"),
        KeyBinding([.character("q"), .control("c")], .quit, .global, "quit"),
        KeyBinding(
            [.character("n")], .newSpace, .tree, "new child of the selected space (a fourth level is refused)"
        ),
        KeyBinding([.character("d")], .deleteSpace, .tree, "delete the selected space (asks first)"),
        KeyBinding([.enter], .focusRight, .tree, "show the space's services"),
        KeyBinding(
            [.space, .character("o")], .toggleOverride, .services,
            "turn the space's own instance on or off (asks for an address if it has none)"),
        KeyBinding(
            [.character("d")], .removeInstance, .services,
            "remove the space's own instance, so it inherits the service (asks first)"),
        KeyBinding(
            [.enter], .open, .hops,
            "open the hop (chain tried, route headers, its flow) or a flow's calls"),
        KeyBinding([.space], .expand, .hops, "open or close the selected flow's calls"),
        KeyBinding(
            [.character("R")], .replay, .hops,
            "replay: send the hop's request again, routed as a space you name"),
        KeyBinding([.up, .character("k")], .up, .detail, "select the flow's hop above"),
        KeyBinding([.down, .character("j")], .down, .detail, "select the flow's hop below"),
        KeyBinding([.enter], .open, .detail, "open the selected hop of the flow"),
        KeyBinding([.character("R")], .replay, .detail, "replay this hop's request routed as another space"),
        KeyBinding([.pageUp], .pageUp, .detail, "scroll up"),
        KeyBinding([.pageDown, .space], .pageDown, .detail, "scroll down"),
        KeyBinding(
            [.escape, .character("q")], .back, .detail, "back: to the hop opened before, or the list"),
        KeyBinding([.up, .character("k")], .up, .help, "scroll up"),
        KeyBinding([.down, .character("j")], .down, .help, "scroll down"),
        KeyBinding([.pageUp], .pageUp, .help, "page up"),
        KeyBinding([.pageDown, .space], .pageDown, .help, "page down"),
        KeyBinding([.escape, .character("q"), .character("?")], .back, .help, "close help"),
        KeyBinding([.enter], .submit, .prompt, "accept"),
        KeyBinding([.escape], .cancel, .prompt, "cancel (a filter goes back to what it was)"),
        KeyBinding([.backspace, .delete], .eraseCharacter, .prompt, "erase the last character"),
        KeyBinding([.control("w")], .eraseWord, .prompt, "erase the last word"),
        KeyBinding([.control("u")], .eraseLine, .prompt, "erase the whole line"),
        KeyBinding([.character("y")], .confirm, .confirm, "yes"),
        KeyBinding([.character("n"), .escape, .character("q")], .cancel, .confirm, "no"),
        KeyBinding([.enter, .escape, .character("q")], .back, .message, "dismiss (so does any other key)"),
    ])
}
