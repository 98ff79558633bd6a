import Foundation
import SpaceportCore

/// A command as one line of JSON, as a feed client sends it; written and read with the
/// command's Codable conformance.
extension FeedCommand {
    /// The line for a command, newline included.
    public func jsonLine() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Parses one line; the error says what is wrong and carries the command's id when known.
    public static func decode(line: some StringProtocol) throws(FeedCommandError) -> FeedCommand {
        do {
            return try JSONDecoder().decode(FeedCommand.self, from: Data(String(line).utf8))
        } catch let error as FeedCommandError {
            throw error
        } catch {
            throw FeedCommandError(
                id: nil,
                message: "not a JSON object; send one command per line, as {\"cmd\":\"override\",...}")
        }
    }
}
