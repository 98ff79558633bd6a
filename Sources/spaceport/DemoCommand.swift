import ArgumentParser
import Foundation
import Logging
import SpaceportApp
import SpaceportCore
import SpaceportDashboard
import SpaceportTerminal

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Watch requests route through a built-in tree of spaces, and flip an override.",
        discussion: """
            Starts, in this process: three spaces (default; azureuser derived from it with its own \
            servicea; hotfix derived from azureuser with its own serviceb), a small HTTP service \
            behind every instance (servicea calls serviceb, which calls servicec, passing on the \
            route header, baggage and traceparent), a gRPC greeter (demo.Greeter) in default and in \
            azureuser, the routing proxy with its feed, gentle traffic (HTTP requests and gRPC calls, \
            each a new trace; press g to switch it), and the dashboard. azureuser's \
            servicea starts passing on nothing, so its calls for requests routed as hotfix lose the \
            route (lost hops, served by default's serviceb); press r to have it pass on only \
            traceparent (trace memory restores the route), then everything. Everything binds \
            127.0.0.1: the ingress on 8080 and the services on 5001-5004, 6001-6003 and 7001-7005 \
            when free, on free ports otherwise (the status bar says which). Nothing is written to \
            disk unless you pass --write.

            Try, from another terminal:
              curl http://azureuser.s.default.servicea.localhost:8080/
              spaceport tail
            """
    )

    @Option(
        help: ArgumentHelp(
            "Where the proxy takes requests (default: 127.0.0.1:8080, or a free port when that is taken).",
            valueName: "host:port"))
    var ingress: String?

    @Flag(help: "Start with the traffic generator off (g turns it on).")
    var noTraffic = false

    @Option(
        help: ArgumentHelp(
            "Save the demo's spaces file here, and keep every change you make in it; refuses to replace an existing file.",
            valueName: "file"))
    var write: String?

    @Option(help: "Names the demo's proxy and its feed socket, for `spaceport tail --feed NAME`.")
    var name = "demo"

    @Option(
        help: ArgumentHelp(
            "dark, light, monochrome, or one of yours (default: $SPACEPORT_THEME, else dark).",
            valueName: "name"))
    var theme: String?

    @Flag(help: "No dashboard: print one line per finished hop instead, until Ctrl-C.")
    var headless = false

    func validate() throws {
        if let ingress {
            do {
                _ = try Address(parsing: ingress)
            } catch {
                throw ValidationError("--ingress: \(error.description)")
            }
        }
        try ProxyNameOption.check(name)
        if !headless { try ThemeOption.check(theme) }
        if let write, FileManager.default.fileExists(atPath: write) {
            throw ValidationError(
                "--write: \(write) exists already; pick another name, or use `spaceport dash --spaces \(write)` to run on it"
            )
        }
    }

    func run() async throws {
        // Without curses to take Ctrl-C, the demo stops cleanly on the first one, even while starting.
        if headless {
            let interrupt = Interrupt()
            CommandLogHandler.bootstrap()
            let demo = try await start(logger: Logger(label: SpaceportLog.label))
            await demo.printHops(until: interrupt)
            await demo.stop()
            return
        }
        let session: DashboardSession
        do {
            session = try DashboardSession(theme: theme, extraBindings: KeyMap.demo)
        } catch let error as TerminalError {
            throw CommandFailure.report(error.explanation(instead: Self.withoutCurses))
        } catch {
            throw CommandFailure.report("\(error)")
        }
        let demo = try await start(logger: session.logger)
        do {
            try await demo.show(in: session)
        } catch {
            await demo.stop()
            throw CommandFailure.report("\(error); or \(Self.withoutCurses)")
        }
        await demo.stop()
    }

    /// The demo's services, proxy and traffic; what fails to start ends the command with why.
    private func start(logger: Logger) async throws -> DemoRun {
        let ingress = try ingress.map { try Address(parsing: $0) }
        do {
            return try await DemoRun.start(
                ingress: ingress, name: name, file: write, traffic: !noTraffic, logger: logger)
        } catch {
            throw CommandFailure.report(error.description)
        }
    }

    /// What a terminal curses cannot draw on can run instead.
    static let withoutCurses = "run `spaceport demo --headless` to print hops as plain text"
}
