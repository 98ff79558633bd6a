import Foundation
import SpaceportTestSupport
import Testing

@testable import SpaceportCore

/// Spaces files and helpers the core tests share.
enum SpacesFixtures {
    static let azure = SampleSpaces.azure
    static let threeLevels = SampleSpaces.threeLevels

    static func tree(_ text: String, file: String = "spaces.yaml") throws -> SpaceTree {
        try SpacesFile.parse(text: text, file: file)
    }

    /// The text a save writes for `edit`, checked to read back as the edited tree.
    static func save(_ text: String, _ edit: SpaceEdit) throws -> String {
        let old = try tree(text)
        let new = try old.applying(edit)
        let saved = SpacesFile.updatedText(text, from: old, to: new, by: edit, file: "spaces.yaml")
        #expect(try tree(saved) == new, "the saved file does not read back as the edited tree:\n\(saved)")
        return saved
    }

    /// Why the tree in `text` refuses to route `request`; nil when it routes it.
    static func routeError(_ text: String, _ request: RouteRequest) -> RouteError? {
        do {
            _ = try tree(text).route(request)
            return nil
        } catch let error as RouteError {
            return error
        } catch {
            Issue.record("the spaces file does not parse: \(error)")
            return nil
        }
    }

    /// The message a parse fails with, `file:line:column: message`.
    static func failure(_ text: String, file: String = "spaces.yaml") -> String? {
        do {
            _ = try SpacesFile.parse(text: text, file: file)
            return nil
        } catch {
            return error.description
        }
    }

    /// A fresh folder under the system's temporary folder, removed by the caller.
    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("spaceport-core-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}
