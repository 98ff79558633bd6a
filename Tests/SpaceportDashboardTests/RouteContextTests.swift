import Foundation
import SpaceportCore
import Testing

@testable import SpaceportDashboard

/// A request routed as bob whose servicea (azureuser's, which bob inherits) calls serviceb
/// without passing the route on, one whose call trace memory routed, and one whose carriers
/// the proxy bridged: what the hop list, a hop's detail and the services pane say of each.
@Suite("Route context lost, restored and kept, on screen")
struct RouteContextTests {
    static let trace = "4bf92f3577b34da6a3ce929d0e0e4736"

    static var hops: [HopEvent] {
        var lostIngress = Fixtures.hop(
            "l1", second: 1, routeAs: "bob", tried: ["bob", "azureuser"], space: "azureuser", duration: 14)
        lostIngress.flow = "flow-lost"
        var lost = Fixtures.hop(
            "l2", flow: "flow-lost", second: 2, service: "serviceb", routeAs: "azureuser", source: .caller,
            tried: ["azureuser", "default"], space: "default", path: "/stock", duration: 3,
            listener: "egress:azureuser/servicea")
        lost.host = "serviceb"
        lost.from = HopCaller(space: "azureuser", service: "servicea")
        lost.propagation = .lost
        lost.lostBy = HopCaller(space: "azureuser", service: "servicea")
        lost.expected = "bob"
        var tracedIngress = Fixtures.hop(
            "r1", flow: trace, second: 3, routeAs: "bob", tried: ["bob", "azureuser"], space: "azureuser",
            duration: 9)
        tracedIngress.traceId = trace
        var restored = Fixtures.hop(
            "r2", flow: trace, second: 4, service: "serviceb", routeAs: "bob", source: .trace,
            tried: ["bob", "azureuser", "default"], space: "default", path: "/stock", duration: 2,
            listener: "egress:azureuser/servicea")
        restored.host = "serviceb"
        restored.from = HopCaller(space: "azureuser", service: "servicea")
        restored.traceId = trace
        restored.propagation = .restored
        var bridged = Fixtures.hop("k1", second: 5, source: .header, path: "/kept")
        bridged.routeAsCarrier = "kubernetes-route-as"
        bridged.propagation = .bridged
        bridged.conflicts = [HopConflict(carrier: "baggage member okteto-divert", value: "bob")]
        return [lostIngress, lost, tracedIngress, restored, bridged]
    }

    /// The dashboard with bob selected, so its services pane shows the servicea that dropped it.
    static func dashboard(width: Int, height: Int, hops: [HopEvent] = Self.hops) -> Dashboard {
        var dashboard = Fixtures.dashboard(width: width, height: height, hops: hops)
        dashboard.selectSpace(SpaceRef(source: Fixtures.source, space: "bob"))
        return dashboard
    }

    /// The lost hop opened from the list.
    static func lostDetail(width: Int, height: Int) -> Dashboard {
        var dashboard = Self.dashboard(width: width, height: height)
        dashboard.view.focus = .hops
        _ = dashboard.press(.down, .down, .down, .enter)
        return dashboard
    }

