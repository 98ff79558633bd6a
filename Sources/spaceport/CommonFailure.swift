import ArgumentParser
import Foundation
import SpaceportCore

/// How a command ends badly: one line on stderr that says what, where and what to do.
enum CommandFailure {
    /// Prints `spaceport: error: <message>` and returns the exit code to throw (1).
    static func report(_ message: String) -> ExitCode {
        write("spaceport: error: \(message)")
        return .failure
    }

    /// The same for a mistake in the command line itself, with the usage exit code (64).
    static func usage(_ message: String) -> ExitCode {
        write("spaceport: error: \(message)")
        return .validationFailure
    }

    /// A line on stderr that is not an error: something the user should know.
    static func note(_ message: String) {
        write("spaceport: note: \(message)")
    }

    /// Ends the process for an error that reached `main`: help and the version as
    /// argument-parser prints them, a failure already reported with its own exit code, and
    /// anything else as one `spaceport: error:` line; a command line that is wrong gets one
    /// line more, naming the help to read.
    static func exit(with error: any Error, arguments: [String], root: any ParsableCommand.Type) -> Never {
        let code = root.exitCode(for: error)
        if code == .success || root.fullMessage(for: error).isEmpty { root.exit(withError: error) }
        let named = CommandPath(arguments: arguments, root: root)
        if code == .validationFailure, let unknown = named.unknownSubcommand {
            var message = "'\(Printable.clip(unknown))' is not a \(named.name) command"
            let nearest = NearestNames.nearest(to: unknown, among: named.subcommands)
            if !nearest.isEmpty { message += "; did you mean \(NearestNames.list(nearest))?" }
            write("spaceport: error: \(message)")
        } else {
            let lines = root.message(for: error).split(whereSeparator: \.isNewline)
            var message = lines.map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
            if message.hasPrefix("Error: ") { message.removeFirst("Error: ".count) }
            // argument-parser's sentences start with a capital ("Missing expected argument"); ours do not.
            if let first = message.first, first.isUppercase, message.dropFirst().first?.isLowercase == true {
                message = first.lowercased() + message.dropFirst()
            }
            write("spaceport: error: \(message)")
        }
        if code == .validationFailure { write("see '\(named.name) --help'") }
        Foundation.exit(code.rawValue)
    }

    /// A stderr that cannot be written (closed, or a full disk) must not crash the command.
    private static func write(_ line: String) {
        try? FileHandle.standardError.write(contentsOf: Data((line + "\n").utf8))
    }
}

/// The subcommand a command line names (`spaceport space create`), read the way
/// argument-parser reads it: each word that names a subcommand of the one before.
struct CommandPath {
    /// `spaceport`, `spaceport space`, ...
    var name: String
    /// The visible subcommands of the command named, for "did you mean".
    var subcommands: [String]
    /// The word where a subcommand was expected and none has that name.
    var unknownSubcommand: String?

    init(arguments: [String], root: any ParsableCommand.Type) {
        var command = root
        var words = [root.configuration.commandName ?? "spaceport"]
        var rest = arguments[...]
        while let word = rest.first, !word.hasPrefix("-"), let next = Self.subcommand(word, of: command) {
            command = next
            words.append(word)
            rest = rest.dropFirst()
        }
        name = words.joined(separator: " ")
        var visible: [String] = []
        for subcommand in command.configuration.subcommands where subcommand.configuration.shouldDisplay {
            if let name = subcommand.configuration.commandName { visible.append(name) }
        }
        subcommands = visible
        if !visible.isEmpty, let word = rest.first, !word.hasPrefix("-"), word != "help" {
            unknownSubcommand = word
        }
    }

    private static func subcommand(_ word: String, of command: any ParsableCommand.Type)
        -> (any ParsableCommand.Type)?
    {
        for subcommand in command.configuration.subcommands where subcommand.configuration.commandName == word
        {
            return subcommand
        }
        return nil
    }
}
