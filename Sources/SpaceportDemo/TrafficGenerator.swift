import NIOCore
import SpaceportCore
import Synchronization

/// Gentle demo traffic through the ingress: one request every `intervalMs`, cycling
/// through URLs that show a direct hit, a one-level and a two-level fallback, each the start
/// of a trace (a new W3C `traceparent`), as a traced client's requests are.
public final class TrafficGenerator: Sendable {
    public static func hosts(domain: String) -> [String] {
        [
            "azureuser.s.default.servicea.\(domain)",
            "hotfix.s.default.servicea.\(domain)",
            "default.servicea.\(domain)",
            "azureuser.s.default.serviceb.\(domain)",
            "hotfix.s.default.servicec.\(domain)",
        ]
    }

    let ingress: Address
    let hosts: [String]
    let group: any EventLoopGroup
    let intervalMs: Int64
    let state = Mutex<State>(State())

    struct State {
        var task: RepeatedTask?
        var next = 0
        var sent = 0
        var failed = 0
    }

    public init(ingress: Address, domain: String, group: any EventLoopGroup, intervalMs: Int64 = 500) {
        self.ingress = ingress
        self.hosts = Self.hosts(domain: domain)
        self.group = group
        self.intervalMs = intervalMs
    }

    public var isRunning: Bool { state.withLock { $0.task != nil } }
    public var sent: Int { state.withLock { $0.sent } }
    public var failed: Int { state.withLock { $0.failed } }

    public func start() {
        state.withLock { state in
            guard state.task == nil else { return }
            state.task = group.next().scheduleRepeatedTask(
                initialDelay: .milliseconds(200), delay: .milliseconds(intervalMs)
            ) { [weak self] _ in self?.fire() }
        }
    }

    public func stop() {
        state.withLock { state in
            state.task?.cancel()
            state.task = nil
        }
    }

    /// Turns traffic on or off; returns whether it now runs.
    @discardableResult
    public func toggle() -> Bool {
        if isRunning {
            stop()
            return false
        }
        start()
        return true
    }

    func fire() {
        let host = state.withLock { state in
            defer { state.next += 1 }
            return hosts[state.next % hosts.count]
        }
        DemoHTTPClient.get(
            ingress, host: "\(host):\(ingress.port)", path: "/",
            headers: [("traceparent", DemoTrace.start())],
            group: group
        )
        .whenComplete { [weak self] result in
            self?.state.withLock { state in
                state.sent += 1
                if case .failure = result { state.failed += 1 }
            }
        }
    }
}
