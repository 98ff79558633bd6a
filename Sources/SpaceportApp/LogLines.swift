import Foundation
import Logging
import SpaceportCore
import SpaceportProxy
import SpaceportWire

/// How log lines are written: `text` for a person (`<time> <level> spaceport: <message>`), `json`
/// for a log pipeline (one object a line; a hop's line carries the hop as the feed has it).
public enum LogFormat: String, CaseIterable, Sendable {
    case text, json
}

/// The format and level of a command's log lines: from its flags, else the environment
/// (`SPACEPORT_LOG_FORMAT`, `SPACEPORT_LOG_LEVEL`), else text at `fallbackLevel`.
public struct LogSettings: Equatable, Sendable {
    public static let formatVariable = "SPACEPORT_LOG_FORMAT"
    public static let levelVariable = "SPACEPORT_LOG_LEVEL"

    public var format: LogFormat
    /// Nil when neither a flag nor the environment names one: the command chooses.
    public var level: Logger.Level?

    public init(format: LogFormat = .text, level: Logger.Level? = nil) {
        self.format = format
        self.level = level
    }

    /// Flags win over the environment; a value that names no format or level is refused with the ones that do.
    public static func resolve(
        format: String?, level: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(LogSettingsError) -> LogSettings {
        /// The flag's value, else the variable's, with where it came from.
        func given(_ flag: String?, _ option: String, _ variable: String) -> (value: String, source: String)?
        {
            if let flag { return (flag, option) }
            guard let value = environment[variable], !value.isEmpty else { return nil }
            return (value, "$\(variable)")
        }
        var settings = LogSettings()
        if let (value, source) = given(format, "--log-format", formatVariable) {
            guard let parsed = LogFormat(rawValue: value.lowercased()) else {
                throw .badFormat(value, source: source)
            }
            settings.format = parsed
        }
        if let (value, source) = given(level, "--log-level", levelVariable) {
            guard let parsed = Logger.Level(rawValue: value.lowercased()) else {
                throw .badLevel(value, source: source)
            }
            settings.level = parsed
        }
        return settings
    }
}

public enum LogSettingsError: Error, Equatable, CustomStringConvertible {
    case badFormat(String, source: String)
    case badLevel(String, source: String)

    public var description: String {
        switch self {
        case .badFormat(let value, let source):
            return
                "\(source): '\(Printable.clip(value))' is no log format; use \(LogFormat.allCases.map(\.rawValue).joined(separator: " or "))"
        case .badLevel(let value, let source):
            return
                "\(source): '\(Printable.clip(value))' is no log level; use one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))"
        }
    }
}

/// Writes the log lines of every logger in the process, whichever module logs, in one format,
/// under the one label (`SpaceportLog.label`).
public struct LogLineHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    private let format: LogFormat
    private let label: String
    private let write: @Sendable (String) -> Void

    public init(
        label: String = SpaceportLog.label, format: LogFormat, level: Logger.Level = .info,
        write: @escaping @Sendable (String) -> Void = LogLineHandler.standardError
    ) {
        self.label = label
        self.format = format
        self.logLevel = level
        self.write = write
    }

    public static let standardError: @Sendable (String) -> Void = { line in
        try? FileHandle.standardError.write(contentsOf: Data(line.utf8))
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var fields = metadata
        if let more = event.metadata { fields.merge(more) { $1 } }
        write(Self.line(event.level, "\(event.message)", fields, label: label, format: format, at: Date.now))
    }

    /// One line, newline included.
    public static func line(
        _ level: Logger.Level, _ message: String, _ fields: Logger.Metadata, label: String, format: LogFormat,
        at time: Date
    ) -> String {
        // A hop's line: its message already says it in words, and JSON carries the hop itself.
        var hop: HopEvent?
        var rest = fields
        if case .stringConvertible(let value)? = fields[HopLogSink.hopKey], let logged = value as? LoggedHop {
            hop = logged.hop
            rest[HopLogSink.hopKey] = nil
        }
        switch format {
        case .text:
            let extra = rest.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
            return "\(time.ISO8601Format()) \(level) \(label): \(message)\(extra)\n"
        case .json:
            var members = [
                ("time", quoted(EventTime.format(time))), ("level", quoted(level.rawValue)),
                ("label", quoted(label)),
                ("message", quoted(message)),
            ]
            for (key, value) in rest.sorted(by: { $0.key < $1.key }) { members.append((key, json(value))) }
            if let hop {
                members.append(("hop", FeedEvent.hop(hop).jsonLine().trimmingCharacters(in: .newlines)))
            }
            return "{" + members.map { "\(quoted($0.0)):\($0.1)" }.joined(separator: ",") + "}\n"
        }
    }

    private static func json(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): return quoted(text)
        case .stringConvertible(let convertible): return quoted(convertible.description)
        case .array(let values): return "[" + values.map(json).joined(separator: ",") + "]"
        case .dictionary(let members):
            return "{"
                + members.sorted { $0.key < $1.key }.map { "\(quoted($0.key)):\(json($0.value))" }
                .joined(separator: ",") + "}"
        }
    }

    private static func quoted(_ text: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        guard let data = try? encoder.encode(text) else { return "\"\"" }
        return String(decoding: data, as: UTF8.self)
    }
}
