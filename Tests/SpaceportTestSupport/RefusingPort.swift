import Foundation
import SpaceportCore

/// A port bound but not listening: connections to it are refused, and no other test can take it.
public final class RefusingPort: @unchecked Sendable {
    public let address: Address
    private let fd: Int32

    public init() throws {
        // Bound but never listening: a connection to it is refused.
        fd = try Sockets.stream(AF_INET)
        address = Sockets.bindLoopback(fd)
    }

    deinit { close(fd) }
}
