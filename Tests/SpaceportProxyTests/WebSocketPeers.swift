import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import SpaceportCore

/// A WebSocket server on 127.0.0.1:0 (SwiftNIO's upgrader): it greets each client with one
/// text frame, then sends every text or binary frame back as it came, and answers a close.
final class WebSocketEchoServer: Sendable {
    static let greeting = "welcome to the room"
    /// Big enough for the largest message a test sends in one frame.
    static let maxFrameSize = 1 << 20

    let address: Address
    private let channel: any Channel

    private init(address: Address, channel: any Channel) {
        self.address = address
        self.channel = channel
    }

    static func start() async throws -> WebSocketEchoServer {
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: maxFrameSize,
            shouldUpgrade: { channel, _ in channel.eventLoop.makeSucceededFuture(HTTPHeaders()) },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Echo())
                }
            })
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (upgraders: [upgrader], completionHandler: { _ in }))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return WebSocketEchoServer(
            address: Address(host: "127.0.0.1", port: channel.localAddress!.port!), channel: channel)
    }

    func stop() async { try? await channel.close() }

    private final class Echo: ChannelInboundHandler {
        typealias InboundIn = WebSocketFrame
        typealias OutboundOut = WebSocketFrame

        func handlerAdded(context: ChannelHandlerContext) {
            let greeting = WebSocketFrame(
                fin: true, opcode: .text,
                data: context.channel.allocator.buffer(string: WebSocketEchoServer.greeting))
            context.writeAndFlush(wrapOutboundOut(greeting), promise: nil)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let frame = unwrapInboundIn(data)
            switch frame.opcode {
            case .text, .binary, .continuation:
                let echo = WebSocketFrame(fin: frame.fin, opcode: frame.opcode, data: frame.unmaskedData)
                context.writeAndFlush(wrapOutboundOut(echo), promise: nil)
            case .connectionClose:
                let close = WebSocketFrame(fin: true, opcode: .connectionClose, data: frame.unmaskedData)
                context.writeAndFlush(wrapOutboundOut(close)).whenComplete { _ in context.close(promise: nil)
                }
            default:
                break
            }
        }
    }
}

/// A WebSocket client (SwiftNIO's upgrader): upgrades `GET path` with the given Host on a
/// connection to `address`, then sends and receives whole frames. Sent frames are masked,
/// as a client's must be.
struct WebSocketClient: Sendable {
    private let channel: NIOAsyncChannel<WebSocketFrame, WebSocketFrame>

    enum Outcome: Sendable {
        case upgraded(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>)
        case refused
    }

    static func connect(to address: Address, host: String, path: String) async throws -> WebSocketClient {
        let outcome: EventLoopFuture<Outcome> = try await ClientBootstrap(
            group: MultiThreadedEventLoopGroup.singleton
        ).connect(host: address.host, port: address.port) { channel in
            channel.eventLoop.makeCompletedFuture {
                let upgrader = NIOTypedWebSocketClientUpgrader<Outcome>(
                    maxFrameSize: WebSocketEchoServer.maxFrameSize,
                    upgradePipelineHandler: { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            .upgraded(try NIOAsyncChannel(wrappingChannelSynchronously: channel))
                        }
                    })
                var headers = HTTPHeaders()
                headers.add(name: "Host", value: host)
                headers.add(name: "Content-Length", value: "0")
                let request = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: headers)
                let configuration = NIOTypedHTTPClientUpgradeConfiguration(
                    upgradeRequestHead: request, upgraders: [upgrader],
                    notUpgradingCompletionHandler: { channel in
                        channel.eventLoop.makeCompletedFuture { .refused }
                    })
                var pipeline = NIOUpgradableHTTPClientPipelineConfiguration(
                    upgradeConfiguration: configuration)
                // The server's first frame may come in the same read as its 101.
                pipeline.leftOverBytesStrategy = .forwardBytes
                return try channel.pipeline.syncOperations.configureUpgradableHTTPClientPipeline(
                    configuration: pipeline)
            }
        }
        switch try await outcome.get() {
        case .upgraded(let channel): return WebSocketClient(channel: channel)
        case .refused: throw TestFailure("the server answered without switching to WebSocket")
        }
    }

    /// Sends each frame and reads the frames that come back, `count` in all, then closes
    /// the connection properly (a close frame each way).
    func exchange(_ frames: [(WebSocketOpcode, ByteBuffer)], expecting count: Int) async throws
        -> [WebSocketFrame]
    {
        try await channel.executeThenClose { inbound, outbound in
            var received: [WebSocketFrame] = []
            var iterator = inbound.makeAsyncIterator()
            func next() async throws -> WebSocketFrame {
                guard let frame = try await iterator.next() else {
                    throw TestFailure("the WebSocket closed early")
                }
                return frame
            }
            received.append(try await next())
            for (opcode, data) in frames {
                try await outbound.write(
                    WebSocketFrame(fin: true, opcode: opcode, maskKey: .random(), data: data))
                received.append(try await next())
            }
            while received.count < count { received.append(try await next()) }
            try await outbound.write(
                WebSocketFrame(
                    fin: true, opcode: .connectionClose, maskKey: .random(),
                    data: ByteBuffer(bytes: [3, 232])))
            let close = try await next()
            guard close.opcode == .connectionClose else {
                throw TestFailure("no close frame answered the close")
            }
            return received
        }
    }
}
