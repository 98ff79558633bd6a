import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import SpaceportCore
import Synchronization

/// An HTTP server the tests start on 127.0.0.1:0, standing in for an app. What it does
/// depends on the path:
/// - `/bytes/N` streams N bytes (`?chunked` for a chunked body), writing only while the socket takes more;
/// - `/count` reads the whole body and answers how many bytes came (`?slow` reads at a few MB/s);
/// - `/status/N` answers status N (no body for 204 and 304);
/// - `/continue` answers 100 Continue before reading the body; `/early` answers 413 before reading it;
/// - `/hang` never answers; `/hangup` closes without answering;
/// - `/trailers` answers `hello` in chunks, with `Connection: keep-alive` and the trailer `x-checksum: 42`;
/// - anything else answers JSON: the server's name, method, uri, headers and body size.
final class TestUpstream: Sendable {
    let name: String
    let address: Address
    private let channel: any Channel
    private let counters: Counters

    final class Counters: Sendable {
        let accepted = Atomic<Int>(0)
        let requests = Atomic<Int>(0)
    }

    var acceptedConnections: Int { counters.accepted.load(ordering: .relaxed) }
    var requests: Int { counters.requests.load(ordering: .relaxed) }

    private init(name: String, address: Address, channel: any Channel, counters: Counters) {
        self.name = name
        self.address = address
        self.channel = channel
        self.counters = counters
    }

    static func start(_ name: String) async throws -> TestUpstream {
        let counters = Counters()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                counters.accepted.add(1, ordering: .relaxed)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(AppHandler(name: name, counters: counters))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TestUpstream(
            name: name, address: Address(host: "127.0.0.1", port: channel.localAddress!.port!),
            channel: channel,
            counters: counters)
    }

    func stop() async {
        try? await channel.close()
    }

    /// What the JSON answer says about the request the app received.
    struct Seen: Decodable {
        var server: String
        var method: String
        var uri: String
        var headers: [String: [String]]
        var bodyBytes: Int

        func header(_ name: String) -> String? { headers[name.lowercased()]?.first }
    }
}

