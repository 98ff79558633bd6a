import Foundation
import SpaceportCore
import SpaceportWire

/// The right to serve one socket path: an exclusive lock on `<name>.pid` beside the
/// socket, held while the server runs. A socket file with no live holder is stale and is
/// removed; a socket that answers is never taken over, lock or no lock.
final class SocketClaim: Sendable {
    let socketPath: String
    let pidPath: String
    private let descriptor: Int32

    private init(socketPath: String, pidPath: String, descriptor: Int32) {
        self.socketPath = socketPath
        self.pidPath = pidPath
        self.descriptor = descriptor
    }

    static func acquire(socketPath: String) throws(FeedServerError) -> SocketClaim {
        let pidPath = FeedPaths.pidFile(forSocket: socketPath)
        let descriptor = try lock(pidPath, socketPath: socketPath)
        if SocketProbe.isListening(socketPath) {
            close(descriptor)
            throw .inUse(socketPath, pid: SocketProbe.helloPid(socketPath) ?? readPid(pidPath))
        }
        if unlink(socketPath) != 0 && errno != ENOENT {
            close(descriptor)
            throw .folder(socketPath, problem: "cannot remove a stale socket: \(FeedPaths.lastError())")
        }
        let text = "\(getpid())\n"
        _ = ftruncate(descriptor, 0)
        _ = text.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        return SocketClaim(socketPath: socketPath, pidPath: pidPath, descriptor: descriptor)
    }

    /// Removes the socket and pid files, then lets the lock go.
    func release() {
        unlink(socketPath)
        unlink(pidPath)
        close(descriptor)
    }

    /// Opens and locks the pid file, making sure the file locked is still the one at the path.
    private static func lock(_ pidPath: String, socketPath: String) throws(FeedServerError) -> Int32 {
        for _ in 0..<3 {
            let descriptor = open(pidPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else {
                throw .folder(pidPath, problem: "cannot open the pid file: \(FeedPaths.lastError())")
            }
            if flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
                close(descriptor)
                throw .inUse(socketPath, pid: readPid(pidPath))
            }
            var held = stat()
            var named = stat()
            if fstat(descriptor, &held) == 0 && stat(pidPath, &named) == 0 && held.st_ino == named.st_ino {
                return descriptor
            }
            close(descriptor)
        }
        throw .folder(pidPath, problem: "the pid file keeps changing under us")
    }

    private static func readPid(_ path: String) -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// Plain blocking socket calls for the one-off check at start-up, before any event loop serves.
enum SocketProbe {
    /// True when something accepts connections on the Unix socket at `path`.
    static func isListening(_ path: String) -> Bool {
        guard let descriptor = connected(path) else { return false }
        close(descriptor)
        return true
    }

    /// The pid from the `hello` a live feed sends first, waiting at most a second.
    static func helloPid(_ path: String) -> Int? {
        guard let descriptor = connected(path) else { return nil }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !bytes.contains(UInt8(ascii: "\n")) && bytes.count < 65536 {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            bytes += chunk[0..<count]
        }
        guard let end = bytes.firstIndex(of: UInt8(ascii: "\n")),
            case .hello(let hello)? = try? FeedEvent.decode(
                line: String(decoding: bytes[..<end], as: UTF8.self))
        else { return nil }
        return hello.pid
    }

    private static func connected(_ path: String) -> Int32? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        #if canImport(Glibc)
            let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
            let descriptor = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { return nil }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            close(descriptor)
            return nil
        }
        return descriptor
    }
}
