import Foundation
import SpaceportCore
import SpaceportDemo
import SpaceportTestSupport

/// Hops as `spaceport demo`'s world would send them under load, made up rather than served:
/// requests through the ingress and through the services' egress listeners (servicea calls
/// serviceb, which calls servicec), routed by the real resolver over the demo's tree, with
/// fallbacks, unknown spaces, misses, refused upstreams and slow answers. Seeded, so every
/// run draws the same screens.
struct FrameBenchTraffic {
    static let proxy = "demo"
    static let ingress = Address(host: "127.0.0.1", port: 8080)

    /// A request's pieces before routing: where it came in and what it asked for.
    private struct Request {
        var listener: String
        var caller: HopCaller?
        var host: String
        var routeHeader: String?
        var method: String
        var path: String
    }

    /// One hop's two phases, the start published when routed and the end when done.
    private struct Phases {
        var start: HopEvent
        var end: HopEvent
    }

    let tree: SpaceTree
    private let epoch: Date
    private let hopsPerSecond: Double
    private var random = SplitMix64(seed: 0x5EED)
    private var made = 0
    private var ready: [Phases] = []
    private var inFlight: [HopEvent] = []
    /// How many hops have started and not yet ended at any moment, so the newest rows show "…".
    private let concurrency = 3
    /// Every request a whole chain, servicea → serviceb → servicec, that succeeds.
    private let wholeChains: Bool

    init(hopsPerSecond: Double, epoch: Date = Date(), wholeChains: Bool = false) {
        self.tree = Self.demoTree()
        self.hopsPerSecond = hopsPerSecond
        self.epoch = epoch
        self.wholeChains = wholeChains
    }

    /// The demo's tree with the ports the demo prefers: default owns servicea, serviceb and
    /// servicec; azureuser, derived from default, its own servicea; hotfix, derived from
    /// azureuser, its own serviceb. No service runs behind it.
    static func demoTree() -> SpaceTree {
        var settings = Settings()
        settings.ingress = ingress
        let instances: [(space: String, service: String, port: Int, egress: Int)] = [
            ("default", "servicea", 5001, 7001), ("default", "serviceb", 5002, 7002),
            ("default", "servicec", 5003, 7003), ("azureuser", "servicea", 6001, 7004),
            ("hotfix", "serviceb", 6002, 7005),
        ]
        let parents: [(String, String?)] = [
            ("default", nil), ("azureuser", "default"), ("hotfix", "azureuser"),
        ]
        let spaces = parents.map { name, parent in
            Space(
                name: name, parent: parent,
                services: instances.filter { $0.space == name }.map {
                    Instance(
                        service: $0.service, upstream: Address(host: "127.0.0.1", port: $0.port),
                        egress: Address(host: "127.0.0.1", port: $0.egress))
                })
        }
        return try! SpaceTree(settings: settings, spaces: spaces)
    }

    /// The hello the demo's proxy sends: its ingress and one egress listener per instance.
    var hello: FeedHello {
        var listeners = ["ingress \(Self.ingress)"]
        for space in tree.spaces {
            for instance in space.services {
                if let egress = instance.egress {
                    listeners.append("egress:\(space.name)/\(instance.service) \(egress)")
                }
            }
        }
        return FeedHello(
            proxy: Self.proxy, pid: Int(getpid()), version: SpaceportVersion.current, listeners: listeners)
    }

    /// The feed events of the next `count` hops: each hop's start, and the end of the hop
    /// that started `concurrency` hops earlier.
    mutating func events(hops count: Int) -> [FeedEvent] {
        while ready.count < count { ready += flow() }
        var events: [FeedEvent] = []
        events.reserveCapacity(count * 2)
        for phases in ready.prefix(count) {
            events.append(.hop(phases.start))
            inFlight.append(phases.end)
            if inFlight.count > concurrency { events.append(.hop(inFlight.removeFirst())) }
        }
        ready.removeFirst(count)
        return events
    }

    /// One request from outside and the calls it makes down the chain, as hops.
    private mutating func flow() -> [Phases] {
        let flow = hex()
        var request = ingressRequest()
        var hops: [Phases] = []
        while true {
            let (phases, served) = hop(request, flow: flow)
            hops.append(phases)
            guard let served, phases.end.status.map({ $0 < 500 }) == true,
                let next = Self.calls[served.service]
            else { return hops }
            request = Request(
                listener: "egress:\(served.space)/\(served.service)",
                caller: HopCaller(space: served.space, service: served.service), host: next,
                routeHeader: phases.start.routeAs, method: request.method, path: request.path)
        }
    }

