import Foundation
import SpaceportCore
import SpaceportWire
import Testing

@testable import SpaceportFeed

/// The three hops of one request, servicea@azureuser → serviceb@default → servicec@default.
enum ChainHops {
    static let a = HopCaller(space: "azureuser", service: "servicea")
    static let b = HopCaller(space: "default", service: "serviceb")

    static func hop(
        _ id: String, from: HopCaller?, service: String, space: String, endsAt second: String,
        duration: Double,
        phase: HopPhase = .end, flow: String = "4bf92f3577b34da6a3ce929d0e0e4736"
    ) -> HopEvent {
        HopEvent(
            id: id, flow: flow, phase: phase, time: "2026-03-01T12:03:\(second)Z", proxy: "test",
            listener: from.map { "egress:\($0.space)/\($0.service)" } ?? "ingress", from: from,
            routeAs: "azureuser",
            routeAsSource: from == nil ? .host : .header, service: service,
            tried: space == "azureuser" ? ["azureuser"] : ["azureuser", "default"], space: space,
            upstream: "127.0.0.1:5001", method: "GET",
            host: from == nil ? "azureuser.s.default.servicea.localhost:8080" : service, path: "/",
            status: phase == .end ? 200 : nil, durationMs: phase == .end ? duration : nil)
    }

    /// As a coalescing feed sends them: the innermost call ends first.
    static var ends: [HopEvent] {
        [
            hop("c", from: b, service: "servicec", space: "default", endsAt: "04.107", duration: 2),
            hop("b", from: a, service: "serviceb", space: "default", endsAt: "04.110", duration: 8),
            hop("a", from: nil, service: "servicea", space: "azureuser", endsAt: "04.112", duration: 12),
        ]
    }
}

@Suite("What spaceport tail --flows prints")
struct TailFlowsTests {
    private func feed(_ printer: inout TailPrinter, _ hops: [HopEvent], at now: Double) -> [String] {
        hops.flatMap { printer.lines(for: .event(source: "s", .hop($0)), at: now).output }
    }

    @Test("a finished flow prints once, as a tree: the request, then each call indented under its caller")
    func tree() {
        var printer = TailPrinter(json: false, flows: true)
        #expect(
            feed(&printer, ChainHops.ends, at: 10).isEmpty, "nothing until the flow has been quiet a while")
        #expect(printer.flush(at: 10.2).isEmpty)
        let lines = printer.flush(at: 10.6)
        #expect(
            lines == [
                "12:03:04.100  flow 4bf92f3577b34da6a3ce929d0e0e4736  3 hops in 12 ms",
                "  GET  azureuser.s.default.servicea.localhost:8080/  as azureuser (host)  servicea → azureuser  200  12 ms",
                "  └─ GET  serviceb/  as azureuser (header, from azureuser/servicea)  serviceb → default (fallback from azureuser)  200  8.0 ms",
                "     └─ GET  servicec/  as azureuser (header, from default/serviceb)  servicec → default (fallback from azureuser)  200  2.0 ms",
            ], "\(lines.joined(separator: "\n"))")
        #expect(printer.flush(at: 20).isEmpty, "a flow prints once")
    }

    @Test("a flow still running waits, however long, and prints once its last hop ends")
    func waitsForEnds() {
        var printer = TailPrinter(json: false, flows: true)
        var hops = ChainHops.ends
        let root = hops.removeLast()
        var start = root
        start.phase = .start
        start.status = nil
        start.durationMs = nil
        start.time = "2026-03-01T12:03:04.100Z"
        _ = feed(&printer, [start] + hops, at: 10)
        #expect(printer.flush(at: 60).isEmpty)
        _ = feed(&printer, [root], at: 61)
        #expect(printer.flush(at: 61.6).count == 4)
    }

    @Test("a flow whose request from outside was not seen waits longer, then says who called its first hop")
    func rootless() {
        var printer = TailPrinter(json: false, flows: true)
        _ = feed(&printer, Array(ChainHops.ends.prefix(2)), at: 10)
        #expect(printer.flush(at: 11).isEmpty)
        let lines = printer.flush(at: 12.1)
        #expect(lines.count == 3)
        #expect(lines[1].hasPrefix("  (called by servicea@azureuser, not seen) GET  serviceb/"), "\(lines)")
        #expect(lines[2].hasPrefix("  └─ GET  servicec/"))
    }

    @Test("with --json a flow is one object: its hops with every field, each with its calls nested")
    func json() throws {
        var printer = TailPrinter(json: true, flows: true)
        _ = feed(&printer, ChainHops.ends, at: 10)
        let lines = printer.flush(at: 11)
        #expect(lines.count == 1)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(object["type"] as? String == "flow")
        #expect(object["flow"] as? String == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(object["hopCount"] as? Int == 3)
        #expect(object["durationMs"] as? Double == 12)
        #expect(object["finished"] as? Bool == true)
        let roots = try #require(object["hops"] as? [[String: Any]])
        #expect(roots.count == 1)
        let a = roots[0]
        #expect(a["service"] as? String == "servicea" && a["link"] as? String == "root")
        #expect(a["status"] as? Int == 200 && a["space"] as? String == "azureuser")
        let b = try #require((a["calls"] as? [[String: Any]])?.first)
        #expect(b["service"] as? String == "serviceb" && b["link"] as? String == "caller")
        let c = try #require((b["calls"] as? [[String: Any]])?.first)
        #expect(c["service"] as? String == "servicec")
        #expect((c["calls"] as? [Any])?.isEmpty == true)
        #expect(c["tried"] as? [String] == ["azureuser", "default"], "every field a hop line has")
    }

    @Test("hops of two feeds make one flow, and tail stopping prints what still waits, marked unfinished")
    func severalFeedsAndStop() {
        var printer = TailPrinter(json: false, flows: true)
        let ends = ChainHops.ends
        _ = printer.lines(for: .event(source: "one", .hop(ends[2])), at: 10)
        _ = printer.lines(for: .event(source: "two", .hop(ends[1])), at: 10)
        var running = ends[0]
        running.phase = .start
        _ = printer.lines(for: .event(source: "two", .hop(running)), at: 10)
        let lines = printer.flush(at: 10.1, all: true)
        #expect(lines.first?.contains("3 hops") == true)
        #expect(lines.first?.hasSuffix("(unfinished)") == true, "\(lines)")
    }

    @Test(
        "a flood of flows whose hops never end keeps at most 1,000 waiting, printing the oldest as they stand"
    )
    func bounded() {
        var printer = TailPrinter(json: false, flows: true)
        var printed = 0
        for index in 0..<3_000 {
            var hop = ChainHops.ends[2]
            hop.flow = "flow\(index)"
            hop.phase = .start
            printed += printer.lines(for: .event(source: "s", .hop(hop)), at: 10).output.count
        }
        #expect(printed == 2_000 * 2, "each flow pushed out prints its line and its hop's")
        #expect(printer.flush(at: 11, all: true).count == 1_000 * 2)
    }
}

