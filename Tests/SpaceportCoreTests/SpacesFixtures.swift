import Foundation
import Testing

@testable import SpaceportCore

/// Spaces files and helpers the core tests share.
enum SpacesFixtures {
    /// The README's example: azureuser derived from default, overriding servicea.
    static let azure = """
        spaces:
          default:
            services:
              servicea: { upstream: 127.0.0.1:5001 }
              serviceb: { upstream: 127.0.0.1:5002 }
          azureuser:
            parent: default
            services:
              servicea: { upstream: 127.0.0.1:6001, enabled: true, egress: 127.0.0.1:7001 }

        """

    /// Three levels: alice derives from azureuser, which derives from default.
    static let threeLevels = """
        spaces:
          default:
            services:
              servicea: 127.0.0.1:5001
              serviceb: 127.0.0.1:5002
              servicec: 127.0.0.1:5003
          azureuser:
            parent: default
            services:
              serviceb: 127.0.0.1:6002
          alice:
            parent: azureuser
            services:
              servicec: { upstream: 127.0.0.1:7003, enabled: false }
          other:
            services:
              servicez: 127.0.0.1:9000

        """

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
