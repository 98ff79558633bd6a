import Foundation
import NIOCore
import NIOHPACK
import NIOHTTP2
import NIOPosix
import SpaceportCore
import Synchronization

/// An upstream that speaks only HTTP/2 with prior knowledge (h2c), on 127.0.0.1:0, built on
/// swift-nio-http2. What a stream gets depends on its path:
/// - `/hang` never answers (a reset from the proxy is counted in `resets`);
/// - `/reset` resets the stream (INTERNAL_ERROR) without answering;
/// - `/early` answers `200 early` as soon as the head comes, before the body, then resets the
///   stream with NO_ERROR (RFC 9113 §8.1), as nginx does;
/// - `/slow` answers after 300 ms (a gRPC call: its head too);
/// - `/bytes/N` answers N bytes of `x` in DATA frames of 16 KiB, with no content-length;
/// - a gRPC call (content-type `application/grpc`) is answered with its own DATA echoed back,
///   then trailers whose `grpc-status` is the request's `x-test-grpc-status` (else 0);
/// - anything else answers `200` with text: `server=<name> authority=<:authority> route=<azds-route-as> bytes=<body>`.
/// With `goAwayFirst` the first connection says GOAWAY (last stream 0) as its first stream opens.
/// With `hangsUpAfter` each connection, once it has answered its that-many-th stream (an `/early`
/// one), says GOAWAY naming it and closes at once, as nginx does when its flood check trips.
final class H2Upstream: Sendable {
    let name: String
    let address: Address
    private let channel: any Channel
    private let counters: Counters

    final class Counters: Sendable {
        let connections = Atomic<Int>(0)
        let streams = Atomic<Int>(0)
        let resets = Atomic<Int>(0)
    }

    var connections: Int { counters.connections.load(ordering: .relaxed) }
    var streams: Int { counters.streams.load(ordering: .relaxed) }
    var resets: Int { counters.resets.load(ordering: .relaxed) }

    private init(name: String, address: Address, channel: any Channel, counters: Counters) {
        self.name = name
        self.address = address
        self.channel = channel
        self.counters = counters
    }

    static func start(
        _ name: String, goAwayFirst: Bool = false, maxStreams: Int = 100, hangsUpAfter: Int? = nil
    ) async throws -> H2Upstream {
        let counters = Counters()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                let index = counters.connections.wrappingAdd(1, ordering: .relaxed).newValue
                let onConnection = Counters()
                return channel.eventLoop.makeCompletedFuture {
                    var connection = NIOHTTP2Handler.ConnectionConfiguration()
                    connection.initialSettings = [
                        HTTP2Setting(parameter: .maxConcurrentStreams, value: maxStreams)
                    ]
                    _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .server, connectionConfiguration: connection,
                        streamConfiguration: NIOHTTP2Handler.StreamConfiguration()
                    ) { stream in
                        counters.streams.add(1, ordering: .relaxed)
                        let opened = onConnection.streams.wrappingAdd(1, ordering: .relaxed).newValue
                        return stream.eventLoop.makeCompletedFuture {
                            try stream.pipeline.syncOperations.addHandler(
                                H2AppHandler(name: name, counters: counters, hangsUp: opened == hangsUpAfter))
                        }
                    }
                    if goAwayFirst && index == 1 {
                        try channel.pipeline.syncOperations.addHandler(GoAwayAtOnce())
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return H2Upstream(
            name: name, address: Address(host: "127.0.0.1", port: channel.localAddress!.port!),
            channel: channel,
            counters: counters)
    }

    func stop() async {
        try? await channel.close()
    }
}

/// Says GOAWAY, taking no stream at all, as soon as the connection is up: a server going away.
private final class GoAwayAtOnce: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    func channelActive(context: ChannelHandlerContext) {
        let goAway = HTTP2Frame(
            streamID: .rootStream,
            payload: .goAway(lastStreamID: .rootStream, errorCode: .noError, opaqueData: nil))
        context.writeAndFlush(wrapOutboundOut(goAway), promise: nil)
        context.fireChannelActive()
    }
}

