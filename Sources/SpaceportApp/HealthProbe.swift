import NIOCore
import NIOPosix
import SpaceportCore
import SpaceportDashboard

/// The services pane's health column: every few seconds, a TCP connect to each upstream
/// (host:port), up when it opens within the timeout and down otherwise, reported all at once.
/// Its state lives on one event loop, so it needs no lock.
public final class HealthProbe: Sendable {
    private let loop: any EventLoop
    private let interval: TimeAmount
    private let timeout: TimeAmount
    private let report: @Sendable ([String: Health]) -> Void
    private let state: NIOLoopBoundBox<State>

    private struct State {
        var targets: Set<String> = []
        var running = false
        var probing = false
        /// Targets were added during a round, so another starts when it ends.
        var again = false
        var next: Scheduled<Void>?
    }

    public init(
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, interval: TimeAmount = .seconds(2),
        timeout: TimeAmount = .milliseconds(300), report: @escaping @Sendable ([String: Health]) -> Void
    ) {
        loop = group.next()
        self.interval = interval
        self.timeout = timeout
        self.report = report
        state = NIOLoopBoundBox.makeBoxSendingValue(State(), eventLoop: loop)
    }

    /// The upstreams to check from now on; a new one is checked at once.
    public func check(_ upstreams: Set<String>) {
        loop.execute { [self] in
            let grew = !upstreams.isSubset(of: state.value.targets)
            state.value.targets = upstreams
            if grew { round() }
        }
    }

    /// Checks now, then every interval, until `stop`.
    public func start() {
        loop.execute { [self] in
            state.value.running = true
            round()
        }
    }

    /// No report comes after this, not even from a round under way.
    public func stop() {
        loop.execute { [self] in
            state.value.running = false
            state.value.next?.cancel()
            state.value.next = nil
        }
    }

    /// One round: every target at once, reported when the last answers or times out.
    private func round() {
        guard state.value.running else { return }
        guard !state.value.probing else {
            state.value.again = true
            return
        }
        state.value.next?.cancel()
        state.value.next = nil
        state.value.probing = true
        let probes = state.value.targets.map { target in
            Self.probe(target, timeout: timeout, on: loop).map { (target, $0) }
        }
        EventLoopFuture.whenAllSucceed(probes, on: loop).whenSuccess { [self] results in
            state.value.probing = false
            guard state.value.running else { return }
            report(Dictionary(uniqueKeysWithValues: results))
            if state.value.again {
                state.value.again = false
                round()
            } else {
                state.value.next = loop.scheduleTask(in: interval) { self.round() }
            }
        }
    }

    /// Whether a TCP connection to `target` (host:port) opens within `timeout`; never fails.
    public static func probe(_ target: String, timeout: TimeAmount, on loop: any EventLoop)
        -> EventLoopFuture<Health>
    {
        guard let address = try? Address(parsing: target) else { return loop.makeSucceededFuture(.down) }
        let bootstrap = ClientBootstrap(group: loop).connectTimeout(timeout)
        // An IP address needs no resolver, whose getaddrinfo waits its turn on a shared queue.
        let connecting =
            if let ip = try? SocketAddress(ipAddress: address.host, port: address.port) {
                bootstrap.connect(to: ip)
            } else {
                bootstrap.connect(host: address.host, port: address.port)
            }
        return connecting.flatMap { channel in channel.close().map { Health.up }.recover { _ in .up } }
            .recover { _ in .down }
    }
}
