import NIOCore
import NIOHTTP1
import NIOPosix
import SpaceportCore

/// A one-shot HTTP/1.1 GET for the demo's services and traffic: small answers only.
enum DemoHTTPClient {
    struct Response: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: String
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static let maxBody = 64 * 1024

    static func get(
        _ address: Address, host: String, path: String = "/", headers: [(String, String)] = [],
        group: any EventLoopGroup, timeoutMs: Int64 = 5_000
    ) -> EventLoopFuture<Response> {
        let loop = group.next()
        let promise = loop.makePromise(of: Response.self)
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(.milliseconds(timeoutMs))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
                }
            }
        bootstrap.connect(host: address.host, port: address.port).whenComplete { result in
            switch result {
            case .failure(let error):
                promise.fail(Failure(description: "cannot reach \(address): \(error)"))
            case .success(let channel):
                var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
                head.headers.add(name: "Host", value: host)
                head.headers.add(name: "Connection", value: "close")
                head.headers.add(name: "User-Agent", value: "spaceport-demo")
                for (name, value) in headers { head.headers.add(name: name, value: value) }
                channel.write(HTTPClientRequestPart.head(head), promise: nil)
                channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                loop.scheduleTask(in: .milliseconds(timeoutMs)) {
                    promise.fail(Failure(description: "no answer from \(address) within \(timeoutMs) ms"))
                    channel.close(promise: nil)
                }
                promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
            }
        }
        return promise.futureResult
    }

    final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPClientResponsePart
        let promise: EventLoopPromise<Response>
        var head: HTTPResponseHead?
        var body = ""

        init(promise: EventLoopPromise<Response>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                self.head = head
            case .body(let buffer):
                if body.utf8.count < DemoHTTPClient.maxBody { body += String(buffer: buffer) }
            case .end:
                guard let head else { return }
                promise.succeed(Response(status: Int(head.status.code), headers: head.headers, body: body))
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(Failure(description: "the connection closed before a whole answer"))
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(error)
            context.close(promise: nil)
        }
    }
}
