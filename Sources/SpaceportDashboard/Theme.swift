/// A colour as a theme names it: the terminal's own default, or an index in the 256-colour palette
/// (0–7 the basic colours, 8–15 their bright forms).
public enum ThemeColor: Equatable, Sendable {
    case terminalDefault
    case index(Int)

    static let names = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]

    /// This colour on a terminal with `colors` colours: kept if it fits; else a bright colour
    /// loses its brightness, a palette colour becomes the basic colour of its strongest
    /// channels, and a grey becomes the terminal's default (as text) or black or white (as background).
    public func adapted(toColors colors: Int, asForeground: Bool) -> ThemeColor {
        guard case .index(let index) = self, index >= colors else { return self }
        if index < 16 { return .index(index - 8) }
        if index >= 232 {
            let level = 8 + (index - 232) * 10
            return asForeground ? .terminalDefault : .index(level < 128 ? 0 : 7)
        }
        let cube = index - 16
        let channels = [cube / 36, (cube / 6) % 6, cube % 6]
        let strongest = channels.max() ?? 0
        if strongest == 0 { return .index(0) }
        if channels.allSatisfy({ $0 == strongest }) {
            return asForeground ? .terminalDefault : .index(strongest < 3 ? 0 : 7)
        }
        var basic = 0
        for (bit, channel) in channels.enumerated() where channel >= strongest - 1 && channel >= 2 {
            basic |= 1 << bit
        }
        return .index(basic == 0 ? 0 : basic)
    }
}

public struct TextAttributes: OptionSet, Hashable, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    public static let bold = TextAttributes(rawValue: 1)
    public static let dim = TextAttributes(rawValue: 2)
    public static let underline = TextAttributes(rawValue: 4)
    public static let reverse = TextAttributes(rawValue: 8)
    public static let italic = TextAttributes(rawValue: 16)

    static let names: [(String, TextAttributes)] = [
        ("bold", .bold), ("dim", .dim), ("underline", .underline), ("reverse", .reverse), ("italic", .italic),
    ]
}

/// How one role looks. A colour may name the basic colour to use on an 8-colour
/// terminal (`236/black`); without one, a near colour is worked out.
public struct Style: Equatable, Sendable {
    public var foreground: ThemeColor
    public var background: ThemeColor
    public var attributes: TextAttributes
    public var foreground8: ThemeColor?
    public var background8: ThemeColor?

    public init(
        foreground: ThemeColor = .terminalDefault, background: ThemeColor = .terminalDefault,
        attributes: TextAttributes = [], foreground8: ThemeColor? = nil, background8: ThemeColor? = nil
    ) {
        self.foreground = foreground
        self.background = background
        self.attributes = attributes
        self.foreground8 = foreground8
        self.background8 = background8
    }

    public static let plain = Style()

    /// The style on a terminal with `colors` colours; with none, only the attributes remain.
    public func adapted(toColors colors: Int) -> Style {
        guard colors >= 8 else { return Style(attributes: attributes) }
        guard colors < 256 else {
            return Style(foreground: foreground, background: background, attributes: attributes)
        }
        return Style(
            foreground: foreground8 ?? foreground.adapted(toColors: colors, asForeground: true),
            background: background8 ?? background.adapted(toColors: colors, asForeground: false),
            attributes: attributes)
    }
}

/// A named mapping from roles to styles. Roles a theme leaves out come from the default theme.
public struct Theme: Equatable, Sendable {
    public var name: String
    public var styles: [Role: Style]

    public init(name: String, styles: [Role: Style]) {
        self.name = name
        self.styles = styles
    }

    public func style(for role: Role) -> Style { styles[role] ?? .plain }

    /// This theme with every role it leaves out taken from `base`.
    public func filling(from base: Theme) -> Theme {
        Theme(name: name, styles: base.styles.merging(styles) { _, own in own })
    }

    public func adapted(toColors colors: Int) -> Theme {
        Theme(name: name, styles: styles.mapValues { $0.adapted(toColors: colors) })
    }
}
