import SpaceportCore
import SpaceportDashboard
import Testing

/// A team's tree: default runs everything, azureuser overrides servicea, bob (a grandchild) has serviceb off.
enum Fixtures {
    static let source = "main"

    static func tree() -> SpaceTree {
        try! SpaceTree(spaces: [
            Space(
                name: "default",
                services: [
                    Instance(service: "servicea", upstream: Address(host: "127.0.0.1", port: 5001)),
                    Instance(service: "serviceb", upstream: Address(host: "127.0.0.1", port: 5002)),
                ]),
            Space(
                name: "azureuser", parent: "default",
                services: [Instance(service: "servicea", upstream: Address(host: "127.0.0.1", port: 6001))]),
            Space(
                name: "bob", parent: "azureuser",
                services: [
                    Instance(
                        service: "serviceb", upstream: Address(host: "127.0.0.1", port: 7002), enabled: false)
                ]),
            Space(name: "team2"),
        ])
    }

    static func hop(
        _ id: String, flow: String? = nil, phase: HopPhase = .end, second: Int = 1,
        service: String = "servicea",
        routeAs: String = "azureuser", source: RouteAsSource = .host, tried: [String] = ["azureuser"],
        space: String? = "azureuser", status: Int? = 200, method: String = "GET", path: String = "/api/items",
        duration: Double? = 12, error: String? = nil, listener: String = "ingress"
    ) -> HopEvent {
        HopEvent(
            id: id, flow: flow ?? "flow-\(id)", phase: phase,
            time: "2026-11-26T10:00:\(second < 10 ? "0" : "")\(second).250Z", proxy: "main",
            listener: listener,
            routeAs: routeAs, routeAsSource: source, service: service, tried: tried, space: space,
            upstream: space.map { $0 == "default" ? "127.0.0.1:5002" : "127.0.0.1:6001" }, method: method,
            host: "\(routeAs).s.default.\(service).localhost:8080", path: path,
            status: phase == .end ? status : nil, durationMs: phase == .end ? duration : nil,
            bytesIn: 10, bytesOut: 20, error: error)
    }

    /// A dashboard holding the tree, with `hops` fed in order.
    static func dashboard(
        width: Int = 120, height: Int = 30, hops: [HopEvent] = [], tree: SpaceTree = Fixtures.tree()
    ) -> Dashboard {
        var dashboard = Dashboard(size: Size(width: width, height: height))
        dashboard.receive(.connected(source: source), at: 0)
        dashboard.receive(
            .feed(
                source: source,
                .hello(
                    FeedHello(proxy: "main", pid: 1, version: "0.1", listeners: ["ingress 127.0.0.1:8080"]))),
            at: 0)
        dashboard.receive(.feed(source: source, .spaces(SpacesSnapshot(tree))), at: 0)
        for hop in hops { dashboard.receive(.feed(source: source, .hop(hop)), at: 1) }
        return dashboard
    }

    static func screen(_ dashboard: Dashboard, at now: Double = 2) -> GridCanvas {
        var canvas = GridCanvas(size: dashboard.view.size)
        dashboard.render(into: &canvas, at: now)
        return canvas
    }

    /// The standard hops: an owned hop, a fallback to default, a 404 and a 502.
    static var sampleHops: [HopEvent] {
        [
            hop("h1", second: 1),
            hop(
                "h2", flow: "flow-h1", second: 2, service: "serviceb", tried: ["azureuser", "default"],
                space: "default", duration: 3, listener: "egress:azureuser/servicea"),
            hop(
                "h3", second: 3, service: "servicec", tried: ["azureuser", "default"], space: nil,
                status: 404,
                path: "/missing", duration: 0.4, error: "no space on azureuser → default serves servicec"),
            hop(
                "h4", second: 4, routeAs: "bob", source: .header, tried: ["bob", "azureuser"], status: 502,
                method: "POST",
                path: "/orders", duration: 1500, error: "upstream refused the connection"),
        ]
    }
}

extension Dashboard {
    mutating func press(_ keys: Key..., at now: Double = 2) -> [Effect] {
        keys.flatMap { handle(.key($0), at: now) }
    }

    mutating func type(_ text: String, at now: Double = 2) {
        for character in text { _ = handle(.key(.character(character)), at: now) }
    }
}

/// A golden screen: fails showing the whole screen drawn when it is not `expected`.
func expectScreen(
    _ canvas: GridCanvas, _ expected: String, sourceLocation: Testing.SourceLocation = #_sourceLocation
) {
    #expect(canvas.text == expected, "the screen was:\n\(canvas.text)", sourceLocation: sourceLocation)
}
