import Foundation
import SpaceportAdmin
import SpaceportCore
import SpaceportProxy
import SpaceportTestSupport
import Testing

@Suite("The admin listener's probes, its tree and its token")
struct HealthTests {
    @Test(
        "/healthz answers while /readyz follows the proxy: starting, ready, ready on the last good tree, draining, stopped"
    )
    func readinessThroughALife() async throws {
        let folder = temporaryFolder("ah")
        let path = "\(folder)/spaces.yaml"
        // An upstream that takes connections and never answers: a request to it is in flight until the drain ends it.
        let silent = try Sockets.stream(AF_INET)
        defer { close(silent) }
        let silentAddress = Sockets.bindLoopback(silent, listening: 16)
        try "spaces:\n  default:\n    services:\n      silent: \(silentAddress)\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let store = try SpacesStore(path: path)
        let metrics = ProxyMetrics(store: store)
        defer { metrics.close() }
        let proxy = RoutingProxy(store: store, name: "ready", ingress: loopback, sink: metrics, logger: quiet)
        let server = AdminServer(
            settings: try AdminSettings(address: loopback, token: nil, source: "test"), proxy: proxy,
            metrics: metrics, hub: nil, logger: quiet)
        let admin = "http://127.0.0.1:\(try await server.start().port)"
        func probe(_ path: String) async throws -> (status: Int, body: String) {
            let (status, body, _) = try await answer(["\(admin)\(path)"])
            return (status, body)
        }

        var ready = try await probe("/readyz")
        #expect(ready.status == 503 && ready.body.contains("starting"), "\(ready)")
        #expect(try await probe("/healthz") == (200, "ok\n"))

        let listeners = try await proxy.start()
        ready = try await probe("/readyz")
        #expect(ready == (200, "ready\n"))

        try "spaces:\n  default: [oops\n".write(toFile: path, atomically: true, encoding: .utf8)
        try await eventually("the store refuses the file") { store.fileProblem != nil }
        ready = try await probe("/readyz")
        #expect(ready.status == 200, "\(ready)")
        #expect(
            ready.body.contains("the last good tree stays in effect") && ready.body.contains(path), "\(ready)"
        )

