import Foundation

/// A line a feed client sends: `{"cmd": "...", "id": "...", ...}`.
public enum FeedCommand: Equatable, Sendable {
    case auth(token: String)
    case edit(id: String?, SpaceEdit)
    /// From now on, a hop that has ended by the time its start would be sent arrives as its
    /// end alone, which carries every field the start did. For readers that merge the two
    /// phases anyway (the dashboard): half the lines under load.
    case coalesceHops(id: String?)
    /// From now on, at most `perSecond` hops a second, and a `tally` of every hop (sent or
    /// not) four times a second while hops flow: exact counts at any rate, and a sample to read.
    case sampleHops(id: String?, perSecond: Int)

    public static let names = [
        "auth", "override", "set-upstream", "remove-service", "create-space", "delete-space", "coalesce-hops",
        "sample-hops",
    ]

    /// The range `sample-hops` takes.
    public static let sampleRates = 1...1_000_000

    /// The line for a command, newline included.
    public func jsonLine() -> String {
        var object: [String: Any] = [:]
        switch self {
        case .auth(let token):
            object = ["cmd": "auth", "token": token]
        case .coalesceHops(let id):
            object = ["cmd": "coalesce-hops"]
            if let id { object["id"] = id }
        case .sampleHops(let id, let perSecond):
            object = ["cmd": "sample-hops", "perSecond": perSecond]
            if let id { object["id"] = id }
        case .edit(let id, let edit):
            switch edit {
            case .override(let space, let service, let enabled):
                object = ["cmd": "override", "space": space, "service": service, "enabled": enabled]
            case .setUpstream(let space, let service, let upstream):
                object = [
                    "cmd": "set-upstream", "space": space, "service": service,
                    "upstream": upstream.description,
                ]
            case .removeInstance(let space, let service):
                object = ["cmd": "remove-service", "space": space, "service": service]
            case .createSpace(let name, let parent):
                object = ["cmd": "create-space", "name": name]
                if let parent { object["parent"] = parent }
            case .deleteSpace(let name, let recursive):
                object = ["cmd": "delete-space", "name": name, "recursive": recursive]
            }
            if let id { object["id"] = id }
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Parses one line; the error says what is wrong and carries the command's id when known.
    public static func decode(line: some StringProtocol) throws(FeedCommandError) -> FeedCommand {
        let raw: RawCommand
        do {
            raw = try JSONDecoder().decode(RawCommand.self, from: Data(String(line).utf8))
        } catch let error as FeedCommandError {
            throw error
        } catch {
            throw FeedCommandError(
                id: nil,
                message: "not a JSON object; send one command per line, as {\"cmd\":\"override\",...}")
        }
        return try raw.command()
    }
}

/// The loose shape of a command line, checked field by field so errors can name the field.
private struct RawCommand: Decodable {
    var fields: [String: Field] = [:]
    var id: String?

    enum Field {
        case string(String)
        case bool(Bool)
        case number(Double)
        case null
        case other
    }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        for key in c.allKeys {
            if (try? c.decodeNil(forKey: key)) == true {
                fields[key.stringValue] = .null
            } else if let value = try? c.decode(Bool.self, forKey: key) {
                fields[key.stringValue] = .bool(value)
            } else if let value = try? c.decode(String.self, forKey: key) {
                fields[key.stringValue] = .string(value)
            } else if let value = try? c.decode(Double.self, forKey: key) {
                fields[key.stringValue] = .number(value)
            } else {
                fields[key.stringValue] = .other
            }
        }
        switch fields["id"] {
        case .string(let text): id = text
        case .number(let number):
            id = number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case nil, .null: id = nil
        default: throw FeedCommandError(id: nil, message: "'id' must be a string or a number")
        }
    }

    func string(_ key: String) throws(FeedCommandError) -> String {
        guard case .string(let value) = fields[key] else {
            throw FeedCommandError(id: id, message: "'\(key)' must be a string")
        }
        return value
    }

    func bool(_ key: String, default fallback: Bool? = nil) throws(FeedCommandError) -> Bool {
        if fields[key] == nil, let fallback { return fallback }
        guard case .bool(let value) = fields[key] else {
            throw FeedCommandError(id: id, message: "'\(key)' must be true or false")
        }
        return value
    }

    func command() throws(FeedCommandError) -> FeedCommand {
        let names = FeedCommand.names.joined(separator: ", ")
        guard case .string(let cmd) = fields["cmd"] else {
            throw FeedCommandError(id: id, message: "'cmd' is missing; expected one of: \(names)")
        }
        switch cmd {
        case "auth":
            return .auth(token: try string("token"))
        case "override":
            return .edit(
                id: id,
                .override(
                    space: try string("space"), service: try string("service"), enabled: try bool("enabled")))
        case "set-upstream":
            let text = try string("upstream")
            let upstream: Address
            do {
                upstream = try Address(parsing: text)
            } catch {
                throw FeedCommandError(id: id, message: error.description)
            }
            return .edit(
                id: id,
                .setUpstream(space: try string("space"), service: try string("service"), upstream: upstream))
        case "remove-service":
            return .edit(id: id, .removeInstance(space: try string("space"), service: try string("service")))
        case "create-space":
            let name = try string("name")
            if let problem = Names.problem(with: name) {
                throw FeedCommandError(id: id, message: "bad space name: \(problem)")
            }
            var parent: String? = nil
            if case .string(let value) = fields["parent"] {
                parent = value
            } else if fields["parent"] != nil, case .null = fields["parent"]! {
                parent = nil
            } else if fields["parent"] != nil {
                throw FeedCommandError(id: id, message: "'parent' must be a string or null")
            }
            return .edit(id: id, .createSpace(name: name, parent: parent))
        case "coalesce-hops":
            return .coalesceHops(id: id)
        case "sample-hops":
            let range = FeedCommand.sampleRates
            guard case .number(let rate) = fields["perSecond"], rate == rate.rounded(),
                Double(range.lowerBound) <= rate, rate <= Double(range.upperBound)
            else {
                throw FeedCommandError(
                    id: id,
                    message:
                        "'perSecond' must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return .sampleHops(id: id, perSecond: Int(rate))
        case "delete-space":
            return .edit(
                id: id,
                .deleteSpace(name: try string("name"), recursive: try bool("recursive", default: false)))
        default:
            throw FeedCommandError(
                id: id, message: "unknown command '\(Printable.clip(cmd))'; expected one of: \(names)")
        }
    }
}

public struct FeedCommandError: Error, Equatable, Sendable, CustomStringConvertible {
    public var id: String?
    public var message: String
    public var description: String { message }
}
