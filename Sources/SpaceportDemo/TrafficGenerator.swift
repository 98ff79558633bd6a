import NIOCore
import SpaceportCore
import Synchronization

/// Gentle demo traffic through the ingress: one request every `intervalMs`, cycling
/// through URLs that show a direct hit, a one-level and a two-level fallback, and gRPC calls
/// to the greeter (one that ends NOT_FOUND), each the start of a trace (a new W3C
/// `traceparent`), as a traced client's requests are.
public final class TrafficGenerator: Sendable {
    /// One request of the cycle.
    enum Step {
        case get(host: String)
        case grpc(host: String, method: String)
    }
    public static func hosts(domain: String) -> [String] {
        [
            "azureuser.s.default.servicea.\(domain)",
            "hotfix.s.default.servicea.\(domain)",
            "default.servicea.\(domain)",
            "azureuser.s.default.serviceb.\(domain)",
            "hotfix.s.default.servicec.\(domain)",
        ]
    }

    /// The gRPC calls of the cycle: a direct hit in azureuser, a server-streaming call routed as
    /// hotfix that azureuser's greeter serves, and a lookup in default that ends NOT_FOUND.
    public static func grpcCalls(domain: String) -> [(host: String, method: String)] {
        [
            ("azureuser.s.default.greeter.\(domain)", DemoGreeter.methods.hello),
            ("hotfix.s.default.greeter.\(domain)", DemoGreeter.methods.hellos),
            ("default.greeter.\(domain)", DemoGreeter.methods.lookup),
        ]
    }

    let ingress: Address
    /// Two HTTP requests, then a gRPC call, while either lasts.
    let steps: [Step]
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
        var gets = Self.hosts(domain: domain).map { Step.get(host: $0) }[...]
        var calls = Self.grpcCalls(domain: domain).map { Step.grpc(host: $0.host, method: $0.method) }[...]
        var steps: [Step] = []
        while !gets.isEmpty || !calls.isEmpty {
            steps += gets.prefix(2)
            gets = gets.dropFirst(2)
            steps += calls.prefix(1)
            calls = calls.dropFirst()
        }
        self.steps = steps
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
        let step = state.withLock { state in
            defer { state.next += 1 }
            return steps[state.next % steps.count]
        }
        let sent: EventLoopFuture<Void>
        switch step {
        case .get(let host):
            sent = DemoHTTPClient.get(
                ingress, host: "\(host):\(ingress.port)", path: "/",
                headers: [("traceparent", DemoTrace.start())], group: group
            ).map { _ in }
        case .grpc(let host, let method):
            sent = DemoGRPCClient.call(
                ingress, authority: "\(host):\(ingress.port)", method: method, name: "demo",
                headers: [("traceparent", DemoTrace.start())], group: group
            ).map { _ in }
        }
        sent.whenComplete { [weak self] result in
            self?.state.withLock { state in
                state.sent += 1
                if case .failure = result { state.failed += 1 }
            }
        }
    }
}
