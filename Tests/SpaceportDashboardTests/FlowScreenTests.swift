import Foundation
import SpaceportCore
import Testing

@testable import SpaceportDashboard

/// The demo's tree and a few of its requests: one routed as azureuser that falls back twice, one
/// routed as hotfix whose context servicea dropped, one that failed, one trace memory restored,
/// a replay, and one still running.
enum FlowScreens {
    static let source = Fixtures.source

    static func tree() -> SpaceTree {
        func instance(_ service: String, _ port: Int) -> Instance {
            Instance(service: service, upstream: Address(host: "127.0.0.1", port: port))
        }
        return try! SpaceTree(spaces: [
            Space(
                name: "default",
                services: [
                    instance("servicea", 5001), instance("serviceb", 5002), instance("servicec", 5003),
                ]),
            Space(name: "azureuser", parent: "default", services: [instance("servicea", 6001)]),
            Space(name: "hotfix", parent: "azureuser", services: [instance("serviceb", 6002)]),
        ])
    }

    static let a = HopCaller(space: "azureuser", service: "servicea")
    static let b = HopCaller(space: "default", service: "serviceb")
    static let bHotfix = HopCaller(space: "hotfix", service: "serviceb")

    static var hops: [HopEvent] {
        typealias H = FlowHops
        return [
            // 1. As azureuser: its own servicea, then default's serviceb and servicec.
            H.hop("a1", flow: "f1", service: "servicea", space: "azureuser", start: 0, duration: 12.4),
            H.hop(
                "b1", flow: "f1", from: a, service: "serviceb", space: "default",
                tried: ["azureuser", "default"],
                start: 2, duration: 7.5),
            H.hop(
                "c1", flow: "f1", from: b, service: "servicec", space: "default",
                tried: ["azureuser", "default"],
                start: 5, duration: 2.1),
            // 2. As hotfix, servicea dropped the route: serviceb ran in default, not hotfix.
            H.hop(
                "a2", flow: "f2", service: "servicea", space: "azureuser", routeAs: "hotfix",
                tried: ["hotfix", "azureuser"], start: 1000, duration: 9),
            H.hop(
                "b2", flow: "f2", from: a, service: "serviceb", space: "default",
                tried: ["azureuser", "default"],
                start: 1002, duration: 5, propagation: .lost),
            H.hop(
                "c2", flow: "f2", from: b, service: "servicec", space: "default",
                tried: ["azureuser", "default"],
                start: 1004, duration: 1),
            // 3. A failure: default's servicec refused the connection.
            H.hop(
                "a3", flow: "f3", service: "servicea", space: "azureuser", start: 2000, duration: 6,
                status: 502),
            H.hop(
                "b3", flow: "f3", from: a, service: "serviceb", space: "default",
                tried: ["azureuser", "default"],
                start: 2001, duration: 4, status: 502, error: "servicec refused"),
            // 4. Trace memory put serviceb back in hotfix.
            H.hop(
                "a4", flow: "f4", service: "servicea", space: "azureuser", routeAs: "hotfix",
                tried: ["hotfix", "azureuser"], start: 3000, duration: 8),
            H.hop(
                "b4", flow: "f4", from: a, service: "serviceb", space: "hotfix", routeAs: "hotfix",
                tried: ["hotfix"], start: 3001, duration: 6, propagation: .restored),
            // 5. A replay of 1 as hotfix.
            H.hop(
                "a5", flow: "f5", service: "servicea", space: "azureuser", routeAs: "hotfix",
                tried: ["hotfix", "azureuser"], start: 4000, duration: 7, replayOf: "a1"),
            H.hop(
                "b5", flow: "f5", from: a, service: "serviceb", space: "hotfix", routeAs: "hotfix",
                tried: ["hotfix"], start: 4001, duration: 5),
            // 6. Still running: serviceb has not answered yet.
            H.hop(
                "a6", flow: "f6", phase: .start, service: "servicea", space: "azureuser", start: 5000,
                duration: 0),
            H.hop(
                "b6", flow: "f6", phase: .start, from: a, service: "serviceb", space: "default",
                tried: ["azureuser", "default"], start: 5002, duration: 0),
        ]
    }

