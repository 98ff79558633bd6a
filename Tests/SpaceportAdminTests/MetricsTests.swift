import Foundation
import Logging
import NIOPosix
import SpaceportAdmin
import SpaceportApp
import SpaceportCore
import SpaceportDemo
import SpaceportProxy
import SpaceportTestSupport
import Testing

/// The proxy's own log lines are not what these tests read.
let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
let loopback = Address(host: "127.0.0.1", port: 0)

/// A proxy with its admin listener on 127.0.0.1:0, two answering services and one refusing
/// port, on a spaces file of its own.
struct AdminWorld {
    let folder: String
    let path: String
    let services: [DemoService]
    let refusing: RefusingPort
    let embedded: EmbeddedProxy

    var ingress: String { "http://127.0.0.1:\(embedded.listeners.ingress.port)" }
    var admin: String { "http://127.0.0.1:\(embedded.adminAddress!.port)" }

    static func start() async throws -> AdminWorld {
        let folder = temporaryFolder("ad")
        let path = "\(folder)/spaces.yaml"
        var services: [DemoService] = []
        var addresses: [Address] = []
        for name in ["servicea", "serviceb"] {
            let service = DemoService(
                service: name, space: "default", calls: nil, routeHeader: Settings().routeHeader,
                group: MultiThreadedEventLoopGroup.singleton)
            addresses.append(try await service.start(preferredPort: 0))
            services.append(service)
        }
        let refusing = try RefusingPort()
        try """
        spaces:
          default:
            services:
              servicea: \(addresses[0])
              serviceb: \(addresses[1])
          azureuser:
            parent: default
            services:
              servicea: \(refusing.address)

        """.write(toFile: path, atomically: true, encoding: .utf8)
        let embedded = try await EmbeddedProxy.start(
            store: try SpacesStore(path: path), name: "admin-\(UUID().uuidString.prefix(8).lowercased())",
            ingress: loopback,
            logger: quiet, feedDirectory: folder,
            admin: try AdminSettings(address: loopback, token: nil, source: "test"))
        return AdminWorld(
            folder: folder, path: path, services: services, refusing: refusing, embedded: embedded)
    }

    func get(_ host: String, _ headers: [String] = [], times: Int = 1) async throws {
        for _ in 0..<times {
            _ = try await curl(["-H", "Host: \(host)"] + headers.flatMap { ["-H", $0] } + ["\(ingress)/"])
        }
    }

    func scrape() async throws -> Exposition {
        let (status, body, _) = try await answer(["\(admin)/metrics"])
        #expect(status == 200, "\(body)")
        return try Exposition(body)
    }

    func stop() async {
        await embedded.stop(drainMs: 0)
        for service in services { await service.stop() }
    }
}

