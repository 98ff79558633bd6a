import Foundation
import SpaceportCore

/// Plain socket calls the tests' own clients and ports share.
public enum Sockets {
    /// A new stream socket, close-on-exec: a tmux or curl another suite starts meanwhile must
    /// not inherit it and hold it open after the test closes it.
    public static func stream(_ family: Int32) throws -> Int32 {
        let fd = socket(family, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("cannot open a socket: \(String(cString: strerror(errno)))") }
        return fd
    }

    /// Reads and writes give up after `seconds`; `receiveBuffer` shrinks the receive buffer, so
    /// a client that stops reading pushes back at once.
    public static func configure(_ fd: Int32, timeoutSeconds: Int, receiveBuffer: Int32? = nil) {
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Binds `fd` to a free port on 127.0.0.1, listening with `backlog` unless it is nil, and
    /// returns the address.
    public static func bindLoopback(_ fd: Int32, listening backlog: Int32? = nil) -> Address {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        if let backlog { listen(fd, backlog) }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Address(host: "127.0.0.1", port: Int(UInt16(bigEndian: address.sin_port)))
    }

    /// Sends all of `bytes`, or throws what stopped it (a closed or reset peer, a timeout).
    public static func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            guard count > 0 else { throw TestFailure("send failed: \(String(cString: strerror(errno)))") }
            sent += count
        }
    }
}
