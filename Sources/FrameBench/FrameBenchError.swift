import SpaceportDashboard
import SpaceportTerminal

/// Why a frame-bench run measured nothing, as the sentence the user reads.
enum FrameBenchError: Error, CustomStringConvertible {
    case nothingDrawn(Size)
    case terminal(TerminalError)
    case terminalTooSmall(Size)
    case interrupted(after: Int, of: Int)
    case cannotWrite(String, reason: String)

    var description: String {
        switch self {
        case .nothingDrawn(let size): "the dashboard drew no hop pane at \(size); nothing was measured"
        case .terminal(let error): "--terminal: \(error.description)"
        case .terminalTooSmall(let size):
            "this terminal is \(size), below the dashboard's minimum of \(Layout.minimum); enlarge it"
        case .interrupted(let done, let asked): "interrupted after \(done) of \(asked) frames"
        case .cannotWrite(let path, let reason): "could not write \(path): \(reason)"
        }
    }
}
