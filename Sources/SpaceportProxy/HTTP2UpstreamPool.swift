import NIOCore
import NIOHTTP2
import NIOPosix
import SpaceportCore

/// One event loop's HTTP/2 connections to upstreams (h2c with prior knowledge), each carrying
/// many streams: a stream goes on a connection with room under the upstream's
/// SETTINGS_MAX_CONCURRENT_STREAMS, else on a new one; a connection that sent GOAWAY takes no
/// new stream and closes once its last one ends; one with no stream for the idle timeout closes.
/// Touched only on `loop`.
final class HTTP2UpstreamPool {
    final class Connection {
        let channel: any Channel
        let multiplexer: NIOHTTP2Handler.StreamMultiplexer
        var streams = 0
        /// The upstream's SETTINGS_MAX_CONCURRENT_STREAMS; RFC 9113 suggests assuming 100 until told.
        var maxStreams = 100
        var goingAway = false
        /// The last stream the upstream's GOAWAY said it took; streams above it it never saw.
        var lastAccepted: HTTP2StreamID?
        var idleTimer: Scheduled<Void>?

        init(channel: any Channel, multiplexer: NIOHTTP2Handler.StreamMultiplexer) {
            self.channel = channel
            self.multiplexer = multiplexer
        }

        var hasRoom: Bool { !goingAway && streams < maxStreams && channel.isActive }
    }

    private let loop: any EventLoop
    private var connections: [Address: [Connection]] = [:]
    private var dialing: [Address: EventLoopFuture<Connection>] = [:]
    private(set) var dials = 0

    init(loop: any EventLoop) {
        self.loop = loop
    }

    var openCount: Int { connections.values.reduce(0) { $0 + $1.count } }

    /// A new stream to `address`, its pipeline made by `initialize` before it is active.
    func openStream(
        to address: Address, limits: Limits, _ initialize: @escaping (any Channel) throws -> Void
    ) -> EventLoopFuture<any Channel> {
        openStream(to: address, limits: limits, again: true, initialize)
    }

    private func openStream(
        to address: Address, limits: Limits, again: Bool, _ initialize: @escaping (any Channel) throws -> Void
    ) -> EventLoopFuture<any Channel> {
        let idle = TimeAmount.milliseconds(Int64(limits.idleTimeoutMs))
        let connection: EventLoopFuture<Connection>
        if let roomy = connections[address]?.first(where: \.hasRoom) {
            connection = loop.makeSucceededFuture(roomy)
        } else if let pending = dialing[address] {
            connection = pending
        } else {
            connection = dial(address, timeout: .milliseconds(Int64(limits.connectTimeoutMs)))
            dialing[address] = connection
            connection.assumeIsolated().whenComplete { _ in self.dialing[address] = nil }
        }
        return connection.assumeIsolated().flatMap { connection in
            self.open(on: connection, idle: idle, initialize).assumeIsolated().flatMapError { error in
                // The connection closed or was sent away as the stream opened: the stream never
                // left, so it goes on another connection, once.
                guard again, connection.goingAway || !connection.channel.isActive else {
                    return self.loop.makeFailedFuture(error)
                }
                return self.openStream(to: address, limits: limits, again: false, initialize)
            }.nonisolated()
        }.nonisolated()
    }

    private func open(
        on connection: Connection, idle: TimeAmount, _ initialize: @escaping (any Channel) throws -> Void
    ) -> EventLoopFuture<any Channel> {
        connection.streams += 1
        connection.idleTimer?.cancel()
        connection.idleTimer = nil
        let initializer = NIOLoopBound(initialize, eventLoop: loop)
        let stream = connection.multiplexer.createStreamChannel { channel in
            channel.eventLoop.makeCompletedFuture { try initializer.value(channel) }
        }
        let isolated = stream.assumeIsolated()
        isolated.whenSuccess { channel in
            channel.closeFuture.assumeIsolated().whenComplete { _ in
                self.streamEnded(on: connection, idle: idle)
            }
        }
        isolated.whenFailure { _ in self.streamEnded(on: connection, idle: idle) }
        return stream
    }

