import Foundation
import SpaceportCore
import SpaceportWire
import Testing

@testable import SpaceportFeed

/// Runs the built `spaceport` binary, which `swift test` builds beside the test bundle.
struct SpaceportBinary {
    let process = Process()
    let output = Pipe()
    let errors = Pipe()

    init(_ arguments: [String], runtime: String, environment extra: [String: String] = [:]) throws {
        process.executableURL = URL(fileURLWithPath: try BuiltSpaceport.require())
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["XDG_RUNTIME_DIR"] = runtime
        environment.removeValue(forKey: FeedToken.environmentVariable)
        environment.merge(extra) { $1 }
        process.environment = environment
        process.standardOutput = output
        process.standardError = errors
        try process.run()
    }

    /// Lines of `pipe` as they come.
    static func lines(_ pipe: Pipe) -> AsyncStream<String> {
        AsyncStream { continuation in
            let handle = pipe.fileHandleForReading
            let buffer = LineBuffer()
            handle.readabilityHandler = { handle in
                let data = handle.availableData
                if data.isEmpty {
                    handle.readabilityHandler = nil
                    continuation.finish()
                    return
                }
                for line in buffer.add(data) { continuation.yield(line) }
            }
        }
    }

    func exitStatus() async throws -> Int32 {
        try await within("spaceport to exit") {
            while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
            return process.terminationStatus
        }
    }
}

final class LineBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var pending = Data()

    func add(_ data: Data) -> [String] {
        lock.withLock {
            pending.append(data)
            var lines: [String] = []
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                lines.append(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                pending.removeSubrange(pending.startIndex...newline)
            }
            return lines
        }
    }
}

func firstLine(
    _ lines: AsyncStream<String>, _ what: String, where matches: @escaping @Sendable (String) -> Bool
)
    async throws -> String
{
    try await within(what) {
        for await line in lines where matches(line) { return line }
        throw TimedOut(what: what + " (the stream ended)")
    }
}

@Suite("The spaceport tail command")
struct TailCommandTests {
    @Test("spaceport tail prints each finished hop and a spaces change, and exits 0 on Ctrl-C")
    func humanOutput() async throws {
        let runtime = Samples.temporaryFolder()
        let feed = try await FeedFixture.start(name: "spaceport", folder: runtime + "/spaceport")
        let tail = try SpaceportBinary(["tail"], runtime: runtime)
        let output = SpaceportBinary.lines(tail.output)
        let notes = SpaceportBinary.lines(tail.errors)
        _ = try await firstLine(notes, "the attach note") { $0.hasPrefix("attached to test") }
        _ = try await firstLine(output, "the spaces line") {
            $0.hasSuffix("spaces  default, azureuser ← default")
        }
        feed.hub.publish(.hop(Samples.hop(1, phase: .start)))
        feed.hub.publish(.hop(Samples.hop(1, tried: ["azureuser", "default"], space: "default")))
        let hop = try await firstLine(output, "the hop line") { $0.contains("GET") }
        #expect(hop == HopLine.format(Samples.hop(1, tried: ["azureuser", "default"], space: "default")))
        #expect(hop.contains("(fallback from azureuser)"))
        try feed.store.apply(.override(space: "azureuser", service: "servicea", enabled: false))
        _ = try await firstLine(output, "the change line") {
            $0.hasSuffix("override servicea in azureuser: off")
        }
        tail.process.interrupt()
        #expect(try await tail.exitStatus() == 0)
        await feed.stop()
        try? FileManager.default.removeItem(atPath: runtime)
    }