        let client = try RawClient(listeners.ingress)
        defer { client.close() }
        try client.send("GET / HTTP/1.1\r\nHost: silent.localhost\r\n\r\n")
        try await eventually("the request reaches the silent upstream") {
            await proxy.counts().upstreamConnections == 1
        }
        let drain = Task { await proxy.shutdown(drainMs: 3000) }
        try await eventually("the proxy drains") { proxy.phase == .draining }
        ready = try await probe("/readyz")
        #expect(ready.status == 503 && ready.body.contains("draining"), "\(ready)")
        #expect(try await probe("/healthz") == (200, "ok\n"))
        await drain.value
        ready = try await probe("/readyz")
        #expect(ready.status == 503 && ready.body.contains("stopped"), "\(ready)")
        await server.shutdown()
    }

    @Test("/tree serves the tree as `tree --json` prints it, and other paths and methods are refused")
    func treeAndRefusals() async throws {
        let world = try await AdminWorld.start()
        do {
            let tree = try await answer(["\(world.admin)/tree"])
            #expect(tree.status == 200)
            #expect(tree.head.lowercased().contains("content-type: application/json"))
            #expect(tree.body == CommandJSON.text(TreeReport(world.embedded.store.tree)) + "\n")
            #expect(tree.body.contains("\"servedBy\" : \"default\""), "\(tree.body)")
            let missing = try await answer(["\(world.admin)/nope"])
            #expect(missing.status == 404 && missing.body.contains("/metrics, /healthz, /readyz, /tree"))
            let posted = try await answer(["-X", "POST", "\(world.admin)/metrics"])
            #expect(posted.status == 405 && posted.head.lowercased().contains("allow: get, head"))
            let head = try await curl(["-I", "\(world.admin)/healthz"])
            #expect(head.contains("200 OK") && head.lowercased().contains("content-length: 3"), "\(head)")
        } catch {
            await world.stop()
            throw error
        }
        await world.stop()
    }

    @Test(
        "off loopback the admin listener needs a token, and with one it answers only requests that carry it")
    func token() async throws {
        #expect(
            throws: AdminError.exposedWithoutToken(Address(host: "0.0.0.0", port: 9901), source: "--admin")
        ) {
            try AdminSettings(address: Address(host: "0.0.0.0", port: 9901), token: nil, source: "--admin")
        }
        let message = AdminError.exposedWithoutToken(Address(host: "0.0.0.0", port: 9901), source: "--admin")
            .description
        #expect(message.contains("--admin-token-file") && message.contains("0.0.0.0:9901"), "\(message)")
        #expect(throws: Never.self) {
            try AdminSettings(
                address: Address(host: "0.0.0.0", port: 9901), token: "s3cret", source: "--admin")
        }

        let (server, metrics) = try tokenServer(name: "token")
        defer { metrics.close() }
        let admin = "http://127.0.0.1:\(try await server.start().port)"
        let without = try await answer(["\(admin)/metrics"])
        #expect(without.status == 401 && without.head.lowercased().contains("www-authenticate: bearer"))
        #expect(!without.body.contains("spaceport_"))
        let wrong = try await answer(["-H", "Authorization: Bearer s3creT", "\(admin)/tree"])
        #expect(wrong.status == 401)
        let right = try await answer(["-H", "Authorization: Bearer s3cret", "\(admin)/metrics"])
        #expect(right.status == 200 && right.body.contains("spaceport_build_info"), "\(right)")
        await server.shutdown()
    }

    /// An admin listener that wants the token `s3cret`, for a proxy routing an empty tree.
    func tokenServer(name: String) throws -> (AdminServer, ProxyMetrics) {
        let store = SpacesStore(tree: try SpaceTree(settings: Settings(), spaces: [Space(name: "default")]))
        let metrics = ProxyMetrics(store: store)
        let proxy = RoutingProxy(store: store, name: name, ingress: loopback, logger: quiet)
        let server = AdminServer(
            settings: try AdminSettings(address: loopback, token: "s3cret", source: "test"), proxy: proxy,
            metrics: metrics, hub: nil, logger: quiet)
        return (server, metrics)
    }

    @Test("with a token, the probes still answer a kubelet that sends none, and nothing else does")
    func probesWithoutToken() async throws {
        let (server, metrics) = try tokenServer(name: "probes")
        defer { metrics.close() }
        let admin = "http://127.0.0.1:\(try await server.start().port)"
        let live = try await answer(["\(admin)/healthz"])
        #expect(live.status == 200 && live.body == "ok\n", "\(live)")
        let ready = try await answer(["\(admin)/readyz?verbose"])
        #expect(ready.status == 503 && ready.body.hasPrefix("not ready"), "\(ready)")
        #expect(try await answer(["\(admin)/tree"]).status == 401)
        #expect(try await answer(["--path-as-is", "\(admin)/healthz/../tree"]).status == 401)
        #expect(try await answer(["-X", "POST", "\(admin)/healthz"]).status == 405)
        await server.shutdown()
    }
}

@Suite("The README's metrics")
struct MetricsDocsTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("README.md")

    @Test("the README's metrics table lists every metric /metrics serves, in order, with its help")
    func table() throws {
        let readme = try String(contentsOf: Self.readme, encoding: .utf8)
        let rows = readme.split(separator: "\n").filter { $0.hasPrefix("| `spaceport_") }
        let documented = rows.map { row in
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            return (cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`")), cells.last ?? "")
        }
        #expect(documented.map(\.0) == ProxyMetrics.Name.allCases.map(\.rawValue))
        for (name, help) in documented {
            #expect(ProxyMetrics.Name(rawValue: name)?.help == help, "\(name): the README says '\(help)'")
        }
    }
}
