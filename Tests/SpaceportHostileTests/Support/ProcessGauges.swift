import Foundation

/// What the system says, from /proc, about the test process (which holds the proxy under test)
/// or about a proxy running as a process of its own.
enum ProcessGauges {
    /// TCP sockets some process still holds (not listening, not in TIME_WAIT) with the given
    /// local or remote port, from /proc/net/tcp{,6}. Tests run in parallel in one process, so
    /// counting a test's own ports is exact where counting descriptors would not be.
    static func tcpSockets(localPort: Int? = nil, remotePort: Int? = nil) -> Int {
        var count = 0
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            guard let text = procText(table) else { continue }
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ")
                guard fields.count > 9, fields[3] != "0A", fields[9] != "0" else { continue }
                let local = fields[1].split(separator: ":").last.flatMap { Int($0, radix: 16) }
                let remote = fields[2].split(separator: ":").last.flatMap { Int($0, radix: 16) }
                if let localPort, local != localPort { continue }
                if let remotePort, remote != remotePort { continue }
                count += 1
            }
        }
        return count
    }

    /// Waits until at most `limit` sockets match; returns the last count seen. A socket goes
    /// away a moment after its peer sees the close, so this polls.
    static func tcpSockets(
        localPort: Int? = nil, remotePort: Int? = nil, settleAtOrBelow limit: Int, seconds: Double = 30
    ) async -> Int {
        var count = tcpSockets(localPort: localPort, remotePort: remotePort)
        let deadline = Date().addingTimeInterval(seconds)
        while count > limit && Date() < deadline {
            try? await Task.sleep(for: .milliseconds(50))
            count = tcpSockets(localPort: localPort, remotePort: remotePort)
        }
        return count
    }

    /// A /proc file read to its end: they report a size of zero, so reading by size stops short.
    static func procText(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Resident memory in bytes, of this process or of the one with the given id.
    static func residentBytes(of pid: Int32? = nil) -> Int {
        guard let status = procText("/proc/\(pid.map(String.init) ?? "self")/status"),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Int(line.split(separator: " ")[1])
        else { return 0 }
        return kilobytes * 1024
    }

    /// Raises the soft descriptor limit to the hard one (or `wanted`, if lower); returns the new soft limit.
    @discardableResult
    static func raiseDescriptorLimit(to wanted: Int) -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 0 }
        let target = min(rlim_t(wanted), limit.rlim_max)
        if limit.rlim_cur < target {
            limit.rlim_cur = target
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
            getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
        return Int(limit.rlim_cur)
    }
}

/// Polls `condition` until it holds; fails after a generous bound instead of hanging.
func eventually(
    _ what: String, seconds: Double = 60, _ condition: @escaping @Sendable () async -> Bool
) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TestFailure("timed out waiting for \(what)")
}
