import ArgumentParser
import Foundation
import Logging
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
            "Also serve the feed on TCP here; needs a token (--feed-token or $SPACEPORT_FEED_TOKEN).",
            valueName: "host:port"))
    var feedTcp: String?

    @Option(help: "The token TCP feed clients must send first (default: $SPACEPORT_FEED_TOKEN).")
    var feedToken: String?

    func validate() throws {
        if let ingress {
            do {
                _ = try Address(parsing: ingress)
            } catch {
                throw ValidationError("--ingress: \(error)")
            }
        }
        if let problem = Names.problem(with: name) {
            throw ValidationError("--name: \(problem)")
        }
        if let feedTcp {
            do {
                _ = try Address(parsing: feedTcp)
            } catch {
                throw ValidationError("--feed-tcp: \(error)")
            }
            if resolvedToken == nil {
                throw ValidationError(
                    "--feed-tcp needs a token: pass --feed-token or set SPACEPORT_FEED_TOKEN")
            }
        }
    }

    private var resolvedToken: String? {
        feedToken
            ?? ProcessInfo.processInfo.environment["SPACEPORT_FEED_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
    }

    func run() async throws {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "spaceport.proxy")
        logger.logLevel = quiet ? .notice : .info
        let store: SpacesStore
        do {
            store = try SpacesStore(path: spaces.path)
        } catch {
            throw CommandFailure.report(spaces.describe(error))
        }
        let embedded: EmbeddedProxy
        do {
            embedded = try await EmbeddedProxy.start(
                store: store, name: name, ingress: try ingress.map { try Address(parsing: $0) },
                logger: logger,
                tcp: try feedTcp.map { try Address(parsing: $0) }, token: resolvedToken,
                alsoTo: quiet ? nil : HopLogSink(logger: logger))
        } catch {
            throw CommandFailure.report("\(error)")
        }
        let feed = embedded.feed
        logger.info("feed on \(feed.socketPath)\(feed.tcp.map { " and tcp://\($0)" } ?? "")")
        await Signals.waitForInterrupt()
        logger.notice("stopping: letting requests in flight finish")
        await embedded.stop(drainMs: nil)
    }
}
