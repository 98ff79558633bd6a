import Foundation
import SpaceportTestSupport
import Synchronization
import Testing

@testable import SpaceportDashboard

@Suite("Themes")
struct ThemeTests {
    /// The repository's `themes/` folder, found from this file.
    static let themesFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("themes")

    @Test("the shipped themes are dark, light and monochrome, and dark is the default")
    func shipped() {
        let catalog = ThemeCatalog.shipped
        #expect(catalog.names == ["dark", "light", "monochrome"])
        #expect(try! catalog.choose(flag: nil, environment: [:]).index == catalog.index(of: "dark"))
    }

    @Test("every theme file in themes/ loads, and dark and monochrome name every role themselves")
    func everyFileLoads() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.themesFolder.path)
            .filter { $0.hasSuffix(".theme") }.sorted()
        #expect(files == ["dark.theme", "light.theme", "monochrome.theme"])
        for file in files {
            let text = try String(contentsOf: Self.themesFolder.appendingPathComponent(file), encoding: .utf8)
            let theme = try ThemeFile.parse(text: text, name: String(file.dropLast(6)), file: file)
            if theme.name != "light" {
                #expect(Set(theme.styles.keys) == Set(Role.allCases), "\(file) leaves out roles")
            }
        }
    }

    @Test("the theme texts built into the binary equal the files in themes/")
    func embeddedCopiesMatch() throws {
        for (name, text) in ShippedThemes.texts {
            let file = try String(
                contentsOf: Self.themesFolder.appendingPathComponent("\(name).theme"), encoding: .utf8)
            #expect(
                text == file,
                "themes/\(name).theme differs from its copy in Sources/SpaceportDashboard/ShippedThemes.swift; copy the file's text there"
            )
        }
    }

    @Test("a role a theme leaves out looks as it does in the default theme")
    func missingRolesFallBack() throws {
        let folder = try temporaryFolder()
        try "owned = red\n".write(toFile: folder + "/mine.theme", atomically: true, encoding: .utf8)
        let catalog = ThemeCatalog.load(userDirectory: folder)
        let mine = try #require(catalog.themes.first { $0.name == "mine" })
        #expect(mine.style(for: .owned) == Style(foreground: .index(1)))
        #expect(mine.style(for: .status5xx) == ThemeCatalog.shippedDefault.style(for: .status5xx))
        #expect(catalog.problems.isEmpty)
    }

    @Test("user themes in $XDG_CONFIG_HOME/spaceport/themes are found; a broken one is named and skipped")
    func userThemes() throws {
        let config = try temporaryFolder()
        let folder = config + "/spaceport/themes"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "selection = black yellow bold\n".write(
            toFile: folder + "/bee.theme", atomically: true, encoding: .utf8)
        try "tree = plaid\n".write(toFile: folder + "/broken.theme", atomically: true, encoding: .utf8)
        let environment = ["XDG_CONFIG_HOME": config, "SPACEPORT_THEME": "bee"]
        #expect(ThemeCatalog.userDirectory(environment: environment) == folder)
        let catalog = ThemeCatalog.load(userDirectory: ThemeCatalog.userDirectory(environment: environment))
        #expect(catalog.names == ["dark", "light", "monochrome", "bee"])
        #expect(
            catalog.problems == [
                "theme broken ignored: \(folder)/broken.theme:1: 'plaid' is not a colour; use default, a name such as red, bright-red, or 0-255"
            ])
        #expect(try catalog.choose(flag: nil, environment: environment).index == 3)
    }

    @Test("--theme beats SPACEPORT_THEME, and an unknown name lists the themes there are")
    func choosing() {
        let catalog = ThemeCatalog.shipped
        #expect(try! catalog.choose(flag: "light", environment: ["SPACEPORT_THEME": "monochrome"]).index == 1)
        #expect(try! catalog.choose(flag: nil, environment: ["SPACEPORT_THEME": "monochrome"]).index == 2)
        #expect(throws: ThemeChoiceError.self) { try catalog.choose(flag: "neon", environment: [:]) }
        do {
            _ = try catalog.choose(flag: "neon", environment: ["XDG_CONFIG_HOME": "/cfg"])
        } catch {
            #expect(
                error.description
                    == "there is no theme 'neon'; themes: dark, light, monochrome (add your own as /cfg/spaceport/themes/NAME.theme)"
            )
        }
    }

    @Test("NO_COLOR starts in monochrome and turns colour off, even with a theme chosen")
    func noColor() {
        let catalog = ThemeCatalog.shipped
        let plain = try! catalog.choose(flag: nil, environment: ["NO_COLOR": "1"])
        #expect(catalog.themes[plain.index].name == "monochrome")
        #expect(plain.noColor)
        #expect(try! catalog.choose(flag: "dark", environment: ["NO_COLOR": "1"]).noColor)
        #expect(try! catalog.choose(flag: nil, environment: ["NO_COLOR": ""]).noColor == false)
        let stripped = catalog.themes[0].adapted(toColors: 0)
        #expect(stripped.style(for: .selection) == Style(attributes: .bold))
    }

    @Test("on an 8-colour terminal, palette colours become the basic colour nearest in hue")
    func eightColours() {
        let near = { (index: Int, foreground: Bool) in
            ThemeColor.index(index).adapted(toColors: 8, asForeground: foreground)
        }
        #expect(near(196, true) == .index(1))
        #expect(near(114, true) == .index(2))
        #expect(near(117, true) == .index(6))
        #expect(near(221, true) == .index(3))
        #expect(near(245, true) == .terminalDefault)
        #expect(near(236, false) == .index(0))
        #expect(near(252, false) == .index(7))
        #expect(near(9, true) == .index(1))
        #expect(ThemeColor.index(9).adapted(toColors: 16, asForeground: true) == .index(9))
        #expect(Style(foreground: .index(196)).adapted(toColors: 256) == Style(foreground: .index(196)))
        let dark = ThemeCatalog.shipped.themes[0].adapted(toColors: 8)
        for role in Role.allCases {
            for color in [dark.style(for: role).foreground, dark.style(for: role).background] {
                if case .index(let index) = color { #expect(index < 8, "\(role) keeps colour \(index)") }
            }
        }
    }

    @Test("a theme may name the basic colour to use on an 8-colour terminal")
    func explicitEightColour() throws {
        let theme = try ThemeFile.parse(text: "status-bar = 252/black 236/white", name: "x", file: "x")
        let style = theme.style(for: .statusBar)
        #expect(style.adapted(toColors: 8) == Style(foreground: .index(0), background: .index(7)))
        #expect(style.adapted(toColors: 256) == Style(foreground: .index(252), background: .index(236)))
        #expect(throws: ThemeError.self) { try ThemeFile.parse(text: "tree = 117/117", name: "x", file: "x") }
    }

    @Test("a line that cannot be read names the file, the line and what is wrong")
    func badLines() {
        let cases = [
            ("tree red", "themes/x.theme:1: expected 'role = foreground [background] [attributes]'"),
            ("# c\nsparkle = red", "themes/x.theme:2: unknown role 'sparkle'"),
            ("tree = red blue blink", "themes/x.theme:1: 'blink' is neither a colour nor an attribute"),
            ("tree = 300", "themes/x.theme:1: '300' is not a colour"),
            ("tree =", "themes/x.theme:1: a role needs at least a foreground colour"),
        ]
        for (text, message) in cases {
            do {
                _ = try ThemeFile.parse(text: text, name: "x", file: "themes/x.theme")
                Issue.record("'\(text)' was accepted")
            } catch {
                #expect(error.description.hasPrefix(message), "\(error.description)")
            }
        }
        let good = try? ThemeFile.parse(
            text: "tree = bright-cyan 236 bold,underline  # comment\nowned = default", name: "x", file: "x")
        #expect(
            good?.style(for: .tree)
                == Style(foreground: .index(14), background: .index(236), attributes: [.bold, .underline]))
        #expect(good?.style(for: .owned) == Style())
    }

    private func temporaryFolder() throws -> String {
        let path = NSTemporaryDirectory() + "spaceport-themes-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        removeAtExit(path)
        return path
    }
}
