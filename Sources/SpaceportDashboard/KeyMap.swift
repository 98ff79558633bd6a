/// The key table. `standard` is Spaceport's; a shell adds its own rows with `adding`.
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
            "filter hops: service:X space:X 5xx method:GET path:/x text, !term negates"),
        KeyBinding([.character("p")], .pause, .global, "pause or resume the hop list"),
        KeyBinding([.character("f")], .follow, .global, "follow the newest hop, or stop following"),
        KeyBinding([.character("t")], .cycleTheme, .global, "next theme"),
        KeyBinding([.character("?")], .help, .global, "this help"),
        KeyBinding([.character("q"), .escape], .quit, .global, "quit"),
        KeyBinding([.character("n")], .newSpace, .tree, "new child of the selected space"),
        KeyBinding([.character("d")], .deleteSpace, .tree, "delete the selected space (asks first)"),
        KeyBinding([.enter], .focusRight, .tree, "show the space's services"),
        KeyBinding(
            [.space, .character("o")], .toggleOverride, .services,
            "turn the space's own instance on or off (asks for an address if it has none)"),
        KeyBinding([.enter], .open, .hops, "open the hop: chain tried, route headers, its flow"),
        KeyBinding([.up, .character("k")], .up, .detail, "scroll up"),
        KeyBinding([.down, .character("j")], .down, .detail, "scroll down"),
        KeyBinding([.pageUp], .pageUp, .detail, "page up"),
        KeyBinding([.pageDown, .space], .pageDown, .detail, "page down"),
        KeyBinding([.escape, .character("q"), .enter], .back, .detail, "close"),
        KeyBinding([.up, .character("k")], .up, .help, "scroll up"),
        KeyBinding([.down, .character("j")], .down, .help, "scroll down"),
        KeyBinding([.pageUp], .pageUp, .help, "page up"),
        KeyBinding([.pageDown, .space], .pageDown, .help, "page down"),
        KeyBinding([.escape, .character("q"), .character("?")], .back, .help, "close help"),
        KeyBinding([.enter], .submit, .prompt, "accept"),
        KeyBinding([.escape], .cancel, .prompt, "cancel"),
        KeyBinding([.character("y")], .confirm, .confirm, "yes"),
        KeyBinding([.character("n"), .escape, .character("q")], .cancel, .confirm, "no"),
        KeyBinding([.enter, .escape, .character("q")], .back, .message, "dismiss"),
    ])
}
