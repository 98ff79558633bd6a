import Foundation
import SpaceportCore
import SpaceportDashboard
import Testing

/// Text from the network at its worst: escape sequences, C1 controls, NUL, DEL,
/// bidirectional overrides, wide and combining characters, and bytes that were not UTF-8.
private enum HostileText {
    static let samples = [
        "\u{1B}[2J\u{1B}[31mred\u{1B}[0m", "\u{1B}]0;pwned\u{07}", "\u{9B}31m", "nul\u{0}byte", "del\u{7F}",
        "cr\rlf\nback\u{8}", "\u{202E}gnp.exe", "\u{2066}isolate\u{2069}", "漢字テスト全角", "👩‍👩‍👧‍👦🇫🇷",
        "e\u{301}\u{302}\u{303}", String(decoding: [0xFF, 0xFE, 0x2F, 0xC3, 0x28], as: UTF8.self),
        String(repeating: "長", count: 300), "\t\u{B}\u{C}", "\u{200B}\u{FEFF}zero width",
    ]

    static func pick(_ rng: inout SplitMix64) -> String {
        samples[Int(rng.next() % UInt64(samples.count))] + samples[Int(rng.next() % UInt64(samples.count))]
    }
}

@Suite("Dashboard abuse")
struct DashboardAbuseTests {
    static let source = "main"

    static func tree() throws -> SpaceTree {
        try SpacesFile.parse(
            text: """
                spaces:
                  default:
                    services:
                      servicea: { upstream: 127.0.0.1:5001 }
                      serviceb: { upstream: 127.0.0.1:5002 }
                  azureuser:
                    parent: default
                    services:
                      servicea: { upstream: 127.0.0.1:6001 }
                  bob:
                    parent: azureuser
                """, file: "dash.yaml")
    }

    static func hostileHop(_ number: Int, _ rng: inout SplitMix64) -> HopEvent {
        HopEvent(
            id: "h\(number)\(HostileText.pick(&rng))", flow: HostileText.pick(&rng), phase: .end,
            time: "2026-11-26T10:00:0\(number % 10).250Z\(HostileText.pick(&rng))",
            proxy: HostileText.pick(&rng),
            listener: HostileText.pick(&rng),
            from: HopCaller(space: HostileText.pick(&rng), service: "servicea"),
            routeAs: HostileText.pick(&rng), routeAsSource: .header, service: HostileText.pick(&rng),
            tried: [HostileText.pick(&rng), "default"], space: HostileText.pick(&rng),
            upstream: HostileText.pick(&rng), method: HostileText.pick(&rng),
            host: HostileText.pick(&rng), path: "/" + HostileText.pick(&rng), status: 200 + number % 400,
            durationMs: 1.5, bytesIn: 10, bytesOut: 20, error: number % 3 == 0 ? HostileText.pick(&rng) : nil)
    }

    /// A dashboard fed a tree, a hostile hello, hostile hops and hostile messages of every kind the shell passes on.
    static func hostileDashboard(hops: Int, size: Size = Size(width: 120, height: 40)) throws -> Dashboard {
        var rng = SplitMix64(seed: 0xDA5B_0A4D)
        var dashboard = Dashboard(size: size)
        dashboard.receive(.connected(source: source), at: 0)
        dashboard.receive(
            .feed(
                source: source,
                .hello(
                    FeedHello(
                        proxy: HostileText.pick(&rng), pid: 1, version: HostileText.pick(&rng),
                        listeners: [HostileText.pick(&rng)]))), at: 0)
        dashboard.receive(.feed(source: source, .spaces(SpacesSnapshot(try tree()))), at: 0)
        for number in 0..<hops {
            dashboard.receive(.feed(source: source, .hop(hostileHop(number, &rng))), at: 1)
        }
        dashboard.receive(.feed(source: source, .error(message: HostileText.pick(&rng), id: nil)), at: 1)
        dashboard.receive(.status(key: HostileText.pick(&rng), value: HostileText.pick(&rng)), at: 1)
        dashboard.receive(.note(HostileText.pick(&rng), isError: true), at: 1)
        dashboard.receive(.connected(source: HostileText.pick(&rng)), at: 1)
        dashboard.receive(
            .disconnected(source: HostileText.pick(&rng), reason: HostileText.pick(&rng)), at: 1)
        return dashboard
    }

