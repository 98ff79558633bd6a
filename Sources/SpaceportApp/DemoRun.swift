import Foundation
import Logging
import NIOCore
import NIOPosix
import SpaceportCore
import SpaceportDashboard
import SpaceportDemo
import SpaceportFeed
import SpaceportTerminal

/// `spaceport demo` in one process: a small HTTP service behind every instance of the demo's
/// tree, the proxy and its feed over that tree, and gentle traffic through it; shown in a
/// dashboard session, or printed as hop lines.
public final class DemoRun: Sendable {
    public let world: DemoWorld
    public let proxy: EmbeddedProxy
    public let traffic: TrafficGenerator
    /// The spaces file the demo keeps its tree in; nil when it writes none.
    public let file: String?

    private init(world: DemoWorld, proxy: EmbeddedProxy, traffic: TrafficGenerator, file: String?) {
        self.world = world
        self.proxy = proxy
        self.traffic = traffic
        self.file = file
    }

    /// Starts the services (on their documented ports when free), writes the tree to `file`
    /// when given, then the proxy named `name` on `ingress` (nil: 127.0.0.1:8080, or a free
    /// port when that is taken), and the traffic unless `traffic` is false. On failure what
    /// had started is stopped.
    public static func start(
        ingress: Address?, name: String, file: String?, traffic startsTraffic: Bool, logger: Logger,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws(DemoError) -> DemoRun {
        // A port found free can be taken before the proxy binds it (another demo starting beside
        // this one): the world is made again, its ports probed afresh, a few times.
        var attempt = 1
        while true {
            let address =
                ingress
                ?? Address(
                    host: "127.0.0.1", port: PortProbe.free(preferred: DemoWorld.preferredIngress.port))
            let world: DemoWorld
            do {
                world = try await DemoWorld.start(group: group, ingress: address)
            } catch {
                throw .services(error)
            }
            let store = SpacesStore(tree: world.tree, path: file)
            if let file {
                do {
                    try SpacesFile.writeAtomically(
                        SpacesFile.render(world.tree, header: fileHeader), to: file)
                } catch {
                    await world.stop()
                    throw .file(error)
                }
            }
            let proxy: EmbeddedProxy
            do {
                proxy = try await EmbeddedProxy.start(
                    store: store, name: name, ingress: address, logger: logger)
            } catch {
                await world.stop()
                guard attempt < 3 else { throw .proxy(error) }
                attempt += 1
                continue
            }
            let traffic = TrafficGenerator(
                ingress: proxy.listeners.ingress, domain: store.tree.settings.domain, group: group)
            if startsTraffic { traffic.start() }
            return DemoRun(world: world, proxy: proxy, traffic: traffic, file: file)
        }
    }

    static let fileHeader = """
        # Written by `spaceport demo --write`. The upstreams are where that demo's services
        # listened, and nothing answers there once it stops (a new demo starts its own, on
        # other ports when these are taken). Point them at your own services with
        # `spaceport service set SPACE SERVICE --upstream HOST:PORT`.

        """

    /// Shows the demo in `session` until the user quits: the traffic switch, what the forgetful
    /// service passes on, moved ports and the file in the status bar, and the demo's keys
    /// switching the traffic and cycling the forgetful service.
    public func show(in session: DashboardSession) async throws(TerminalError) {
        let forgetful = world.forgetfulService
        session.setStatus("traffic", Self.trafficStatus(traffic.isRunning))
        if let moved = Self.movedPorts(world) { session.setStatus("ports", moved) }
        if let file { session.setStatus("file", file) }
        session.setStatus(forgetful.label, Self.forwardingStatus(forgetful.forwarding))
        try await session.run(showing: proxy) { [traffic, world] action in
            switch Action.custom(action) {
            case KeyMap.demoTraffic.action:
                session.setStatus("traffic", Self.trafficStatus(traffic.toggle()))
            case KeyMap.demoForwarding.action:
                let forwarding = world.cycleForwarding()
                session.setStatus(forgetful.label, Self.forwardingStatus(forwarding))
                // A narrow status bar leaves the item out; the note shows at any width.
                session.note("\(forgetful.label) \(forwarding.summary): \(forwarding.effect)")
            default:
                return
            }
        }
    }

    /// The demo without curses: where it listens on stderr, then one line per finished hop on
    /// stdout, until `interrupt`.
    public func printHops(until interrupt: Interrupt) async {
        let ingress = proxy.listeners.ingress
        let forgetful = world.forgetfulService
        try? FileHandle.standardError.write(
            contentsOf: Data(
                """
                spaceport demo: ingress \(ingress), feed \(proxy.feed.socketPath)
                \(forgetful.label) \(forgetful.forwarding.summary): \(forgetful.forwarding.effect)
                try: curl http://azureuser.s.default.servicea.localhost:\(ingress.port)/

                """.utf8))
        let subscription = proxy.hub.subscribe()
        let printing = Task {
            for await event in subscription {
                guard case .hop(let hop) = event, hop.phase == .end else { continue }
                try? FileHandle.standardOutput.write(contentsOf: Data((HopLine.format(hop) + "\n").utf8))
            }
        }
        await interrupt.wait()
        printing.cancel()
        subscription.cancel()
    }

    /// Stops the traffic, then the proxy (letting requests in flight finish), then the services.
    public func stop() async {
        traffic.stop()
        await proxy.stop()
        await world.stop()
    }

    /// `on, g stops it`, with the key the demo's binding names.
    public static func trafficStatus(_ running: Bool) -> String {
        let key = KeyMap.demoTraffic.keys.first?.label ?? "?"
        return running ? "on, \(key) stops it" : "off, \(key) starts it"
    }

    /// `passes on nothing, r cycles`, with the key the demo's binding names.
    public static func forwardingStatus(_ forwarding: DemoForwarding) -> String {
        "\(forwarding.summary), \(KeyMap.demoForwarding.keys.first?.label ?? "?") cycles"
    }

    /// The documented ports the demo could not have, `5001→41234 7001→41240 +3`; nil when it had them all.
    static func movedPorts(_ world: DemoWorld) -> String? {
        let moved = world.movedPorts
        guard !moved.isEmpty else { return nil }
        let shown = moved.prefix(2).map { "\($0.preferred)→\($0.actual)" }
        return (shown + (moved.count > 2 ? ["+\(moved.count - 2)"] : [])).joined(separator: " ")
    }
}

extension KeyMap {
    /// The demo's forgetful service: what it passes on of the route, cycled.
    public static let demoForwarding = KeyBinding(
        [.character("r")], .custom("forwarding"), .global,
        "cycle what \(Route.label(service: DemoWorld.forgetful.service, space: DemoWorld.forgetful.space)) passes on: nothing (lost), traceparent (restored), everything"
    )

    /// The demo's own keys, which `spaceport demo` adds to the standard table.
    public static let demo = [demoTraffic, demoForwarding]
}
