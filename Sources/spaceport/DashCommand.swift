import ArgumentParser
import Foundation
import Logging
import SpaceportCore
import SpaceportDashboard
import SpaceportFeed
import SpaceportProxy
import SpaceportTerminal

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
    var sampleHops = DashCommand.defaultSampleHops

    /// More than a person reads, and more than a page load sends at once; far less than a load test.
    static let defaultSampleHops = 250

    @Option(
        help: ArgumentHelp(
            "dark, light, monochrome, or one of yours in $XDG_CONFIG_HOME/spaceport/themes (default: $SPACEPORT_THEME, else dark; monochrome under NO_COLOR).",
            valueName: "name"))
    var theme: String?

    func validate() throws {
        if !attach.isEmpty && ingress != nil {
            throw ValidationError(
                "--ingress is for the embedded proxy; with --attach the proxies already listen")
        }
        _ = try ingressAddress()
        try SampleHopsOption.check(sampleHops)
        try token.check(try feedTargets())
        do {
            _ = try DashboardSession.chooseTheme(flag: theme)
        } catch {
            throw ValidationError(error.description)
        }
    }

    private var shaping: HopShaping { Self.shaping(sampleHops: sampleHops) }

    /// What a dashboard asks its feeds for: every hop as its end alone when it ends quickly, and a
    /// sample with tallies unless asked for all (`sampleHops` 0). The demo's dashboard asks the same.
    static func shaping(sampleHops: Int = defaultSampleHops) -> HopShaping {
        HopShaping(coalesce: true, perSecond: SampleHopsOption.perSecond(sampleHops))
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
        let store: SpacesStore
        do {
            store = try SpacesStore(path: spaces.path)
        } catch {
            throw CommandFailure.report(spaces.describe(error))
        }
        let embedded: EmbeddedProxy
        do {
            embedded = try await EmbeddedProxy.start(
                store: store, name: name, ingress: try ingressAddress(), logger: session.logger)
        } catch {
            throw CommandFailure.report("\(error)")
        }
        session.setStatus("feed", embedded.feed.socketPath)
        let forwarding = embedded.forward(to: session, shaping: shaping)
        defer { forwarding.cancel() }
        do {
            try await session.run(apply: { request in embedded.apply(request.edit) })
        } catch {
            await embedded.stop()
            throw CommandFailure.report("\(error)")
        }
        await embedded.stop()
    }

    private func runAttached(_ session: DashboardSession) async throws {
        // Straight from each feed's reading task into the inbox, which bounds the backlog.
        let targets = try feedTargets()
        let client = FeedClient(targets: targets, token: try token.source.token(), shaping: shaping) {
            session.forward($0)
        }
        do {
            // With auto the dashboard waits for proxies to start, as they come and go.
            try await client.start(requireFeed: !targets.contains(.auto))
        } catch {
            throw CommandFailure.report(error.description)
        }
        do {
            try await session.run(apply: { request in
                do {
                    try await client.send(request.edit, to: request.source)
                    return nil
                } catch {
                    return "\(error)"
                }
            })
        } catch {
            await client.stop()
            throw CommandFailure.report("\(error)")
        }
        await client.stop()
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

/// The dashboard as a command runs it: themes chosen, the terminal loop on a thread of its
/// own, feed events in, edits out, upstream health checked. `dash` and `demo` build on it:
/// extra key bindings come back through `custom`, extra status-bar items go in with `setStatus`.
final class DashboardSession: Sendable {
    let inbox = DashboardInbox()
    private let dashboard: Dashboard
    private let options: TerminalDashboard.Options
    private let health: HealthProbe

    /// Fails with a `TerminalError` when this terminal cannot show the dashboard (checked
    /// first, before anything starts), or a `ThemeChoiceError` when `theme` names no theme.
    init(
        theme flag: String?, extraBindings: [KeyBinding] = [],
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        try TerminalDashboard.checkTerminal(environment: environment)
        let catalog = ThemeCatalog.load(userDirectory: ThemeCatalog.userDirectory(environment: environment))
        let choice = try catalog.choose(flag: flag, environment: environment)
        dashboard = Dashboard(
            themes: catalog.themes, themeIndex: choice.index, keyMap: KeyMap.standard.adding(extraBindings))
        options = TerminalDashboard.Options(noColor: choice.noColor)
        health = HealthProbe(inbox: inbox)
        for problem in catalog.problems { inbox.post(.note(problem, isError: true)) }
    }

    static func chooseTheme(flag: String?) throws(ThemeChoiceError) -> Int {
        let environment = ProcessInfo.processInfo.environment
        let catalog = ThemeCatalog.load(userDirectory: ThemeCatalog.userDirectory(environment: environment))
        return try catalog.choose(flag: flag, environment: environment).index
    }

    /// A logger whose warnings and errors show in the status bar instead of on the screen curses owns.
    var logger: Logger {
        let inbox = self.inbox
        return Logger(label: "spaceport.dash") { _ in StatusBarLogHandler(inbox: inbox) }
    }

    /// An item in the status bar, such as the demo's traffic switch; nil removes it.
    func setStatus(_ key: String, _ value: String?) {
        inbox.post(.status(key: key, value: value))
    }

    func note(_ text: String, isError: Bool = false) {
        inbox.post(.note(text, isError: isError))
    }

    /// Hands one feed event to the dashboard; callable from any thread.
    func forward(_ event: consuming FeedEvent, from source: String) {
        if case .spaces(let snapshot) = event {
            health.check(Set(snapshot.spaces.flatMap { $0.services.map(\.upstream) }))
        }
        inbox.post(.feed(source: source, event))
    }

    func forward(_ event: consuming FeedClientEvent) {
        switch consume event {
        case .connected(let source): inbox.post(.connected(source: source))
        case .event(let source, let event): forward(event, from: source)
        case .disconnected(let source, let reason): inbox.post(.disconnected(source: source, reason: reason))
        }
    }

    /// Takes over the terminal until the user quits. `apply` carries out an edit and returns
    /// nil or the sentence saying why it failed; `custom` hears the extra bindings' actions.
    func run(
        apply: @escaping @Sendable (EditRequest) async -> String?,
        custom: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws(TerminalError) {
        health.start()
        defer { health.stop() }
        let terminal = TerminalDashboard(dashboard: dashboard, inbox: inbox, options: options) {
            effect, inbox in
            switch effect {
            case .edit(let request):
                Task.detached {
                    let error = await apply(request)
                    inbox.post(.editResult(id: request.id, error: error))
                }
            case .custom(let name):
                custom(name)
            case .quit:
                break
            }
        }
        let outcome: Result<Void, TerminalError> = await withCheckedContinuation { done in
            // Curses wants one thread of its own for the whole run.
            let thread = Thread {
                done.resume(returning: Result { () throws(TerminalError) in try terminal.run() })
            }
            thread.name = "spaceport.dashboard"
            thread.start()
        }
        try outcome.get()
    }
}

/// A proxy, its feed hub and its feed socket in this process: what `dash` embeds, and `demo` too.
final class EmbeddedProxy: Sendable {
    let store: SpacesStore
    let hub: FeedHub
    let proxy: RoutingProxy
    let server: FeedServer
    let listeners: ProxyListeners
    let feed: FeedListeners

    private init(
        store: SpacesStore, hub: FeedHub, proxy: RoutingProxy, server: FeedServer, listeners: ProxyListeners,
        feed: FeedListeners
    ) {
        self.store = store
        self.hub = hub
        self.proxy = proxy
        self.server = server
        self.listeners = listeners
        self.feed = feed
    }

    /// Starts the proxy on `store` and serves its feed on `<runtime folder>/<name>.sock`.
    /// `tcp` and `token` also serve the feed on TCP; `alsoTo` hears every event the hub does.
    static func start(
        store: SpacesStore, name: String, ingress: Address?, logger: Logger, feedDirectory: String? = nil,
        tcp: Address? = nil, token: String? = nil, alsoTo extra: (any EventSink)? = nil
    ) async throws -> EmbeddedProxy {
        let hello = { (listeners: [String]) in
            FeedHello(
                proxy: name, pid: Int(getpid()), version: SpaceportVersion.current, listeners: listeners,
                spacesFile: store.path)
        }
        let hub = FeedHub(store: store, hello: hello([]))
        let sink: any EventSink = extra.map { FanOutSink([hub, $0]) } ?? hub
        let proxy = RoutingProxy(store: store, name: name, ingress: ingress, sink: sink, logger: logger)
        let listeners: ProxyListeners
        do {
            listeners = try await proxy.start()
        } catch {
            hub.close()
            throw error
        }
        hub.hello = hello(listeners.descriptions)
        let server = FeedServer(
            hub: hub,
            options: FeedServerOptions(name: name, directory: feedDirectory, tcp: tcp, token: token),
            logger: logger)
        do {
            let feed = try await server.start()
            return EmbeddedProxy(
                store: store, hub: hub, proxy: proxy, server: server, listeners: listeners, feed: feed)
        } catch {
            await proxy.shutdown(drainMs: 0)
            hub.close()
            throw error
        }
    }

    static let batchLimit = 512

    /// Streams the hub's events (hello, spaces, recent hops, then live) into the session.
    func forward(to session: DashboardSession, shaping: HopShaping) -> Task<Void, Never> {
        let subscription = hub.subscribe(limit: 16_384)
        let source = proxy.name
        session.inbox.post(.connected(source: source))
        return Task {
            // In batches, gathered as a socket reader's are (longer for a sample): a hop that ends
            // within the batch comes as its end alone, and past the sample rate only tallies
            // count the rest. Still ahead of a screen that redraws traffic 10 times a second.
            let pause = Duration.nanoseconds(shaping.gathering.nanoseconds)
            while let events = await subscription.next(upTo: Self.batchLimit, shaping: shaping) {
                for event in events { session.forward(event, from: source) }
                if events.count < Self.batchLimit { try? await Task.sleep(for: pause) }
            }
            subscription.cancel()
        }
    }

    /// Applies an edit through the store (validated, saved, announced); nil or why it failed.
    func apply(_ edit: SpaceEdit) -> String? {
        do {
            try store.apply(edit)
            return nil
        } catch {
            return error.described(in: store.path)
        }
    }

    /// Stops taking requests, lets those in flight finish for up to `drainMs` (nil: the
    /// spaces file's drain timeout), then closes the feed.
    func stop(drainMs: Int? = 1000) async {
        await proxy.shutdown(drainMs: drainMs)
        await server.shutdown()
        hub.close()
    }
}

/// Log lines at warning and above become status-bar notes; the rest are dropped, since
/// the terminal belongs to the dashboard.
struct StatusBarLogHandler: LogHandler {
    let inbox: DashboardInbox
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .warning

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        inbox.post(.note(event.message.description, isError: event.level >= .error))
    }
}
