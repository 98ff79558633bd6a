import Testing

@testable import SpaceportCore

@Suite("The spaces file's replay settings")
struct ReplaySettingsTests {
    static let spaces = "spaces:\n  default: {}\n"

    static func error(_ text: String) -> String? {
        do {
            _ = try SpacesFile.parse(text: text, file: "spaces.yaml")
            return nil
        } catch {
            return error.description
        }
    }

    @Test("replay keeps 100 requests in 1 MiB and no bodies unless the file says otherwise; 0 turns it off")
    func limits() throws {
        let defaults = try SpacesFile.parse(text: Self.spaces, file: "spaces.yaml").settings.limits
        #expect(
            defaults.replayRequests == 100 && defaults.replayBytes == 1_048_576
                && defaults.replayBodyBytes == 0)
        #expect(defaults.keepsRequests)
        let off = try SpacesFile.parse(
            text: "limits: { replay_requests: 0 }\n" + Self.spaces, file: "spaces.yaml")
        #expect(!off.settings.limits.keepsRequests)
        let bodies = try SpacesFile.parse(
            text: "limits: { replay_body_bytes: 4096 }\n" + Self.spaces, file: "s.yaml")
        #expect(bodies.settings.limits.replayBodyBytes == 4096)
        #expect(
            Self.error("limits: { replay_body_bytes: 2000000 }\n" + Self.spaces)
                == "spaces.yaml:1:30: 'replay_body_bytes': must be at most 1048576: bodies are kept to look at a request again, not to upload files"
        )
        #expect(
            Self.error("limits: { replay_requests: -1 }\n" + Self.spaces)
                == "spaces.yaml:1:28: 'replay_requests': must be a whole number, 0 or more (0 turns replay off)"
        )
        #expect(
            Self.error("limits: { max_header_count: 0 }\n" + Self.spaces)
                == "spaces.yaml:1:29: 'max_header_count': must be a whole number above 0")
    }

    @Test(
        "sensitive_headers adds header names to authorization, cookie and proxy-authorization, and a file keeps them"
    )
    func sensitive() throws {
        let tree = try SpacesFile.parse(
            text: "sensitive_headers: [X-Api-Key, Cookie]\n" + Self.spaces, file: "s.yaml")
        #expect(tree.settings.sensitiveHeaders == ["x-api-key"])
        for name in ["Authorization", "cookie", "PROXY-AUTHORIZATION", "x-api-key"] {
            #expect(tree.settings.isSensitive(name), "\(name)")
        }
        #expect(!tree.settings.isSensitive("x-visible"))
        #expect(
            Self.error("sensitive_headers: [\"bad header\"]\n" + Self.spaces)
                == "spaces.yaml:1:21: 'sensitive_headers': 'bad header' is not a header name (letters, digits, '-')"
        )
        #expect(
            try SpacesFile.parse(text: SpacesFile.render(tree), file: "again.yaml").settings == tree.settings)
    }
}
