import NIOCore
import NIOPosix
import SpaceportCore
import Synchronization

/// An upstream that misbehaves in one chosen way once a request head has arrived, and
/// counts its connections and the bytes it managed to write.
final class FaultyUpstream: Sendable {
    enum Behaviour: Sendable {
        /// A head promising a long body, part of the body, then a reset.
        case resetMidResponse
        /// Reads the request and never answers.
        case hang
        /// Answers bytes that are not HTTP.
        case garbage
        /// Half a status line, then a close.
        case closeBeforeHeaders
        /// Closes as soon as it accepts, without reading.
        case closeOnAccept
        /// The response head one byte at a time, `everyMs` apart.
        case slowHeaders(everyMs: Int)
        /// A 200 with `bytes` of body, written only while the socket takes more.
        case stream(bytes: Int)
        /// Answers a final status as soon as the head is in, before any body.
        case answerEarly(status: Int)
        /// Answers these bytes, then waits.
        case answer(String)
    }

    final class Counters: Sendable {
        let accepted = Atomic<Int>(0)
        let open = Atomic<Int>(0)
        let heads = Atomic<Int>(0)
        let bytesWritten = Atomic<Int>(0)
    }

    let address: Address
    let counters: Counters
    private let channel: any Channel

    var open: Int { counters.open.load(ordering: .relaxed) }
    var accepted: Int { counters.accepted.load(ordering: .relaxed) }
    var heads: Int { counters.heads.load(ordering: .relaxed) }
    var bytesWritten: Int { counters.bytesWritten.load(ordering: .relaxed) }

    private init(address: Address, channel: any Channel, counters: Counters) {
        self.address = address
        self.channel = channel
        self.counters = counters
    }

    static func start(_ behaviour: Behaviour) async throws -> FaultyUpstream {
        let counters = Counters()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Misbehaver(behaviour, counters))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return FaultyUpstream(
            address: Address(host: "127.0.0.1", port: channel.localAddress!.port!), channel: channel,
            counters: counters)
    }

    func stop() async { try? await channel.close() }
}

private final class Misbehaver: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let behaviour: FaultyUpstream.Behaviour
    private let counters: FaultyUpstream.Counters
    private var head: [UInt8] = []
    private var answered = false
    private var streamLeft = 0
    private var pumping = false

    init(_ behaviour: FaultyUpstream.Behaviour, _ counters: FaultyUpstream.Counters) {
        self.behaviour = behaviour
        self.counters = counters
    }

    func channelActive(context: ChannelHandlerContext) {
        counters.accepted.add(1, ordering: .relaxed)
        counters.open.add(1, ordering: .relaxed)
        if case .closeOnAccept = behaviour { context.close(promise: nil) }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        counters.open.subtract(1, ordering: .relaxed)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        var buffer = unwrapInboundIn(data)
        head += buffer.readBytes(length: buffer.readableBytes) ?? []
        guard head.firstRange(of: Array("\r\n\r\n".utf8)) != nil else { return }
        answered = true
        counters.heads.add(1, ordering: .relaxed)
        respond(context)
    }

    private func respond(_ context: ChannelHandlerContext) {
        switch behaviour {
        case .resetMidResponse:
            write(
                "HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\n" + String(repeating: "r", count: 4096),
                context)
            guard let socket = context.channel as? any SocketOptionProvider else {
                context.close(promise: nil)
                return
            }
            // A zero linger turns the close into a reset.
            socket.setSoLinger(Glibc.linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in
                context.close(promise: nil)
            }
        case .hang, .closeOnAccept:
            break
        case .garbage:
            write("SSH-2.0-OpenSSH_9.2\r\n\u{0}\u{1}\u{2}\u{3} not http at all\r\n\r\n", context)
        case .closeBeforeHeaders:
            write("HTTP/1.1 200 O", context).whenComplete { _ in context.close(promise: nil) }
        case .slowHeaders(let everyMs):
            trickle(
                Array("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".utf8)[...], every: everyMs, context)
        case .stream(let bytes):
            write("HTTP/1.1 200 OK\r\ncontent-length: \(bytes)\r\n\r\n", context)
            streamLeft = bytes
            pump(context)
        case .answerEarly(let status):
            write("HTTP/1.1 \(status) Early\r\ncontent-length: 6\r\n\r\nearly\n", context)
        case .answer(let text):
            write(text, context)
        }
    }

    @discardableResult
    private func write(_ text: String, _ context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        counters.bytesWritten.add(text.utf8.count, ordering: .relaxed)
        return context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: text)))
    }

    private func trickle(
        _ bytes: ArraySlice<UInt8>, every milliseconds: Int, _ context: ChannelHandlerContext
    ) {
        guard let first = bytes.first, context.channel.isActive else { return }
        counters.bytesWritten.add(1, ordering: .relaxed)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: [first])), promise: nil)
        context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(milliseconds))) {
            self.trickle(bytes.dropFirst(), every: milliseconds, context)
        }
    }

    /// Writes the body while the socket takes more; a flush may call back in, so the loop carries on.
    private func pump(_ context: ChannelHandlerContext) {
        guard !pumping else { return }
        pumping = true
        defer { pumping = false }
        let chunk = 64 * 1024
        repeat {
            while streamLeft > 0 && context.channel.isWritable {
                let length = min(chunk, streamLeft)
                streamLeft -= length
                counters.bytesWritten.add(length, ordering: .relaxed)
                context.write(
                    wrapOutboundOut(
                        context.channel.allocator.buffer(repeating: UInt8(ascii: "s"), count: length)),
                    promise: nil)
            }
            context.flush()
        } while streamLeft > 0 && context.channel.isWritable
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { pump(context) }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { context.close(promise: nil) }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