    /// The flows view on `size`, the flows 1, 2 and 6 opened, the first (newest) selected.
    static func dashboard(width: Int, height: Int, glyphs: Glyphs = .unicode, theme: String = "dark")
        -> Dashboard
    {
        var dashboard = Fixtures.dashboard(width: width, height: height, hops: hops, tree: tree())
        dashboard.glyphs = glyphs
        dashboard.view.themeIndex = ThemeCatalog.shipped.index(of: theme) ?? 0
        dashboard.view.hopsView = .flows
        dashboard.view.focus = .hops
        dashboard.view.expanded = ["f1", "f2", "f6"]
        return dashboard
    }

    /// The marks, each glyph beside the roles it may be drawn in wherever it is not selected (a
    /// failed call's bar is drawn as failed).
    static let marks: [(glyph: String, roles: Set<Role>)] = [
        ("↑", [.fallback]), ("✗", [.failed]), ("⚠", [.lost]), ("↺", [.restored]), ("↻", [.replay]),
        ("━", [.waterfall, .failed]), ("┅", [.statusPending]),
    ]

    /// Checks what a golden screen's text cannot: each mark on `screen` is drawn in its own role
    /// (in the selected row, the selection's), and `theme` styles those roles apart from plain
    /// text and from each other; monochrome, without colour, tells restored and the bar by glyph.
    static func expectMarks(
        on screen: GridCanvas, theme name: String, shown: [String],
        sourceLocation: Testing.SourceLocation = #_sourceLocation
    ) {
        for glyph in shown {
            #expect(screen.text.contains(glyph), "the screen shows \(glyph)", sourceLocation: sourceLocation)
        }
        let selected: Set<Role> = [.selection, .selectionInactive]
        for (glyph, allowed) in marks {
            let roles = Set(screen.cells.filter { String($0.character) == glyph }.map(\.role)).subtracting(
                selected)
            #expect(
                roles.isSubset(of: allowed), "\(name): \(glyph) drawn as \(roles)",
                sourceLocation: sourceLocation)
        }
        guard let theme = ThemeCatalog.shipped.themes.first(where: { $0.name == name }) else {
            Issue.record("no shipped theme \(name)", sourceLocation: sourceLocation)
            return
        }
        let plain = theme.style(for: .normal)
        var required: [Role] = [.fallback, .failed, .lost, .replay, .flowSpace]
        if name != ThemeCatalog.monochromeName { required += [.restored, .waterfall] }
        for role in required {
            #expect(
                theme.style(for: role) != plain, "\(name): \(role) looks like text",
                sourceLocation: sourceLocation)
        }
        if name != ThemeCatalog.monochromeName {
            let styles = Glyphs.markRoles.map { "\(theme.style(for: $0))" }
            #expect(
                Set(styles).count == styles.count, "\(name): two marks look alike",
                sourceLocation: sourceLocation)
        }
    }
}

