import ArgumentParser
import Foundation
import Logging
import NIOPosix
import SpaceportCore
import SpaceportDashboard
import SpaceportDemo
import SpaceportFeed
import SpaceportTerminal

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Watch requests route through a built-in tree of spaces, and flip an override.",
        discussion: """
            Starts, in this process: three spaces (default; azureuser derived from it with its own \
            servicea; hotfix derived from azureuser with its own serviceb), a small HTTP service \
            behind every instance (servicea calls serviceb, which calls servicec, passing the route \
            header on), the routing proxy with its feed, gentle traffic (press g to switch it), and \
            the dashboard. Everything binds 127.0.0.1: the ingress on 8080 and the services on \
            5001-5003, 6001-6002 and 7001-7005 when free, on free ports otherwise (the status bar \
            says which). Nothing is written to disk unless you pass --write.

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
        if let write, FileManager.default.fileExists(atPath: write) {
            throw ValidationError(
                "--write: \(write) exists already; pick another name, or use `spaceport dash --spaces \(write)` to run on it"
            )
        }
    }

    func run() async throws {
        // Without curses to take Ctrl-C, the demo stops cleanly on the first one, even while starting.
        let interrupt = headless ? Interrupt() : nil
        let group = MultiThreadedEventLoopGroup.singleton
        let ingressAddress =
            try ingress.map { try Address(parsing: $0) }
            ?? Address(host: "127.0.0.1", port: PortProbe.free(preferred: DemoWorld.preferredIngress.port))
        let world: DemoWorld
        do {
            world = try await DemoWorld.start(group: group, ingress: ingressAddress)
        } catch {
            throw CommandFailure.report("the demo's services could not start: \(error)")
        }
        let store = SpacesStore(tree: world.tree, path: write)
        if let write {
            do {
                try SpacesFile.writeAtomically(
                    SpacesFile.render(world.tree, header: Self.fileHeader), to: write)
            } catch {
                await world.stop()
                throw CommandFailure.report(error.description)
            }
        }
        if let interrupt {
            try await runHeadless(world: world, store: store, ingress: ingressAddress, interrupt: interrupt)
        } else {
            try await runDashboard(world: world, store: store, ingress: ingressAddress)
        }
    }

    static let fileHeader = """
        # Written by `spaceport demo --write`. The upstreams are where that demo's services
        # listened, and nothing answers there once it stops (a new demo starts its own, on
        # other ports when these are taken). Point them at your own services with
        # `spaceport service set SPACE SERVICE --upstream HOST:PORT`.

        """

    private func runDashboard(world: DemoWorld, store: SpacesStore, ingress: Address) async throws {
        let session: DashboardSession
        do {
            session = try DashboardSession(theme: theme, extraBindings: [KeyMap.demoTraffic])
        } catch let error as TerminalError {
            await world.stop()
            throw CommandFailure.report(error.explanation(instead: Self.withoutCurses))
        } catch {
            await world.stop()
            throw CommandFailure.report("\(error)")
        }
        let (embedded, traffic) = try await startProxy(
            world: world, store: store, ingress: ingress, logger: session.logger)
        session.setStatus("traffic", Self.trafficStatus(traffic.isRunning))
        if let moved = Self.movedPorts(world) { session.setStatus("ports", moved) }
        session.setStatus("feed", embedded.feed.socketPath)
        if let write { session.setStatus("file", write) }
        let forwarding = embedded.forward(to: session, shaping: DashCommand.shaping())
        defer { forwarding.cancel() }
        let outcome: Result<Void, any Error>
        do {
            try await session.run(
                apply: { request in embedded.apply(request.edit) },
                custom: { action in
                    guard .custom(action) == KeyMap.demoTraffic.action else { return }
                    session.setStatus("traffic", Self.trafficStatus(traffic.toggle()))
                })
            outcome = .success(())
        } catch {
            outcome = .failure(error)
        }
        traffic.stop()
        await embedded.stop()
        await world.stop()
        if case .failure(let error) = outcome {
            throw CommandFailure.report("\(error); or \(Self.withoutCurses)")
        }
    }

    /// The proxy and its feed over the demo's tree, and the traffic through it (started
    /// unless --no-traffic). On failure the world is stopped and the error reported.
    private func startProxy(
        world: DemoWorld, store: SpacesStore, ingress: Address, logger: Logger
    ) async throws -> (EmbeddedProxy, TrafficGenerator) {
        let embedded: EmbeddedProxy
        do {
            embedded = try await EmbeddedProxy.start(
                store: store, name: name, ingress: ingress, logger: logger)
        } catch {
            await world.stop()
            throw CommandFailure.report("\(error)")
        }
        let traffic = TrafficGenerator(
            ingress: embedded.listeners.ingress, domain: store.tree.settings.domain,
            group: MultiThreadedEventLoopGroup.singleton)
        if !noTraffic { traffic.start() }
        return (embedded, traffic)
    }

    /// What a terminal curses cannot draw on can run instead.
    static let withoutCurses = "run `spaceport demo --headless` to print hops as plain text"

    /// `on, g stops it`, with the key the demo's binding names.
    static func trafficStatus(_ running: Bool) -> String {
        let key = KeyMap.demoTraffic.keys.first?.label ?? "?"
        return running ? "on, \(key) stops it" : "off, \(key) starts it"
    }

    /// The documented ports the demo could not have, `5001→41234 7001→41240 +3`; nil when it had them all.
    static func movedPorts(_ world: DemoWorld) -> String? {
        let moved = world.movedPorts
        guard !moved.isEmpty else { return nil }
        let shown = moved.prefix(2).map { "\($0.preferred)→\($0.actual)" }
        return (shown + (moved.count > 2 ? ["+\(moved.count - 2)"] : [])).joined(separator: " ")
    }

    /// The demo without curses: hop lines on stdout, the addresses on stderr.
    private func runHeadless(
        world: DemoWorld, store: SpacesStore, ingress: Address, interrupt: Interrupt
    ) async throws {
        CommandLogHandler.bootstrap()
        let (embedded, traffic) = try await startProxy(
            world: world, store: store, ingress: ingress, logger: Logger(label: "spaceport"))
        let ingressText = embedded.listeners.ingress.description
        FileHandle.standardError.write(
            Data(
                """
                spaceport demo: ingress \(ingressText), feed \(embedded.feed.socketPath)
                try: curl http://azureuser.s.default.servicea.localhost:\(embedded.listeners.ingress.port)/

                """.utf8))
        let subscription = embedded.hub.subscribe()
        let printing = Task {
            for await event in subscription {
                guard case .hop(let hop) = event, hop.phase == .end else { continue }
                FileHandle.standardOutput.write(Data((HopLine.format(hop) + "\n").utf8))
            }
        }
        await interrupt.wait()
        printing.cancel()
        subscription.cancel()
        traffic.stop()
        await embedded.stop()
        await world.stop()
    }
}
