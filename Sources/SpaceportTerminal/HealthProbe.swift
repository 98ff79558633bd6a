import Foundation
import Glibc
import SpaceportDashboard

/// The services pane's health column: every few seconds, a TCP connect to each upstream
/// (host:port), on a thread of its own, reported to the dashboard as `.health`.
public final class HealthProbe: @unchecked Sendable {
    private let inbox: DashboardInbox
    private let intervalSeconds: Double
    private let timeoutMs: Int32
    private let lock = NSLock()
    private var targets: Set<String> = []
    private var stopped = false
    private let wake = DispatchSemaphore(value: 0)

    public init(inbox: DashboardInbox, intervalSeconds: Double = 2, timeoutMs: Int32 = 300) {
        self.inbox = inbox
        self.intervalSeconds = intervalSeconds
        self.timeoutMs = timeoutMs
    }

    /// The upstreams to check from now on; a new one is checked at once.
    public func check(_ upstreams: Set<String>) {
        let grew = lock.withLock { () -> Bool in
            defer { targets = upstreams }
            return !upstreams.isSubset(of: targets)
        }
        if grew { wake.signal() }
    }

    public func start() {
        let thread = Thread { [self] in loop() }
        thread.name = "spaceport.health"
        thread.start()
    }

    public func stop() {
        lock.withLock { stopped = true }
        wake.signal()
    }

    private func loop() {
        while true {
            let (current, done) = lock.withLock { (targets, stopped) }
            if done { return }
            var health: [String: Health] = [:]
            for target in current.sorted() {
                health[target] = Self.connects(to: target, timeoutMs: timeoutMs) ? .up : .down
            }
            if lock.withLock({ stopped }) { return }
            inbox.post(.health(health))
            _ = wake.wait(timeout: .now() + intervalSeconds)
        }
    }

    /// Whether a TCP connection to `host:port` opens within the timeout.
    static func connects(to target: String, timeoutMs: Int32) -> Bool {
        guard let colon = target.lastIndex(of: ":"), let port = Int(target[target.index(after: colon)...])
        else {
            return false
        }
        var host = String(target[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { return false }
        defer { freeaddrinfo(list) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            if attempt(info.pointee, timeoutMs: timeoutMs) { return true }
            entry = info.pointee.ai_next
        }
        return false
    }

    private static func attempt(_ info: addrinfo, timeoutMs: Int32) -> Bool {
        let fd = socket(info.ai_family, info.ai_socktype | Int32(SOCK_NONBLOCK.rawValue), info.ai_protocol)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        if connect(fd, info.ai_addr, info.ai_addrlen) == 0 { return true }
        guard errno == EINPROGRESS else { return false }
        var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&poller, 1, timeoutMs) == 1 else { return false }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else { return false }
        return error == 0
    }
}