    private static let calls = ["servicea": "serviceb", "serviceb": "servicec"]

    private mutating func ingressRequest() -> Request {
        let domain = tree.settings.domain
        let hosts =
            TrafficGenerator.hosts(domain: domain) + [
                "servicec.\(domain)", "feature-\(random.next(90) + 10).s.default.servicea.\(domain)",
                "default.servicez.\(domain)", "hotfix.s.default.serviceb.\(domain)",
            ]
        let roll = wholeChains ? random.next(70) : random.next(100)
        let host: String
        var routeHeader: String?
        switch roll {
        case 0..<70 where wholeChains: host = hosts[random.next(3)]
        case 0..<70: host = hosts[random.next(5)]
        case 70..<82:
            host = "servicea.\(domain)"
            routeHeader = ["hotfix", "azureuser", "default"][random.next(3)]
        case 82..<97: host = hosts[5 + random.next(hosts.count - 5)]
        default: host = "Bad_Label.s.default.servicea.\(domain)"
        }
        let (method, path) = Self.endpoints[random.next(Self.endpoints.count)]
        return Request(
            listener: "ingress", host: "\(host):\(Self.ingress.port)", routeHeader: routeHeader,
            method: method, path: path.replacingOccurrences(of: "{id}", with: String(random.next(100_000))))
    }

    private static let endpoints = [
        ("GET", "/"), ("GET", "/api/orders/{id}"), ("GET", "/api/orders?page={id}&size=50"),
        ("POST", "/api/orders"), ("PUT", "/api/orders/{id}/items"), ("DELETE", "/api/carts/{id}"),
        ("GET", "/static/app.{id}.js"), ("GET", "/health"), ("GET", "/api/users/{id}/profile"),
        ("GET", "/api/search?q=blue+shoes&offset={id}"),
    ]

    /// Routes one request as the proxy would, then makes up how it went.
    private mutating func hop(_ request: Request, flow: String) -> (Phases, served: InstanceName?) {
        let started = epoch.addingTimeInterval(Double(made) / hopsPerSecond)
        made += 1
        var start = HopEvent(
            id: hex(), flow: flow, phase: .start, time: EventTime.format(started), proxy: Self.proxy,
            listener: request.listener, from: request.caller, method: request.method, host: request.host,
            path: request.path)
        var status: Int
        var failure: String?
        var served: InstanceName?
        do {
            let route = try tree.route(
                RouteRequest(
                    host: request.host, routeHeaderValue: request.routeHeader, caller: request.caller?.space))
            start.record(route)
            if let space = route.space, let upstream = route.upstream {
                served = InstanceName(space: space, service: route.service)
                (status, failure) = outcome(
                    label: Route.label(service: route.service, space: space), upstream: upstream)
            } else {
                status = 404
                failure =
                    "no space on the chain \(route.tried.joined(separator: " → ")) serves \(route.service)"
            }
        } catch {
            status = error.status
            failure = error.description
        }
        var end = start
        end.phase = .end
        let duration = self.duration(status: status)
        end.time = EventTime.format(started.addingTimeInterval(duration / 1000))
        end.status = status
        end.error = failure
        end.durationMs = duration
        end.bytesIn = request.method == "GET" ? 0 : 200 + random.next(4000)
        end.bytesOut = status >= 400 ? 60 + random.next(100) : 100 + random.next(40_000)
        return (Phases(start: start, end: end), served)
    }

    /// Mostly fine; now and then refused, timed out, failing or not modified.
    private mutating func outcome(label: String, upstream: Address) -> (Int, String?) {
        switch wholeChains ? 200 + random.next(800) : random.next(1000) {
        case 0..<15: return (502, "\(label) at \(upstream) could not be reached: connection refused")
        case 15..<20:
            return (504, "\(label) at \(upstream) did not answer within 60000 ms")
        case 20..<35: return (500, nil)
        case 35..<80: return (304, nil)
        case 80..<120: return (201, nil)
        default: return (200, nil)
        }
    }

    /// Milliseconds: a few for most, tens for some, seconds for the odd slow one.
    private mutating func duration(status: Int) -> Double {
        let base: Double
        switch random.next(100) {
        case 0..<70: base = 0.4 + Double(random.next(8000)) / 1000
        case 70..<97: base = 10 + Double(random.next(190_000)) / 1000
        default: base = 500 + Double(random.next(4_500_000)) / 1000
        }
        return status == 504 ? 60_000 : base
    }

    private mutating func hex() -> String {
        let value = random.next()
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// An instance by space and service, as the caller of the next hop.
private struct InstanceName {
    var space: String
    var service: String
}
