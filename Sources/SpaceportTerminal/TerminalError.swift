/// Why the dashboard could not take over the terminal, as the sentence the user reads.
public enum TerminalError: Error, Equatable, Sendable, CustomStringConvertible {
    case noTerminalType
    case dumbTerminal
    case notATerminal
    case cannotStart(term: String)

    public var description: String { explanation(instead: "use `spaceport tail` to read hops as text") }

    /// The sentence, with what to run instead when a command has its own way without curses.
    public func explanation(instead alternative: String) -> String {
        switch self {
        case .noTerminalType:
            return
                "TERM is not set, so the dashboard cannot draw; run it in a terminal (for example TERM=xterm-256color), or \(alternative)"
        case .dumbTerminal:
            return "TERM=dumb cannot draw the dashboard; run it in a full terminal, or \(alternative)"
        case .notATerminal:
            return "the dashboard needs a terminal on standard input and output; \(alternative)"
        case .cannotStart(let term):
            return
                "curses could not start on TERM=\(term): is the terminal type known here (see `infocmp \(term)`)?"
        }
    }

    /// Checks the environment before curses touches the screen, so a bad TERM gives a
    /// sentence instead of a garbled screen.
    public static func check(environment: [String: String], isTerminal: Bool) throws(TerminalError) {
        guard let term = environment["TERM"], !term.isEmpty else { throw .noTerminalType }
        if term == "dumb" { throw .dumbTerminal }
        if !isTerminal { throw .notATerminal }
    }
}
