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
    /// Send the request hop `hop` kept again through the proxy, routed as `space`, as a new hop
    /// marked a replay of it; answered once its response begins.
    case replay(id: String?, hop: String, space: String)
    /// The request hop `hop` kept, answered with a `request` event that leaves out the values
    /// of sensitive fields.
    case request(id: String?, hop: String)

    public static let names = [
        "auth", "override", "set-upstream", "remove-service", "create-space", "delete-space", "coalesce-hops",
        "sample-hops", "replay", "request",
    ]

    /// The range `sample-hops` takes.
    public static let sampleRates = 1...1_000_000
}

/// A command's line, written and read with Codable: `cmd` names it, each field is checked as it
/// is read, and an error names the field and what it must be, with the command's `id` when known.
extension FeedCommand: Codable {
    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ name: String) { stringValue = name }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        func put(_ name: String, _ value: some Encodable) throws { try c.encode(value, forKey: Key(name)) }
        func put(id: String?) throws { if let id { try put("id", id) } }
        switch self {
        case .auth(let token):
            try put("cmd", "auth")
            try put("token", token)
        case .coalesceHops(let id):
            try put("cmd", "coalesce-hops")
            try put(id: id)
        case .sampleHops(let id, let perSecond):
            try put("cmd", "sample-hops")
            try put("perSecond", perSecond)
            try put(id: id)
        case .replay(let id, let hop, let space):
            try put("cmd", "replay")
            try put("hop", hop)
            try put("space", space)
            try put(id: id)
        case .request(let id, let hop):
            try put("cmd", "request")
            try put("hop", hop)
            try put(id: id)
        case .edit(let id, let edit):
            switch edit {
            case .override(let space, let service, let enabled):
                try put("cmd", "override")
                try put("space", space)
                try put("service", service)
                try put("enabled", enabled)
            case .setUpstream(let space, let service, let upstream):
                try put("cmd", "set-upstream")
                try put("space", space)
                try put("service", service)
                try put("upstream", upstream.description)
            case .removeInstance(let space, let service):
                try put("cmd", "remove-service")
                try put("space", space)
                try put("service", service)
            case .createSpace(let name, let parent):
                try put("cmd", "create-space")
                try put("name", name)
                if let parent { try put("parent", parent) }
            case .deleteSpace(let name, let recursive):
                try put("cmd", "delete-space")
                try put("name", name)
                try put("recursive", recursive)
            }
            try put(id: id)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        let id = try Self.id(c)
        func text(_ name: String) throws -> String {
            guard let value = try? c.decode(String.self, forKey: Key(name)) else {
                throw FeedCommandError(id: id, message: "'\(name)' must be a string")
            }
            return value
        }
        func flag(_ name: String, default fallback: Bool? = nil) throws -> Bool {
            if let fallback, !c.contains(Key(name)) { return fallback }
            guard let value = try? c.decode(Bool.self, forKey: Key(name)) else {
                throw FeedCommandError(id: id, message: "'\(name)' must be true or false")
            }
            return value
        }
        let names = FeedCommand.names.joined(separator: ", ")
        guard let cmd = try? c.decode(String.self, forKey: Key("cmd")) else {
            throw FeedCommandError(id: id, message: "'cmd' is missing; expected one of: \(names)")
        }
        switch cmd {
        case "auth":
            self = .auth(token: try text("token"))
        case "override":
            self = .edit(
                id: id,
                .override(
                    space: try text("space"), service: try text("service"), enabled: try flag("enabled")))
        case "set-upstream":
            let upstream: Address
            do {
                upstream = try Address(parsing: try text("upstream"))
            } catch let error as AddressError {
                throw FeedCommandError(id: id, message: error.description)
            }
            self = .edit(
                id: id,
                .setUpstream(space: try text("space"), service: try text("service"), upstream: upstream))
        case "remove-service":
            self = .edit(id: id, .removeInstance(space: try text("space"), service: try text("service")))
        case "create-space":
            let name = try text("name")
            if let problem = Names.problem(with: name) {
                throw FeedCommandError(id: id, message: "bad space name: \(problem)")
            }
            var parent: String? = nil
            if c.contains(Key("parent")), try !c.decodeNil(forKey: Key("parent")) {
                guard let value = try? c.decode(String.self, forKey: Key("parent")) else {
                    throw FeedCommandError(id: id, message: "'parent' must be a string or null")
                }
                parent = value
            }
            self = .edit(id: id, .createSpace(name: name, parent: parent))
        case "delete-space":
            self = .edit(
                id: id, .deleteSpace(name: try text("name"), recursive: try flag("recursive", default: false))
            )
        case "coalesce-hops":
            self = .coalesceHops(id: id)
        case "sample-hops":
            let range = FeedCommand.sampleRates
            guard let rate = try? c.decode(Double.self, forKey: Key("perSecond")), rate == rate.rounded(),
                Double(range.lowerBound) <= rate, rate <= Double(range.upperBound)
            else {
                throw FeedCommandError(
                    id: id,
                    message:
                        "'perSecond' must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            self = .sampleHops(id: id, perSecond: Int(rate))
        case "replay":
            let space = try text("space")
            if let problem = Names.problem(with: space) {
                throw FeedCommandError(id: id, message: "bad space name: \(problem)")
            }
            self = .replay(id: id, hop: try text("hop"), space: space)
        case "request":
            self = .request(id: id, hop: try text("hop"))
        default:
            throw FeedCommandError(
                id: id, message: "unknown command '\(Printable.clip(cmd))'; expected one of: \(names)")
        }
    }

    /// A command's `id`: a string, or a number written as the client wrote it (a whole one without `.0`).
    private static func id(_ c: KeyedDecodingContainer<Key>) throws -> String? {
        let key = Key("id")
        guard c.contains(key), try !c.decodeNil(forKey: key) else { return nil }
        if let text = try? c.decode(String.self, forKey: key) { return text }
        if let number = try? c.decode(Double.self, forKey: key) {
            return number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        }
        throw FeedCommandError(id: nil, message: "'id' must be a string or a number")
    }
}

public struct FeedCommandError: Error, Equatable, Sendable, CustomStringConvertible {
    public var id: String?
    public var message: String
    public var description: String { message }

    public init(id: String?, message: String) {
        self.id = id
        self.message = message
    }
}
