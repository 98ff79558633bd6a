import Foundation
import Logging
import SpaceportCore
import SpaceportDashboard
import SpaceportFeed
import SpaceportTerminal

/// The dashboard as a command runs it: themes chosen, the terminal loop on a thread of its
/// own, feed events in, edits out, upstream health checked. `dash` and `demo` build on it:
/// extra key bindings come back through `custom`, extra status-bar items go in with `setStatus`.
public final class DashboardSession: Sendable {
    public let inbox = DashboardInbox()
    let dashboard: Dashboard
    private let options: TerminalDashboard.Options
    private let health: HealthProbe

    /// More than a person reads, and more than a page load sends at once; far less than a load test.
    public static let defaultSampleRate = 250

    /// What a dashboard asks its feeds for: every hop as its end alone when it ends quickly,
    /// and at most `perSecond` hops a second with tallies (nil: every hop).
    public static func shaping(perSecond: Int? = defaultSampleRate) -> HopShaping {
        HopShaping(coalesce: true, perSecond: perSecond)
    }

    /// Fails with a `TerminalError` when this terminal cannot show the dashboard (checked
    /// first, before anything starts), or a `ThemeChoiceError` when `theme` names no theme.
    public convenience init(
        theme flag: String?, extraBindings: [KeyBinding] = [],
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        try TerminalDashboard.checkTerminal(environment: environment)
        try self.init(unchecked: flag, extraBindings: extraBindings, environment: environment)
    }

    /// The session without asking for a terminal first, for tests that never run it.
    init(unchecked flag: String?, extraBindings: [KeyBinding], environment: [String: String]) throws {
        let catalog = ThemeCatalog.load(userDirectory: ThemeCatalog.userDirectory(environment: environment))
        let choice = try catalog.choose(flag: flag, environment: environment)
        dashboard = Dashboard(
            themes: catalog.themes, themeIndex: choice.index, keyMap: KeyMap.standard.adding(extraBindings))
        options = TerminalDashboard.Options(noColor: choice.noColor)
        let inbox = self.inbox
        health = HealthProbe { inbox.post(.health($0)) }
        for problem in catalog.problems { inbox.post(.note(problem, isError: true)) }
    }

    /// The theme `flag` (else $SPACEPORT_THEME, else the default) picks, as an index into the catalog.
    public static func chooseTheme(flag: String?) throws(ThemeChoiceError) -> Int {
        let environment = ProcessInfo.processInfo.environment
        let catalog = ThemeCatalog.load(userDirectory: ThemeCatalog.userDirectory(environment: environment))
        return try catalog.choose(flag: flag, environment: environment).index
    }

    /// A logger whose warnings and errors show in the status bar instead of on the screen curses owns.
    public var logger: Logger {
        let inbox = self.inbox
        return Logger(label: SpaceportLog.label) { _ in StatusBarLogHandler(inbox: inbox) }
    }

    /// An item in the status bar, such as the demo's traffic switch; nil removes it.
    public func setStatus(_ key: String, _ value: String?) {
        inbox.post(.status(key: key, value: value))
    }

    public func note(_ text: String, isError: Bool = false) {
        inbox.post(.note(text, isError: isError))
    }

    /// Hands one feed event to the dashboard; callable from any thread.
    public func forward(_ event: consuming FeedEvent, from source: String) {
        if case .spaces(let snapshot) = event {
            health.check(Set(snapshot.spaces.flatMap { $0.services.map(\.upstream) }))
        }
        inbox.post(.feed(source: source, event))
    }

    public func forward(_ event: consuming FeedClientEvent) {
        switch consume event {
        case .connected(let source): inbox.post(.connected(source: source))
        case .event(let source, let event): forward(event, from: source)
        case .disconnected(let source, let reason): inbox.post(.disconnected(source: source, reason: reason))
        }
    }

    /// Shows `embedded` until the user quits, its edits applied through its store. The
    /// proxy keeps running: its owner stops it.
    public func run(
        showing embedded: EmbeddedProxy, shaping: HopShaping = shaping(),
        custom: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws(TerminalError) {
        let forwarding = embedded.forward(to: self, shaping: shaping)
        defer { forwarding.cancel() }
        try await run(
            apply: { request in await embedded.apply(request.edit) },
            replay: { request in await embedded.replay(hop: request.hop, as: request.space) }, custom: custom)
    }

    /// Shows the proxies at `targets` until the user quits, edits sent to them as feed
    /// commands. With `.auto` among them it waits for proxies to start, as they come and go;
    /// otherwise it fails when none answers.
    public func run(
        attachedTo targets: [FeedTarget], token: String?, shaping: HopShaping = shaping()
    ) async throws(DashboardSessionError) {
        // Straight from each feed's reading task into the inbox, which bounds the backlog.
        let client = FeedClient(targets: targets, token: token, shaping: shaping) { self.forward($0) }
        do {
            try await client.start(requireFeed: !targets.contains(.auto))
        } catch {
            throw .feed(error)
        }
        do {
            try await run(
                apply: { request in
                    do {
                        try await client.send(request.edit, to: request.source)
                        return nil
                    } catch {
                        return "\(error)"
                    }
                },
                replay: { request in
                    do {
                        try await client.replay(hop: request.hop, as: request.space, to: request.source)
                        return nil
                    } catch {
                        return "\(error)"
                    }
                })
        } catch {
            await client.stop()
            throw .terminal(error)
        }
        await client.stop()
    }

    /// Takes over the terminal until the user quits. `apply` carries out an edit and `replay` a
    /// replay, each returning nil or the sentence saying why it failed; `custom` hears the extra
    /// bindings' actions.
    public func run(
        apply: @escaping @Sendable (EditRequest) async -> String?,
        replay: @escaping @Sendable (ReplayRequest) async -> String?,
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
            case .replay(let request):
                Task.detached {
                    let error = await replay(request)
                    inbox.post(.replayResult(id: request.id, error: error))
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