    @Test("spaceport tail --json prints the events as JSON lines")
    func jsonOutput() async throws {
        let runtime = Samples.temporaryFolder()
        let feed = try await FeedFixture.start(name: "spaceport", folder: runtime + "/spaceport")
        let tail = try SpaceportBinary(["tail", "--json", "--feed", feed.socketPath], runtime: runtime)
        let output = SpaceportBinary.lines(tail.output)
        let hello = try await firstLine(output, "hello") { $0.contains(#""type":"hello""#) }
        #expect(Samples.greeting(try FeedEvent.decode(line: hello)) == Samples.hello)
        feed.hub.publish(.hop(Samples.hop(3, phase: .start)))
        let hop = try await firstLine(output, "the hop") { $0.contains(#""type":"hop""#) }
        #expect(try FeedEvent.decode(line: hop) == .hop(Samples.hop(3, phase: .start)))
        tail.process.interrupt()
        #expect(try await tail.exitStatus() == 0)
        await feed.stop()
        try? FileManager.default.removeItem(atPath: runtime)
    }

    @Test("spaceport tail --sample-hops prints a few whole hops of a flood and says how many it left out")
    func sampledOutput() async throws {
        let runtime = Samples.temporaryFolder()
        let feed = try await FeedFixture.start(name: "spaceport", folder: runtime + "/spaceport")
        let tail = try SpaceportBinary(
            ["tail", "--sample-hops", "5", "--feed", feed.socketPath], runtime: runtime)
        let output = SpaceportBinary.lines(tail.output)
        _ = try await firstLine(output, "the spaces line") { $0.contains("  spaces  ") }
        // Its sample-hops command is in effect once the hub counts a sampler.
        try await within("tail's sample-hops to take effect") {
            while feed.hub.samplerCount == 0 { try await Task.sleep(for: .milliseconds(10)) }
        }
        for number in 0..<1000 {
            feed.hub.publish(.hop(Samples.hop(number, phase: .start)))
            feed.hub.publish(.hop(Samples.hop(number)))
        }
        // Hop lines and "X of Y hops not shown" lines until the tallies have covered all 1000.
        let (shown, leftOut, counted) = try await within("tallies covering the 1000 hops") {
            var shown = 0
            var leftOut = 0
            var counted = 0
            for await line in output {
                if line.contains("GET") { shown += 1 }
                let words = line.split(separator: " ")
                if line.contains("hops not shown (sampled)"), let of = words.firstIndex(of: "of"),
                    let left = Int(words[of - 1]), let total = Int(words[of + 1])
                {
                    leftOut += left
                    counted += total
                    if counted >= 1000 { break }
                }
            }
            return (shown, leftOut, counted)
        }
        #expect(counted == 1000)
        #expect(shown + leftOut == 1000, "every hop is either printed or counted as left out")
        #expect(shown >= 5 && shown <= 10, "\(shown) hop lines at 5 a second")
        tail.process.interrupt()
        #expect(try await tail.exitStatus() == 0)
        await feed.stop()
        try? FileManager.default.removeItem(atPath: runtime)
    }

    @Test("spaceport tail with no proxy running waits, says so once, and shows a proxy's hops once it starts")
    func waitsForAProxy() async throws {
        let runtime = Samples.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: runtime) }
        let tail = try SpaceportBinary(["tail"], runtime: runtime)
        defer { if tail.process.isRunning { tail.process.terminate() } }
        let output = SpaceportBinary.lines(tail.output)
        let notes = SpaceportBinary.lines(tail.errors)
        let waiting = try await firstLine(notes, "the waiting note") { _ in true }
        #expect(
            waiting
                == "waiting for a proxy: none is running yet (their feeds appear in \(runtime)/spaceport); `spaceport proxy` starts one"
        )
        #expect(tail.process.isRunning, "tail waits rather than exits")
        let spaces = runtime + "/spaces.yaml"
        try Samples.spacesYAML.write(toFile: spaces, atomically: true, encoding: .utf8)
        let proxy = try SpaceportBinary(
            ["proxy", "--spaces", spaces, "--ingress", "127.0.0.1:0", "--name", "late"], runtime: runtime)
        defer { if proxy.process.isRunning { proxy.process.terminate() } }
        let listening = try await firstLine(SpaceportBinary.lines(proxy.errors), "the proxy's ingress") {
            $0.contains("ingress listening on ")
        }
        let ingress = try Address(parsing: String(listening.split(separator: " ").last ?? ""))
        let attached = try await firstLine(notes, "the attach note") { _ in true }
        #expect(attached.hasPrefix("attached to late (pid \(proxy.process.processIdentifier)"), "\(attached)")
        let status = try await blocking {
            let client = try RawClient(ingress)
            try client.send("GET /late HTTP/1.1\r\nHost: nothing.localhost\r\nConnection: close\r\n\r\n")
            return try client.readResponse().status
        }
        #expect(status == 404)
        let hop = try await firstLine(output, "the proxy's hop") { $0.contains("GET") }
        #expect(
            hop.contains("GET  nothing.localhost/late  as default (default)  nothing → none  404"), "\(hop)")
        tail.process.interrupt()
        #expect(try await tail.exitStatus() == 0)
        proxy.process.interrupt()
        #expect(try await proxy.exitStatus() == 0)
    }

