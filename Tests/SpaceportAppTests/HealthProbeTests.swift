import Foundation
import NIOCore
import SpaceportApp
import SpaceportCore
import SpaceportDashboard
import SpaceportTestSupport
import Testing

/// The HEALTH column's probe, over real sockets on 127.0.0.1.
@Suite("The upstream health probe")
struct HealthProbeTests {
    @Test(
        "an open port is up, a closed one is down, and one that does not accept in time is down after the timeout"
    )
    func upAndDown() async throws {
        let open = try Listening()
        let closed = try RefusingPort()
        let full = try FullBacklog()
        let reports = Reports()
        let probe = HealthProbe(interval: .seconds(60), timeout: .milliseconds(400)) { reports.add($0) }
        let targets = [open.address, closed.address, full.address].map(\.description)
        let started = ContinuousClock.now
        probe.check(Set(targets))
        probe.start()
        defer { probe.stop() }
        let (health, at) = try await reports.nextWithTime()
        #expect(health[targets[0]] == .up)
        #expect(health[targets[1]] == .down)
        #expect(health[targets[2]] == .down)
        // Timed where the report is made, so a busy test runner's late wake-up does not count.
        let took = at - started
        #expect(took >= .milliseconds(400), "reported after \(took), before the timeout")
        #expect(took < .seconds(5), "reported after \(took)")
    }

    @Test("an upstream the tree gains is checked at once, not at the next interval")
    func newUpstreamAtOnce() async throws {
        let open = try Listening()
        let closed = try RefusingPort()
        let reports = Reports()
        let probe = HealthProbe(interval: .seconds(60)) { reports.add($0) }
        probe.check([open.address.description])
        probe.start()
        defer { probe.stop() }
        #expect(try await reports.next() == [open.address.description: .up])
        probe.check([open.address.description, closed.address.description])
        #expect(
            try await reports.next() == [open.address.description: .up, closed.address.description: .down])
    }
}

/// The probe's reports, in order, each with when it was made, awaited one at a time.
private final class Reports: Sendable {
    private let stream: AsyncStream<([String: Health], ContinuousClock.Instant)>
    private let continuation: AsyncStream<([String: Health], ContinuousClock.Instant)>.Continuation

    init() { (stream, continuation) = AsyncStream.makeStream() }

    func add(_ health: [String: Health]) { continuation.yield((health, .now)) }

    func next() async throws -> [String: Health] { try await nextWithTime().0 }

    func nextWithTime() async throws -> ([String: Health], ContinuousClock.Instant) {
        try await first("report", of: stream) { $0 }
    }
}

/// A port that accepts connections (the kernel completes them; nobody needs to call accept).
private final class Listening: Sendable {
    let address: Address
    private let fd: Int32

    init() throws {
        fd = try Sockets.stream(AF_INET)
        address = Sockets.bindLoopback(fd, listening: 16)
    }

    deinit { close(fd) }
}

/// A listening port whose accept queue is full, so the kernel drops new connections' SYNs
/// and a connect hangs: an upstream that does not accept in time.
private final class FullBacklog: Sendable {
    let address: Address
    private let fd: Int32
    private let fillers: [Int32]

    init() throws {
        fd = try Sockets.stream(AF_INET)
        address = Sockets.bindLoopback(fd, listening: 0)
        var fillers: [Int32] = []
        var peer = sockaddr_in()
        peer.sin_family = sa_family_t(AF_INET)
        peer.sin_port = in_port_t(UInt16(address.port).bigEndian)
        inet_pton(AF_INET, "127.0.0.1", &peer.sin_addr)
        for _ in 0..<3 {
            let filler = socket(
                AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue), 0)
            _ = withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(filler, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            fillers.append(filler)
        }
        self.fillers = fillers
        // The first filler's handshake completes on loopback at once; give it the moment it needs.
        usleep(200_000)
    }

    deinit {
        for filler in fillers { close(filler) }
        close(fd)
    }
}
