import ArgumentParser
import Foundation

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

    /// A stderr that cannot be written (closed, or a full disk) must not crash the command.
    private static func write(_ line: String) {
        try? FileHandle.standardError.write(contentsOf: Data((line + "\n").utf8))
    }
}
