import Foundation
import SpaceportTestSupport
import Testing

/// `frame-bench`, the executable bench/ times the dashboard with, built beside the tests and
/// not part of the `spaceport` product. No timing is asserted: only that it runs, reports
/// what it was asked to, and refuses nonsense.
@Suite("frame-bench, the dashboard's frame-time benchmark")
struct FrameBenchTests {
    /// The report's fields bench/bench.py reads.
    struct Report: Decodable {
        var variant: String
        var frames: Int
        var hopsInRing: Int
        var width: Int
        var height: Int
        var medianMs: Double
        var p90Ms: Double
        var p99Ms: Double
        var maxMs: Double
        var meanMs: Double
    }

    @Test("frame-bench --view flows times the flows view: 300 hops of whole chains are 100 flows of three")
    func flowsView() throws {
        struct FlowsReport: Decodable {
            var view: String
            var hopsInRing: Int
            var flowsInRing: Int
            var frames: Int
        }
        let run = try FrameBenchRun(
            .frameBench,
            ["--hops", "300", "--three-hop-flows", "--view", "flows", "--open", "--frames", "3", "--json"])
        #expect(run.status == 0, "\(run)")
        let report = try JSONDecoder().decode(FlowsReport.self, from: Data(run.stdout.utf8))
        #expect(report.view == "flows")
        #expect(report.hopsInRing == 300)
        #expect(report.flowsInRing == 100)
        #expect(report.frames == 3)
    }

    @Test("frame-bench --json reports the frames and hops asked for, with times that are not negative")
    func reportsItsRun() throws {
        let run = try FrameBenchRun(.frameBench, ["--hops", "1000", "--frames", "5", "--json"])
        #expect(run.status == 0, "\(run)")
        let report = try JSONDecoder().decode(Report.self, from: Data(run.stdout.utf8))
        #expect(report.variant == "off-screen")
        #expect(report.frames == 5)
        #expect(report.hopsInRing == 1000)
        #expect(report.width == 200 && report.height == 50)
        let times = [report.medianMs, report.p90Ms, report.p99Ms, report.maxMs, report.meanMs]
        #expect(times.allSatisfy { $0 >= 0 }, "\(times)")
        #expect(report.medianMs <= report.p99Ms && report.p99Ms <= report.maxMs, "\(times)")
    }

    @Test(
        "frame-bench --terminal draws in the terminal it runs in, gives it back clean, and writes its report"
    )
    func drawsInATerminal() async throws {
        let binary = try BuiltExecutable.frameBench.require()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let terminal = Tmux(socket: folder.path("tmux.sock"))
        defer { terminal.killServer() }
        let output = folder.path("report.json")
        // The pane lingers a minute, long enough to be read on a loaded machine (5 s was not),
        // then ends by itself: kill-server has been seen to miss this server, and a pane that
        // outlived the test kept a tmux server running for ten minutes.
        try terminal.start(
            command:
                "env LANG=C.UTF-8 \(binary) --terminal --hops 1000 --frames 5 --json --output \(output); echo frame-bench exited $?; exec sleep 60",
            width: 120, height: 40)
        let screen = try await eventually("frame-bench has exited", terminal: terminal) { screen in
            screen.contains("frame-bench exited")
        }
        #expect(screen.contains("frame-bench exited 0"), "\(screen)")
        #expect(!screen.contains("SERVICE → SPACE"), "the dashboard is still on screen:\n\(screen)")
        let report = try JSONDecoder().decode(
            Report.self, from: try Data(contentsOf: URL(fileURLWithPath: output)))
        #expect(report.variant == "terminal")
        #expect(report.frames == 5)
        #expect(report.hopsInRing == 1000)
        #expect(report.width == 120 && report.height == 40)
    }

    @Test(
        "a bad frame-bench option is refused, saying why, with the usage exit code",
        arguments: [
            (["--frames", "0"], "--frames must be at least 1; got 0"),
            (["--hops=-1"], "--hops must be between 0 and 1000000; got -1"),
            (
                ["--width", "30"],
                "--width must be between the dashboard's minimum of 40 and 1000 columns; got 30"
            ),
            (
                ["--terminal", "--height", "20"],
                "--width and --height size the off-screen canvas; with --terminal the terminal's own size is used, so resize the terminal instead"
            ),
        ])
    func refusesBadOptions(arguments: [String], message: String) throws {
        let run = try FrameBenchRun(.frameBench, arguments)
        #expect(run.status == 64, "\(run)")
        #expect(run.stderr.split(separator: "\n").first == "Error: \(message)", "\(run)")
        #expect(run.stdout.isEmpty)
    }

    @Test("spaceport neither runs nor lists frame-bench: the benchmark is not in the product")
    func notInTheProduct() throws {
        let run = try FrameBenchRun(.spaceport, ["frame-bench", "--frames", "1"])
        #expect(run.status == 64, "\(run)")
        #expect(run.stderr.hasPrefix("spaceport: error: 'frame-bench' is not a spaceport command"), "\(run)")
        #expect(run.stdout.isEmpty)
        let help = try FrameBenchRun(.spaceport, ["--help"])
        #expect(help.status == 0, "\(help)")
        #expect(help.stdout.contains("SUBCOMMANDS"), "\(help)")
        #expect(!help.stdout.contains("frame-bench"), "\(help)")
    }
}

/// One run of a built executable, its output and errors collected through files, so
/// neither can fill a pipe and block it.
private struct FrameBenchRun: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String

    init(_ executable: BuiltExecutable, _ arguments: [String]) throws {
        let binary = try executable.require()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "spaceport-frame-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let out = folder.appendingPathComponent("stdout")
        let err = folder.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        process.waitUntilExit()
        status = process.terminationStatus
        stdout = (try? String(contentsOf: out, encoding: .utf8)) ?? ""
        stderr = (try? String(contentsOf: err, encoding: .utf8)) ?? ""
    }

    var description: String { "exit \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
}
