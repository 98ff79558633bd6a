import Foundation
import SpaceportCore
import Testing

@testable import SpaceportDashboard

@Suite("Screens drawn on an in-memory canvas")
struct ScreenTests {
    /// The column where `needle` starts on row `y`, counting a wide character as two.
    private func column(of needle: String, row y: Int, in canvas: GridCanvas) -> Int? {
        let cells = Array(canvas.row(y))
        for x in cells.indices where !cells[x].isContinuation {
            var text = ""
            var column = x
            while column < cells.count && text.count < needle.count {
                if !cells[column].isContinuation { text.append(cells[column].character) }
                column += 1
            }
            if text == needle { return x }
        }
        return nil
    }

    @Test("the tree with request rates, the selected space's services, and the live hops newest first")
    func mainScreen() {
        var dashboard = Fixtures.dashboard(hops: Fixtures.sampleHops)
        _ = dashboard.press(.down, .tab)
        expectScreen(
            Fixtures.screen(dashboard),
            #"""
            ┌ Spaces ────────────┐┌ Services of azureuser ─────────────────────────────────────────────────────────────────────────┐
            │default             ││  SERVICE  SERVED BY                          OVR UPSTREAM              HEALTH    RATE          │
            │└─azureuser    1.5/s││● servicea owned                              on  127.0.0.1:6001        ?        0.5/s          │
            │  └─bob        0.5/s││  serviceb inherited from default             -   127.0.0.1:5002        ?        0.5/s          │
            │team2               │└────────────────────────────────────────────────────────────────────────────────────────────────┘
            │                    │┌ Hops ──────────────────────────────────────────────────────────────────────────────────────────┐
            │                    ││TIME     METHOD HOST/PATH              ROUTE-AS           SERVICE → SPACE            ST    TOOK │
            │                    ││10:00:04 POST   bob.s.default.…/orders bob (header)       servicea → azureuser ↑     502   1.5s │
            │                    ││10:00:03 GET    azureuser.s.d…/missing azureuser (host)   servicec → none            404  0.4ms │
            │                    ││10:00:02 GET    azureuser.s…/api/items azureuser (host)   serviceb → default ↑       200  3.0ms │
            │                    ││10:00:01 GET    azureuser.s…/api/items azureuser (host)   servicea → azureuser       200   12ms │
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
             following  ingress 127.0.0.1:8080  3.0 ev/s  dropped 0  feeds 1/1                                               ? help
            """#)
    }

    @Test("owned, inherited, overridden-off, fallback and status classes each have their own role")
    func roles() {
        var dashboard = Fixtures.dashboard(hops: Fixtures.sampleHops)
        dashboard.selectSpace(SpaceRef(source: Fixtures.source, space: "bob"))
        dashboard.view.focus = .hops
        _ = dashboard.press(.end)
        dashboard.view.serviceIndex = 1
        let screen = Fixtures.screen(dashboard)
        #expect(screen.role(of: "inherited from azureuser") == .inherited)
        #expect(screen.role(of: "↑") == .fallback)
        #expect(screen.role(of: "502") == .status5xx)
        #expect(screen.role(of: "404") == .status4xx)
        #expect(screen.role(of: "POST") == .method)
        #expect(screen.role(of: "Hops") == .titleFocused)
        #expect(screen.role(of: "10:00:01") == .selection)
        dashboard.view.serviceIndex = 0
        let bob = Fixtures.screen(dashboard)
        #expect(bob.role(of: "inherited from default (own off)") == .overrideOff)
        #expect(bob.role(of: "○") == .overrideOff)
        dashboard.selectSpace(SpaceRef(source: Fixtures.source, space: "azureuser"))
        dashboard.view.focus = .services
        dashboard.view.serviceIndex = 1
        let parent = Fixtures.screen(dashboard)
        #expect(parent.role(of: "●") == .overrideOn)
        #expect(parent.role(of: "owned") == .owned)
        #expect(parent.role(of: "inherited from default") == .selection)
        #expect(parent.role(of: "Services of azureuser") == .titleFocused)
        #expect(parent.role(of: "Spaces") == .title)
        #expect(parent.role(of: "└─azureuser") == .selectionInactive)
        #expect(parent.role(of: "10:00:01") == .selectionInactive)
    }

    @Test("a hop in flight shows no status yet, and an error without a status shows ERR")
    func pendingAndErrors() {
        let hops = [
            Fixtures.hop("p1", phase: .start, path: "/slow"),
            Fixtures.hop("e1", second: 2, status: nil, path: "/broken", error: "upstream reset"),
            Fixtures.hop("n1", second: 3, path: "/newest"),
        ]
        let screen = Fixtures.screen(Fixtures.dashboard(hops: hops))
        #expect(screen.role(of: "ERR") == .status5xx)
        #expect(screen.role(of: "…  ") == .statusPending)
        #expect(screen.text.contains("/slow"))
    }

    @Test(
        "a hop's detail draws the chain tried against the tree, the headers that decided the route, and its flow"
    )
    func detail() {
        var dashboard = Fixtures.dashboard(width: 100, height: 30, hops: Fixtures.sampleHops)
        dashboard.view.focus = .hops
        _ = dashboard.press(.down, .down, .enter)
        let screen = Fixtures.screen(dashboard)
        expectScreen(
            screen,
            #"""
            ┌ Spaces ────────────┐┌ Services of default ───────────────────────────────────────────────────────┐
            │d┌ Hop h2 (Esc back) ───────────────────────────────────────────────────────────────────────────┐ │
            │└│ GET azureuser.s.default.serviceb.localhost:8080/api/items  200 in 3.0ms                      │ │
            │ │ 10:00:02.250 UTC  http  listener egress:azureuser/servicea  proxy main  in 10 B, out 20 B    │ │
            │t│                                                                                              │─┘
            │ │ What decided the route                                                                       │─┐
            │ │   azds-route-as: (absent)                                                                    │ │
            │ │   Host: azureuser.s.default.serviceb.localhost:8080                                          │ │
            │ │   route-as azureuser, from the Host                                                          │ │
            │ │   service serviceb                                                                           │ │
            │ │                                                                                              │ │
            │ │ Chain tried, drawn against the tree                                                          │ │
            │ │   default  ✓ served by 127.0.0.1:5002  ↑ fallback                                            │ │
            │ │   └─azureuser  ✗ tried: no enabled serviceb                                                  │ │
            │ │     └─bob                                                                                    │ │
            │ │                                                                                              │ │
            │ │ Flow flow-h1  2 hops  (↑ ↓ select a hop, Enter opens it)                                     │ │
            │ │   10:00:01.250 ingress GET servicea → azureuser 200 12ms                                     │ │
            │ │ → 10:00:02.250 egress:azureuser/servicea GET serviceb → default ↑ 200 3.0ms                  │ │
            │ │                                                                                              │ │
            │ │                                                                                              │ │
            │ │                                                                                              │ │
            │ │                                                                                              │ │
            │ │                                                                                              │ │
            │ │                                                                                              │ │
            │ │                                                                                              │ │
            │ │                                                                                              │ │
            │ └──────────────────────────────────────────────────────────────────────────────────────────────┘ │
            └────────────────────┘└────────────────────────────────────────────────────────────────────────────┘
             scrolled  ingress 127.0.0.1:8080  3.0 ev/s  dropped 0  feeds 1/1                            ? help
            """#)
        #expect(screen.role(of: "default  ✓ served") == .chainServed)
        #expect(screen.role(of: "✗ tried") == .chainSkipped)
    }

    @Test(
        "an instance that forces its protocol shows it beside its upstream, and a translated hop's detail says what went upstream"
    )
    func upstreamProtocolShown() {
        var spaces = Fixtures.tree().spaces
        spaces[1].services[0].upstreamProtocol = .h2c
        let tree = try! SpaceTree(spaces: spaces)
        var hop = Fixtures.hop("p1")
        hop.protocol = .h2
        hop.upstreamProtocol = .http1
        var dashboard = Fixtures.dashboard(width: 120, height: 30, hops: [hop], tree: tree)
        _ = dashboard.press(.down, .tab)
        #expect(Fixtures.screen(dashboard).text.contains("127.0.0.1:6001 h2c"))
        dashboard.view.focus = .hops
        _ = dashboard.press(.enter)
        let detail = Fixtures.screen(dashboard).text
        #expect(detail.contains("UTC  h2, upstream http1  listener ingress"), "\(detail)")
    }

    @Test("the detail of a hop routed by header names the header and the fallback from an unknown space")
    func detailByHeader() {
        var hop = Fixtures.hop(
            "x1", routeAs: "default", source: .header, tried: ["default"], space: "default")
        hop.unknownRouteAs = "ghost"
        var dashboard = Fixtures.dashboard(width: 100, height: 30, hops: [hop])
        dashboard.view.focus = .hops
        _ = dashboard.press(.enter)
        let text = Fixtures.screen(dashboard).text
        #expect(text.contains("azds-route-as: ghost"))
        #expect(text.contains("route-as ghost, from the azds-route-as header"))
        #expect(text.contains("ghost is not a space, so it routed as default"))
    }

    @Test(
        "the detail of a hop whose upstream failed says its space was chosen and failed, and why, never served"
    )
    func failedHopDetail() {
        var dashboard = Fixtures.dashboard(width: 100, height: 30, hops: Fixtures.sampleHops)
        dashboard.view.focus = .hops
        _ = dashboard.press(.enter)
        let screen = Fixtures.screen(dashboard)
        #expect(screen.text.contains("Hop h4"))
        #expect(!screen.text.contains("served by"), "\(screen.text)")
        #expect(
            screen.text.contains("└─azureuser  ✗ chosen, and failed at 127.0.0.1:6001  ↑ fallback"),
            "\(screen.text)")
        #expect(screen.text.contains("why: upstream refused the connection"))
        #expect(screen.role(of: "✗ chosen, and failed") == .error)
    }

    @Test("a hop's detail names the hop by its whole id, as the feed and tail print it")
    func wholeHopID() {
        let id = String(repeating: "9f2c4", count: 3)
        #expect(id.count == HopEvent.idLength)
        var dashboard = Fixtures.dashboard(width: 100, height: 30, hops: [Fixtures.hop(id)])
        dashboard.view.focus = .hops
        _ = dashboard.press(.enter)
        #expect(Fixtures.screen(dashboard).text.contains("Hop \(id) (Esc back)"))
    }

    @Test("help is written from the key table")
    func help() {
        var dashboard = Fixtures.dashboard(width: 100, height: 44)
        _ = dashboard.press(.character("?"))
        expectScreen(
            Fixtures.screen(dashboard),
            #"""
            ┌ Spaces ────────────┐┌ Services of default ───────────────────────────────────────────────────────┐
            │d┌ Keys (Esc closes) ───────────────────────────────────────────────────────────────────────────┐ │
            │└│ Everywhere                                                                                   │ │
            │ │   ↑ k              move up                                                                   │ │
            │t│   ↓ j              move down                                                                 │─┘
            │ │   PgUp             page up                                                                   │─┐
            │ │   PgDn             page down                                                                 │ │
            │ │   Home             first row                                                                 │ │
            │ │   End              last row                                                                  │ │
            │ │   ← h              pane to the left                                                          │ │
            │ │   → l              pane to the right                                                         │ │
            │ │   Tab              next pane                                                                 │ │
            │ │   Shift-Tab        previous pane                                                             │ │
            │ │   /                filter hops: service:X space:X 5xx method:GET path:/x lost restored text… │ │
            │ │   Esc              clear the filter                                                          │ │
            │ │   p                pause the hop list (new hops wait), or resume it                          │ │
            │ │   f                follow: resume the list and select the newest hop or flow                 │ │
            │ │   v                show flows (each request as a tree of its calls) or hops in the hop pane  │ │
            │ │   t                next theme                                                                │ │
            │ │   ?                this help                                                                 │ │
            │ │   q Ctrl-C         quit                                                                      │ │
            │ │                                                                                              │ │
            │ │ Spaces pane                                                                                  │ │
            │ │   n                new child of the selected space (a fourth level is refused)               │ │
            │ │   d                delete the selected space (asks first)                                    │ │
            │ │   Enter            show the space's services                                                 │ │
            │ │                                                                                              │ │
            │ │ Services pane                                                                                │ │
            │ │   Space o          turn the space's own instance on or off (asks for an address if it has n… │ │
            │ │   d                remove the space's own instance, so it inherits the service (asks first)  │ │
            │ │                                                                                              │ │
            │ │ Hops pane                                                                                    │ │
            │ │   Enter            open the hop (chain tried, route headers, its flow) or a flow's calls     │ │
            │ │   Space            open or close the selected flow's calls                                   │ │
            │ │   R                replay: send the hop's request again, routed as a space you name          │ │
            │ │                                                                                              │ │
            │ │ Hop detail                                                                                   │ │
            │ │   ↑ k              select the flow's hop above                                               │ │
            │ │   ↓ j              select the flow's hop below                                               │ │
            │ │   Enter            open the selected hop of the flow                                         │ │
            │ │   R                replay this hop's request routed as another space                         │ │
            │ └───────────────────────────────────────────────────────────────────────────────────── → more ─┘ │
            └────────────────────┘└────────────────────────────────────────────────────────────────────────────┘
             following  ingress 127.0.0.1:8080  1.0 ev/s  dropped 0  feeds 1/1                           ? help
            """#)
        _ = dashboard.press(.pageDown)
        #expect(
            Fixtures.screen(dashboard).text.contains("an ancestor served the hop, not the route-as space"))
    }

    /// A tree whose names are longer than the columns a 120-column screen gives them.
    static let longNamedTree = try! SpaceTree(spaces: [
        Space(
            name: "default",
            services: [
                Instance(service: "servicea", upstream: Address(host: "127.0.0.1", port: 5001)),
                Instance(service: "inventory-service", upstream: Address(host: "127.0.0.1", port: 5002)),
            ]),
        Space(
            name: "feature-login-redesign", parent: "default",
            services: [Instance(service: "servicea", upstream: Address(host: "127.0.0.1", port: 6001))]),
        Space(
            name: "bob", parent: "feature-login-redesign",
            services: [
                Instance(
                    service: "inventory-service", upstream: Address(host: "127.0.0.1", port: 16002),
                    enabled: true)
            ]),
    ])

    static let longNamedHops = [
        Fixtures.hop(
            "w1", second: 1, routeAs: "feature-login-redesign", source: .header,
            tried: ["feature-login-redesign"], space: "feature-login-redesign"),
        Fixtures.hop(
            "w2", second: 2, service: "inventory-service", routeAs: "bob", tried: ["bob"], space: "bob",
            status: 502, path: "/orders/17",
            error: "inventory-service@bob at 127.0.0.1:16002 could not be reached: connection refused"),
        Fixtures.hop(
            "w3", second: 3, routeAs: "bob", tried: ["bob", "feature-login-redesign"],
            space: "feature-login-redesign"),
    ]

    @Test(
        "at 80 and 120 columns long names are cut; at 250 the room goes to the columns that cut them, not to the host and path"
    )
    func wideScreens() {
        func screen(_ width: Int) -> GridCanvas {
            var dashboard = Fixtures.dashboard(
                width: width, height: 16, hops: Self.longNamedHops, tree: Self.longNamedTree)
            dashboard.selectSpace(SpaceRef(source: Fixtures.source, space: "bob"))
            return Fixtures.screen(dashboard)
        }
        expectScreen(
            screen(80),
            #"""
            ┌ Spaces ────────────────┐┌ Services of bob ───────────────────────────────────┐
            │default                 ││  SERVICE           SERVED BY                   OVR │
            │└─feature-login-r… 0.5/s││  servicea          inherited from feature-log… -   │
            │  └─bob            1.0/s││● inventory-service owned                       on  │
            │                        │└────────────────────────────────────────────────────┘
            │                        │┌ Hops ──────────────────────────────────────────────┐
            │                        ││MET… HOST/PATH       SERVICE → SPACE            ST  │
            │                        ││GET  /api/items      servicea → feature-logi… ↑ 200 │
            │                        ││GET  /orders/17      inventory-service → bob    502 │
            │                        ││GET  /api/items      servicea → feature-login-… 200 │
            │                        ││                                                    │
            │                        ││                                                    │
            │                        ││                                                    │
            │                        ││                                                    │
            └────────────────────────┘└────────────────────────────────────────────────────┘
             following  ingress 127.0.0.1:8080  2.5 ev/s  dropped 0  feeds 1/1       ? help
            """#)
        expectScreen(
            screen(120),
            #"""
            ┌ Spaces ───────────────────────┐┌ Services of bob ────────────────────────────────────────────────────────────────────┐
            │default                        ││  SERVICE           SERVED BY               OVR UPSTREAM              HEALTH    RATE │
            │└─feature-login-redesign  0.5/s││  servicea          inherited from feature… -   127.0.0.1:6001        ?        0.5/s │
            │  └─bob                   1.0/s││● inventory-service owned                   on  127.0.0.1:16002       ?        0.5/s │
            │                               │└─────────────────────────────────────────────────────────────────────────────────────┘
            │                               │┌ Hops ───────────────────────────────────────────────────────────────────────────────┐
            │                               ││METHOD HOST/PATH                               SERVICE → SPACE            ST    TOOK │
            │                               ││GET    bob.s.default.servicea.local…/api/items servicea → feature-logi… ↑ 200   12ms │
            │                               ││GET    bob.s.default.inventory-serv…/orders/17 inventory-service → bob    502   12ms │
            │                               ││GET    feature-login-redesign.s.def…/api/items servicea → feature-login-… 200   12ms │
            │                               ││                                                                                     │
            │                               ││                                                                                     │
            │                               ││                                                                                     │
            │                               ││                                                                                     │
            └───────────────────────────────┘└─────────────────────────────────────────────────────────────────────────────────────┘
             following  ingress 127.0.0.1:8080  2.5 ev/s  dropped 0  feeds 1/1                                               ? help
            """#)
        let wide = screen(250)
        let rows = (0..<wide.size.height).map(wide.line)
        for whole in [
            "feature-login-redesign (header)", "inventory-service → bob",
            "servicea → feature-login-redesign ↑",
            "inventory-service@bob at 127.0.0.1:16002 could not be reached: connection refused",
            "inherited from feature-login-redesign",
        ] {
            #expect(rows.contains { $0.contains(whole) }, "\(whole) is cut at 250 columns:\n\(wide.text)")
        }
        let header = rows.first { $0.contains("HOST/PATH") } ?? ""
        #expect(header.contains("ERROR"))
        let hostPath = header.range(of: "HOST/PATH").map {
            header.distance(from: header.startIndex, to: $0.lowerBound)
        }
        let routeAs = header.range(of: "ROUTE-AS").map {
            header.distance(from: header.startIndex, to: $0.lowerBound)
        }
        let longestTarget = "feature-login-redesign.s.default.servicea.localhost/api/items".count
        #expect(
            (routeAs ?? 0) - (hostPath ?? 0) <= longestTarget + 1,
            "HOST/PATH takes only what its longest row needs:\n\(header)")
    }

    @Test("a 40×10 terminal still shows every pane, stacked")
    func smallest() {
        var dashboard = Fixtures.dashboard(width: 40, height: 10, hops: Fixtures.sampleHops)
        _ = dashboard.press(.down)
        expectScreen(
            Fixtures.screen(dashboard),
            #"""
            Spaces ─────────────────────────────────
            default
            └─azureuser                        1.5/s
              └─bob                            0.5/s
            team2
            Services of azureuser ──────────────────
            ● servicea owned                    on
            Hops ───────────────────────────────────
            POST /orders    servicea → azure… ↑ 502
             ingress 127.0.0.1:8080          ? help
            """#)
    }

    @Test("below 40×10 the screen only says it is too small")
    func tooSmall() {
        expectScreen(
            Fixtures.screen(Fixtures.dashboard(width: 39, height: 10)),
            #"""
            Terminal too small: 39×10. Spaceport
            needs at least 40×10. q quits.








            """#)
        let short = Fixtures.screen(Fixtures.dashboard(width: 80, height: 9))
        #expect(short.text.hasPrefix("Terminal too small: 80×9. Spaceport needs at least 40×10. q quits."))
    }

    @Test("text from the network reaches the screen escaped, never as control characters")
    func hostileText() {
        var hop = Fixtures.hop(
            "evil", source: .header, method: "G\u{1B}]0;pwned\u{7}", path: "/\u{1B}[2J\u{202E}gnp.exe")
        // What a hostile feed may say of the route context, which the hop's detail shows.
        let evil = "\u{1B}[31m\u{202E}x"
        hop.routeAsCarrier = evil
        hop.propagation = .lost
        hop.lostBy = HopCaller(space: evil, service: evil)
        hop.expected = evil
        hop.traceId = evil
        hop.conflicts = [HopConflict(carrier: evil, value: evil)]
        hop.bridgeProblem = evil
        var dashboard = Fixtures.dashboard(width: 160, height: 30, hops: [hop])
        let screen = Fixtures.screen(dashboard)
        #expect(screen.text.contains("/\\x1B[2J\\u{202E}gnp.exe"))
        for cell in screen.cells {
            #expect(!cell.character.unicodeScalars.contains(where: Sanitized.isUnsafe))
        }
        dashboard.view.focus = .hops
        _ = dashboard.press(.enter)
        let detail = Fixtures.screen(dashboard)
        let escaped = "\\x1B[31m\\u{202E}x"
        #expect(detail.text.contains("from the \(escaped) header"), "\(detail.text)")
        #expect(detail.text.contains("\(escaped)@\(escaped) called"), "\(detail.text)")
        #expect(
            detail.cells.allSatisfy {
                !$0.character.unicodeScalars.contains(where: Sanitized.isUnsafe)
            })
    }

    @Test("wide characters take two columns and the columns after them stay aligned")
    func wideCharacters() {
        let hops = [
            Fixtures.hop("w1", second: 1, path: "/日本語/パス"), Fixtures.hop("w2", second: 2, path: "/ascii"),
        ]
        let screen = Fixtures.screen(Fixtures.dashboard(hops: hops))
        let first = (0..<screen.size.height).first { screen.line($0).contains("/ascii") }!
        let second = (0..<screen.size.height).first { screen.line($0).contains("パス") }!
        #expect(column(of: "200", row: first, in: screen) != nil)
        #expect(column(of: "200", row: first, in: screen) == column(of: "200", row: second, in: screen))
    }

    @Test("the status bar shows pause, the filter, drops, events per second and the shell's own items")
    func statusBar() {
        var dashboard = Fixtures.dashboard(hops: Fixtures.sampleHops)
        dashboard.receive(.status(key: "traffic", value: "on (g)"), at: 1)
        dashboard.receive(.feed(source: Fixtures.source, .dropped(count: 7)), at: 1)
        dashboard.receive(.handOffDropped(3), at: 1)
        _ = dashboard.press(.character("p"), .character("/"))
        dashboard.type("5xx")
        _ = dashboard.press(.enter)
        let screen = Fixtures.screen(dashboard)
        let bar = screen.line(screen.size.height - 1)
        for piece in [
            "PAUSED", "filter 5xx", "traffic on (g)", "ingress 127.0.0.1:8080", "feeds 1/1", "ev/s",
            "dropped 10",
        ] {
            #expect(bar.contains(piece), "\(piece) missing from: \(bar)")
        }
        #expect(screen.role(of: "dropped 10") == .error)
        #expect(screen.text.contains("Hops (paused) matching 5xx"))
    }

    @Test(
        "under sampling the status bar says how much of the traffic the list shows, and the tree shows the tallied rate"
    )
    func sampledStatus() {
        var dashboard = Fixtures.dashboard(hops: Fixtures.sampleHops)
        let tally = HopTally(
            hops: 20_000, sampled: 500, failed: 0, seconds: 0.25,
            routes: [.init(routeAs: "azureuser", service: "servicea", hops: 20_000)])
        // Four a second, for the two seconds since the feed connected.
        for quarter in 1...8 {
            dashboard.receive(.feed(source: Fixtures.source, .tally(tally)), at: Double(quarter) / 4)
        }
        let screen = Fixtures.screen(dashboard, at: 2)
        let bar = screen.line(screen.size.height - 1)
        #expect(bar.contains("sampled 2.5% of 80.0k hops/s"), "\(bar)")
        let azureuser = (0..<screen.size.height).map(screen.line).first {
            $0.contains("azureuser") && $0.contains("/s")
        }
        #expect(azureuser?.contains("80.0k/s") == true, "\(azureuser ?? "no azureuser row with a rate")")
        // Without sampling there is no such piece.
        let plain = Fixtures.screen(Fixtures.dashboard(hops: Fixtures.sampleHops))
        #expect(!plain.line(plain.size.height - 1).contains("sampled"))
    }

    @Test("a note says how an edit went, and leaves after a few seconds")
    func notes() {
        var dashboard = Fixtures.dashboard()
        dashboard.receive(.note("spaces.yaml:3:5: bad name", isError: true), at: 10)
        let during = Fixtures.screen(dashboard, at: 11)
        #expect(during.role(of: "spaces.yaml:3:5: bad name") == .error)
        #expect(!Fixtures.screen(dashboard, at: 15).text.contains("bad name"))
    }

    @Test(
        "while the proxy's spaces file is invalid the status bar says so, after the note has gone, until it is fixed"
    )
    func invalidFileLasts() throws {
        var dashboard = Fixtures.dashboard()
        let problem = "spaces.yaml:11:13: space 'bob' names parent 'nobody', which is not a space here"
        dashboard.receive(.feed(source: Fixtures.source, .error(message: problem, id: nil)), at: 10)
        dashboard.receive(
            .feed(source: Fixtures.source, .spaces(SpacesSnapshot(Fixtures.tree(), fileProblem: problem))),
            at: 10)
        let sign = "spaces file invalid, last good tree in effect"
        let later = Fixtures.screen(dashboard, at: 60)
        #expect(!later.text.contains("names parent"), "the note stays its few seconds only")
        #expect(later.role(of: sign) == .error, "\(later.line(later.size.height - 1))")
        dashboard.receive(.feed(source: Fixtures.source, .spaces(SpacesSnapshot(Fixtures.tree()))), at: 61)
        #expect(!Fixtures.screen(dashboard, at: 62).text.contains(sign))
    }

    @Test("several feeds: each tree sits under its proxy's name, and a lost feed says so")
    func severalFeeds() {
        var dashboard = Fixtures.dashboard()
        dashboard.receive(.connected(source: "/run/other.sock"), at: 0)
        dashboard.receive(
            .feed(
                source: "/run/other.sock",
                .hello(FeedHello(proxy: "other", pid: 2, version: "0.1", listeners: []))),
            at: 0)
        dashboard.receive(.feed(source: "/run/other.sock", .spaces(SpacesSnapshot(Fixtures.tree()))), at: 0)
        dashboard.receive(
            .disconnected(source: "/run/other.sock", reason: "the proxy closed the feed"), at: 0)
        let text = Fixtures.screen(dashboard, at: 1).text
        #expect(text.contains("│main"))
        #expect(text.contains("│other (disconnected)"))
        #expect(text.contains("lost /run/other.sock: the proxy closed the feed"))
        #expect(text.contains("feeds 1/2"))
    }

    @Test("without UTF-8 the same screen is drawn with ASCII")
    func ascii() {
        var dashboard = Fixtures.dashboard(hops: Fixtures.sampleHops)
        dashboard.glyphs = .ascii
        let screen = Fixtures.screen(dashboard)
        #expect(screen.line(0).hasPrefix("+ Spaces ----"))
        #expect(screen.text.contains("servicea > azureuser ^"))
        let shown = String(screen.text.map(Glyphs.asciiSubstitute))
        #expect(shown.unicodeScalars.allSatisfy { $0.isASCII })
        #expect(shown.contains("bob.s.default.~/orders"))
    }
}
