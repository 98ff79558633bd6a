import Foundation
import Logging
import SpaceportCore
import SpaceportProxy
@_exported import SpaceportTestSupport
import Synchronization

/// A real proxy on 127.0.0.1:0 over a tree written as YAML, its events and log kept.
struct HostileProxy {
    let proxy: RoutingProxy
    let store: SpacesStore
    let listeners: ProxyListeners
    let events: HopCollector
    let log: CapturingLogHandler.Lines

    var ingress: Address { listeners.ingress }

    /// - Parameter sinks: more places for the proxy's events, made from its store (a feed hub, say).
    static func start(
        _ yaml: String, path: String? = nil, ingress: Address = Address(host: "127.0.0.1", port: 0),
        sinks: (SpacesStore) -> [any EventSink] = { _ in [] }
    ) async throws -> HostileProxy {
        let store: SpacesStore
        if let path {
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            store = try SpacesStore(path: path)
        } else {
            store = SpacesStore(tree: try SpacesFile.parse(text: yaml, file: "hostile.yaml"))
        }
        let events = HopCollector()
        let lines = CapturingLogHandler.Lines()
        let logger = Logger(label: "hostile-proxy") { _ in CapturingLogHandler(lines: lines) }
        // Hop lines go to the same log, so a test can check what a hostile request makes the proxy write.
        let sink = FanOutSink([events, HopLogSink(logger: logger)] + sinks(store))
        let proxy = RoutingProxy(store: store, name: "hostile", ingress: ingress, sink: sink, logger: logger)
        let listeners = try await proxy.start()
        return HostileProxy(proxy: proxy, store: store, listeners: listeners, events: events, log: lines)
    }

    /// Starts a proxy, runs `body`, and shuts the proxy down whether or not `body` threw.
    static func with(
        _ yaml: String, path: String? = nil, _ body: (HostileProxy) async throws -> Void
    ) async throws {
        let running = try await start(yaml, path: path)
        do {
            try await body(running)
        } catch {
            await running.stop()
            throw error
        }
        await running.stop()
    }

    func stop() async { await proxy.shutdown(drainMs: 1000) }

    /// Waits until every ended hop has its log line.
    func hopLines() async throws -> [String] {
        try await eventually("a log line per ended hop") {
            log.all.count(where: { $0.message.contains(" → ") }) >= events.ended.count
        }
        return log.all.map(\.message)
    }

    /// Sends one plain GET on a fresh connection and returns the answer: the probe a test
    /// uses to show that the proxy still serves everyone else.
    func probe(host: String = "app.localhost", path: String = "/probe") async throws -> RawResponse {
        let ingress = self.ingress
        return try await blocking {
            let client = try RawClient(ingress)
            try client.send("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n")
            return try client.readResponse()
        }
    }
}

/// A spaces file with one service `app` in `default`, and the limits given.
func appTree(_ upstream: Address, limits: [String: Int] = [:], extra: String = "") -> String {
    var text = ""
    if !limits.isEmpty {
        text += "limits:\n"
        for (key, value) in limits.sorted(by: { $0.key < $1.key }) { text += "  \(key): \(value)\n" }
    }
    text += """
        spaces:
          default:
            services:
              app: { upstream: \(upstream) }
        \(extra)
        """
    return text
}