    /// Names the scalars a hostile feed sends and that must never reach the terminal raw.
    static let hostileScalars: [(scalar: Unicode.Scalar, json: String, plain: String)] = [
        ("\u{9B}", "\\u009B", "\\x9B"), ("\u{202E}", "\\u202E", "\\u{202E}"), ("\u{7F}", "\\u007F", "\\x7F"),
        ("\u{2028}", "\\u2028", "\\u{2028}"), ("\u{200B}", "\\u200B", "\\u{200B}"),
        ("\u{200D}", "\\u200D", "\\u{200D}"),
        ("\u{FEFF}", "\\uFEFF", "\\u{FEFF}"), ("\u{2066}", "\\u2066", "\\u{2066}"),
    ]

    static var hostileHop: HopEvent {
        var hop = Samples.hop(9)
        hop.host = "evil" + String(String.UnicodeScalarView(hostileScalars.map(\.scalar))) + "txt.exe"
        hop.path = "/\u{9B}2J\u{202E}gpj"
        return hop
    }

    @Test(
        "spaceport tail, plain and --json, writes a hostile feed's controls, bidi and invisible characters escaped"
    )
    func hostileFeed() async throws {
        let runtime = Samples.temporaryFolder()
        let feed = try await FeedFixture.start(name: "spaceport", folder: runtime + "/spaceport")
        defer { try? FileManager.default.removeItem(atPath: runtime) }
        let json = try SpaceportBinary(["tail", "--json", "--feed", feed.socketPath], runtime: runtime)
        let plain = try SpaceportBinary(["tail", "--feed", feed.socketPath], runtime: runtime)
        let jsonLines = SpaceportBinary.lines(json.output)
        let plainLines = SpaceportBinary.lines(plain.output)
        _ = try await firstLine(jsonLines, "the spaces event") { $0.contains(#""type":"spaces""#) }
        _ = try await firstLine(plainLines, "the spaces line") { $0.contains("  spaces  ") }
        feed.hub.publish(.hop(Self.hostileHop))
        let jsonHop = try await firstLine(jsonLines, "the JSON hop") { $0.contains(#""type":"hop""#) }
        let plainHop = try await firstLine(plainLines, "the hop line") { $0.contains("GET") }
        for (scalar, jsonEscape, plainEscape) in Self.hostileScalars {
            let raw = String(scalar).utf8
            #expect(
                jsonHop.utf8.firstRange(of: raw) == nil, "raw U+\(String(scalar.value, radix: 16)) in --json")
            #expect(
                plainHop.utf8.firstRange(of: raw) == nil,
                "raw U+\(String(scalar.value, radix: 16)) in plain tail")
            #expect(jsonHop.contains(jsonEscape), "\(jsonEscape) in \(jsonHop)")
            #expect(plainHop.contains(plainEscape), "\(plainEscape) in \(plainHop)")
        }
        #expect(try FeedEvent.decode(line: jsonHop) == .hop(Self.hostileHop), "the escapes are the same JSON")
        json.process.interrupt()
        plain.process.interrupt()
        #expect(try await json.exitStatus() == 0)
        #expect(try await plain.exitStatus() == 0)
        await feed.stop()
    }
}
