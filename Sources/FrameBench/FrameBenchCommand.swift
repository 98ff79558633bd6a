import ArgumentParser
import Foundation
import SpaceportApp
import SpaceportCore
import SpaceportDashboard
import SpaceportTerminal
import Synchronization

/// `frame-bench`: how long the dashboard takes to draw a frame with a full hop ring, for
/// bench/. A measuring tool, built beside the tests and never part of the `spaceport` product.
@main
struct FrameBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frame-bench",
        abstract: "Time the dashboard's frames with a full hop ring (used by bench/).",
        discussion: """
            Builds the dashboard `spaceport demo` shows, on the demo's tree, fills its hop ring \
            with made-up hops, draws one untimed frame, then times --frames frames. A frame is the \
            screen thread's work: take the --hops-per-frame new hops waiting in the inbox (each a \
            start and an end event), lay out and render the whole screen, and with --terminal \
            draw it through curses (changed cells only, one update). Off-screen it renders onto \
            the in-memory canvas the tests read. Frames are timed on a monotonic clock; the \
            dashboard's own clock (rates, notes) advances 1/30 s a frame, as at its usual pace.
            """
    )

    static let maxSize = Size(width: 1000, height: 1000)
    static let maxHops = 1_000_000

    @Option(help: "Hops in the ring when timing starts (the ring grows past its usual 10,000 to hold more).")
    var hops = HopRing.defaultCapacity

    @Option(help: "Frames to time.")
    var frames = 300

    @Option(help: "New hops arriving before each frame.")
    var hopsPerFrame = 50

    @Option(help: "Columns of the off-screen canvas (default 200; with --terminal, the terminal's own).")
    var width: Int?

    @Option(help: "Lines of the off-screen canvas (default 50; with --terminal, the terminal's own).")
    var height: Int?

    @Flag(help: "Draw through curses in this terminal instead of off-screen; the terminal is restored after.")
    var terminal = false

    @Option(help: "The hop pane's view: hops (the list) or flows (each request as a tree of its calls).")
    var view: BenchView = .hops

    @Flag(help: "In the flows view, open every flow into its calls.")
    var open = false

    @Flag(
        help:
            "Make every request a whole chain of three hops (servicea → serviceb → servicec) that succeeds, so --hops 3000 is 1,000 flows of three hops."
    )
    var threeHopFlows = false

    @Flag(help: "Print one JSON object.")
    var json = false

    @Option(
        help: ArgumentHelp(
            "Write the results to this file instead of standard output (easier to collect from tmux).",
            valueName: "file"))
    var output: String?

    private var canvasSize: Size { Size(width: width ?? 200, height: height ?? 50) }

    func validate() throws {
        if frames < 1 { throw ValidationError("--frames must be at least 1; got \(frames)") }
        if hops < 0 || hops > Self.maxHops {
            throw ValidationError("--hops must be between 0 and \(Self.maxHops); got \(hops)")
        }
        if hopsPerFrame < 0 || hopsPerFrame > Self.maxHops {
            throw ValidationError(
                "--hops-per-frame must be between 0 and \(Self.maxHops); got \(hopsPerFrame)")
        }
        if terminal && (width != nil || height != nil) {
            throw ValidationError(
                "--width and --height size the off-screen canvas; with --terminal the terminal's own size is used, so resize the terminal instead"
            )
        }
        let size = canvasSize
        if size.width < Layout.minimum.width || size.width > Self.maxSize.width {
            throw ValidationError(
                "--width must be between the dashboard's minimum of \(Layout.minimum.width) and \(Self.maxSize.width) columns; got \(size.width)"
            )
        }
        if size.height < Layout.minimum.height || size.height > Self.maxSize.height {
            throw ValidationError(
                "--height must be between the dashboard's minimum of \(Layout.minimum.height) and \(Self.maxSize.height) lines; got \(size.height)"
            )
        }
    }

    func run() throws {
        var bench = FrameBench(hops: hops, hopsPerFrame: hopsPerFrame, wholeChains: threeHopFlows)
        bench.dashboard.view.hopsView = view == .flows ? .flows : .hops
        if open { bench.openEveryFlow = true }
        let report = try terminal ? timeInTerminal(&bench) : timeOffScreen(&bench)
        let text = json ? report.json : report.text
        guard let output else {
            print(text)
            return
        }
        do {
            try Data((text + "\n").utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        } catch {
            throw FrameBenchError.cannotWrite(output, reason: error.localizedDescription)
        }
    }

    private func timeOffScreen(_ bench: inout FrameBench) throws -> FrameBenchReport {
        let size = canvasSize
        var last = GridCanvas(size: size)
        let report = bench.time(frames: frames, size: size, variant: "off-screen") { dashboard, now in
            var canvas = GridCanvas(size: size)
            dashboard.render(into: &canvas, at: now)
            last = canvas
        }
        // Also keeps the optimizer from dropping frames nobody reads.
        guard last.text.contains(view == .flows ? "Flows" : "Hops") else {
            throw FrameBenchError.nothingDrawn(size)
        }
        return report
    }

    private func timeInTerminal(_ bench: inout FrameBench) throws -> FrameBenchReport {
        let screen: TerminalScreen
        do {
            screen = try TerminalScreen()
        } catch {
            throw FrameBenchError.terminal(error)
        }
        // Ends curses on every way out; a failure closes it first, since `report` prints at once.
        defer { screen.close() }
        let stop = StopFlag()
        let stopper = SignalStopper(signals: [SIGINT, SIGTERM, SIGHUP]) { stop.set() }
        defer { stopper.cancel() }
        let size = screen.size
        guard size.width >= Layout.minimum.width, size.height >= Layout.minimum.height else {
            screen.close()
            throw FrameBenchError.terminalTooSmall(size)
        }
        bench.dashboard.glyphs = screen.glyphs
        let report = bench.time(frames: frames, size: size, variant: "terminal", until: stop.isSet) {
            screen.draw($0, at: $1)
        }
        if report.frames < frames {
            screen.close()
            throw FrameBenchError.interrupted(after: report.frames, of: frames)
        }
        return report
    }
}