    /// Every way a drawn screen could pass something raw or broken to the terminal.
    static func problems(_ canvas: GridCanvas) -> [String] {
        var found: [String] = []
        for y in 0..<canvas.size.height {
            for x in 0..<canvas.size.width {
                let cell = canvas.cell(x: x, y: y)
                if hasUnsafeCharacter(String(cell.character)) {
                    found.append("(\(x),\(y)) holds \(String(cell.character).debugDescription)")
                }
                if cell.isContinuation {
                    let left = canvas.cell(x: x - 1, y: y)
                    if x == 0 || left.isContinuation || Columns.width(of: left.character) != 2 {
                        found.append("(\(x),\(y)) continues no wide character")
                    }
                } else if Columns.width(of: cell.character) == 2
                    && !canvas.cell(x: x + 1, y: y).isContinuation
                {
                    found.append("(\(x),\(y)) is a wide character without its right half")
                }
            }
        }
        return found
    }

    static func draw(_ dashboard: Dashboard, size: Size? = nil) -> GridCanvas {
        var canvas = GridCanvas(size: size ?? dashboard.view.size)
        dashboard.render(into: &canvas, at: 2)
        return canvas
    }

    // These tests draw thousands of frames: they run on threads of their own, so they never
    // hold the few threads Swift concurrency shares with every other test in the process.

    @Test("a resize storm, tiny terminals included, draws every frame without a crash or a broken cell")
    func resizeStorm() async throws {
        let frames = Reliability.scale(fast: 120, long: 20_000)
        let broken = try await blocking {
            var dashboard = try Self.hostileDashboard(hops: 50)
            var rng = SplitMix64(seed: 0x5123_57A4)
            let keys: [Key] = [
                .tab, .down, .up, .enter, .escape, .character("?"), .pageDown, .end, .home, .right,
            ]
            var broken: [String] = []
            for frame in 0..<frames {
                let size =
                    frame < 12
                    ? Size(
                        width: [0, 1, 0, 1, 2, 39, 40, 3, 300, 0, 80, 1][frame],
                        height: [0, 1, 5, 0, 1, 9, 10, 100, 1, 100, 0, 24][frame])
                    : Size(width: Int(rng.next() % 301), height: Int(rng.next() % 101))
                _ = dashboard.handle(.resize(size), at: 2)
                if rng.next() % 3 == 0 {
                    _ = dashboard.handle(.key(keys[Int(rng.next() % UInt64(keys.count))]), at: 2)
                }
                broken += Self.problems(Self.draw(dashboard)).map { "\(size): \($0)" }
                // The terminal may already be a different size than the last resize said.
                let other = Size(width: Int(rng.next() % 301), height: Int(rng.next() % 101))
                broken += Self.problems(Self.draw(dashboard, size: other)).map {
                    "\(other) after \(size): \($0)"
                }
            }
            return broken
        }
        #expect(broken.isEmpty, "\(broken.count) broken cells, first: \(broken.prefix(5))")
    }

