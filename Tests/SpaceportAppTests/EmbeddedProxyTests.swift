import Foundation
import Logging
import NIOPosix
import SpaceportApp
import SpaceportCore
import SpaceportDemo
import SpaceportFeed
import SpaceportTestSupport
import Testing

/// The proxy, hub and feed server `proxy`, `dash` and `demo` run in one process, over real sockets.
@Suite("An embedded proxy: the proxy and its feed in one process")
struct EmbeddedProxyTests {
    @Test(
        "an embedded proxy on 127.0.0.1:0 routes a request, and its feed socket says hello and tells of the hop"
    )
    func servesAndFeeds() async throws {
        let upstream = DemoService(
            service: "servicea", space: "default", calls: nil, routeHeader: Settings().routeHeader,
            group: MultiThreadedEventLoopGroup.singleton)
        let upstreamAddress = try await upstream.start(preferredPort: 0)
        let tree = try SpaceTree(
            settings: Settings(),
            spaces: [
                Space(name: "default", services: [Instance(service: "servicea", upstream: upstreamAddress)])
            ])
        let embedded = try await EmbeddedProxy.start(
            store: SpacesStore(tree: tree), name: "embedded-test",
            ingress: Address(host: "127.0.0.1", port: 0),
            logger: quiet, feedDirectory: temporaryFolder("sa"))
        let client = FeedClient(targets: [.unix(embedded.feed.socketPath)])
        do {
            try await client.start()
            let hello = try await first("hello", of: client.events) { event -> FeedHello? in
                if case .event(_, .hello(let hello)) = event { return hello }
                return nil
            }
            #expect(hello.proxy == "embedded-test")
            #expect(hello.listeners == ["ingress \(embedded.listeners.ingress)"])

            let port = embedded.listeners.ingress.port
            let answer = try await curl(["-H", "Host: servicea.localhost", "http://127.0.0.1:\(port)/"])
            #expect(answer.contains("HTTP/1.1 200"), "\(answer)")
            #expect(answer.lowercased().contains("x-spaceport-route: servicea@default"), "\(answer)")
            #expect(answer.contains("servicea@default answered"), "\(answer)")

            let hop = try await first("hop's end", of: client.events) { event -> HopEvent? in
                if case .event(_, .hop(let hop)) = event, hop.phase == .end { return hop }
                return nil
            }
            #expect(hop.service == "servicea" && hop.space == "default" && hop.status == 200, "\(hop)")
        } catch {
            await client.stop()
            await embedded.stop(drainMs: 0)
            await upstream.stop()
            throw error
        }
        await client.stop()
        await embedded.stop(drainMs: 0)
        await upstream.stop()
    }

    @Test("an edit through an embedded proxy is saved to its spaces file, and a refused one names the file")
    func appliesEdits() async throws {
        let folder = temporaryFolder("sa")
        let path = "\(folder)/spaces.yaml"
        try """
        spaces:
          default:
            services:
              servicea: 127.0.0.1:5001
          azureuser:
            parent: default
            services:
              servicea: 127.0.0.1:6001

        """.write(toFile: path, atomically: true, encoding: .utf8)
        let embedded = try await EmbeddedProxy.start(
            store: try SpacesStore(path: path), name: "edits", ingress: Address(host: "127.0.0.1", port: 0),
            logger: quiet, feedDirectory: folder)
        let applied = await embedded.apply(.override(space: "azureuser", service: "servicea", enabled: false))
        let refused = await embedded.apply(.override(space: "nowhere", service: "servicea", enabled: false))
        await embedded.stop(drainMs: 0)
        #expect(applied == nil)
        #expect(try SpacesFile.load(path: path).space("azureuser")?.instance("servicea")?.enabled == false)
        let message = try #require(refused)
        #expect(message.hasPrefix("\(path): "), "\(message)")
        #expect(message.contains("nowhere"), "\(message)")
    }
}

/// The proxy's own log lines are not what these tests read.
let quiet = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