/// Set from a signal handler's queue, read between frames.
private final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    func set() { value.store(true, ordering: .relaxed) }
    func isSet() -> Bool { value.load(ordering: .relaxed) }
}

/// The dashboard `spaceport demo` runs, fed made-up hops through the same inbox its
/// screen loop drains, with a clock that moves a frame at a time.
struct FrameBench {
    static let framesPerSecond = 30.0

    var dashboard: Dashboard
    private var traffic: FrameBenchTraffic
    private let inbox = DashboardInbox()
    private let hopsPerFrame: Int
    private var now = 0.0

    /// Every flow opened into its calls, as they arrive (the flows view).
    var openEveryFlow = false

    init(hops: Int, hopsPerFrame: Int, wholeChains: Bool = false) {
        self.hopsPerFrame = hopsPerFrame
        let perFrame = max(1, hopsPerFrame)
        let hopsPerSecond = Double(perFrame) * Self.framesPerSecond
        traffic = FrameBenchTraffic(
            hopsPerSecond: hopsPerSecond, epoch: Date().addingTimeInterval(-Double(hops) / hopsPerSecond),
            wholeChains: wholeChains)
        let shipped = ThemeCatalog.shipped
        dashboard = Dashboard(
            themes: shipped.themes, themeIndex: shipped.index(of: ThemeCatalog.defaultName) ?? 0,
            keyMap: KeyMap.standard.adding(KeyMap.demo),
            hopCapacity: max(HopRing.defaultCapacity, hops))
        let source = FrameBenchTraffic.proxy
        dashboard.receive(.connected(source: source), at: 0)
        dashboard.receive(.feed(source: source, .hello(traffic.hello)), at: 0)
        dashboard.receive(.feed(source: source, .spaces(SpacesSnapshot(traffic.tree))), at: 0)
        dashboard.receive(.status(key: "traffic", value: DemoRun.trafficStatus(true)), at: 0)
        dashboard.receive(.status(key: "feed", value: "/run/user/1000/spaceport/demo.sock"), at: 0)
        dashboard.receive(
            .health(Dictionary(uniqueKeysWithValues: dashboard.model.upstreams.map { ($0, .up) })), at: 0)
        // The ring fills at the same pace the frames then keep up, so rates read the same throughout.
        var filled = 0
        while filled < hops {
            let count = min(perFrame, hops - filled)
            now += Double(count) / hopsPerSecond
            for event in traffic.events(hops: count) {
                dashboard.receive(.feed(source: source, event), at: now)
            }
            filled += count
        }
    }

    /// Draws one untimed frame (the full paint a dashboard starts with), then times `frames`
    /// frames, or fewer if `until` turns true.
    mutating func time(
        frames: Int, size: Size, variant: String, until stop: () -> Bool = { false },
        draw: (Dashboard, Double) -> Void
    ) -> FrameBenchReport {
        dashboard.view.size = size
        openFlows()
        let hopsInRing = dashboard.model.hops.count
        let flowsInRing = dashboard.model.flows.count
        draw(dashboard, now)
        var times: [Duration] = []
        times.reserveCapacity(frames)
        while times.count < frames && !stop() {
            times.append(frame(draw: draw))
        }
        return FrameBenchReport(
            variant: variant, view: dashboard.view.hopsView == .flows ? "flows" : "hops", size: size,
            hopsInRing: hopsInRing, flowsInRing: flowsInRing, hopsPerFrame: hopsPerFrame, times: times)
    }

