import SpaceportCore

/// Where the admin listener listens and the token its clients must present. Off unless asked
/// for; on an address other machines can reach, only with a token.
public struct AdminSettings: Equatable, Sendable {
    public var address: Address
    public var token: String?

    /// `source` says where the address was given (`--admin`, or the spaces file's place), for the error.
    public init(address: Address, token: String?, source: String) throws(AdminError) {
        guard address.isLoopback || token != nil else {
            throw .exposedWithoutToken(address, source: source)
        }
        self.address = address
        self.token = token
    }
}

/// Why the admin listener cannot run. The description is the sentence a user reads.
public enum AdminError: Error, Equatable, Sendable, CustomStringConvertible {
    case exposedWithoutToken(Address, source: String)
    case cannotListen(Address, reason: String)

    public var description: String {
        switch self {
        case .exposedWithoutToken(let address, let source):
            return
                "the admin listener would listen on \(address) (\(source)), which other machines can reach, with no token: pass --admin-token-file FILE (a token only you can read), or listen on 127.0.0.1"
        case .cannotListen(let address, let reason):
            return "the admin listener cannot listen on \(address): \(reason)"
        }
    }
}
