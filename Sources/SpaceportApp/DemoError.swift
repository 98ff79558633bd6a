import SpaceportCore

/// Why the demo could not start, as the sentence the user reads.
public enum DemoError: Error, CustomStringConvertible {
    case services(any Error)
    /// The --write file could not be written.
    case file(SpacesError)
    case proxy(any Error)

    public var description: String {
        switch self {
        case .services(let error): "the demo's services could not start: \(error)"
        case .file(let error): error.description
        case .proxy(let error): "\(error)"
        }
    }
}
