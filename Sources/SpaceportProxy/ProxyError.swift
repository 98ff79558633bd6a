import SpaceportCore

/// What can stop the proxy from starting; the description is the sentence a user reads.
public enum ProxyError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A listener could not bind its address.
    case cannotListen(listener: String, address: Address, reason: String)
    case notStartable(String)

    public var description: String {
        switch self {
        case .cannotListen(let listener, let address, let reason):
            let hint = reason.contains("in use") ? "; stop what holds it or pick another address" : ""
            return "cannot listen on \(address) for \(listener): \(reason)\(hint)"
        case .notStartable(let reason):
            return reason
        }
    }
}