    @Test(
        "names, paths and messages holding escapes, bidi overrides, wide characters or bad UTF-8 are drawn safely"
    )
    func hostileText() async throws {
        let screens = try await blocking {
            var dashboard = try Self.hostileDashboard(hops: 30)
            var screens: [(name: String, canvas: GridCanvas)] = []
            for size in [
                Size(width: 80, height: 24), Size(width: 200, height: 60), Size(width: 41, height: 11),
            ] {
                _ = dashboard.handle(.resize(size), at: 2)
                screens.append(("main \(size)", Self.draw(dashboard)))
            }
            _ = dashboard.handle(.resize(Size(width: 120, height: 40)), at: 2)
            _ = dashboard.handle(.key(.tab), at: 2)
            _ = dashboard.handle(.key(.tab), at: 2)
            for row in 0..<5 {
                _ = dashboard.handle(.key(.enter), at: 2)
                screens.append(("detail of hop row \(row)", Self.draw(dashboard)))
                _ = dashboard.handle(.key(.escape), at: 2)
                _ = dashboard.handle(.key(.down), at: 2)
            }
            _ = dashboard.handle(.key(.character("/")), at: 2)
            for character in "\u{1B}[2J\u{9B}\u{202E}漢\u{0}x" {
                _ = dashboard.handle(.key(.character(character)), at: 2)
            }
            screens.append(("filter prompt with typed control characters", Self.draw(dashboard)))
            _ = dashboard.handle(.key(.escape), at: 2)
            _ = dashboard.handle(.key(.character("?")), at: 2)
            screens.append(("help", Self.draw(dashboard)))
            return screens
        }
        #expect(screens[0].canvas.text.contains("\\x1B"), "the hostile text never reached the screen")
        for (name, canvas) in screens {
            let problems = Self.problems(canvas)
            #expect(problems.isEmpty, "\(name): \(problems.prefix(5))\n\(canvas.text)")
        }
    }

    private struct Flood: Sendable {
        var handedOver = 0
        var dropped = 0
        var largestRing = 0
        var ring = 0
        var newestPath: String?
        var screen = GridCanvas(width: 0, height: 0)
    }

    @Test("a flood of 100,000 hops keeps the ring at its bound, and the screen still draws")
    func hopFlood() async throws {
        let hops = Reliability.scale(fast: 100_000, long: 1_000_000)
        let before = ProcessGauges.residentBytes()
        let flood = try await blocking {
            var dashboard = Dashboard(size: Size(width: 120, height: 40), hopCapacity: 2000)
            dashboard.receive(.feed(source: Self.source, .spaces(SpacesSnapshot(try Self.tree()))), at: 0)
            let inbox = DashboardInbox(hopCapacity: 5000)
            var flood = Flood()
            func handOver(at now: Double) {
                let drained = inbox.drain()
                flood.dropped += drained.dropped
                for update in drained.updates { dashboard.receive(update, at: now) }
                flood.handedOver += drained.updates.count
                flood.largestRing = max(flood.largestRing, dashboard.model.hops.count)
            }
            for number in 0..<hops {
                let hop = HopEvent(
                    id: "h\(number)", flow: "f\(number / 3)", phase: number % 2 == 0 ? .start : .end,
                    time: "2026-11-26T10:00:00.250Z", proxy: "main", listener: "ingress",
                    routeAs: "azureuser",
                    routeAsSource: .host, service: "servicea", tried: ["azureuser"], space: "azureuser",
                    upstream: "127.0.0.1:6001", method: "GET", host: "servicea.localhost",
                    path: "/flood/\(number)", status: 200)
                inbox.post(.feed(source: Self.source, .hop(hop)))
                if number % 20_000 == 19_999 { handOver(at: Double(number) / 10_000) }
            }
            handOver(at: 100)
            flood.ring = dashboard.model.hops.count
            flood.newestPath = dashboard.model.hops.newestFirst().first { _ in true }?.hop.path
            flood.screen = Self.draw(dashboard)
            return flood
        }
        #expect(flood.handedOver + flood.dropped == hops)
        #expect(flood.handedOver <= (hops / 20_000 + 1) * 5000, "the inbox let through more than its bound")
        #expect(flood.largestRing <= 2000)
        #expect(flood.ring == 2000)
        #expect(flood.newestPath == "/flood/\(hops - 1)" || flood.dropped > 0)
        #expect(flood.screen.text.contains("/flood/"))
        #expect(Self.problems(flood.screen).isEmpty)
        Reliability.report(
            "dashboard flood of \(hops) hops", tried: hops, passed: flood.handedOver + flood.dropped,
            rssBefore: before, rssAfter: ProcessGauges.residentBytes())
    }
}
