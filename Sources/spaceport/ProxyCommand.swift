import ArgumentParser
import Foundation
import Logging
import SpaceportApp
import SpaceportCore
import SpaceportFeed
import SpaceportProxy

struct ProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "proxy",
        abstract: "Run the routing proxy: route every request by space, following the spaces file live.",
        discussion: """
            Listens on the ingress address and on every instance's egress and listen address. \
            Edits to the spaces file apply to the next request; an invalid edit is reported and \
            the last good spaces stay in effect. One line per request goes to stderr. \
            SIGINT or SIGTERM stops accepting, lets requests in flight finish (up to the \
            file's drain timeout) and exits 0.

            Every routing decision also streams on the proxy's feed, a Unix socket at \
            $XDG_RUNTIME_DIR/spaceport/<name>.sock (else /tmp/spaceport-<uid>/<name>.sock): \
            `spaceport tail` and `spaceport dash --attach` read it. See docs/feed-protocol.md.
            """
    )

    @OptionGroup var spaces: SpacesFileOptions

    @Option(
        help: ArgumentHelp(
            "Where requests from outside arrive (default: the file's ingress, else 127.0.0.1:8080).",
            valueName: "host:port"))
    var ingress: String?

    @Option(help: "This proxy's name, as its hops and its feed show it.")
    var name = "spaceport"

    @Flag(help: "Log no line per request; where it listens, warnings and errors still go to stderr.")
    var quiet = false

    @Option(
        help: ArgumentHelp(
            "Also serve the feed on TCP here, to clients that present its token: from --feed-token-file, else $SPACEPORT_FEED_TOKEN, else one made for this run and written beside the feed socket.",
            valueName: "host:port"))
    var feedTcp: String?

    @Option(
        help: ArgumentHelp(
            "A file holding the token TCP feed clients must send first, readable by you alone.",
            valueName: "file"))
    var feedTokenFile: String?

    @Option(name: .customLong("feed-token"), help: ArgumentHelp(visibility: .private))
    var feedTokenOnCommandLine: String?

    private var tokenSource: FeedTokenSource {
        FeedTokenSource(
            fileFlag: "--feed-token-file", flag: "--feed-token", file: feedTokenFile,
            onCommandLine: feedTokenOnCommandLine)
    }

    func validate() throws {
        if let ingress {
            do {
                _ = try Address(parsing: ingress)
            } catch {
                throw ValidationError("--ingress: \(error)")
            }
        }
        try ProxyNameOption.check(name)
        if let feedTcp {
            do {
                _ = try Address(parsing: feedTcp)
            } catch {
                throw ValidationError("--feed-tcp: \(error)")
            }
        }
        try tokenSource.refuseCommandLine()
    }

    func run() async throws {
        let interrupt = Interrupt()
        CommandLogHandler.bootstrap()
        var logger = Logger(label: "spaceport")
        logger.logLevel = quiet ? .notice : .info
        let store: SpacesStore
        do {
            store = try SpacesStore(path: spaces.path)
        } catch {
            throw CommandFailure.report(spaces.describe(error))
        }
        let token = feedTcp == nil ? nil : try tokenSource.token()
        let embedded: EmbeddedProxy
        do {
            embedded = try await EmbeddedProxy.start(
                store: store, name: name, ingress: try ingress.map { try Address(parsing: $0) },
                logger: logger,
                tcp: try feedTcp.map { try Address(parsing: $0) }, token: token,
                alsoTo: quiet ? nil : HopLogSink(logger: logger))
        } catch {
            throw CommandFailure.report("\(error)")
        }
        let feed = embedded.feed
        logger.info("feed on \(feed.socketPath)\(feed.tcp.map { " and tcp://\($0)" } ?? "")")
        if let tokenFile = feed.tokenFile {
            logger.notice(
                "the tcp feed's token, made for this run, is in \(tokenFile): clients pass --token-file \(tokenFile)"
            )
        }
        await interrupt.wait()
        logger.notice("stopping: letting requests in flight finish")
        await embedded.stop(drainMs: nil)
    }
}
