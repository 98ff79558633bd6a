import Foundation
import Synchronization

/// What the test process holds right now, read from /proc: the proxy under test lives in it.
enum ProcessGauges {
    /// Open file descriptors (sockets, files, pipes).
    static func openDescriptors() -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
    }

    /// Resident memory in bytes.
    static func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
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

    /// Waits until the descriptor count falls to `limit` or below; returns the last count seen.
    /// A closing socket goes away a moment after its peer sees the close, so this polls.
    static func descriptors(settleAtOrBelow limit: Int, seconds: Double = 30) async -> Int {
        var count = openDescriptors()
        let deadline = Date().addingTimeInterval(seconds)
        while count > limit && Date() < deadline {
            try? await Task.sleep(for: .milliseconds(50))
            count = openDescriptors()
        }
        return count
    }
}

/// Samples resident memory until stopped and keeps the peak.
final class PeakMemory: Sendable {
    private let peak = Atomic<Int>(0)
    private let running = Atomic<Bool>(true)

    init() {
        Thread.detachNewThread { [self] in
            while running.load(ordering: .relaxed) {
                let now = ProcessGauges.residentBytes()
                if now > peak.load(ordering: .relaxed) { peak.store(now, ordering: .relaxed) }
                usleep(20_000)
            }
        }
    }

    func stop() -> Int {
        running.store(false, ordering: .relaxed)
        return max(peak.load(ordering: .relaxed), ProcessGauges.residentBytes())
    }
}

/// Runs blocking work (sockets, processes) on a thread of its own, off the test's executor.
func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try work() })
        }
    }
}

/// Polls `condition` until it holds; fails after a generous bound instead of hanging.
func eventually(
    _ what: String, seconds: Double = 30, _ condition: @escaping @Sendable () async -> Bool
) async throws {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw HostileFailure("timed out waiting for \(what)")
}

/// A fresh temporary folder, removed by the caller.
func temporaryFolder(_ prefix: String = "sh") -> String {
    var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "cannot create a temporary folder")
    return String(cString: made!)
}