    @Test(
        "at 80×24 the list marks the lost hop ⚠ and the restored one ↺, and bob's servicea says it dropped one"
    )
    func list80() {
        expectScreen(
            Fixtures.screen(Self.dashboard(width: 80, height: 24)),
            #"""
            ┌ Spaces ────────────┐┌ Services of bob ───────────────────────────────────────┐
            │default             ││  SERVICE  SERVED BY                             OVR    │
            │└─azureuser    1.0/s││  servicea inherited from azureuser  ⚠ dropped 1 -      │
            │  └─bob        1.5/s││○ serviceb inherited from default (own off)      off    │
            │team2               │└────────────────────────────────────────────────────────┘
            │                    │┌ Hops ──────────────────────────────────────────────────┐
            │                    ││MET… HOST/PATH           SERVICE → SPACE            ST  │
            │                    ││GET  /kept               servicea → azureuser       200 │
            │                    ││GET  /stock              serviceb → default ↑ ↺     200 │
            │                    ││GET  /api/items          servicea → azureuser ↑     200 │
            │                    ││GET  /stock              serviceb → default ↑ ⚠     200 │
            │                    ││GET  /api/items          servicea → azureuser ↑     200 │
            │                    ││                                                        │
            │                    ││                                                        │
            │                    ││                                                        │
            │                    ││                                                        │
            │                    ││                                                        │
            │                    ││                                                        │
            │                    ││                                                        │
            │                    ││                                                        │
            │                    ││                                                        │
            │                    ││                                                        │
            └────────────────────┘└────────────────────────────────────────────────────────┘
             following  ingress 127.0.0.1:8080  3.5 ev/s  dropped 0  feeds 1/1       ? help
            """#)
    }

    @Test("at 120×40 the list marks the lost and restored hops, and bob's servicea says it dropped one")
    func list120() {
        expectScreen(
            Fixtures.screen(Self.dashboard(width: 120, height: 40)),
            #"""
            ┌ Spaces ────────────┐┌ Services of bob ───────────────────────────────────────────────────────────────────────────────┐
            │default             ││  SERVICE  SERVED BY                             OVR UPSTREAM              HEALTH    RATE       │
            │└─azureuser    1.0/s││  servicea inherited from azureuser  ⚠ dropped 1 -   127.0.0.1:6001        ?        1.0/s       │
            │  └─bob        1.5/s││○ serviceb inherited from default (own off)      off 127.0.0.1:5002        ?        0.5/s       │
            │team2               │└────────────────────────────────────────────────────────────────────────────────────────────────┘
            │                    │┌ Hops ──────────────────────────────────────────────────────────────────────────────────────────┐
            │                    ││TIME     METHOD HOST/PATH              ROUTE-AS           SERVICE → SPACE            ST    TOOK │
            │                    ││10:00:05 GET    azureuser.s.defa…/kept azureuser (header) servicea → azureuser       200   12ms │
            │                    ││10:00:04 GET    serviceb/stock         bob (trace)        serviceb → default ↑ ↺     200  2.0ms │
            │                    ││10:00:03 GET    bob.s.defau…/api/items bob (host)         servicea → azureuser ↑     200  9.0ms │
            │                    ││10:00:02 GET    serviceb/stock         azureuser (caller) serviceb → default ↑ ⚠     200  3.0ms │
            │                    ││10:00:01 GET    bob.s.defau…/api/items bob (host)         servicea → azureuser ↑     200   14ms │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            │                    ││                                                                                                │
            └────────────────────┘└────────────────────────────────────────────────────────────────────────────────────────────────┘
             following  ingress 127.0.0.1:8080  3.5 ev/s  dropped 0  feeds 1/1                                               ? help
            """#)
    }

    @Test("at 80×24 a lost hop's detail says who called what without which carriers, and what to forward")
    func lostDetail80() {
        expectScreen(
            Fixtures.screen(Self.lostDetail(width: 80, height: 24)),
            #"""
            ┌ Spaces ────────────┐┌ Services of bob ───────────────────────────────────────┐
            │d┌ Hop l2 (Esc back) ───────────────────────────────────────────────────────┐ │
            │└│ GET serviceb/stock  200 in 3.0ms                                         │ │
            │ │ 10:00:02.250 UTC  http  listener egress:azureuser/servicea  proxy main … │ │
            │t│                                                                          │─┘
            │ │ What decided the route                                                   │─┐
            │ │   azds-route-as: (absent)                                                │ │
            │ │   Host: serviceb                                                         │ │
            │ │   caller: servicea in azureuser                                          │ │
            │ │   route-as azureuser, from the calling instance's space                  │ │
            │ │   service serviceb                                                       │ │
            │ │                                                                          │ │
            │ │ Route context  ⚠ lost                                                    │ │
            │ │   servicea@azureuser called serviceb without azds-route-as,              │ │
            │ │   kubernetes-route-as or baggage: forward one of them (or traceparent,   │ │
            │ │   and trace memory restores it)                                          │ │
            │ │   its flow was routed as bob; without a carrier this call went as        │ │
            │ │   azureuser                                                              │ │
            │ │                                                                          │ │
            │ │ Chain tried, drawn against the tree                                      │ │
            │ │   default  ✓ served by 127.0.0.1:5002  ↑ fallback                        │ │
            │ └───────────────────────────────────────────────────────────────── → more ─┘ │
            └────────────────────┘└────────────────────────────────────────────────────────┘
             scrolled  ingress 127.0.0.1:8080  3.5 ev/s  dropped 0  feeds 1/1        ? help
            """#)
    }

    @Test("at 120×40 a lost hop's detail says who called what without which carriers, and what to forward")
    func lostDetail120() {
        expectScreen(
            Fixtures.screen(Self.lostDetail(width: 120, height: 40)),
            #"""
            ┌ Spaces ────────────┐┌ Services of bob ───────────────────────────────────────────────────────────────────────────────┐
            │d┌ Hop l2 (Esc back) ───────────────────────────────────────────────────────────────────────────────────────────────┐ │
            │└│ GET serviceb/stock  200 in 3.0ms                                                                                 │ │
            │ │ 10:00:02.250 UTC  http  listener egress:azureuser/servicea  proxy main  in 10 B, out 20 B                        │ │
            │t│                                                                                                                  │─┘
            │ │ What decided the route                                                                                           │─┐
            │ │   azds-route-as: (absent)                                                                                        │ │
            │ │   Host: serviceb                                                                                                 │ │
            │ │   caller: servicea in azureuser                                                                                  │ │
            │ │   route-as azureuser, from the calling instance's space                                                          │ │
            │ │   service serviceb                                                                                               │ │
            │ │                                                                                                                  │ │
            │ │ Route context  ⚠ lost                                                                                            │ │
            │ │   servicea@azureuser called serviceb without azds-route-as, kubernetes-route-as or baggage: forward one of them  │ │
            │ │   (or traceparent, and trace memory restores it)                                                                 │ │
            │ │   its flow was routed as bob; without a carrier this call went as azureuser                                      │ │
            │ │                                                                                                                  │ │
            │ │ Chain tried, drawn against the tree                                                                              │ │
            │ │   default  ✓ served by 127.0.0.1:5002  ↑ fallback                                                                │ │
            │ │   └─azureuser  ✗ tried: no enabled serviceb                                                                      │ │
            │ │     └─bob                                                                                                        │ │
            │ │                                                                                                                  │ │
            │ │ Flow flow-lost  2 hops  (↑ ↓ select a hop, Enter opens it)                                                       │ │
            │ │   10:00:01.250 ingress GET servicea → azureuser ↑ 200 14ms                                                       │ │
            │ │ → 10:00:02.250 egress:azureuser/servicea GET serviceb → default ↑ ⚠ 200 3.0ms                                    │ │
            │ │                                                                                                                  │ │
            │ │                                                                                                                  │ │
            │ │                                                                                                                  │ │
            │ │                                                                                                                  │ │
            │ │                                                                                                                  │ │
            │ │                                                                                                                  │ │
            │ │                                                                                                                  │ │
            │ │                                                                                                                  │ │
            │ │                                                                                                                  │ │
            │ │                                                                                                                  │ │
            │ │                                                                                                                  │ │
            │ │                                                                                                                  │ │
            │ └──────────────────────────────────────────────────────────────────────────────────────────────────────────────────┘ │
            └────────────────────┘└────────────────────────────────────────────────────────────────────────────────────────────────┘
             scrolled  ingress 127.0.0.1:8080  3.5 ev/s  dropped 0  feeds 1/1                                                ? help
            """#)
    }

    @Test("the marks have roles of their own, which every shipped theme styles, monochrome without colour")
    func roles() throws {
        var dashboard = Self.dashboard(width: 120, height: 40)
        dashboard.view.serviceIndex = 1
        let screen = Fixtures.screen(dashboard)
        #expect(screen.role(of: "⚠ dropped 1") == .lost)
        #expect(screen.role(of: "↺") == .restored)
        let lostRow = try #require(
            (0..<screen.size.height).map(screen.line).first { $0.contains("(caller)") })
        #expect(lostRow.contains("serviceb → default ↑ ⚠"), "\(lostRow)")
        #expect(screen.role(of: "↑ ⚠") == .fallback)
        #expect(screen.role(of: "⚠     200") == .lost)
        for theme in ThemeCatalog.shipped.themes {
            for role in [Role.lost, .restored] {
                #expect(theme.styles[role] != nil, "\(theme.name) leaves out \(role.rawValue)")
            }
            #expect(theme.style(for: .lost) != theme.style(for: .normal), "\(theme.name): lost looks plain")
        }
        let monochrome = try #require(ThemeCatalog.shipped.themes.first { $0.name == "monochrome" })
        let lost = monochrome.style(for: .lost)
        #expect(lost.foreground == .terminalDefault && lost.background == .terminalDefault)
        #expect(lost.attributes.contains(.bold))
        // Under NO_COLOR any theme keeps only attributes: the glyphs alone tell the marks apart.
        let noColor = ThemeCatalog.shippedDefault.adapted(toColors: 0)
        #expect(noColor.style(for: .lost) == Style(attributes: lost.attributes))
        #expect(Glyphs.unicode.lost != Glyphs.unicode.restored)
        #expect(![Glyphs.unicode.fallback, Glyphs.unicode.skipped].contains(Glyphs.unicode.lost))
    }

    @Test("without UTF-8 the marks are ! and @, and a curses screen turns ⚠ and ↺ into them too")
    func ascii() {
        var dashboard = Self.dashboard(width: 120, height: 40)
        dashboard.glyphs = .ascii
        let screen = Fixtures.screen(dashboard)
        #expect(screen.text.contains("serviceb > default ^ !"), "\(screen.text)")
        #expect(screen.text.contains("serviceb > default ^ @"), "\(screen.text)")
        #expect(screen.text.contains("! dropped 1"))
        #expect(Glyphs.asciiSubstitute(for: "⚠") == "!")
        #expect(Glyphs.asciiSubstitute(for: "↺") == "@")
    }

    @Test("help says what ⚠, ⚠ dropped N and ↺ mean, and that the filter takes lost and restored")
    func help() {
        var dashboard = Fixtures.dashboard(width: 120, height: 80)
        _ = dashboard.press(.character("?"))
        let screen = Fixtures.screen(dashboard)
        for line in [
            "/                filter hops: service:X space:X 5xx method:GET path:/x lost restored text, !term negates",
            "⚠ its caller dropped the hop's route context (filter: lost)",
            "⚠ dropped N the service dropped route context N times in the last 5 minutes",
            "↺ trace memory restored the hop's route context (filter: restored)",
        ] {
            #expect(screen.text.contains(line), "\(screen.text)")
        }
        #expect(screen.role(of: "⚠ dropped N") == .lost)
        #expect(screen.role(of: "↺ trace memory") == .restored)
    }

    @Test("a restored hop's detail says trace memory routed it, and which trace")
    func restoredDetail() {
        var dashboard = Self.dashboard(width: 120, height: 40)
        dashboard.view.focus = .hops
        _ = dashboard.press(.down, .enter)
        let text = Fixtures.screen(dashboard).text
        #expect(text.contains("Route context  ↺ restored"), "\(text)")
        #expect(
            text.contains(
                "no carrier came: trace memory routed it as bob, as trace \(Self.trace) was routed before"),
            "\(text)")
    }

    @Test("a bridged hop's detail names the carrier that decided and the one that disagreed")
    func bridgedDetail() {
        var dashboard = Self.dashboard(width: 120, height: 40)
        dashboard.view.focus = .hops
        _ = dashboard.press(.enter)
        let text = Fixtures.screen(dashboard).text
        #expect(text.contains("kubernetes-route-as: azureuser"), "\(text)")
        #expect(text.contains("Route context  bridged"), "\(text)")
        #expect(
            text.contains(
                "the header kubernetes-route-as decided; the proxy added the carriers the request lacked"),
            "\(text)")
        #expect(
            text.contains(
                "conflict: baggage member okteto-divert named bob; the header kubernetes-route-as came first"),
            "\(text)")
    }

    @Test("a hop whose baggage could not carry route-as says why in its detail")
    func bridgeProblem() {
        var hop = Fixtures.hop("x1", source: .header)
        hop.routeAsCarrier = "azds-route-as"
        hop.propagation = .kept
        hop.bridgeProblem = "the baggage would pass 8192 bytes"
        var dashboard = Fixtures.dashboard(width: 120, height: 40, hops: [hop])
        dashboard.view.focus = .hops
        _ = dashboard.press(.enter)
        let screen = Fixtures.screen(dashboard)
        #expect(
            screen.text.contains("baggage left as it came: the baggage would pass 8192 bytes"),
            "\(screen.text)")
        #expect(screen.role(of: "baggage left as it came") == .error)
    }

    /// The lost hop's detail on a tree whose spaces file names its own carriers, sent as a
    /// `spaces` line and read back as the dashboard reads it.
    private func lostSentence(spacesFile: String, snapshotJSON: (String) -> String = { $0 }) throws -> String
    {
        let tree = try SpacesFile.parse(text: spacesFile, file: "spaces.yaml")
        let line = String(
            decoding: try JSONEncoder().encode(FeedEvent.spaces(SpacesSnapshot(tree))), as: UTF8.self)
        let event = try JSONDecoder().decode(FeedEvent.self, from: Data(snapshotJSON(line).utf8))
        var dashboard = Self.lostDetail(width: 160, height: 40)
        dashboard.receive(.feed(source: Fixtures.source, event), at: 1)
        return Fixtures.screen(dashboard).text
    }

    static let ownCarriers = """
        route_header: x-route
        propagation:
          headers: [x-dev-space]
          baggage: [sd-routing-key]
          trace_memory: { traces: 0 }
        spaces:
          default: { services: { servicea: 127.0.0.1:5001, serviceb: 127.0.0.1:5002 } }
          azureuser: { parent: default, services: { servicea: 127.0.0.1:6001 } }
          bob: { parent: azureuser }
        """

    @Test(
        "the carriers a lost hop's detail names are the ones the proxy's spaces file sets, from its snapshot")
    func carriersFromSnapshot() throws {
        let text = try lostSentence(spacesFile: Self.ownCarriers)
        #expect(
            text.contains(
                "servicea@azureuser called serviceb without x-route, x-dev-space or baggage: forward one of them"
            ),
            "\(text)")
        #expect(!text.contains("trace memory restores it"), "trace memory is off in that file:\n\(text)")
        let noBaggage = Self.ownCarriers.replacingOccurrences(of: "[sd-routing-key]", with: "[]")
        #expect(
            try lostSentence(spacesFile: noBaggage).contains("without x-route or x-dev-space: forward one"))
    }

    @Test("a snapshot from a proxy that does not send its carriers reads as the default carriers")
    func olderSnapshot() throws {
        let text = try lostSentence(spacesFile: Self.ownCarriers) { line in
            var object = try! JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            #expect(object["carrierHeaders"] as? [String] == ["x-dev-space"])
            #expect(object["baggageKeys"] as? [String] == ["sd-routing-key"])
            #expect(object["traceMemory"] as? Bool == false)
            for key in ["carrierHeaders", "baggageKeys", "traceMemory"] { object[key] = nil }
            return String(decoding: try! JSONSerialization.data(withJSONObject: object), as: UTF8.self)
        }
        #expect(
            text.contains(
                "called serviceb without x-route, kubernetes-route-as or baggage: forward one of them (or traceparent, and trace memory restores it)"
            ), "\(text)")
    }

    @Test("a lost hop that carried traceparent says trace memory did not know it, or is off")
    func lostWithTrace() {
        var hop = Self.hops[1]
        hop.traceId = Self.trace
        var settings = Settings()
        #expect(
            DetailView.lostSentence(hop, settings: settings).hasSuffix(
                "forward one of them (its traceparent came, but trace memory did not know the trace)"))
        settings.propagation.traceMemoryTraces = 0
        #expect(
            DetailView.lostSentence(hop, settings: settings).hasSuffix(
                "forward one of them (its traceparent came, but trace memory is off)"))
        hop.lostBy = nil
        #expect(
            DetailView.lostSentence(hop, settings: settings).hasPrefix(
                "serviceb was called without azds-route-as, kubernetes-route-as or baggage: its caller should forward one of them"
            ))
    }

    @Test("the services pane counts the route contexts an instance dropped in the last five minutes")
    func dropWindow() {
        var dashboard = Self.dashboard(width: 120, height: 30, hops: [])
        for (number, second) in [(1, 10.0), (2, 100), (3, 200)] {
            var hop = Self.hops[1]
            hop.id = "lost-\(number)"
            dashboard.receive(.feed(source: Fixtures.source, .hop(hop)), at: second)
        }
        func servicea(at now: Double) -> String {
            let screen = Fixtures.screen(dashboard, at: now)
            return (0..<screen.size.height).map(screen.line).first { $0.contains("servicea") } ?? ""
        }
        #expect(servicea(at: 201).contains("inherited from azureuser  ⚠ dropped 3"), "\(servicea(at: 201))")
        #expect(servicea(at: 311).contains("⚠ dropped 2"), "the first is older than five minutes")
        #expect(!servicea(at: 501).contains("dropped"), "all are")
        // In default, servicea is another instance: default's own, which dropped nothing.
        dashboard.selectSpace(SpaceRef(source: Fixtures.source, space: "default"))
        #expect(!servicea(at: 201).contains("dropped"))
        // azureuser owns the instance that dropped them.
        dashboard.selectSpace(SpaceRef(source: Fixtures.source, space: "azureuser"))
        #expect(servicea(at: 201).contains("owned  ⚠ dropped 3"), "\(servicea(at: 201))")
        // Lost hops a proxy replays on connect are listed, not counted as drops happening now.
        var attached = Self.dashboard(width: 120, height: 30, hops: [])
        let since = "2026-11-26T11:00:00.000Z"
        attached.receive(
            .feed(
                source: Fixtures.source,
                .hello(FeedHello(proxy: "main", pid: 1, version: "0.1", listeners: [], since: since))),
            at: 1)
        attached.receive(.feed(source: Fixtures.source, .hop(Self.hops[1])), at: 1)
        let replayed = Fixtures.screen(attached)
        #expect(replayed.text.contains("serviceb → default ↑ ⚠"))
        #expect(!replayed.text.contains("⚠ dropped"), "\(replayed.text)")
    }
}