private final class H2AppHandler: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias OutboundOut = HTTP2Frame.FramePayload

    let name: String
    let counters: H2Upstream.Counters
    private var request: HPACKHeaders?
    private var bytes = 0
    private var answered = false
    /// Once answered, the connection says GOAWAY naming this stream and closes.
    private let hangsUp: Bool

    init(name: String, counters: H2Upstream.Counters, hangsUp: Bool = false) {
        self.name = name
        self.counters = counters
        self.hangsUp = hangsUp
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .headers(let block):
            if request == nil {
                request = block.headers
                switch block.headers.first(name: ":path") {
                case "/reset":
                    context.writeAndFlush(wrapOutboundOut(.rstStream(.internalError)), promise: nil)
                    answered = true
                case "/hang":
                    answered = true
                case "/early":
                    answered = true
                    let head: HPACKHeaders = [":status": "200", "content-type": "text/plain"]
                    context.write(wrapOutboundOut(.headers(.init(headers: head))), promise: nil)
                    let body = context.channel.allocator.buffer(string: "early")
                    let sent = context.writeAndFlush(
                        wrapOutboundOut(.data(.init(data: .byteBuffer(body), endStream: true))))
                    // After the answer has left: a reset written with it would overtake it in swift-nio-http2.
                    sent.assumeIsolated().whenSuccess {
                        if !block.endStream {
                            context.writeAndFlush(self.wrapOutboundOut(.rstStream(.noError)), promise: nil)
                        }
                        if self.hangsUp { self.hangUp(context) }
                    }
                case "/slow":
                    break
                default:
                    if block.headers.first(name: "content-type") == "application/grpc" {
                        let head: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]
                        context.writeAndFlush(wrapOutboundOut(.headers(.init(headers: head))), promise: nil)
                    }
                }
            }
            if block.endStream { requestEnded(context) }
        case .data(let data):
            bytes += data.data.readableBytes
            if request?.first(name: "content-type") == "application/grpc", data.data.readableBytes > 0 {
                // gRPC's messages come straight back, as a bidirectional echo service would send them.
                context.writeAndFlush(wrapOutboundOut(.data(.init(data: data.data))), promise: nil)
            }
            if data.endStream { requestEnded(context) }
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOHTTP2Errors.StreamClosed { counters.resets.add(1, ordering: .relaxed) }
    }

    private func hangUp(_ context: ChannelHandlerContext) {
        guard let connection = context.channel.parent,
            let id = try? context.channel.syncOptions?.getOption(HTTP2StreamChannelOptions.streamID)
        else { return }
        let goAway = HTTP2Frame(
            streamID: .rootStream, payload: .goAway(lastStreamID: id, errorCode: .noError, opaqueData: nil))
        connection.writeAndFlush(goAway).whenComplete { _ in connection.close(promise: nil) }
    }

    private func requestEnded(_ context: ChannelHandlerContext) {
        guard !answered, let request else { return }
        answered = true
        let slow = request.first(name: ":path") == "/slow"
        if request.first(name: "content-type") == "application/grpc" {
            let trailers: HPACKHeaders = [
                "grpc-status": request.first(name: "x-test-grpc-status") ?? "0",
                "grpc-message": "from \(name)",
            ]
            guard slow else {
                context.writeAndFlush(
                    wrapOutboundOut(.headers(.init(headers: trailers, endStream: true))), promise: nil)
                return
            }
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(300)) {
                let head: HPACKHeaders = [":status": "200", "content-type": "application/grpc"]
                context.write(self.wrapOutboundOut(.headers(.init(headers: head))), promise: nil)
                context.writeAndFlush(
                    self.wrapOutboundOut(.headers(.init(headers: trailers, endStream: true))), promise: nil)
            }
            return
        }
        if let size = request.first(name: ":path").flatMap({
            $0.hasPrefix("/bytes/") ? Int($0.dropFirst(7)) : nil
        }) {
            let head: HPACKHeaders = [":status": "200", "content-type": "application/octet-stream"]
            context.write(wrapOutboundOut(.headers(.init(headers: head))), promise: nil)
            var left = size
            repeat {
                let count = min(left, 16 * 1024)
                left -= count
                let piece = context.channel.allocator.buffer(repeating: UInt8(ascii: "x"), count: count)
                context.write(
                    wrapOutboundOut(.data(.init(data: .byteBuffer(piece), endStream: left == 0))),
                    promise: nil)
            } while left > 0
            context.flush()
            return
        }
        let text =
            "server=\(name) authority=\(request.first(name: ":authority") ?? "-") route=\(request.first(name: "azds-route-as") ?? "-") bytes=\(bytes)"
        let answer = {
            let head: HPACKHeaders = [":status": "200", "content-type": "text/plain"]
            context.write(self.wrapOutboundOut(.headers(.init(headers: head))), promise: nil)
            let body = context.channel.allocator.buffer(string: text)
            context.writeAndFlush(
                self.wrapOutboundOut(.data(.init(data: .byteBuffer(body), endStream: true))), promise: nil)
        }
        if slow {
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(300)) { answer() }
        } else {
            answer()
        }
    }
}

/// What an HTTP/2 stream brought back: the response's head, body and trailers, or the reset that ended it.
struct H2Response: Sendable {
    var headers = HPACKHeaders()
    var body = ByteBuffer()
    var trailers: HPACKHeaders?
    var reset: HTTP2ErrorCode?

