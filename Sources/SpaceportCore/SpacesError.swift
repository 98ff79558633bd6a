/// Everything that can be wrong with a tree of spaces or its file. The description is
/// the sentence a user reads: what, where, and what to do.
public enum SpacesError: Error, Equatable, Sendable, CustomStringConvertible {
    case badName(String, problem: String, at: SourceLocation?)
    case unknownParent(space: String, parent: String, at: SourceLocation?)
    case cycle([String], at: SourceLocation?)
    case tooDeep(space: String, chain: [String], at: SourceLocation?)
    case duplicateSpace(String, at: SourceLocation?)
    case duplicateService(space: String, first: String, second: String, at: SourceLocation?)
    case badAddress(AddressError, at: SourceLocation?)
    case wrongType(key: String, expected: String, at: SourceLocation?)
    case unknownKey(String, allowed: [String], at: SourceLocation?)
    case missingKey(String, in: String, at: SourceLocation?)
    case badValue(key: String, problem: String, at: SourceLocation?)
    case syntax(String, at: SourceLocation?)
    case unknownSpace(String)
    case unknownService(space: String, service: String)
    case spaceExists(String)
    case hasChildren(space: String, children: [String])
    case io(String)

    public var location: SourceLocation? {
        switch self {
        case .badName(_, _, let at), .unknownParent(_, _, let at), .cycle(_, let at),
            .tooDeep(_, _, let at), .duplicateSpace(_, let at), .duplicateService(_, _, _, let at),
            .badAddress(_, let at), .wrongType(_, _, let at), .unknownKey(_, _, let at),
            .missingKey(_, _, let at), .badValue(_, _, let at), .syntax(_, let at):
            return at
        case .unknownSpace, .unknownService, .spaceExists, .hasChildren, .io:
            return nil
        }
    }

    public var message: String {
        switch self {
        case .badName(let name, let problem, _):
            return "bad name '\(Printable.clip(name))': \(problem)"
        case .unknownParent(let space, let parent, _):
            return
                "space '\(space)' names parent '\(Printable.clip(parent))', which is not a space here; create it or fix the name"
        case .cycle(let chain, _):
            return "spaces form a cycle (\(chain.joined(separator: " → "))); one of them must be a root"
        case .tooDeep(let space, let chain, _):
            return
                "space '\(space)' would be a fourth level (\(chain.joined(separator: " → "))); spaces go at most root → child → grandchild"
        case .duplicateSpace(let name, _):
            return "space '\(name)' is defined twice; keep one"
        case .duplicateService(let space, let first, let second, _):
            return
                "space '\(space)' has both '\(first)' and '\(second)': service names match without case, so keep one"
        case .badAddress(let error, _):
            return error.description
        case .wrongType(let key, let expected, _):
            return "'\(key)' must be \(expected)"
        case .unknownKey(let key, let allowed, _):
            return
                "unknown key '\(Printable.clip(key))'; expected one of: \(allowed.joined(separator: ", "))"
        case .missingKey(let key, let owner, _):
            return "\(owner) needs '\(key)'"
        case .badValue(let key, let problem, _):
            return "'\(key)': \(problem)"
        case .syntax(let problem, _):
            return "not valid YAML: \(problem)"
        case .unknownSpace(let name):
            return "there is no space '\(Printable.clip(name))'; `spaceport tree` lists them"
        case .unknownService(let space, let service):
            return
                "space '\(space)' has no instance of '\(Printable.clip(service))'; give it one with `spaceport service set \(space) \(service) --upstream HOST:PORT`"
        case .spaceExists(let name):
            return "space '\(name)' exists already; pick another name"
        case .hasChildren(let space, let children):
            return
                "space '\(space)' has children (\(children.joined(separator: ", "))); delete them first or pass --recursive"
        case .io(let problem):
            return problem
        }
    }

    public var description: String {
        if let location { return "\(location): \(message)" }
        return message
    }
}
