import Foundation
import SpaceportCore

/// A port bound but not listening: connections to it are refused, and no other test can take it.
public final class RefusingPort: @unchecked Sendable {
    public let address: Address
    private let fd: Int32

    public init() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        self.fd = fd
        var address4 = sockaddr_in()
        address4.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &address4.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address4) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        _ = withUnsafeMutablePointer(to: &address4) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        address = Address(host: "127.0.0.1", port: Int(UInt16(bigEndian: address4.sin_port)))
    }

    deinit { close(fd) }
}