    var status: Int? { headers.first(name: ":status").flatMap(Int.init) }
    var text: String { String(buffer: body) }
    /// A gRPC call's status: from the trailers, or from the head of a Trailers-Only answer.
    var grpcStatus: Int? {
        (trailers ?? headers).first(name: "grpc-status").flatMap(Int.init)
    }
    var grpcMessage: String? { (trailers ?? headers).first(name: "grpc-message") }
}

/// A client on swift-nio-http2 itself: one connection with prior knowledge, many streams on it.
final class H2Client: Sendable {
    let channel: any Channel
    private let multiplexer: NIOHTTP2Handler.StreamMultiplexer
    /// Whether a GOAWAY came, and the last stream id it named.
    let goAway = Mutex<HTTP2StreamID?>(nil)

    private init(channel: any Channel, multiplexer: NIOHTTP2Handler.StreamMultiplexer) {
        self.channel = channel
        self.multiplexer = multiplexer
    }

    static func connect(port: Int) async throws -> H2Client {
        let watcher = GoAwayWatcher()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .client, connectionConfiguration: NIOHTTP2Handler.ConnectionConfiguration(),
                        streamConfiguration: NIOHTTP2Handler.StreamConfiguration()
                    ) { $0.eventLoop.makeSucceededVoidFuture() }
                    try channel.pipeline.syncOperations.addHandler(watcher)
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        let multiplexer = try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: NIOHTTP2Handler.self).syncMultiplexer()
        }.get()
        let client = H2Client(channel: channel, multiplexer: multiplexer)
        watcher.client.withLock { $0 = client }
        return client
    }

    /// Sends a request (`body` in one DATA frame, when given) and waits for the whole answer.
    func request(
        _ path: String, authority: String, headers extra: [(String, String)] = [], body: String? = nil,
        grpc: Bool = false
    ) async throws -> H2Response {
        let stream = try await open(path, authority: authority, headers: extra, grpc: grpc, ends: body == nil)
        if let body {
            var buffer = ByteBuffer(string: body)
            if grpc {
                // One length-prefixed message, as gRPC frames them.
                buffer = ByteBuffer(bytes: [0])
                buffer.writeInteger(UInt32(body.utf8.count))
                buffer.writeString(body)
            }
            // The proxy may have answered (and ended the stream) before the body goes.
            try? await stream.channel.writeAndFlush(
                HTTP2Frame.FramePayload.data(.init(data: .byteBuffer(buffer), endStream: true)))
        }
        return try await stream.response.get()
    }

    /// Opens a stream with its head only; the caller sends more on `channel` or resets it.
    func open(
        _ path: String, authority: String, headers extra: [(String, String)] = [], grpc: Bool = false,
        ends: Bool = true
    ) async throws -> (channel: any Channel, response: EventLoopFuture<H2Response>) {
        let promise = channel.eventLoop.makePromise(of: H2Response.self)
        let stream: any Channel
        do {
            stream = try await multiplexer.createStreamChannel { stream in
                stream.eventLoop.makeCompletedFuture {
                    try stream.pipeline.syncOperations.addHandler(H2ResponseCollector(promise))
                }
            }.get()
        } catch {
            // A connection the proxy sent away opens no stream: the answer never comes.
            promise.fail(error)
            throw error
        }
        var headers: HPACKHeaders = [
            ":method": "POST", ":scheme": "http", ":path": path, ":authority": authority,
        ]
        if grpc {
            headers.add(name: "content-type", value: "application/grpc")
            headers.add(name: "te", value: "trailers")
        }
        for (name, value) in extra { headers.add(name: name, value: value) }
        try await stream.writeAndFlush(
            HTTP2Frame.FramePayload.headers(.init(headers: headers, endStream: ends)))
        return (stream, promise.futureResult)
    }

    func close() async {
        try? await channel.close()
    }
}

private final class GoAwayWatcher: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTP2Frame
    let client = Mutex<H2Client?>(nil)

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .goAway(let last, _, _) = unwrapInboundIn(data).payload {
            client.withLock { client in client?.goAway.withLock { $0 = last } }
        }
    }
}

private final class H2ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame.FramePayload

    private let promise: EventLoopPromise<H2Response>
    private var response = H2Response()
    private var headed = false

    init(_ promise: EventLoopPromise<H2Response>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .headers(let block):
            if !headed {
                headed = true
                response.headers = block.headers
            } else {
                response.trailers = block.headers
            }
            if block.endStream { promise.succeed(response) }
        case .data(let data):
            if case .byteBuffer(var bytes) = data.data { response.body.writeBuffer(&bytes) }
            if data.endStream { promise.succeed(response) }
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let closed = error as? NIOHTTP2Errors.StreamClosed { response.reset = closed.errorCode }
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.succeed(response)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        promise.succeed(response)
    }
}