@Suite("The flows view drawn on an in-memory canvas")
struct FlowScreenTests {
    @Test(
        "at 120×40: each flow newest first, opened ones as trees with spaces, marks and waterfall bars, in every theme",
        arguments: ThemeCatalog.shipped.names)
    func wide(theme: String) {
        let screen = Fixtures.screen(FlowScreens.dashboard(width: 120, height: 40, theme: theme))
        FlowScreens.expectMarks(on: screen, theme: theme, shown: ["↑", "✗", "⚠", "↺", "↻", "━", "┅"])
        expectScreen(
            screen,
            #"""
            ┌ Spaces ────────────┐┌ Services of default ───────────────────────────────────────────────────────────────────────────┐
            │default             ││  SERVICE  SERVED BY                          OVR UPSTREAM              HEALTH    RATE          │
            │└─azureuser    4.5/s││● servicea owned                              on  127.0.0.1:5001        ?                       │
            │  └─hotfix     2.5/s││● serviceb owned                              on  127.0.0.1:5002        ?                       │
            │                    ││● servicec owned                              on  127.0.0.1:5003        ?                       │
            │                    │└────────────────────────────────────────────────────────────────────────────────────────────────┘
            │                    │┌ Flows ─────────────────────────────────────────────────────────────────────────────────────────┐
            │                    ││FLOW / CALL              SERVICE → SPACE            ROUTE-AS     ST    TOOK WATERFALL           │
            │                    ││▾ 11:06:45 GET azureuse… servicea → azureuser       azureuser    …   2.0ms… 2 hops ↑            │
            │                    ││  GET azureuser.s.defau… servicea → azureuser       azureuser    …          ┅┅┅┅┅┅┅┅┅┅┅┅┅┅┅┅┅┅┅ │
            │                    ││  └─GET serviceb/        serviceb → default ↑       azureuser    …                            ┅ │
            │                    ││▸ 11:06:44 GET hotfix.s… servicea → azureuser ↑ ↻   hotfix       200  7.0ms 2 hops ↑ ↻          │
            │                    ││▸ 11:06:43 GET hotfix.s… servicea → azureuser ↑     hotfix       200  8.0ms 2 hops ↑ ↺          │
            │                    ││▸ 11:06:42 GET azureuse… servicea → azureuser ✗     azureuser    502  6.0ms 2 hops ↑ ✗          │
            │                    ││▾ 11:06:41 GET hotfix.s… servicea → azureuser ↑     hotfix       200  9.0ms 3 hops ↑ ⚠          │
            │                    ││  GET hotfix.s.default.… servicea → azureuser ↑     hotfix       200  9.0ms ━━━━━━━━━━━━━━━━━━━ │
            │                    ││  └─GET serviceb/        serviceb → default ↑ ⚠     azureuser    200  5.0ms     ━━━━━━━━━━━     │
            │                    ││    └─GET servicec/      servicec → default ↑       azureuser    200  1.0ms         ━━━         │
            │                    ││▾ 11:06:40 GET azureuse… servicea → azureuser       azureuser    200   12ms 3 hops ↑            │
            │                    ││  GET azureuser.s.defau… servicea → azureuser       azureuser    200   12ms ━━━━━━━━━━━━━━━━━━━ │
            │                    ││  └─GET serviceb/        serviceb → default ↑       azureuser    200  7.5ms   ━━━━━━━━━━━━━     │
            │                    ││    └─GET servicec/      servicec → default ↑       azureuser    200  2.1ms         ━━━━        │
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
             following  ingress 127.0.0.1:8080  8.0 ev/s  dropped 0  feeds 1/1                                               ? help
            """#)
    }

    @Test(
        "at 80×24 the route-as gives way, and every mark stays, in every theme",
        arguments: ThemeCatalog.shipped.names)
    func standard(theme: String) {
        let screen = Fixtures.screen(FlowScreens.dashboard(width: 80, height: 24, theme: theme))
        FlowScreens.expectMarks(on: screen, theme: theme, shown: ["↑", "✗", "⚠", "↺", "↻", "━", "┅"])
        expectScreen(
            screen,
            #"""
            ┌ Spaces ────────────┐┌ Services of default ───────────────────────────────────┐
            │default             ││  SERVICE  SERVED BY                          OVR       │
            │└─azureuser    4.5/s││● servicea owned                              on        │
            │  └─hotfix     2.5/s││● serviceb owned                              on        │
            │                    ││● servicec owned                              on        │
            │                    │└────────────────────────────────────────────────────────┘
            │                    │┌ Flows ─────────────────────────────────────────────────┐
            │                    ││FLOW / CALL            SERVICE → SPACE       ST  WATER… │
            │                    ││▾ 11:06:45 GET azureu… servicea → azureuser  …   2 h… ↑ │
            │                    ││  GET azureuser.s.def… servicea → azureuser  …   ┅┅┅┅┅┅ │
            │                    ││  └─GET serviceb/      serviceb → default ↑  …        ┅ │
            │                    ││▸ 11:06:44 GET hotfix… servicea → azure… ↑ ↻ 200 2… ↑ ↻ │
            │                    ││▸ 11:06:43 GET hotfix… servicea → azureus… ↑ 200 2… ↑ ↺ │
            │                    ││▸ 11:06:42 GET azureu… servicea → azureus… ✗ 502 2… ↑ ✗ │
            │                    ││▾ 11:06:41 GET hotfix… servicea → azureus… ↑ 200 3… ↑ ⚠ │
            │                    ││  GET hotfix.s.defaul… servicea → azureus… ↑ 200 ━━━━━━ │
            │                    ││  └─GET serviceb/      serviceb → defau… ↑ ⚠ 200  ━━━━  │
            │                    ││    └─GET servicec/    servicec → default ↑  200   ━━   │
            │                    ││▾ 11:06:40 GET azureu… servicea → azureuser  200 3 h… ↑ │
            │                    ││  GET azureuser.s.def… servicea → azureuser  200 ━━━━━━ │
            │                    ││  └─GET serviceb/      serviceb → default ↑  200 ━━━━━  │
            │                    ││    └─GET servicec/    servicec → default ↑  200   ━━   │
            └────────────────────┘└────────────────────────────────────────────────────────┘
             following  ingress 127.0.0.1:8080  8.0 ev/s  dropped 0  feeds 1/1       ? help
            """#)
    }

    @Test(
        "at 40×10 the stacked layout keeps the tree, the marks, the status and a short bar, in every theme",
        arguments: ThemeCatalog.shipped.names)
    func smallest(theme: String) {
        let screen = Fixtures.screen(FlowScreens.dashboard(width: 40, height: 10, theme: theme))
        FlowScreens.expectMarks(on: screen, theme: theme, shown: ["↑", "↻", "┅"])
        expectScreen(
            screen,
            #"""
            Spaces ─────────────────────────────────
            default
            Services of default ────────────────────
            ● servicea owned                    on
            Flows ──────────────────────────────────
            ▾ GET azureus… azureuser     …   2 h… ↑
              GET azureus… azureuser     …   ┅┅┅┅┅┅
              └─GET servi… default ↑     …        ┅
            ▸ GET hotfix.… azureuser ↑ ↻ 200 2… ↑ ↻
             ingress 127.0.0.1:8080          ? help
            """#)
    }

    @Test(
        "at 40×10, scrolled down, a failure and lost context keep their marks, in every theme",
        arguments: ThemeCatalog.shipped.names)
    func smallestScrolled(theme: String) {
        var dashboard = FlowScreens.dashboard(width: 40, height: 10, theme: theme)
        _ = dashboard.press(.down, .down, .down, .down, .down, .down, .down, .down)
        let screen = Fixtures.screen(dashboard)
        FlowScreens.expectMarks(on: screen, theme: theme, shown: ["↑", "✗", "⚠"])
        expectScreen(
            screen,
            #"""
            Spaces ─────────────────────────────────
            default
            Services of default ────────────────────
            ● servicea owned                    on
            Flows ──────────────────────────────────
            ▸ GET azureus… azureuser ✗   502 2… ↑ ✗
            ▾ GET hotfix.… azureuser ↑   200 3… ↑ ⚠
              GET hotfix.… azureuser ↑   200 ━━━━━━
              └─GET servi… default ↑ ⚠   200  ━━━━
             ingress 127.0.0.1:8080          ? help
            """#)
    }

    @Test("without UTF-8 the same screen in ASCII, in every theme", arguments: ThemeCatalog.shipped.names)
    func ascii(theme: String) {
        let screen = Fixtures.screen(
            FlowScreens.dashboard(width: 80, height: 24, glyphs: .ascii, theme: theme))
        expectScreen(
            screen,
            #"""
            + Spaces ------------++ Services of default -----------------------------------+
            |default             ||  SERVICE  SERVED BY                          OVR       |
            |`-azureuser    4.5/s||* servicea owned                              on        |
            |  `-hotfix     2.5/s||* serviceb owned                              on        |
            |                    ||* servicec owned                              on        |
            |                    |+--------------------------------------------------------+
            |                    |+ Flows -------------------------------------------------+
            |                    ||FLOW / CALL            SERVICE → SPACE       ST  WATER… |
            |                    ||v 11:06:45 GET azureu… servicea > azureuser  ~   2 h… ^ |
            |                    ||  GET azureuser.s.def… servicea > azureuser  ~   ------ |
            |                    ||  `-GET serviceb/      serviceb > default ^  ~        - |
            |                    ||> 11:06:44 GET hotfix… servicea > azure… ^ R 200 2… ^ R |
            |                    ||> 11:06:43 GET hotfix… servicea > azureus… ^ 200 2… ^ @ |
            |                    ||> 11:06:42 GET azureu… servicea > azureus… x 502 2… ^ x |
            |                    ||v 11:06:41 GET hotfix… servicea > azureus… ^ 200 3… ^ ! |
            |                    ||  GET hotfix.s.defaul… servicea > azureus… ^ 200 ====== |
            |                    ||  `-GET serviceb/      serviceb > defau… ^ ! 200  ====  |
            |                    ||    `-GET servicec/    servicec > default ^  200   ==   |
            |                    ||v 11:06:40 GET azureu… servicea > azureuser  200 3 h… ^ |
            |                    ||  GET azureuser.s.def… servicea > azureuser  200 ====== |
            |                    ||  `-GET serviceb/      serviceb > default ^  200 =====  |
            |                    ||    `-GET servicec/    servicec > default ^  200   ==   |
            +--------------------++--------------------------------------------------------+
             following  ingress 127.0.0.1:8080  8.0 ev/s  dropped 0  feeds 1/1       ? help
            """#)
    }
}

@Suite("The flows view's marks and keys")
struct FlowViewTests {
    @Test(
        "in every theme the marks for fallback, failed, lost, restored and a replay have roles of their own, and in monochrome their glyphs tell them apart"
    )
    func marksInEveryTheme() throws {
        let catalog = ThemeCatalog.shipped
        var texts: Set<String> = []
        for (index, theme) in catalog.themes.enumerated() {
            var dashboard = FlowScreens.dashboard(width: 120, height: 40)
            dashboard.view.themeIndex = index
            // The oldest row selected, so the first of each mark on screen is drawn in its own role.
            _ = dashboard.press(.end)
            let screen = Fixtures.screen(dashboard)
            texts.insert(screen.text)
            for (glyph, roles) in FlowScreens.marks {
                let role = screen.role(of: glyph)
                #expect(
                    role.map(roles.contains) == true,
                    "\(theme.name): \(glyph) drawn as \(String(describing: role))")
            }
            FlowScreens.expectMarks(on: screen, theme: theme.name, shown: FlowScreens.marks.map(\.glyph))
        }
        #expect(texts.count == 1, "a theme changes how the screen looks, never what it says")
        let unicode = Glyphs.unicode
        let ascii = Glyphs.ascii
        for glyphs in [unicode, ascii] {
            let shown = [glyphs.fallback, glyphs.failed, glyphs.lost, glyphs.restored, glyphs.replay]
            #expect(Set(shown).count == shown.count, "each mark has a glyph of its own: \(shown)")
        }
    }

    @Test("v switches the hop pane between hops and flows, and each keeps its own rows")
    func switching() {
        var dashboard = FlowScreens.dashboard(width: 120, height: 40)
        dashboard.view.hopsView = .hops
        #expect(Fixtures.screen(dashboard).text.contains("┌ Hops "))
        _ = dashboard.press(.character("v"))
        let flows = Fixtures.screen(dashboard)
        #expect(flows.text.contains("┌ Flows "))
        #expect(flows.text.contains("FLOW / CALL"))
        _ = dashboard.press(.character("v"))
        #expect(Fixtures.screen(dashboard).text.contains("TIME     METHOD"))
    }

    @Test("Space or Enter opens a flow into its calls and shuts it; Enter on a call opens that hop's detail")
    func openAndEnter() {
        var dashboard = FlowScreens.dashboard(width: 120, height: 40)
        dashboard.view.expanded = []
        _ = dashboard.press(.down)
        #expect(dashboard.flowWindow.selected?.shape.flow.key == "f5")
        _ = dashboard.press(.space)
        #expect(dashboard.view.expanded == ["f5"])
        let open = Fixtures.screen(dashboard).text
        #expect(open.contains("▾ 11:06:44"))
        #expect(open.contains("└─GET serviceb/        serviceb → hotfix"))
        _ = dashboard.press(.down, .down)
        #expect(dashboard.flowWindow.selected?.record?.hop.id == "b5")
        _ = dashboard.press(.enter)
        #expect(dashboard.view.modal == .detail(HopPage(source: FlowScreens.source, id: "b5"), back: []))
        let detail = Fixtures.screen(dashboard).text
        #expect(detail.contains("Hop b5"))
        _ = dashboard.press(.escape)
        _ = dashboard.press(.space)
        #expect(dashboard.view.expanded.isEmpty, "Space on a call shuts its flow")
        #expect(dashboard.flowWindow.selected?.node == nil, "and selects the flow's own row")
        _ = dashboard.press(.enter)
        #expect(dashboard.view.expanded == ["f5"], "Enter on a flow's row opens it")
    }

    @Test("the filter keeps the flows with a hop that matches, and shows each whole")
    func filter() {
        var dashboard = FlowScreens.dashboard(width: 120, height: 40)
        _ = dashboard.press(.character("/"))
        dashboard.type("lost")
        _ = dashboard.press(.enter)
        let screen = Fixtures.screen(dashboard).text
        #expect(screen.contains("Flows matching lost"))
        let rows = screen.split(separator: "\n").filter { $0.contains("GET ") }
        #expect(rows.count == 4, "the flow with the lost call, and its three calls:\n\(screen)")
        #expect(rows.first?.contains("▾ 11:06:41") == true)
        _ = dashboard.press(.character("/"))
        dashboard.type(" service:nope")
        _ = dashboard.press(.enter)
        #expect(Fixtures.screen(dashboard).text.contains("no flow matches the filter"))
    }

    @Test("the tree pane highlights the spaces the selected flow crossed")
    func crossedSpaces() {
        var dashboard = FlowScreens.dashboard(width: 120, height: 40)
        dashboard.view.expanded = []
        var screen = Fixtures.screen(dashboard)
        // The newest flow ran in azureuser and default (the selected space, drawn selected).
        #expect(screen.role(of: "azureuser  ") == .flowSpace)
        #expect(screen.role(of: "hotfix") == .tree)
        _ = dashboard.press(.down, .down, .down)
        screen = Fixtures.screen(dashboard)
        // The failed one ran in azureuser and default only.
        #expect(screen.role(of: "hotfix") == .tree)
        _ = dashboard.press(.up, .up)
        screen = Fixtures.screen(dashboard)
        // The replay ran in azureuser and hotfix.
        #expect(screen.role(of: "hotfix") == .flowSpace)
        dashboard.view.hopsView = .hops
        #expect(Fixtures.screen(dashboard).role(of: "hotfix") == .tree, "only the flows view highlights")
    }

    @Test("a call placed by timing has dotted guides, and one whose caller was not seen starts with ┄")
    func guessesShow() {
        var dashboard = Dashboard(size: Size(width: 120, height: 30))
        dashboard.receive(.feed(source: "main", .spaces(SpacesSnapshot(FlowScreens.tree()))), at: 0)
        let hops = [
            FlowHops.hop("a", service: "servicea", space: "azureuser", start: 0, duration: 20),
            FlowHops.hop("b", service: "serviceb", space: "default", start: 5, duration: 4),
            FlowHops.hop(
                "x", flow: "f2", from: FlowScreens.a, service: "serviceb", space: "default", start: 100,
                duration: 3),
        ]
        for hop in hops { dashboard.receive(.feed(source: "main", .hop(hop)), at: 1) }
        dashboard.view.hopsView = .flows
        dashboard.view.expanded = ["f1", "f2"]
        let text = Fixtures.screen(dashboard).text
        #expect(text.contains("  └┄GET azureuser.s.def"), "\(text)")
        #expect(text.contains("  ┄ GET serviceb/"), "\(text)")
        #expect(text.contains("2 hops ↑, guessed"), "\(text)")
    }

    @Test("j and k move through flows and calls, and f follows the newest flow again")
    func moving() {
        var dashboard = FlowScreens.dashboard(width: 120, height: 40)
        _ = dashboard.press(.down, .down, .down)
        #expect(dashboard.flowWindow.selected?.shape.flow.key == "f5")
        _ = dashboard.press(.end)
        #expect(dashboard.flowWindow.selected?.record?.hop.id == "c1", "End: the oldest flow's last call")
        _ = dashboard.press(.home)
        #expect(dashboard.flowWindow.selected?.shape.flow.key == "f6")
        _ = dashboard.press(.down)
        let before = dashboard.flowWindow.selected?.id
        let newer = FlowHops.hop(
            "n", flow: "f7", service: "servicea", space: "azureuser", start: 6000, duration: 1)
        dashboard.receive(.feed(source: FlowScreens.source, .hop(newer)), at: 2)
        #expect(dashboard.flowWindow.selected?.id == before, "a newer flow does not move the selection")
        _ = dashboard.press(.character("f"))
        #expect(dashboard.flowWindow.selected?.shape.flow.key == "f7")
    }

    @Test(
        "R on a hop asks for a space (the one selected in the tree), sends a replay, and the replay's flow opens beside the original"
    )
    func replay() throws {
        var dashboard = FlowScreens.dashboard(width: 120, height: 40)
        dashboard.view.expanded = []
        dashboard.selectSpace(SpaceRef(source: FlowScreens.source, space: "hotfix"))
        _ = dashboard.press(.end)
        #expect(dashboard.flowWindow.selected?.shape.flow.key == "f1")
        _ = dashboard.press(.character("R"))
        guard case .prompt(let prompt) = dashboard.view.modal else {
            Issue.record("R opened no prompt")
            return
        }
        #expect(prompt.text == "hotfix", "the space selected in the tree is the default")
        #expect(prompt.question.contains("Replay GET azureuser.s.default.servicea.localhost/"))
        _ = dashboard.press(.control("u"))
        dashboard.type("nosuch")
        _ = dashboard.press(.enter)
        guard case .prompt(let refused) = dashboard.view.modal else {
            Issue.record("a space that is not in the tree was taken")
            return
        }
        #expect(refused.problem == "there is no space 'nosuch'; name one in the tree")
        _ = dashboard.press(.control("u"))
        dashboard.type("hotfix")
        let effects = dashboard.press(.enter)
        let request = ReplayRequest(id: 1, source: FlowScreens.source, hop: "a1", space: "hotfix")
        #expect(effects == [.replay(request)])
        dashboard.receive(.replayResult(id: 1, error: nil), at: 3)
        #expect(dashboard.view.note?.text == "replayed a1 as hotfix: its flow is the newest")
        let replayed = FlowHops.hop(
            "r1", flow: "f9", service: "servicea", space: "azureuser", routeAs: "hotfix",
            tried: ["hotfix", "azureuser"], start: 9000, duration: 5, replayOf: "a1")
        dashboard.receive(.feed(source: FlowScreens.source, .hop(replayed)), at: 3)
        #expect(dashboard.view.expanded == ["f9", "f1"], "the replay's flow and the original's open")
        #expect(dashboard.flowWindow.selected?.shape.flow.key == "f9")
        #expect(Fixtures.screen(dashboard).role(of: "↻") == .selection)
    }

    @Test("a replay the proxy refused says why, and R in a hop's detail replays that hop")
    func replayRefused() {
        var dashboard = FlowScreens.dashboard(width: 120, height: 40)
        _ = dashboard.press(.down, .down, .enter)
        #expect(dashboard.isShowingDetail)
        _ = dashboard.press(.character("R"))
        guard case .prompt(let prompt) = dashboard.view.modal else {
            Issue.record("R in the detail opened no prompt")
            return
        }
        #expect(prompt.purpose == .replay(HopKey(source: FlowScreens.source, id: "b6")))
        #expect(prompt.text == "default", "the selected space, default, is the default")
        let effects = dashboard.press(.enter)
        #expect(effects.count == 1)
        dashboard.receive(.replayResult(id: 1, error: "hop b6 is no longer kept"), at: 3)
        #expect(dashboard.view.modal == .message("hop b6 is no longer kept", isError: true))
        #expect(dashboard.awaitedReplays.isEmpty)
    }
}
