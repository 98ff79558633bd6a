import Foundation
import NIOCore
import NIOPosix
import SpaceportCore
import SpaceportWire

@testable import SpaceportFeed

/// A plain feed client for tests: sends lines and reads the lines the server writes, as
/// any program speaking the protocol would. It can stop reading the socket altogether.
final class LineSocket: Sendable {
    let channel: Channel
    let lines: AsyncStream<String>

    private init(channel: Channel, lines: AsyncStream<String>) {
        self.channel = channel
        self.lines = lines
    }

    static func unix(_ path: String) async throws -> LineSocket {
        try await connect { try await $0.connect(unixDomainSocketPath: path).get() }
    }

    static func tcp(_ address: Address) async throws -> LineSocket {
        try await connect { try await $0.connect(host: address.host, port: address.port).get() }
    }

    private static func connect(_ open: (ClientBootstrap) async throws -> Channel) async throws -> LineSocket
    {
        let (lines, continuation) = AsyncStream.makeStream(of: String.self)
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).channelInitializer {
            channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandlers(
                    ByteToMessageHandler(LineFrameDecoder(maxLength: 16 << 20)), LineCollector(continuation))
            }
        }
        return LineSocket(channel: try await open(bootstrap), lines: lines)
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text.hasSuffix("\n") ? text : text + "\n"))
    }

    func sendBytes(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    func send(_ command: FeedCommand) async throws { try await send(command.jsonLine()) }

    /// The next line, or nil once the server closed the connection.
    func nextLine(seconds: Double = 30) async throws -> String? {
        let lines = self.lines
        return try await within("a line from the feed", seconds: seconds) {
            var iterator = lines.makeAsyncIterator()
            return await iterator.next()
        }
    }

    func nextEvent() async throws -> FeedEvent {
        guard let line = try await nextLine() else { throw Closed() }
        return try FeedEvent.decode(line: line)
    }

    /// Reads until an event `matches`, returning it.
    func next(_ what: String, where matches: (FeedEvent) -> Bool) async throws -> FeedEvent {
        while true {
            let event = try await nextEvent()
            if matches(event) { return event }
        }
    }

    /// Reads until the server closes, returning the lines read on the way.
    func untilClosed() async throws -> [String] {
        var seen: [String] = []
        while let line = try await nextLine() { seen.append(line) }
        return seen
    }

    /// Stops (or resumes) reading from the socket, so the server sees a slow reader.
    func reading(_ on: Bool) async throws {
        try await channel.setOption(ChannelOptions.autoRead, value: on).get()
        if on { channel.read() }
    }

    func close() async {
        try? await channel.close()
    }

    struct Closed: Error {}
}

private final class LineCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let continuation: AsyncStream<String>.Continuation

    init(_ continuation: AsyncStream<String>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        continuation.yield(String(buffer: unwrapInboundIn(data)))
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
