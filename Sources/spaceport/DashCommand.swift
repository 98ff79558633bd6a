import ArgumentParser
import Foundation
import Logging
import SpaceportApp
import SpaceportCore
import SpaceportFeed

struct DashCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dash",
        abstract: "Watch the space tree and every request hop live, and flip overrides, in the terminal.",
        discussion: """
            By default the dashboard runs a proxy in this process on the spaces file, with its \
            feed socket, so `spaceport tail` in another terminal sees the same hops. With \
            --attach it watches proxies that are already running instead, several at once. \
            Press ? in the dashboard for every key.
            """
    )

    @OptionGroup var spaces: SpacesFileOptions

    @OptionGroup var cluster: KubeOptions

    @Option(
        help: ArgumentHelp(
            "Where the embedded proxy takes requests (default: the file's ingress, else 127.0.0.1:8080).",
            valueName: "host:port"))
    var ingress: String?

    @Option(help: "Names the embedded proxy and its feed socket (<runtime folder>/<name>.sock).")
    var name = FeedPaths.defaultName

    @Option(
        parsing: .upToNextOption,
        help: ArgumentHelp(
            "Watch running proxies instead of embedding one: auto (every proxy in the runtime folder), a socket path, a proxy's --name, or tcp://HOST:PORT. Several may follow.",
            valueName: "feed"))
    var attach: [String] = []

    @OptionGroup var token: AttachTokenOptions

    @Option(
        help: ArgumentHelp(
            "At most this many hops a second reach the list; rates stay exact, counted by the proxy. 0 shows every hop, at a cost to the proxy under load.",
            valueName: "per-second"))
    var sampleHops = DashboardSession.defaultSampleRate

    @Option(
        help: ArgumentHelp(
            "dark, light, monochrome, or one of yours in $XDG_CONFIG_HOME/spaceport/themes (default: $SPACEPORT_THEME, else dark; monochrome under NO_COLOR).",
            valueName: "name"))
    var theme: String?

    func validate() throws {
        if !attach.isEmpty && cluster.kube {
            throw ValidationError("--kube is for the embedded proxy; an attached proxy has its own spaces")
        }
        if !attach.isEmpty && ingress != nil {
            throw ValidationError(
                "--ingress is for the embedded proxy; with --attach the proxies already listen")
        }
        _ = try ingressAddress()
        try SampleHopsOption.check(sampleHops)
        try token.check(try feedTargets())
        try ProxyNameOption.check(name)
        try ThemeOption.check(theme)
    }

    private var shaping: HopShaping {
        DashboardSession.shaping(perSecond: SampleHopsOption.perSecond(sampleHops))
    }

    func run() async throws {
        let session: DashboardSession
        do {
            session = try DashboardSession(theme: theme)
        } catch {
            throw CommandFailure.report("\(error)")
        }
        if attach.isEmpty {
            try await runEmbedded(session)
        } else {
            try await runAttached(session)
        }
    }

    private func runEmbedded(_ session: DashboardSession) async throws {
        let (store, clusterSpaces) = try await cluster.store(or: spaces, logger: session.logger)
        let embedded: EmbeddedProxy
        do {
            embedded = try await EmbeddedProxy.start(
                store: store, name: name, ingress: try ingressAddress(), logger: session.logger)
        } catch {
            throw CommandFailure.report("\(error)")
        }
        if let clusterSpaces { embedded.report(clusterSpaces, logger: session.logger, session: session) }
        do {
            try await session.run(showing: embedded, shaping: shaping)
        } catch {
            await embedded.stop()
            await clusterSpaces?.stop()
            throw CommandFailure.report(error.description)
        }
        await embedded.stop()
        await clusterSpaces?.stop()
    }

    private func runAttached(_ session: DashboardSession) async throws {
        let targets = try feedTargets()
        let token = try token.source.token()
        do {
            try await session.run(attachedTo: targets, token: token, shaping: shaping)
        } catch {
            throw CommandFailure.report(error.description)
        }
    }

    private func ingressAddress() throws -> Address? {
        guard let ingress else { return nil }
        do {
            return try Address(parsing: ingress)
        } catch {
            throw ValidationError("--ingress: \(error.description)")
        }
    }

    private func feedTargets() throws -> [FeedTarget] {
        do {
            return try attach.map { text throws(FeedTargetError) in try FeedTarget.parse(text) }
        } catch {
            throw ValidationError(error.description)
        }
    }
}
