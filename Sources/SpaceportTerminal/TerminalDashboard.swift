import CNcurses
import Dispatch
import Foundation
import Glibc
import SpaceportDashboard

/// Runs a dashboard in the terminal: one thread owns curses, reads keys, drains the inbox
/// the feeds fill, and redraws only after a change: at most `framesPerSecond` times a second
/// for keys, mouse and resizes, and `trafficFramesPerSecond` for what the feeds say, so a
/// load test scrolls the list at a pace a person can follow, at a third of the drawing cost.
/// While the feeds send only a sample of their hops (a load test), traffic redraws at
/// `sampledTrafficFramesPerSecond`: as often as the tallies that carry the counts arrive.
/// Unchecked: it is handed once to the thread that runs it, and only that thread touches it.
public final class TerminalDashboard: @unchecked Sendable {
    public struct Options: Sendable {
        /// NO_COLOR: attributes only.
        public var noColor: Bool
        public var framesPerSecond: Int
        /// Redraws when only the feeds changed something: new hops, rates, trees.
        public var trafficFramesPerSecond: Int
        /// The same while hops are being left out: four times a second, the tallies' pace. The
        /// list of a sample scrolls too fast to read either way, and each frame drawn on a
        /// machine under load delays the load itself (measured: 10 → 4 frames a second took
        /// p99 from 2.3–2.9 to 2.0–2.2 ms, with the dashboard beside wrk).
        public var sampledTrafficFramesPerSecond: Int

        public init(
            noColor: Bool = false, framesPerSecond: Int = 30, trafficFramesPerSecond: Int = 10,
            sampledTrafficFramesPerSecond: Int = 4
        ) {
            self.noColor = noColor
            self.framesPerSecond = framesPerSecond
            self.trafficFramesPerSecond = min(trafficFramesPerSecond, framesPerSecond)
            self.sampledTrafficFramesPerSecond = min(
                sampledTrafficFramesPerSecond, self.trafficFramesPerSecond)
        }
    }

    public typealias Perform = (Effect, DashboardInbox) -> Void

    private var dashboard: Dashboard
    private let inbox: DashboardInbox
    private let options: Options
    private let perform: Perform
    private let clock = ContinuousClock()
    private let start: ContinuousClock.Instant

    public init(dashboard: Dashboard, inbox: DashboardInbox, options: Options, perform: @escaping Perform) {
        self.dashboard = dashboard
        self.inbox = inbox
        self.options = options
        self.perform = perform
        start = clock.now
    }

    /// Seconds since start, the dashboard's clock for rates and notes.
    private var now: Double {
        let elapsed = clock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// Whether this process can draw here: TERM set and not dumb, a terminal on stdin and stdout.
    /// Call it before starting anything else, so a bad terminal fails fast and plainly.
    public static func checkTerminal(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(TerminalError) {
        try TerminalError.check(environment: environment, isTerminal: isatty(0) == 1 && isatty(1) == 1)
    }

    /// Takes over the terminal until the user quits or `inbox.requestQuit()` is called
    /// (SIGINT, SIGTERM and SIGHUP do that); the terminal is restored on every way out.
    public func run() throws(TerminalError) {
        try Self.checkTerminal()
        let signals = SignalWatch(inbox: inbox)
        defer { signals.stop() }
        let frame = max(1, 1000 / max(1, options.framesPerSecond))
        let screen = try CursesScreen(noColor: options.noColor, frameMilliseconds: Int32(frame))
        defer { screen.close() }
        dashboard.glyphs = screen.isUTF8 ? .unicode : .ascii
        var themeIndex = dashboard.view.themeIndex
        screen.apply(dashboard.theme)
        _ = dashboard.handle(.resize(screen.size), at: now)
        loop(screen, frameSeconds: Double(frame) / 1000, themeIndex: &themeIndex)
    }

    private func loop(_ screen: CursesScreen, frameSeconds: Double, themeIndex: inout Int) {
        let trafficFrameSeconds = 1 / Double(max(1, options.trafficFramesPerSecond))
        let sampledFrameSeconds = 1 / Double(max(1, options.sampledTrafficFramesPerSecond))
        // What the user did is drawn at the full frame rate; what the feeds did, at the traffic rate.
        var dirty = true
        var trafficDirty = false
        var lastDraw = -1.0
        var lastTick = 0.0
        while !inbox.quitRequested {
            var wait = true
            var keys = 0
            // Take every key already typed, so a flood of hops never queues keys behind frames.
            while keys < 64, let input = screen.read(wait: wait) {
                wait = false
                keys += 1
                dirty = true
                for effect in dashboard.handle(input, at: now) {
                    if effect == .quit { return }
                    perform(effect, inbox)
                }
            }
            let (updates, dropped) = inbox.drain()
            let time = now
            if !updates.isEmpty || dropped > 0 { trafficDirty = true }
            dashboard.receive(updates, at: time)
            if dropped > 0 { dashboard.receive(.handOffDropped(dropped), at: time) }
            if time - lastTick >= 1 {
                lastTick = time
                trafficDirty = true
            }
            if dashboard.view.themeIndex != themeIndex {
                themeIndex = dashboard.view.themeIndex
                screen.apply(dashboard.theme)
            }
            let trafficPace =
                trafficDirty && dashboard.model.sampling(at: time) != nil
                ? sampledFrameSeconds : trafficFrameSeconds
            let due =
                (dirty && time - lastDraw >= frameSeconds)
                || (trafficDirty && time - lastDraw >= trafficPace)
            guard due else { continue }
            var canvas = GridCanvas(size: screen.size)
            dashboard.render(into: &canvas, at: time)
            screen.draw(canvas)
            lastDraw = time
            dirty = false
            trafficDirty = false
        }
    }
}

/// SIGINT, SIGTERM and SIGHUP end the dashboard through its loop, so curses is ended
/// on the thread that owns it rather than in a signal handler.
private final class SignalWatch {
    private static let signals = [SIGINT, SIGTERM, SIGHUP]
    private var sources: [DispatchSourceSignal] = []

    init(inbox: DashboardInbox) {
        // A parent may have left these blocked; the dashboard must hear them to restore the terminal.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        for number in Self.signals { sigaddset(&unblock, number) }
        sigprocmask(SIG_UNBLOCK, &unblock, nil)
        for number in Self.signals {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { inbox.requestQuit() }
            source.resume()
            sources.append(source)
        }
    }

    func stop() {
        for source in sources { source.cancel() }
        for number in Self.signals { signal(number, SIG_DFL) }
    }
}
