import Foundation
import SpaceportCore
@_exported import SpaceportTestSupport
import Synchronization

enum Samples {
    static let spacesYAML = """
        # the team's spaces
        spaces:
          default:
            services:
              servicea: { upstream: 127.0.0.1:5001 }
              serviceb: { upstream: 127.0.0.1:5002 }
          azureuser:
            parent: default
            services:
              servicea: { upstream: 127.0.0.1:6001 }

        """

    static let hello = FeedHello(
        proxy: "test", pid: Int(getpid()), version: "0.1.0", listeners: ["127.0.0.1:8080"])

    /// The hello in `event` as the proxy was given it: without the `since` every connection's
    /// hello carries, which must be there. Nil for any other event.
    static func greeting(_ event: FeedEvent?) -> FeedHello? {
        guard case .hello(var hello)? = event, hello.since != nil else { return nil }
        hello.since = nil
        return hello
    }

    static func hop(
        _ number: Int, phase: HopPhase = .end, routeAs: String = "azureuser", tried: [String] = ["azureuser"],
        space: String? = "azureuser", path: String = "/", unknownRouteAs: String? = nil
    ) -> HopEvent {
        HopEvent(
            id: "h\(number)", flow: "f\(number)", phase: phase, time: "2026-03-01T12:03:04.123Z",
            proxy: "test",
            listener: "ingress", routeAs: routeAs, unknownRouteAs: unknownRouteAs, routeAsSource: .header,
            service: "servicea", tried: tried,
            space: space, upstream: "127.0.0.1:6001", method: "GET", host: "servicea.localhost", path: path,
            status: phase == .end ? 200 : nil, durationMs: phase == .end ? 12.4 : nil)
    }

    /// A fresh, short folder under /tmp (a Unix socket path must stay under ~104 bytes), mode 0700.
    static func temporaryFolder() -> String { SpaceportTestSupport.temporaryFolder("sf") }
}

/// Fails a wait instead of hanging a test; generous, since the machine may be loaded.
struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

func within<T: Sendable>(
    _ what: String, seconds: Double = 30, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try? await Task.sleep(for: .seconds(seconds))
            return nil
        }
        guard let first = try await group.next(), let value = first else {
            group.cancelAll()
            throw TimedOut(what: what)
        }
        group.cancelAll()
        return value
    }
}
