import ArgumentParser
import Foundation
import SpaceportApp
import SpaceportCore
import SpaceportFeed

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
        var printer = TailPrinter(json: json)
        for await event in client.events {
            let lines = printer.lines(for: event)
            for note in lines.notes { Self.note(note) }
            guard !lines.output.isEmpty else { continue }
            do {
                try FileHandle.standardOutput.write(
                    contentsOf: Data((lines.output.joined(separator: "\n") + "\n").utf8))
            } catch {
                await client.stop()
                break
            }
        }
        stopper.cancel()
    }

    private static func note(_ line: String) {
        try? FileHandle.standardError.write(contentsOf: Data((line + "\n").utf8))
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
