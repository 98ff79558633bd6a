/// The theme file format: one `role = foreground [background] [attributes…]` per line,
/// `#` starts a comment. Colours are `default`, a basic name (`red`), `bright-<name>` or
/// a palette index 0–255; attributes are bold, dim, underline, reverse, italic.
public enum ThemeFile {
    public static func parse(text: String, name: String, file: String) throws(ThemeError) -> Theme {
        var styles: [Role: Style] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
            let location = "\(file):\(number + 1)"
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            let parts = line.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else {
                throw ThemeError(
                    location: location, problem: "expected 'role = foreground [background] [attributes]'")
            }
            let key = parts[0].trimmingBlanks()
            guard let role = Role(rawValue: key) else {
                throw ThemeError(
                    location: location,
                    problem:
                        "unknown role '\(Sanitized.line(key))'; roles are: \(Role.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            styles[role] = try style(from: parts[1], at: location)
        }
        return Theme(name: name, styles: styles)
    }

    private static func style(from text: Substring, at location: String) throws(ThemeError) -> Style {
        var tokens = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "," }).map(String.init)
        guard !tokens.isEmpty else {
            throw ThemeError(location: location, problem: "a role needs at least a foreground colour")
        }
        var style = Style()
        (style.foreground, style.foreground8) = try colors(tokens.removeFirst(), at: location)
        if let next = tokens.first, let background = try? colors(next, at: location) {
            (style.background, style.background8) = background
            tokens.removeFirst()
        }
        for token in tokens {
            if token == "none" || token == "-" { continue }
            guard let attribute = TextAttributes.names.first(where: { $0.0 == token })?.1 else {
                throw ThemeError(
                    location: location,
                    problem:
                        "'\(Sanitized.line(token))' is neither a colour nor an attribute (bold, dim, underline, reverse, italic)"
                )
            }
            style.attributes.insert(attribute)
        }
        return style
    }

    /// `117`, or `117/cyan`: a colour and the basic colour to use on an 8-colour terminal.
    static func colors(_ token: String, at location: String) throws(ThemeError) -> (ThemeColor, ThemeColor?) {
        let parts = token.split(separator: "/", maxSplits: 1).map(String.init)
        let full = try color(parts[0], at: location)
        guard parts.count == 2 else { return (full, nil) }
        let basic = try color(parts[1], at: location)
        if case .index(let index) = basic, index >= 8 {
            throw ThemeError(
                location: location, problem: "'\(parts[1])' after '/' must be a basic colour (0-7 or a name)")
        }
        return (full, basic)
    }

    static func color(_ token: String, at location: String) throws(ThemeError) -> ThemeColor {
        if token == "default" { return .terminalDefault }
        if let index = ThemeColor.names.firstIndex(of: token) { return .index(index) }
        if token.hasPrefix("bright-"), let index = ThemeColor.names.firstIndex(of: String(token.dropFirst(7)))
        {
            return .index(index + 8)
        }
        if token == "grey" || token == "gray" { return .index(8) }
        if let index = Int(token), (0...255).contains(index) { return .index(index) }
        throw ThemeError(
            location: location,
            problem:
                "'\(Sanitized.line(token))' is not a colour; use default, a name such as red, bright-red, or 0-255"
        )
    }
}

public struct ThemeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `file:line`.
    public var location: String
    public var problem: String

    public var description: String { "\(location): \(problem)" }
}

extension StringProtocol {
    func trimmingBlanks() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }
}