@Suite("The admin listener's /metrics, over real sockets")
struct MetricsTests {
    @Test(
        "after known traffic /metrics counts requests by route-as, space and service, fallbacks, 404s, 502s, a rejected reload, pool and connections"
    )
    func knownTraffic() async throws {
        let world = try await AdminWorld.start()
        do {
            // A feed reader that never reads, its queue one event long: the hub drops for it.
            let stalled = world.embedded.hub.subscribe(limit: 1)
            try await world.get("servicea.localhost", times: 3)
            try await world.get("azureuser.s.default.serviceb.localhost", times: 2)
            try await world.get("azureuser.s.default.servicea.localhost")
            try await world.get("nothere.localhost", times: 2)
            try await world.get("serviceb.localhost", ["azds-route-as: azureuser"])
            try "spaces: [this is not a tree\n".write(toFile: world.path, atomically: true, encoding: .utf8)
            try await eventually("the store refuses the file") { world.embedded.store.fileProblem != nil }
            let held = try (0..<2).map { _ in try RawClient(world.embedded.listeners.ingress) }
            // The two connections just opened are counted once their loop has taken them.
            try await eventually("both held connections are open") {
                try await world.scrape().value("spaceport_client_connections") == 2
            }
            let metrics = try await world.scrape()
            stalled.cancel()
            for client in held { client.close() }

            let requests = "spaceport_requests_total"
            let direct = ["route_as": "default", "space": "default", "service": "servicea"]
            #expect(
                metrics.value(
                    requests,
                    direct.merging(["listener": "ingress", "protocol": "http", "status_class": "2xx"]) { $1 })
                    == 3,
                "\(metrics.text)")
            let fallback = ["route_as": "azureuser", "space": "default", "service": "serviceb"]
            #expect(metrics.value(requests, fallback.merging(["status_class": "2xx"]) { $1 }) == 3)
            #expect(metrics.value("spaceport_fallbacks_total", fallback) == 3)
            #expect(metrics.value("spaceport_fallbacks_total") == 3)
            #expect(
                metrics.value(
                    requests,
                    [
                        "route_as": "azureuser", "space": "azureuser", "service": "servicea",
                        "status_class": "5xx",
                    ]
                ) == 1)
            #expect(metrics.value("spaceport_upstream_errors_total", ["kind": "refused"]) == 1)
            #expect(metrics.value("spaceport_upstream_errors_total") == 1)
            #expect(
                metrics.value(
                    requests,
                    ["route_as": "default", "space": "none", "service": "unknown", "status_class": "4xx"])
                    == 2)
            #expect(metrics.value("spaceport_no_route_total", ["route_as": "default"]) == 2)
            #expect(metrics.value(requests) == 9)
            #expect(
                metrics.value(
                    "spaceport_request_duration_seconds_count", ["space": "default", "service": "servicea"])
                    == 3)
            #expect(
                metrics.value(
                    "spaceport_request_duration_seconds_bucket",
                    ["space": "default", "service": "servicea", "le": "+Inf"]) == 3)
            #expect(
                metrics.value("spaceport_route_marks_total", ["mark": "bridged", "service": "serviceb"]) == 1)
            #expect(metrics.value("spaceport_spaces_file_rejected_total") == 1)
            #expect(metrics.value("spaceport_spaces_file_valid") == 0)
            #expect(metrics.value("spaceport_feed_subscribers") == 1)
            #expect(metrics.value("spaceport_feed_events_dropped_total") >= 9)
            // One dial per upstream at least (curl opens a connection per request, the pool keeps the upstream's).
            let dials = metrics.value("spaceport_upstream_dials_total")
            #expect(dials >= 3 && dials <= 9, "\(dials)")
            #expect(metrics.value("spaceport_upstream_idle_connections") >= 2)
            #expect(
                metrics.value("spaceport_upstream_connections")
                    >= metrics.value("spaceport_upstream_idle_connections"))
            #expect(metrics.value("spaceport_build_info", ["version": SpaceportVersion.current]) == 1)
        } catch {
            await world.stop()
            throw error
        }
        await world.stop()
    }

    @Test(
        "a flood of unknown hosts and route-as values adds no series: every label value comes from the tree")
    func floodOfJunk() async throws {
        let world = try await AdminWorld.start()
        do {
            var generator = SplitMix64(seed: 24)
            func junk() -> String { String(generator.next() % 1_000_000_000, radix: 36) }
            func flood() throws {
                let client = try RawClient(world.embedded.listeners.ingress)
                defer { client.close() }
                for round in 0..<150 {
                    let host: String
                    switch round % 5 {
                    case 0: host = "\(junk()).localhost"
                    case 1: host = "\(junk()).s.default.servicea.localhost"
                    case 2: host = "\(junk()).example.org"
                    case 3: host = "servicea.localhost\r\nazds-route-as: \(junk())"
                    default: host = "serviceb.localhost\r\nbaggage: azds-route-as=\(junk())"
                    }
                    try client.send("GET /\(junk()) HTTP/1.1\r\nHost: \(host)\r\n\r\n")
                    _ = try client.readResponse()
                }
            }
            try flood()
            let first = try await world.scrape()
            try flood()
            let second = try await world.scrape()
            #expect(second.samples.count == first.samples.count, "\(second.text)")
            #expect(
                second.series("spaceport_requests_total").count
                    == first.series("spaceport_requests_total").count)
            #expect(second.value("spaceport_requests_total") == 300)
            #expect(second.value("spaceport_requests_total", ["status_class": "4xx"]) > 0)
            let allowed: Set<String> = [
                "default", "azureuser", "servicea", "serviceb", "ingress", "none", "unknown", "http",
                "2xx", "4xx", "5xx",
            ]
            for sample in second.samples where sample.name.hasPrefix("spaceport_") {
                for (name, value) in sample.labels where !["le", "version", "kind", "mark"].contains(name) {
                    #expect(allowed.contains(value), "\(sample.name) \(name)=\(value) is not from the tree")
                }
            }
        } catch {
            await world.stop()
            throw error
        }
        await world.stop()
    }

    @Test("past the series bound new label sets are counted under one overflow series")
    func seriesBound() throws {
        let spaces = (0..<40).map {
            Space(
                name: "space\($0)",
                services: [Instance(service: "svc", upstream: Address(host: "127.0.0.1", port: 1))])
        }
        let store = SpacesStore(tree: try SpaceTree(settings: Settings(), spaces: spaces))
        let metrics = ProxyMetrics(store: store, maxSeries: 10)
        defer { metrics.close() }
        for space in spaces {
            metrics.publish(
                hop: HopEvent(
                    id: "h", flow: "f", phase: .end, time: "", proxy: "p", listener: "ingress",
                    routeAs: space.name,
                    service: "svc", tried: [space.name], space: space.name, status: 200, durationMs: 1))
        }
        let exposition = try Exposition(
            String(decoding: metrics.exposition(.init(proxy: ProxyCounts())), as: UTF8.self))
        #expect(metrics.requestSeriesCount == 11)
        #expect(exposition.series("spaceport_requests_total").count == 11)
        #expect(
            exposition.value("spaceport_requests_total", ["space": "overflow", "route_as": "overflow"]) == 30)
        #expect(exposition.value("spaceport_requests_total") == 40)
    }
}
