import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import SpaceportCore

/// A one-shot gRPC call for the demo's traffic: a connection with HTTP/2 prior knowledge, one
/// stream carrying a `HelloRequest`, the replies and the `grpc-status` it ends with.
enum DemoGRPCClient {
    struct Answer: Sendable {
        var status: Int?
        var replies: [String]
    }

    static func call(
        _ address: Address, authority: String, method: String, name: String, headers: [(String, String)] = [],
        group: any EventLoopGroup, timeoutMs: Int64 = 5_000
    ) -> EventLoopFuture<Answer> {
        let loop = group.next()
        let promise = loop.makePromise(of: Answer.self)
        ClientBootstrap(group: loop)
            .connectTimeout(.milliseconds(timeoutMs))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .client, connectionConfiguration: .init(), streamConfiguration: .init()
                    ) { $0.eventLoop.makeSucceededVoidFuture() }
                }
            }
            .connect(host: address.host, port: address.port)
            .flatMap { channel in
                promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                loop.scheduleTask(in: .milliseconds(timeoutMs)) {
                    promise.fail(DemoHTTPClient.Failure(description: "no answer within \(timeoutMs) ms"))
                }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.handler(type: NIOHTTP2Handler.self).syncMultiplexer()
                }.flatMap { multiplexer in
                    multiplexer.createStreamChannel { stream in
                        stream.eventLoop.makeCompletedFuture {
                            try stream.pipeline.syncOperations.addHandler(Collector(promise))
                        }
                    }
                }
            }
            .whenComplete { result in
                switch result {
                case .failure(let error):
                    promise.fail(DemoHTTPClient.Failure(description: "cannot call \(address): \(error)"))
                case .success(let stream):
                    var block: HPACKHeaders = [
                        ":method": "POST", ":scheme": "http", ":path": method, ":authority": authority,
                        "content-type": "application/grpc", "te": "trailers", "user-agent": "spaceport-demo",
                    ]
                    for (name, value) in headers { block.add(name: name, value: value) }
                    let message = DemoProto.framed(DemoProto.string(field: 1, name))
                    stream.write(HTTP2Frame.FramePayload.headers(.init(headers: block)), promise: nil)
                    stream.writeAndFlush(
                        HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(message), endStream: true)),
                        promise: nil)
                }
            }
        return promise.futureResult
    }

    final class Collector: ChannelInboundHandler {
        typealias InboundIn = HTTP2Frame.FramePayload
        let promise: EventLoopPromise<Answer>
        var body = ByteBuffer()
        var status: Int?

        init(_ promise: EventLoopPromise<Answer>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .headers(let block):
                if let code = block.headers.first(name: "grpc-status").flatMap(Int.init) { status = code }
                if block.endStream { done() }
            case .data(let data):
                if case .byteBuffer(var buffer) = data.data { body.writeBuffer(&buffer) }
                if data.endStream { done() }
            default:
                break
            }
        }

        private func done() {
            let replies = DemoProto.messages(in: &body).compactMap { DemoProto.string(field: 1, in: $0) }
            promise.succeed(Answer(status: status, replies: replies))
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(DemoHTTPClient.Failure(description: "the stream closed before the call ended"))
        }
    }
}
