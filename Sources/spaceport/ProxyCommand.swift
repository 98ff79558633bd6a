import ArgumentParser
import Foundation
import Logging
import SpaceportCore
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
        let proxy = RoutingProxy(
            store: store, name: name, ingress: try ingress.map { try Address(parsing: $0) },
            sink: quiet ? nil : HopLogSink(logger: logger), logger: logger)
        do {
            _ = try await proxy.start()
        } catch {
            throw CommandFailure.report("\(error)")
        }
        await waitForSignal()
        logger.notice("stopping: letting requests in flight finish")
        await proxy.shutdown()
    }

    private func waitForSignal() async {
        let (stops, stop) = AsyncStream.makeStream(of: Void.self)
        let stopper = SignalStopper(signals: [SIGINT, SIGTERM]) { stop.yield() }
        for await _ in stops { break }
        stopper.cancel()
    }
}
