import ArgumentParser
import Logging
import SpaceportApp
import SpaceportCore

/// `--log-format` and `--log-level`, as the commands that log to stderr take them.
struct LogOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "text (a line for a person) or json (an object a line, for a log pipeline; default: $SPACEPORT_LOG_FORMAT, else text).",
            valueName: "format"))
    var logFormat: String?

    @Option(
        help: ArgumentHelp(
            "The least level logged: trace, debug, info, notice, warning, error or critical (default: $SPACEPORT_LOG_LEVEL, else info).",
            valueName: "level"))
    var logLevel: String?

    func validate() throws {
        do {
            _ = try LogSettings.resolve(format: logFormat, level: logLevel)
        } catch {
            throw ValidationError(error.description)
        }
    }

    var settings: LogSettings {
        (try? LogSettings.resolve(format: logFormat, level: logLevel)) ?? LogSettings()
    }
}

/// Log lines as the commands write them on stderr, in the format and from the level the
/// settings give, under the one label whichever module logs.
enum CommandLogHandler {
    /// Sends every logger of this process through the handler; once, before the first log line.
    static func bootstrap(_ settings: LogSettings, level fallback: Logger.Level = .info) {
        LoggingSystem.bootstrap { _ in
            LogLineHandler(format: settings.format, level: settings.level ?? fallback)
        }
    }

    /// The environment's settings, for a command without the flags.
    static func bootstrap() {
        bootstrap((try? LogSettings.resolve(format: nil, level: nil)) ?? LogSettings())
    }
}
