import Foundation

/// The themes a user can pick: the shipped ones, then any in
/// `$XDG_CONFIG_HOME/spaceport/themes/*.theme` (a user theme may replace a shipped one by name).
public struct ThemeCatalog: Sendable {
    public static let defaultName = "dark"
    public static let monochromeName = "monochrome"

    public private(set) var themes: [Theme]
    /// User theme files that could not be read, as sentences to show.
    public private(set) var problems: [String]

    public init(themes: [Theme], problems: [String] = []) {
        self.themes = themes
        self.problems = problems
    }

    /// The shipped themes, each completed from the default theme.
    public static var shipped: ThemeCatalog {
        ThemeCatalog(themes: ShippedThemes.texts.map { parseShipped($0.name, $0.text) }).completed()
    }

    /// The shipped default theme as written: the base every other theme's missing roles come from.
    public static let shippedDefault: Theme = {
        let entry = ShippedThemes.texts.first { $0.name == defaultName }!
        return parseShipped(entry.name, entry.text)
    }()

    private static func parseShipped(_ name: String, _ text: String) -> Theme {
        // The shipped texts are checked by tests, so a failure here is a build defect.
        try! ThemeFile.parse(text: text, name: name, file: "themes/\(name).theme")
    }

    /// Shipped themes plus the user's, from `directory` when given.
    public static func load(userDirectory directory: String?) -> ThemeCatalog {
        var catalog = ThemeCatalog.shipped
        guard let directory,
            let entries = try? FileManager.default.contentsOfDirectory(atPath: directory)
        else { return catalog }
        for entry in entries.sorted() where entry.hasSuffix(".theme") {
            let path = (directory as NSString).appendingPathComponent(entry)
            let name = String(entry.dropLast(".theme".count))
            do {
                let text = try String(contentsOfFile: path, encoding: .utf8)
                catalog.add(try ThemeFile.parse(text: text, name: name, file: path))
            } catch let error as ThemeError {
                catalog.problems.append("theme \(name) ignored: \(error.description)")
            } catch {
                catalog.problems.append("theme \(name) ignored: \(path) could not be read")
            }
        }
        return catalog.completed()
    }

    /// Where user themes live: `$XDG_CONFIG_HOME/spaceport/themes`, else `~/.config/spaceport/themes`.
    public static func userDirectory(environment: [String: String]) -> String? {
        if let config = environment["XDG_CONFIG_HOME"], !config.isEmpty {
            return config + "/spaceport/themes"
        }
        if let home = environment["HOME"], !home.isEmpty { return home + "/.config/spaceport/themes" }
        return nil
    }

    public var names: [String] { themes.map(\.name) }

    public func index(of name: String) -> Int? { themes.firstIndex { $0.name == name } }

    /// The theme to start with: `--theme`, else `SPACEPORT_THEME`, else monochrome under
    /// `NO_COLOR`, else the default. `noColor` says the terminal must get no colour at all.
    public func choose(
        flag: String?, environment: [String: String]
    ) throws(ThemeChoiceError) -> (index: Int, noColor: Bool) {
        let noColor = !(environment["NO_COLOR"] ?? "").isEmpty
        let asked = flag ?? environment["SPACEPORT_THEME"].flatMap { $0.isEmpty ? nil : $0 }
        let name = asked ?? (noColor ? Self.monochromeName : Self.defaultName)
        guard let index = index(of: name) else {
            throw ThemeChoiceError(
                name: name, known: names,
                directory: Self.userDirectory(environment: environment) ?? "$XDG_CONFIG_HOME/spaceport/themes"
            )
        }
        return (index, noColor)
    }

    private mutating func add(_ theme: Theme) {
        if let existing = index(of: theme.name) {
            themes[existing] = theme
        } else {
            themes.append(theme)
        }
    }

    /// Every theme with its missing roles taken from the default theme.
    private func completed() -> ThemeCatalog {
        ThemeCatalog(themes: themes.map { $0.filling(from: Self.shippedDefault) }, problems: problems)
    }
}

public struct ThemeChoiceError: Error, Equatable, Sendable, CustomStringConvertible {
    public var name: String
    public var known: [String]
    public var directory: String

    public var description: String {
        "there is no theme '\(Sanitized.line(name))'; themes: \(known.joined(separator: ", ")) (add your own as \(directory)/NAME.theme)"
    }
}
