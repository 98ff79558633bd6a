import ArgumentParser
import Foundation
import SpaceportApp
import SpaceportCore
import SpaceportFeed
import Synchronization

struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tail",
        abstract: "Print every request hop and every change of spaces from running proxies, live.",
        discussion: """
            Each finished hop is one line: time (UTC), method, host and path, route-as and \
            where it came from, service → the space that served it (marked when an ancestor \
            did), status and milliseconds. A change of spaces is a line too. Ctrl-C stops.
            """
    )

    @Flag(help: "Print each feed event as one JSON line instead (docs/feed-protocol.md).")
    var json = false

    @Flag(
        help:
            "Print each request flow once it has finished, as a tree of its hops (each call under its caller); with --json, one object per flow with its hops nested."
    )
    var flows = false

    @Option(
        name: .customLong("feed"),
        help: ArgumentHelp(
            "A feed to attach: auto (every proxy in the runtime folder, as they come and go), a socket path, a proxy's --name, or tcp://HOST:PORT. Repeat for several.",
            valueName: "feed"))
    var feeds: [String] = []

    @OptionGroup var token: AttachTokenOptions

    @Option(
        help: ArgumentHelp(
            "Print at most this many hops a second, and a line saying how many were left out; 0 (the default) prints every hop.",
            valueName: "per-second"))
    var sampleHops = 0

    func validate() throws {
        try SampleHopsOption.check(sampleHops)
        try token.check(try targets())
    }

    func run() async throws {
        let targets = try targets()
        let client = FeedClient(
            targets: targets, token: try token.source.token(),
            shaping: HopShaping(perSecond: SampleHopsOption.perSecond(sampleHops)))
        // With auto, no proxy yet is no failure: tail follows proxies as they come and go.
        let waits = targets.contains(.auto)
        do {
            try await client.start(requireFeed: !waits)
        } catch {
            throw CommandFailure.report(error.description)
        }
        if waits && client.connectedSources.isEmpty {
            Self.note(
                "waiting for a proxy: none is running yet (their feeds appear in \(FeedPaths.directory())); `spaceport proxy` starts one"
            )
        }
        let stopper = SignalStopper(signals: [SIGINT, SIGTERM]) { Task { await client.stop() } }
        // One printer for the events and the clock that finishes flows, so lines never interleave.
        let printer = SharedPrinter(TailPrinter(json: json, flows: flows))
        let flows = self.flows
        let ticker = Task {
            guard flows else { return }
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(TailPrinter.flushSeconds))
                if !printer.flush() { await client.stop() }
            }
        }
        for await event in client.events where !printer.print(event) {
            await client.stop()
            break
        }
        ticker.cancel()
        _ = printer.flush(all: true)
        stopper.cancel()
    }

    fileprivate static func note(_ line: String) {
        try? FileHandle.standardError.write(contentsOf: Data((line + "\n").utf8))
    }

    /// Writes `lines` to standard output; false once it cannot be written (a closed pipe).
    fileprivate static func write(_ lines: [String]) -> Bool {
        guard !lines.isEmpty else { return true }
        do {
            try FileHandle.standardOutput.write(contentsOf: Data((lines.joined(separator: "\n") + "\n").utf8))
            return true
        } catch {
            return false
        }
    }

    private func targets() throws -> [FeedTarget] {
        do {
            return try (feeds.isEmpty ? ["auto"] : feeds).map { text throws(FeedTargetError) in
                try FeedTarget.parse(text)
            }
        } catch {
            throw ValidationError(error.description)
        }
    }
}

/// The printer the events and the flows' clock share, one at a time.
private final class SharedPrinter: Sendable {
    private let printer: Mutex<TailPrinter>

    init(_ printer: TailPrinter) {
        self.printer = Mutex(printer)
    }

    private var now: Double { ProcessInfo.processInfo.systemUptime }

    /// Prints what `event` makes; false once standard output is gone.
    func print(_ event: FeedClientEvent) -> Bool {
        printer.withLock { printer in
            let lines = printer.lines(for: event, at: now)
            for note in lines.notes { TailCommand.note(note) }
            return TailCommand.write(lines.output)
        }
    }

    /// Prints the flows that have finished (all of them when tail stops); false once standard output is gone.
    func flush(all: Bool = false) -> Bool {
        printer.withLock { TailCommand.write($0.flush(at: now, all: all)) }
    }
}
