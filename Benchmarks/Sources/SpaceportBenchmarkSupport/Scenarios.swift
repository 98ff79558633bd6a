import NIOCore
import SpaceportCore
@_spi(Benchmarks) import SpaceportFeed
import SpaceportWire

/// One thing the benchmarks repeat (a request through the proxy, a hop to the feed), set up on
/// the thread that repeats it: the proxy's channels run on an `EmbeddedEventLoop`, which is
/// that thread's alone.
public struct Scenario: Sendable {
    public let name: String
    private let setUp: @Sendable () throws -> PreparedScenario

    init(_ name: String, _ setUp: @escaping @Sendable () throws -> PreparedScenario) {
        self.name = name
        self.setUp = setUp
    }

    /// Sets up (a request scenario checks that its request is answered as the load test expects,
    /// and throws a `ScenarioProblem` if not), and warms up.
    public func prepare() throws -> PreparedScenario {
        let operation = try setUp()
        for _ in 0..<Self.warmUp { try operation.run() }
        return operation
    }

    /// Enough for every buffer, list and cache that the steady state reuses to be there.
    static let warmUp = 1000
}

/// A scenario set up: `run` does it once, `finish` closes what it opened.
public struct PreparedScenario {
    public let run: () throws -> Void
    public let finish: () throws -> Void
}

/// Why a scenario's operation is not what it claims to measure.
public struct ScenarioProblem: Error, CustomStringConvertible {
    public var description: String
}

extension Scenario {
    /// Every scenario, by the name its benchmark has: no spaces, since package-benchmark names a
    /// threshold file with `_` for each space but then looks for it by the name as it is.
    public static func all() throws -> [Scenario] {
        let tree = try Traffic.tree()
        let browser = try Traffic.browser()
        return [
            request("small-keep-alive-GET", Traffic.small(), tree),
            request("browser-GET-12-fields", browser, tree),
            request("traced-GET-with-baggage", Traffic.traced(), tree),
            request(
                "traced-GET-propagation-off", Traffic.traced(),
                try Traffic.tree(settings: Traffic.propagationOff)),
            request("response-64KiB", Traffic.large(), tree),
            request(
                "fallback-two-levels-up", Traffic.small(host: Traffic.fallbackHost, routeAs: "grandchild"),
                tree),
            Scenario("new-connection-per-request") {
                let connections = try ConnectionPerRequest(Traffic.closing(), tree: tree)
                if let problem = try connections.problem() {
                    throw ScenarioProblem(description: "new-connection-per-request: \(problem)")
                }
                return PreparedScenario(
                    run: { keep(try connections.exchangeOnce()) }, finish: { try connections.close() })
            },
            Scenario("hop-to-sampling-subscriber", sampledHub),
            Scenario("hop-line-encoded") {
                PreparedScenario(run: { keep(BenchmarkHooks.line(Traffic.servedHop)) }, finish: {})
            },
            Scenario("hop-line-decoded", decodeLine),
        ]
    }

    /// `exchange` again and again on one keep-alive connection, the upstream's connection reused.
    private static func request(_ name: String, _ exchange: Traffic.Exchange, _ tree: SpaceTree) -> Scenario {
        Scenario(name) {
            let connections = try Connections(exchange, tree: tree)
            if let problem = try connections.problem() {
                throw ScenarioProblem(description: "\(name): \(problem)")
            }
            return PreparedScenario(
                run: { keep(try connections.exchangeOnce()) }, finish: { try connections.close() })
        }
    }

    /// What the proxy publishes for each request while `spaceport dash` watches, sampling 250
    /// hops a second: under load its budget is spent, which the warm-up sees to.
    private static func sampledHub() throws -> PreparedScenario {
        let tree = try SpacesFile.parse(text: "spaces: { default: {} }", file: "bench")
        let hub = FeedHub(
            store: SpacesStore(tree: tree),
            hello: FeedHello(proxy: "spaceport", pid: 1, version: "bench", listeners: ["127.0.0.1:8080"]))
        let subscription = hub.subscribe()
        BenchmarkHooks.sample(subscription, perSecond: 250)
        // Ids as the proxy's: distinct, and short enough to be stored inside the string.
        let ids = (0..<4096).map { String(0x1000_0000_0000_00 + $0, radix: 16) }
        var next = 0
        return PreparedScenario(
            run: {
                publish(ids[next], to: hub)
                next = (next + 1) % ids.count
            },
            // Dropping the subscription unsubscribes it.
            finish: { withExtendedLifetime(subscription) {} })
    }

    /// The line of a hop, read as the feed client reads it: without its newline.
    private static func decodeLine() throws -> PreparedScenario {
        var line = BenchmarkHooks.line(Traffic.servedHop)
        line.moveWriterIndex(to: line.writerIndex - 1)
        guard line.withUnsafeReadableBytes({ HopJSON.decode(bytes: $0) }) == Traffic.servedHop else {
            throw ScenarioProblem(
                description: "the hop line does not read back as the hop it was written from")
        }
        return PreparedScenario(
            run: { keep(line.withUnsafeReadableBytes { HopJSON.decode(bytes: $0) }) }, finish: {})
    }

    /// What the proxy does for a request while someone watches: offers its start, then publishes its end.
    private static func publish(_ id: String, to hub: FeedHub) {
        hub.publishStart(id: id) {
            var start = Traffic.servedHop
            start.id = id
            start.phase = .start
            start.status = nil
            start.durationMs = nil
            return start
        }
        var end = Traffic.servedHop
        end.id = id
        hub.publish(hop: end)
    }
}

/// Keeps the optimizer from dropping work whose result is unused (public, as package-benchmark's
/// `blackHole`, so that its argument is not optimized away).
@inline(never)
public func keep<T>(_ value: T) {}