    private func streamEnded(on connection: Connection, idle: TimeAmount) {
        connection.streams -= 1
        guard connection.streams == 0 else { return }
        if connection.goingAway {
            connection.channel.close(promise: nil)
            return
        }
        connection.idleTimer = loop.assumeIsolated().scheduleTask(in: idle) {
            connection.channel.close(promise: nil)
        }
    }

    private func dial(_ address: Address, timeout: TimeAmount) -> EventLoopFuture<Connection> {
        dials += 1
        let bootstrap = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    var connection = NIOHTTP2Handler.ConnectionConfiguration()
                    connection.initialSettings = [
                        HTTP2Setting(parameter: .enablePush, value: 0),
                        HTTP2Setting(parameter: .initialWindowSize, value: HTTP2Connection.windowSize),
                    ]
                    connection.targetWindowSize = HTTP2Connection.windowSize
                    var stream = NIOHTTP2Handler.StreamConfiguration()
                    stream.targetWindowSize = HTTP2Connection.windowSize
                    _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .client, connectionConfiguration: connection, streamConfiguration: stream
                    ) { stream in
                        // An upstream may not open streams towards the proxy: refuse them.
                        stream.close()
                    }
                    try channel.pipeline.syncOperations.addHandler(UpstreamSettingsWatcher())
                }
            }
        let connected =
            if let ip = try? SocketAddress(ipAddress: address.host, port: address.port) {
                bootstrap.connect(to: ip)
            } else {
                bootstrap.connect(host: address.host, port: address.port)
            }
        return connected.assumeIsolated().flatMapThrowing { channel in
            let pipeline = channel.pipeline.syncOperations
            let multiplexer = try pipeline.handler(type: NIOHTTP2Handler.self).syncMultiplexer()
            let connection = Connection(channel: channel, multiplexer: multiplexer)
            try pipeline.handler(type: UpstreamSettingsWatcher.self).connection = connection
            self.connections[address, default: []].append(connection)
            channel.closeFuture.assumeIsolated().whenComplete { _ in
                connection.idleTimer?.cancel()
                self.connections[address]?.removeAll { $0 === connection }
                if self.connections[address]?.isEmpty == true { self.connections[address] = nil }
            }
            return connection
        }.nonisolated()
    }

    /// The upstream never saw `stream`: its connection's GOAWAY named a lower last stream
    /// (RFC 9113 §6.8), so the request may go again whatever its method.
    func neverSaw(_ stream: any Channel) -> Bool {
        guard let parent = stream.parent,
            let connection = connections.values.joined().first(where: { $0.channel === parent }),
            let last = connection.lastAccepted,
            let id = try? stream.syncOptions?.getOption(HTTP2StreamChannelOptions.streamID)
        else { return false }
        return id > last
    }

    /// No new stream goes on the connections open now; each closes when its last stream ends.
    func drain() {
        for connection in connections.values.joined() {
            connection.goingAway = true
            if connection.streams == 0 { connection.channel.close(promise: nil) }
        }
    }

    func closeAll() {
        for connection in connections.values.joined() { connection.channel.close(promise: nil) }
    }
}

/// Reads an upstream connection's SETTINGS and GOAWAY for the pool.
final class UpstreamSettingsWatcher: ChannelInboundHandler {
    typealias InboundIn = HTTP2Frame

    weak var connection: HTTP2UpstreamPool.Connection?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data).payload {
        case .settings(.settings(let settings)):
            for setting in settings where setting.parameter == .maxConcurrentStreams {
                connection?.maxStreams = setting.value
            }
        case .goAway(let lastStreamID, _, _):
            connection?.goingAway = true
            connection?.lastAccepted = lastStreamID
            if connection?.streams == 0 { context.close(promise: nil) }
        default:
            break
        }
    }
}
