import NIOCore
import NIOPosix
import SpaceportCore
import Synchronization

/// An upstream that records exactly the bytes it receives, reads them as a strict server
/// would, and answers each complete request with a fixed `200 ok`. What it saw is the
/// evidence of a smuggling test: well-formed requests, malformed bytes, or requests cut off.
final class RecordingUpstream: Sendable {
    static let answer = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"

    struct Log: Sendable {
        var requests: [RecordedRequest] = []
        var malformed: [String] = []
        /// Bytes left unanswered when a connection closed: a request cut off mid-way.
        var cutOff: [String] = []
        var accepted = 0
        var open = 0
    }

    let address: Address
    private let channel: any Channel
    private let shared: SharedLog

    private init(address: Address, channel: any Channel, shared: SharedLog) {
        self.address = address
        self.channel = channel
        self.shared = shared
    }

    var snapshot: Log { shared.log.withLock { $0 } }

    static func start() async throws -> RecordingUpstream {
        let shared = SharedLog()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Recorder(shared))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return RecordingUpstream(
            address: Address(host: "127.0.0.1", port: channel.localAddress!.port!), channel: channel,
            shared: shared)
    }

    func stop() async { try? await channel.close() }

    /// The log, shared by the server and every connection it accepts.
    final class SharedLog: Sendable {
        let log = Mutex(Log())
    }

    private final class Recorder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private let shared: SharedLog
        private var pending: [UInt8] = []
        private var broken = false

        init(_ shared: SharedLog) { self.shared = shared }

        func channelActive(context: ChannelHandlerContext) {
            shared.log.withLock {
                $0.accepted += 1
                $0.open += 1
            }
            context.fireChannelActive()
        }

        func channelInactive(context: ChannelHandlerContext) {
            shared.log.withLock { log in
                log.open -= 1
                if !pending.isEmpty && !broken {
                    log.cutOff.append(String(decoding: pending.prefix(200), as: UTF8.self))
                }
            }
            context.fireChannelInactive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !broken else { return }
            var buffer = unwrapInboundIn(data)
            pending += buffer.readBytes(length: buffer.readableBytes) ?? []
            while !pending.isEmpty {
                switch StrictRequestParser.parse(pending[...]) {
                case .incomplete:
                    return
                case .malformed(let problem):
                    broken = true
                    let sample = String(decoding: pending.prefix(300), as: UTF8.self)
                    shared.log.withLock { $0.malformed.append("\(problem): \(sample.debugDescription)") }
                    context.close(promise: nil)
                    return
                case .request(let request, let length):
                    pending.removeFirst(length)
                    shared.log.withLock { $0.requests.append(request) }
                    context.writeAndFlush(
                        wrapOutboundOut(context.channel.allocator.buffer(string: RecordingUpstream.answer)),
                        promise: nil)
                }
            }
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case ChannelEvent.inputClosed = event { context.close(promise: nil) }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
