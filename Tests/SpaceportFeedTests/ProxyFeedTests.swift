import Foundation
import NIOCore
import NIOPosix
import SpaceportCore
import SpaceportProxy
import Testing

@testable import SpaceportFeed

/// An upstream that answers every request with its own name on a line, then closes.
private final class NamedUpstream: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let name: String

    init(name: String) {
        self.name = name
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let request = String(buffer: unwrapInboundIn(data))
        guard request.contains("\r\n\r\n") else { return }
        let response =
            "HTTP/1.1 200 OK\r\ncontent-length: \(name.utf8.count + 1)\r\nconnection: close\r\n\r\n\(name)\n"
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }

    static func start(_ name: String) async throws -> Channel {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(NamedUpstream(name: name))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }
}

/// Sends one request through the proxy and returns the whole response as text.
private func get(_ ingress: Address, host: String, routeAs: String, path: String = "/orders") async throws
    -> String
{
    let socket = try await LineSocket.tcp(ingress)
    try await socket.send(
        "GET \(path) HTTP/1.1\r\nhost: \(host)\r\nazds-route-as: \(routeAs)\r\nconnection: close\r\n\r")
    let lines = try await socket.untilClosed()
    return lines.joined(separator: "\n")
}

@Suite("The feed of a running proxy")
struct ProxyFeedTests {
    @Test("an override sent on the feed changes the route of the very next request, and the file")
    func overrideChangesNextRequest() async throws {
        let root = try await NamedUpstream.start("from-default")
        let mine = try await NamedUpstream.start("from-azureuser")
        let folder = Samples.temporaryFolder()
        let spacesPath = folder + "/spaces.yaml"
        try """
        spaces:
          default:
            services:
              servicea: { upstream: 127.0.0.1:\(root.localAddress!.port!) }
          azureuser:
            parent: default
            services:
              servicea: { upstream: 127.0.0.1:\(mine.localAddress!.port!) }

        """.write(toFile: spacesPath, atomically: true, encoding: .utf8)
        let store = try SpacesStore(path: spacesPath)
        let hub = FeedHub(store: store, hello: Samples.hello)
        let proxy = RoutingProxy(
            store: store, name: "e2e", ingress: try Address(parsing: "127.0.0.1:0"), sink: hub)
        let ingress = try await proxy.start().ingress
        let server = FeedServer(hub: hub, options: FeedServerOptions(name: "e2e", directory: folder))
        let feed = try await server.start()

        let client = try await LineSocket.unix(feed.socketPath)
        _ = try await client.next("spaces") { $0.type == "spaces" }
        let before = try await get(ingress, host: "servicea.localhost", routeAs: "azureuser")
        #expect(before.hasSuffix("from-azureuser"))
        let served = try await client.next("the hop's end") {
            if case .hop(let hop) = $0 { return hop.phase == .end }
            return false
        }
        guard case .hop(let first) = served else { return }
        #expect(first.space == "azureuser")
        #expect(first.routeAs == "azureuser")
        #expect(first.status == 200)

        try await client.send(
            .edit(id: "off", .override(space: "azureuser", service: "servicea", enabled: false)))
        _ = try await client.next("the ack") { $0 == .ack(id: "off") }
        let after = try await get(ingress, host: "servicea.localhost", routeAs: "azureuser")
        #expect(after.hasSuffix("from-default"))
        let rerouted = try await client.next("the next hop's end") {
            if case .hop(let hop) = $0 { return hop.phase == .end }
            return false
        }
        guard case .hop(let second) = rerouted else { return }
        #expect(second.space == "default")
        #expect(second.isFallback)
        #expect(HopLine.format(second).contains("servicea → default (fallback from azureuser)  200"))
        let reread = try SpacesFile.load(path: spacesPath)
        #expect(reread.space("azureuser")?.instance("servicea")?.enabled == false)

        await client.close()
        await server.shutdown()
        await proxy.shutdown()
        hub.close()
        try? await root.close()
        try? await mine.close()
        try? FileManager.default.removeItem(atPath: folder)
    }

    @Test("traffic through the proxy goes on at full speed while a feed client has stopped reading")
    func stalledClientDoesNotStallTraffic() async throws {
        let upstream = try await NamedUpstream.start("ok")
        let folder = Samples.temporaryFolder()
        let spacesPath = folder + "/spaces.yaml"
        try """
        spaces:
          default:
            services:
              servicea: { upstream: 127.0.0.1:\(upstream.localAddress!.port!) }

        """.write(toFile: spacesPath, atomically: true, encoding: .utf8)
        let store = try SpacesStore(path: spacesPath)
        let hub = FeedHub(store: store, hello: Samples.hello)
        let proxy = RoutingProxy(
            store: store, name: "e2e", ingress: try Address(parsing: "127.0.0.1:0"), sink: hub)
        let ingress = try await proxy.start().ingress
        let server = FeedServer(
            hub: hub, options: FeedServerOptions(name: "e2e", directory: folder, queueLimit: 16))
        let feed = try await server.start()
        let stalled = try await LineSocket.unix(feed.socketPath)
        _ = try await stalled.nextEvent()
        try await stalled.reading(false)
        let path = "/" + String(repeating: "p", count: 2000)
        for _ in 0..<300 {
            #expect(
                try await get(ingress, host: "servicea.localhost", routeAs: "default", path: path).hasSuffix(
                    "ok"))
            #expect(hub.queuedEvents <= 16 + 2)
        }
        try await stalled.reading(true)
        var dropped = 0
        _ = try await stalled.next("the drop count") {
            if case .dropped(let count) = $0 { dropped = count }
            return dropped > 0
        }
        #expect(dropped > 0)
        await stalled.close()
        await server.shutdown()
        await proxy.shutdown()
        hub.close()
        try? await upstream.close()
        try? FileManager.default.removeItem(atPath: folder)
    }
}
