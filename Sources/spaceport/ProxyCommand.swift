import ArgumentParser
import Foundation
import Logging
import SpaceportAdmin
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

            --admin (or the spaces file's admin:) serves /metrics for Prometheus, /healthz, \
            /readyz and /tree on an address of its own; on an address other machines can reach, \
            only with --admin-token-file. See the README's "Operating it".
            """
    )

    @OptionGroup var spaces: SpacesFileOptions

    @OptionGroup var cluster: KubeOptions

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

    @Option(
        help: ArgumentHelp(
            "Serve /metrics, /healthz, /readyz and /tree here (default: the spaces file's admin, else off).",
            valueName: "host:port"))
    var admin: String?

    @Option(
        help: ArgumentHelp(
            "A file holding the token admin clients must send (Authorization: Bearer), readable by you alone; needed off loopback.",
            valueName: "file"))
    var adminTokenFile: String?

    @Option(name: .customLong("admin-token"), help: ArgumentHelp(visibility: .private))
    var adminTokenOnCommandLine: String?

    @OptionGroup var log: LogOptions

    private var tokenSource: FeedTokenSource {
        FeedTokenSource(
            fileFlag: "--feed-token-file", flag: "--feed-token", file: feedTokenFile,
            onCommandLine: feedTokenOnCommandLine)
    }

    func validate() throws {
        if adminTokenOnCommandLine != nil {
            throw CommandFailure.usage(
                FeedTokenError.onCommandLine(flag: "--admin-token", fileFlag: "--admin-token-file")
                    .description)
        }
        if let admin {
            do {
                _ = try Address(parsing: admin)
            } catch {
                throw ValidationError("--admin: \(error)")
            }
        }
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
        let logSettings = log.settings
        CommandLogHandler.bootstrap(logSettings, level: quiet ? .notice : .info)
        let logger = Logger(label: SpaceportLog.label)
        let (store, clusterSpaces) = try await cluster.store(or: spaces, logger: logger)
        let token = feedTcp == nil ? nil : try tokenSource.token()
        let adminSettings = try adminSettings(store.tree.settings)
        let embedded: EmbeddedProxy
        do {
            embedded = try await EmbeddedProxy.start(
                store: store, name: name, ingress: try ingress.map { try Address(parsing: $0) },
                logger: logger,
                tcp: try feedTcp.map { try Address(parsing: $0) }, token: token,
                alsoTo: quiet ? nil : HopLogSink(logger: logger), admin: adminSettings)
        } catch {
            throw CommandFailure.report("\(error)")
        }
        if let clusterSpaces {
            embedded.report(clusterSpaces, logger: logger)
            logger.info("spaces from the cluster: \(clusterSpaces.source.client.access.summary)")
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
        await clusterSpaces?.stop()
    }

    /// The admin listener's address (--admin, else the file's `admin:`) and token, or nil when it is off.
    private func adminSettings(_ file: Settings) throws -> AdminSettings? {
        let source: String
        let address: Address
        if let admin {
            address = try Address(parsing: admin)
            source = "--admin"
        } else if let configured = file.admin {
            address = configured
            source = "admin: at \(file.adminLocation?.description ?? spaces.path)"
        } else {
            guard adminTokenFile == nil else {
                throw CommandFailure.usage(
                    "--admin-token-file needs --admin HOST:PORT, or admin: in the spaces file")
            }
            return nil
        }
        do {
            let token = try adminTokenFile.map { file throws(FeedTokenError) in try FeedToken.read(file: file)
            }
            return try AdminSettings(address: address, token: token, source: source)
        } catch let error as FeedTokenError {
            throw CommandFailure.report(
                error.description.replacingOccurrences(of: "token file", with: "admin token file"))
        } catch {
            throw CommandFailure.report("\(error)")
        }
    }
}
