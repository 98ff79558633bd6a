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
    case tooLarge(file: String, bytes: Int?)
    case tooManySpaces(at: SourceLocation?)
    case tooManyServices(space: String, at: SourceLocation?)
    /// A listener's address that another listener of the tree (or the ingress) has already.
    case listenerClash(
        Address, listener: String, other: String, otherAt: SourceLocation?, at: SourceLocation?)
    case unknownDefaultSpace(String, at: SourceLocation?)
    case deletesDefaultSpace(String)
    case unknownSpace(String)
    case unknownService(space: String, service: String)
    case spaceExists(String)
    case hasChildren(space: String, children: [String])
    case io(String)
    /// The tree's source (a cluster) refused an edit; the sentence says why and what to do.
    case refusedBySource(String)

    public var location: SourceLocation? {
        switch self {
        case .badName(_, _, let at), .unknownParent(_, _, let at), .cycle(_, let at),
            .tooDeep(_, _, let at), .duplicateSpace(_, let at), .duplicateService(_, _, _, let at),
            .badAddress(_, let at), .wrongType(_, _, let at), .unknownKey(_, _, let at),
            .missingKey(_, _, let at), .badValue(_, _, let at), .syntax(_, let at), .tooManySpaces(let at),
            .tooManyServices(_, let at), .listenerClash(_, _, _, _, let at), .unknownDefaultSpace(_, let at):
            return at
        case .tooLarge, .deletesDefaultSpace, .unknownSpace, .unknownService, .spaceExists, .hasChildren, .io,
            .refusedBySource:
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
        case .tooLarge(let file, let bytes):
            let size = bytes.map { "is \($0) bytes" } ?? "is larger than that"
            return
                "\(file): \(size); a spaces file may hold at most \(SpacesFile.maxBytes) bytes (4 MiB); remove the spaces no one uses"
        case .tooManySpaces:
            return
                "more than \(SpaceTree.maxSpaces) spaces; a spaces file holds at most \(SpaceTree.maxSpaces), so delete the ones no one uses"
        case .tooManyServices(let space, _):
            return
                "space '\(space)' has more than \(SpaceTree.maxServicesPerSpace) services, the most a space holds; remove some"
        case .listenerClash(let address, let listener, let other, let otherAt, _):
            let there = otherAt.map { " (line \($0.line))" } ?? ""
            return
                "\(listener) is \(address), which is already \(other)\(there); two listeners cannot share an address, so give each its own"
        case .unknownDefaultSpace(let name, _):
            return
                "default_space names '\(Printable.clip(name))', which is not a space here; create it or fix the name"
        case .deletesDefaultSpace(let name):
            return
                "space '\(name)' is the default_space; point default_space at another space before deleting it"
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
        case .io(let problem), .refusedBySource(let problem):
            return problem
        }
    }

    public var description: String {
        if let location { return "\(location): \(message)" }
        return message
    }

    /// The error as a user reads it about `file`: named once, by the error itself when it
    /// already names it (a location, or a problem with the file as a whole).
    public func described(in file: String?) -> String {
        switch self {
        case .io, .tooLarge, .refusedBySource: return description
        default:
            guard location == nil, let file else { return description }
            return "\(file): \(description)"
        }
    }
}
