import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import SpaceportCore
import Synchronization

/// A service of a chain of calls, as an app would be: on each request it calls the next
/// service through its own egress listener (its `HTTP_PROXY`), passing on only the fields
/// `forwards` names (none, `baggage`, `traceparent`, the route header), then answers with
/// `<service>@<space>` and what the next one answered.
final class ChainService: Sendable {
    let name: String
    let space: String
    let address: Address
    private let channel: any Channel
    private let settings: Settings

    final class Settings: Sendable {
        /// Where this instance's outbound calls go: its egress listener, once the proxy runs.
        let egress = Mutex<Address?>(nil)
        let next: String?
        let forwards: [String]

        init(next: String?, forwards: [String]) {
            self.next = next
            self.forwards = forwards
        }
    }

    private init(name: String, space: String, address: Address, channel: any Channel, settings: Settings) {
        self.name = name
        self.space = space
        self.address = address
        self.channel = channel
        self.settings = settings
    }

    /// `next`: the service it calls, if any; `forwards`: the fields of its request it passes on.
    static func start(_ name: String, space: String, next: String?, forwards: [String]) async throws
        -> ChainService
    {
        let settings = Settings(next: next, forwards: forwards)
        let label = "\(name)@\(space)"
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(label: label, settings: settings))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ChainService(
            name: name, space: space, address: Address(host: "127.0.0.1", port: channel.localAddress!.port!),
            channel: channel, settings: settings)
    }

    func callThrough(_ egress: Address) { settings.egress.withLock { $0 = egress } }

    func stop() async { try? await channel.close() }

    private final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let label: String
        let settings: Settings
        var head: HTTPRequestHead?

        init(label: String, settings: Settings) {
            self.label = label
            self.settings = settings
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): self.head = head
            case .body: break
            case .end:
                guard let head else { return }
                let passed = settings.forwards.flatMap { name in head.headers[name].map { (name, $0) } }
                let next = settings.next
                let egress = settings.egress.withLock { $0 }
                let label = self.label
                let loop = context.eventLoop
                let bound = NIOLoopBound((self, context), eventLoop: loop)
                // The outbound call blocks, as a plain app's would: on a thread of its own.
                Thread.detachNewThread {
                    var text = label + "\n"
                    if let next, let egress {
                        text += Self.call(next, through: egress, passing: passed)
                    }
                    loop.execute {
                        let (handler, context) = bound.value
                        handler.respond(text, context)
                    }
                }
            }
        }

        static func call(_ service: String, through egress: Address, passing fields: [(String, String)])
            -> String
        {
            do {
                let client = try RawClient(egress, timeoutSeconds: 10)
                let extra = fields.map { "\($0.0): \($0.1)\r\n" }.joined()
                try client.send(
                    "GET http://\(service)/ HTTP/1.1\r\nHost: \(service)\r\n\(extra)Connection: close\r\n\r\n"
                )
                return try client.readResponse().text
            } catch {
                return "call failed: \(error)\n"
            }
        }

        func respond(_ text: String, _ context: ChannelHandlerContext) {
            var headers = HTTPHeaders()
            headers.add(name: "content-length", value: String(text.utf8.count))
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