    /// With `openEveryFlow`, opens the flows that arrived since the last frame.
    private mutating func openFlows() {
        guard openEveryFlow else { return }
        let model = dashboard.model
        for flow in model.flows.newestFirst(oldest: model.hops.oldestSequence) {
            guard dashboard.view.expanded.insert(flow.key).inserted else { break }
        }
    }

    /// One frame of the screen thread: what the feed posted since the last frame, then the drawing.
    private mutating func frame(draw: (Dashboard, Double) -> Void) -> Duration {
        // Posting is the feed thread's work, so it stays outside the timed part.
        for event in traffic.events(hops: hopsPerFrame) {
            inbox.post(.feed(source: FrameBenchTraffic.proxy, event))
        }
        now += 1 / Self.framesPerSecond
        let clock = ContinuousClock()
        let started = clock.now
        let (updates, dropped) = inbox.drain()
        dashboard.receive(updates, at: now)
        if dropped > 0 { dashboard.receive(.handOffDropped(dropped), at: now) }
        openFlows()
        draw(dashboard, now)
        return clock.now - started
    }
}

/// What `frame-bench` prints: the run's shape and its frame times in milliseconds.
struct FrameBenchReport: Encodable {
    var variant: String
    /// The hop pane's view: `hops` or `flows`.
    var view: String
    var build: String
    var width: Int
    var height: Int
    var frames: Int
    var hopsInRing: Int
    /// The flows those hops make.
    var flowsInRing: Int
    var hopsPerFrame: Int
    var medianMs: Double
    var p90Ms: Double
    var p99Ms: Double
    var maxMs: Double
    var meanMs: Double
    /// Frames of the median's length that fit in one second of one core.
    var framesPerSecond: Double
    /// The share of one core the dashboard's 30 frames a second would take, at the mean.
    var corePercentAt30fps: Double

    init(
        variant: String, view: String, size: Size, hopsInRing: Int, flowsInRing: Int, hopsPerFrame: Int,
        times: [Duration]
    ) {
        #if DEBUG
            build = "debug"
        #else
            build = "release"
        #endif
        self.variant = variant
        self.view = view
        width = size.width
        height = size.height
        frames = times.count
        self.hopsInRing = hopsInRing
        self.flowsInRing = flowsInRing
        self.hopsPerFrame = hopsPerFrame
        let sorted = times.map(Self.milliseconds).sorted()
        func rank(_ percent: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = Int((percent / 100 * Double(sorted.count)).rounded(.up)) - 1
            return Self.rounded(sorted[min(max(index, 0), sorted.count - 1)])
        }
        medianMs = rank(50)
        p90Ms = rank(90)
        p99Ms = rank(99)
        maxMs = Self.rounded(sorted.last ?? 0)
        let mean = sorted.isEmpty ? 0 : sorted.reduce(0, +) / Double(sorted.count)
        meanMs = Self.rounded(mean)
        framesPerSecond = medianMs > 0 ? (1000 / medianMs).rounded() : 0
        corePercentAt30fps = Self.rounded(mean * FrameBench.framesPerSecond / 10)
    }

    var text: String {
        func ms(_ value: Double) -> String { String(format: "%.3f ms", value) }
        return """
            frame-bench, \(variant) (\(build) build), \(view) view: \(frames) frames of \(width)×\(height), \
            \(hopsInRing) hops (\(flowsInRing) flows) in the ring, \(hopsPerFrame) new a frame
            median \(ms(medianMs))  p90 \(ms(p90Ms))  p99 \(ms(p99Ms))  max \(ms(maxMs))  mean \(ms(meanMs))
            \(Int(framesPerSecond)) frames a second fit in one core; at the dashboard's \
            \(Int(FrameBench.framesPerSecond)) frames a second, drawing takes \
            \(String(format: "%.1f", corePercentAt30fps))% of a core
            """
    }

    /// One JSON object, keys sorted, as bench/bench.py reads it.
    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    private static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }

    /// Microsecond precision is all a frame time needs.
    private static func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
}

/// The hop pane's view a bench draws.
enum BenchView: String, ExpressibleByArgument, CaseIterable {
    case hops, flows
}
