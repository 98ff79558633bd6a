import Foundation
import SpaceportCore
import SpaceportWire
import Testing

@testable import SpaceportFeed

@Suite("What spaceport tail prints")
struct TailTests {
    @Test("a finished hop is one line: time, method, host and path, route-as, service → space, status, ms")
    func hopLine() {
        let hop = Samples.hop(1, tried: ["azureuser"], space: "azureuser", path: "/api/orders")
        #expect(
            HopLine.format(hop)
                == "12:03:04.123  GET  servicea.localhost/api/orders  as azureuser (header)  servicea → azureuser  200  12 ms"
        )
    }

    @Test("a hop served by an ancestor is marked as a fallback")
    func fallbackIsMarked() {
        let hop = Samples.hop(1, tried: ["azureuser", "default"], space: "default")
        #expect(HopLine.format(hop).contains("servicea → default (fallback from azureuser)  200"))
    }

    @Test("a hop the proxy translated says what it spoke upstream")
    func upstreamProtocol() {
        var hop = Samples.hop(1, tried: ["azureuser"], space: "azureuser")
        hop.upstreamProtocol = .h2c
        #expect(HopLine.format(hop).contains("servicea → azureuser  upstream h2c  200"))
    }

    @Test("a route-as naming no space shows where it went; a caller is shown")
    func unknownRouteAs() {
        var hop = Samples.hop(1, routeAs: "default", tried: ["default"], space: "default")
        hop.unknownRouteAs = "bob"
        hop.from = HopCaller(space: "azureuser", service: "serviceb")
        #expect(HopLine.format(hop).contains("as bob (header, unknown: as default, from azureuser/serviceb)"))
        #expect(!HopLine.format(hop).contains("fallback"))
    }

    @Test("a hop whose caller dropped the route says lost, by whom and where it should have gone")
    func lostIsMarked() {
        var hop = Samples.hop(1, routeAs: "default", tried: ["default"], space: "default")
        hop.routeAsSource = .caller
        hop.from = HopCaller(space: "default", service: "servicea")
        hop.propagation = .lost
        hop.lostBy = HopCaller(space: "default", service: "servicea")
        hop.expected = "hotfix"
        #expect(
            HopLine.format(hop).contains(
                "servicea → default  lost (dropped by servicea@default, expected hotfix)  200  12 ms"),
            "\(HopLine.format(hop))")
        hop.lostBy = nil
        hop.expected = nil
        #expect(HopLine.format(hop).contains("servicea → default  lost  200"))
    }

    @Test("a hop trace memory routed says restored by trace; a kept or bridged one says nothing more")
    func restoredIsMarked() {
        var hop = Samples.hop(1, tried: ["azureuser"], space: "azureuser")
        hop.routeAsSource = .trace
        hop.propagation = .restored
        #expect(
            HopLine.format(hop).contains("as azureuser (trace)  servicea → azureuser  restored by trace  200")
        )
        for propagation in [HopPropagation.kept, .bridged] {
            hop.propagation = propagation
            #expect(HopLine.format(hop).contains("servicea → azureuser  200"), "\(propagation)")
        }
    }

    @Test("a hop no space served shows → none, its status and its error")
    func notServed() {
        var hop = Samples.hop(1, space: nil)
        hop.status = 404
        hop.durationMs = 0.42
        hop.error = "no space on azureuser → default serves servicea"
        #expect(
            HopLine.format(hop).hasSuffix(
                "servicea → none  404  0.4 ms  ! no space on azureuser → default serves servicea"))
    }

    @Test("control characters from the network are escaped before they reach the terminal")
    func sanitized() {
        var hop = Samples.hop(1, path: "/\u{1B}[2Jgotcha")
        hop.method = "GE\u{7}T"
        let line = HopLine.format(hop)
        #expect(!line.contains("\u{1B}"))
        #expect(!line.contains("\u{7}"))
        #expect(line.contains("/\\x1B[2Jgotcha"))
    }

    @Test("the first spaces of a feed print as the tree, later ones as what changed")
    func spacesLines() throws {
        var printer = TailPrinter(json: false)
        let tree = try SpacesFile.parse(text: Samples.spacesYAML, file: "s")
        _ = printer.lines(for: .connected(source: "a"))
        let first = printer.lines(for: .event(source: "a", .spaces(SpacesSnapshot(tree))))
        #expect(first.output.count == 1)
        #expect(first.output[0].hasSuffix("  spaces  default, azureuser ← default"))
        let changed = try tree.applying(.override(space: "azureuser", service: "servicea", enabled: false))
            .applying(.createSpace(name: "bob", parent: "azureuser"))
        let next = printer.lines(for: .event(source: "a", .spaces(SpacesSnapshot(changed))))
        #expect(
            next.output.map { String($0.split(separator: "  ").last!) } == [
                "space bob created under azureuser", "override servicea in azureuser: off",
            ])
        let same = printer.lines(for: .event(source: "a", .spaces(SpacesSnapshot(changed))))
        #expect(same.output.isEmpty)
    }

    @Test("only finished hops print; hello and disconnects are notes for the terminal")
    func phasesAndNotes() {
        var printer = TailPrinter(json: false)
        _ = printer.lines(for: .connected(source: "a"))
        let hello = printer.lines(for: .event(source: "a", .hello(Samples.hello)))
        #expect(hello.output.isEmpty)
        #expect(hello.notes == ["attached to test (pid \(getpid()), 0.1.0) at a"])
        #expect(printer.lines(for: .event(source: "a", .hop(Samples.hop(1, phase: .start)))).output.isEmpty)
        #expect(printer.lines(for: .event(source: "a", .hop(Samples.hop(1)))).output.count == 1)
        #expect(printer.lines(for: .event(source: "a", .ack(id: "1"))).output.isEmpty)
        let lost = printer.lines(for: .disconnected(source: "a", reason: "the proxy closed the feed"))
        #expect(lost.notes == ["lost a: the proxy closed the feed; retrying"])
    }

    @Test("a tally that left hops out is one line saying how many, and the rate; a whole one prints nothing")
    func tallyLine() {
        var printer = TailPrinter(json: false)
        _ = printer.lines(for: .connected(source: "a"))
        let sampled = HopTally(hops: 10_000, sampled: 250, failed: 0, seconds: 0.25, routes: [])
        let line = printer.lines(for: .event(source: "a", .tally(sampled))).output
        #expect(line.count == 1)
        #expect(line.first?.hasSuffix("  …  9750 of 10000 hops not shown (sampled), 40000 hops/s") == true)
        let whole = HopTally(hops: 3, sampled: 3, failed: 0, seconds: 0.25, routes: [])
        #expect(printer.lines(for: .event(source: "a", .tally(whole))).output.isEmpty)
    }

    @Test("with several feeds each line says which proxy it came from")
    func proxyPrefix() {
        var printer = TailPrinter(json: false)
        for source in ["a", "b"] { _ = printer.lines(for: .connected(source: source)) }
        _ = printer.lines(
            for: .event(source: "b", .hello(FeedHello(proxy: "bravo", pid: 1, version: "0", listeners: []))))
        #expect(
            printer.lines(for: .event(source: "b", .hop(Samples.hop(1)))).output[0].hasPrefix(
                "[bravo] 12:03:04.123"))
    }

    @Test("with --json every event prints as its JSON line")
    func jsonLines() throws {
        var printer = TailPrinter(json: true)
        let events: [FeedEvent] = [
            .hello(Samples.hello), .hop(Samples.hop(1, phase: .start)), .dropped(count: 3), .ack(id: "9"),
        ]
        for event in events {
            let lines = printer.lines(for: .event(source: "a", event))
            #expect(lines.output.count == 1)
            #expect(try FeedEvent.decode(line: lines.output[0]) == event)
        }
    }

    @Test("a tail attached to a live feed prints each hop as it finishes")
    func tailLoop() async throws {
        try await withFeed { feed in
            let client = FeedClient(targets: [.unix(feed.socketPath)])
            try await client.start()
            let printed = Task {
                var printer = TailPrinter(json: false)
                var lines: [String] = []
                for await event in client.events {
                    lines += printer.lines(for: event).output
                    if lines.count == 2 { break }
                }
                return lines
            }
            feed.hub.publish(.hop(Samples.hop(5, phase: .start)))
            feed.hub.publish(.hop(Samples.hop(5)))
            let lines = try await within("two printed lines") { await printed.value }
            #expect(lines[0].contains("spaces  default, azureuser ← default"))
            #expect(lines[1] == HopLine.format(Samples.hop(5)))
            await client.stop()
        }
    }
}
