import Foundation
import SpaceportCore
import Testing

/// A slow upstream under many concurrent requests: the proxy opens at most
/// `max_upstream_connections` to it, queues up to `max_upstream_queue` requests, answers the
/// rest 503 with a body that says which limit, and keeps at most
/// `max_idle_upstream_connections` idle afterwards.
@Suite("Connections to one upstream are bounded")
struct UpstreamLimitTests {
    @Test(
        "many concurrent requests to a slow upstream open no more connections than the limit, and the overflow gets a 503 that says why"
    )
    func cappedConnections() async throws {
        let upstream = try await ScriptedUpstream.start()
        let limits = [
            "max_upstream_connections": 4, "max_upstream_queue": 4, "max_idle_upstream_connections": 2,
        ]
        let clients = 24
        try await HostileProxy.with(appTree(upstream.address, limits: limits)) { proxy in
            let ingress = proxy.ingress
            let answers = try await withThrowingTaskGroup(of: RawResponse.self) { group in
                for index in 0..<clients {
                    group.addTask {
                        try await blocking {
                            let client = try RawClient(ingress, timeoutSeconds: 20)
                            try client.send("GET /slow/s\(index) HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
                            return try client.readResponse()
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let served = answers.filter { $0.status == 200 }
            let refused = answers.filter { $0.status == 503 }
            #expect(served.count + refused.count == clients, "\(answers.map(\.status))")
            // Each of the proxy's event loops has its share: the connections, then the queue.
            #expect(served.count >= 4)
            #expect(served.count <= 8)
            #expect(served.allSatisfy { $0.headers["x-tag"] == $0.text })
            #expect(
                refused.allSatisfy { $0.text.contains("max_upstream_queue") }, "\(refused.first?.text ?? "")")
            #expect(upstream.connections.mostOpen.load(ordering: .relaxed) <= 4)
            let idle = upstream.connections
            try await eventually("idle connections above the limit to close") {
                idle.open.load(ordering: .relaxed) <= 2
            }
        }
        await upstream.stop()
    }
}