/// `spaceport tail` with its output in a file, read as it grows: no pipe for the test to read.
private struct TailToFile {
    let process = Process()
    let output: String

    init(_ arguments: [String], runtime: String, output: String) throws {
        self.output = output
        FileManager.default.createFile(atPath: output, contents: nil)
        process.executableURL = URL(fileURLWithPath: try BuiltSpaceport.require())
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_RUNTIME_DIR"] = runtime
        process.environment = environment
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// The lines printed so far, once one of them `matches`.
    func lines(_ what: String, until matches: @escaping @Sendable (String) -> Bool) async throws -> [String] {
        let output = self.output
        return try await within(what) {
            while true {
                let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
                let lines = text.split(separator: "\n").map(String.init)
                if lines.contains(where: matches) { return lines }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
    }

    func stop() async throws -> Int32 {
        process.interrupt()
        return try await within("tail to exit") {
            while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
            return process.terminationStatus
        }
    }
}

@Suite("The spaceport tail --flows command")
struct TailFlowsCommandTests {
    @Test(
        "spaceport tail --flows prints a request's hops as one tree once it finishes, and --json as one object"
    )
    func command() async throws {
        let runtime = Samples.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: runtime) }
        let feed = try await FeedFixture.start(name: "spaceport", folder: runtime + "/spaceport")
        let text = try TailToFile(
            ["tail", "--flows", "--feed", feed.socketPath], runtime: runtime, output: runtime + "/text")
        let json = try TailToFile(
            ["tail", "--flows", "--json", "--feed", feed.socketPath], runtime: runtime,
            output: runtime + "/json")
        _ = try await text.lines("the spaces line") { $0.contains("  spaces  ") }
        _ = try await json.lines("the spaces event") { $0.contains(#""type":"spaces""#) }
        for hop in ChainHops.ends { feed.hub.publish(.hop(hop)) }
        let printed = try await text.lines("the flow's tree") { $0.contains("└─ GET  serviceb/") }
        let head = try #require(printed.firstIndex { $0.contains("  flow ") })
        #expect(printed[head].hasSuffix("flow 4bf92f3577b34da6a3ce929d0e0e4736  3 hops in 12 ms"))
        #expect(printed[head + 1].hasPrefix("  GET  azureuser.s.default.servicea.localhost:8080/"))
        #expect(printed[head + 2].hasPrefix("  └─ GET  serviceb/"))
        let objects = try await json.lines("the flow object") { $0.contains(#""type":"flow""#) }
        let object = try #require(objects.first { $0.contains(#""type":"flow""#) })
        #expect(object.contains(#""calls":[{"#))
        #expect(
            !objects.contains { $0.contains(#""type":"hop""#) },
            "the hops are inside the flow, not lines of their own")
        #expect(try await text.stop() == 0)
        #expect(try await json.stop() == 0)
        await feed.stop()
    }
}