private final class AppHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    let name: String
    let counters: TestUpstream.Counters
    var head: HTTPRequestHead?
    var bodyBytes = 0
    var streamLeft = 0
    var template: ByteBuffer?
    var pumping = false
    var slow = false
    var readPending = false
    var pausedUntil: NIODeadline?

    init(name: String, counters: TestUpstream.Counters) {
        self.name = name
        self.counters = counters
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            counters.requests.add(1, ordering: .relaxed)
            self.head = head
            bodyBytes = 0
            slow = head.uri.contains("slow")
            if head.uri.hasPrefix("/continue") {
                context.writeAndFlush(
                    wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .continue))),
                    promise: nil)
            } else if head.uri.hasPrefix("/hangup") {
                context.close(promise: nil)
            } else if head.uri.hasPrefix("/early") {
                let body = context.channel.allocator.buffer(string: "too large\n")
                var headers = HTTPHeaders()
                headers.add(name: "content-length", value: String(body.readableBytes))
                context.write(
                    wrapOutboundOut(
                        .head(HTTPResponseHead(version: .http1_1, status: .payloadTooLarge, headers: headers))
                    ),
                    promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        case .body(let buffer):
            bodyBytes += buffer.readableBytes
            if slow {
                // About 32 MB/s: each read waits for its bytes' share of a second.
                pausedUntil = .now() + .microseconds(Int64(buffer.readableBytes / 32))
            }
        case .end:
            guard let head, !head.uri.hasPrefix("/early") else { return }
            respond(head, context)
        }
    }

    func read(context: ChannelHandlerContext) {
        guard let until = pausedUntil, until > .now() else {
            context.read()
            return
        }
        pausedUntil = nil
        context.eventLoop.assumeIsolated().scheduleTask(deadline: until) { context.read() }
    }

    private func respond(_ head: HTTPRequestHead, _ context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
        let parts = path.split(separator: "/")
        if path.hasPrefix("/hang") { return }
        if parts.first == "bytes", parts.count > 1, let count = Int(parts[1]) {
            var headers = HTTPHeaders()
            if head.uri.contains("chunked") {
                headers.add(name: "transfer-encoding", value: "chunked")
            } else {
                headers.add(name: "content-length", value: String(count))
            }
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                promise: nil)
            guard head.method != .HEAD else {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                return
            }
            streamLeft = count
            template = context.channel.allocator.buffer(repeating: UInt8(ascii: "x"), count: 64 * 1024)
            pump(context)
            return
        }
        if path == "/trailers" {
            let headers: HTTPHeaders = ["transfer-encoding": "chunked", "connection": "keep-alive"]
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
                promise: nil)
            context.write(
                wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: "hello")))),
                promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(["x-checksum": "42"])), promise: nil)
            return
        }
        if parts.first == "status", parts.count > 1, let code = Int(parts[1]) {
            var headers = HTTPHeaders()
            let status = HTTPResponseStatus(statusCode: code)
            let body = status.mayHaveResponseBody ? "status \(code)\n" : ""
            if status.mayHaveResponseBody {
                headers.add(name: "content-length", value: String(body.utf8.count))
            }
            context.write(
                wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))),
                promise: nil)
            if !body.isEmpty && head.method != .HEAD {
                context.write(
                    wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))),
                    promise: nil)
            }
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            return
        }
        var seenHeaders: [String: [String]] = [:]
        for header in head.headers { seenHeaders[header.name.lowercased(), default: []].append(header.value) }
        let json: [String: Any] = [
            "server": name, "method": head.method.rawValue, "uri": head.uri, "headers": seenHeaders,
            "bodyBytes": bodyBytes, "received": bodyBytes,
        ]
        let data = try! JSONSerialization.data(withJSONObject: json, options: [.sortedKeys])
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(data.count))
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
            promise: nil)
        if head.method != .HEAD {
            context.write(
                wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: data)))),
                promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// Writes the next chunks of a streamed body while the socket takes them. A flush can
    /// change writability and call back in; the loop, not the callback, carries on then.
    private func pump(_ context: ChannelHandlerContext) {
        guard let template, !pumping else { return }
        pumping = true
        defer { pumping = false }
        while true {
            while streamLeft > 0 && context.channel.isWritable {
                let length = min(streamLeft, template.readableBytes)
                streamLeft -= length
                let slice = template.getSlice(at: template.readerIndex, length: length)!
                context.write(wrapOutboundOut(.body(.byteBuffer(slice))), promise: nil)
            }
            context.flush()
            if streamLeft == 0 {
                self.template = nil
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                return
            }
            if !context.channel.isWritable { return }
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { pump(context) }
        context.fireChannelWritabilityChanged()
    }
}

/// A TCP server that echoes every byte back and closes its side once the client has.
final class EchoServer: Sendable {
    let address: Address
    private let channel: any Channel

    private init(address: Address, channel: any Channel) {
        self.address = address
        self.channel = channel
    }

    static func start() async throws -> EchoServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Echo())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return EchoServer(
            address: Address(host: "127.0.0.1", port: channel.localAddress!.port!), channel: channel)
    }

    func stop() async { try? await channel.close() }

    private final class Echo: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.write(data, promise: nil)
        }

        func channelReadComplete(context: ChannelHandlerContext) { context.flush() }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            guard case ChannelEvent.inputClosed = event else { return }
            // Everything echoed so far goes out before the close.
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)))
                .assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}

/// A server that speaks just enough HTTP to switch protocols: it answers any request
/// with a 101 followed, in the same write, by a greeting, then echoes raw bytes.
final class UpgradeServer: Sendable {
    static let greeting = "welcome, switched\n"
    let address: Address
    private let channel: any Channel

    private init(address: Address, channel: any Channel) {
        self.address = address
        self.channel = channel
    }

    static func start() async throws -> UpgradeServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Switch())
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return UpgradeServer(
            address: Address(host: "127.0.0.1", port: channel.localAddress!.port!), channel: channel)
    }

    func stop() async { try? await channel.close() }

    private final class Switch: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        var head = ""
        var switched = false

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            if switched {
                context.writeAndFlush(data, promise: nil)
                return
            }
            head += buffer.readString(length: buffer.readableBytes) ?? ""
            guard let end = head.range(of: "\r\n\r\n") else { return }
            switched = true
            let answer =
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n"
                + UpgradeServer.greeting
                + head[end.upperBound...]
            context.writeAndFlush(
                wrapOutboundOut(context.channel.allocator.buffer(string: answer)), promise: nil)
        }
    }
}
