import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import SpaceportCore
import SpaceportFeed
import SpaceportProxy
import Synchronization

/// The admin listener: `/metrics` (Prometheus's text format), `/healthz` (the process serves),
/// `/readyz` (the proxy runs with a valid tree) and `/tree` (as `tree --json` prints it), over
/// HTTP/1.1 on its own socket, apart from the proxy's listeners. It starts before the proxy
/// binds and stops after it has drained, so its probes see the whole of both.
public final class AdminServer: Sendable {
    public let settings: AdminSettings
    public let proxy: RoutingProxy
    public let metrics: ProxyMetrics
    private let hub: FeedHub?
    private let logger: Logger
    private let group: any EventLoopGroup
    private let channel = Mutex<(any Channel)?>(nil)

    /// `hub` nil: a proxy with no feed, whose feed metrics stay 0.
    public init(
        settings: AdminSettings, proxy: RoutingProxy, metrics: ProxyMetrics, hub: FeedHub?,
        logger: Logger = Logger(label: SpaceportLog.label),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) {
        self.settings = settings
        self.proxy = proxy
        self.metrics = metrics
        self.hub = hub
        self.logger = logger
        self.group = group
    }

    static let idleTimeout = TimeAmount.seconds(30)

    /// Binds the listener; returns where it listens (the port the system chose for port 0).
    public func start() async throws -> Address {
        let address = settings.address
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    // A connection that sends nothing for a while goes, so idle clients cannot pile up.
                    try channel.pipeline.syncOperations.addHandler(
                        IdleStateHandler(readTimeout: Self.idleTimeout))
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(AdminHandler(server: self))
                }
            }
        let bound: any Channel
        do {
            bound = try await bootstrap.bind(host: address.host, port: address.port).get()
        } catch {
            throw AdminError.cannotListen(address, reason: "\(error)")
        }
        channel.withLock { $0 = bound }
        let listening = Address(host: address.host, port: bound.localAddress?.port ?? address.port)
        if !address.isLoopback {
            logger.warning("the admin listener listens on \(listening), which other machines can reach")
        }
        logger.notice("admin listening on \(listening): /metrics /healthz /readyz /tree")
        return listening
    }

    public func shutdown() async {
        let bound = channel.withLock { channel in
            defer { channel = nil }
            return channel
        }
        try? await bound?.close()
    }

    /// The answer to a request for `endpoint`, made on `loop` with futures alone: no task, so a
    /// busy or blocked concurrency pool cannot hold the probes up.
    func answer(_ endpoint: AdminEndpoint, on loop: any EventLoop) -> EventLoopFuture<AdminAnswer> {
        switch endpoint {
        case .healthz:
            return loop.makeSucceededFuture(AdminAnswer(.ok, "ok"))
        case .readyz:
            let readiness = Readiness(phase: proxy.phase, fileProblem: proxy.store.fileProblem?.description)
            return loop.makeSucceededFuture(
                AdminAnswer(readiness.ready ? .ok : .serviceUnavailable, readiness.text))
        case .tree:
            let body = Array((CommandJSON.text(TreeReport(proxy.store.tree)) + "\n").utf8)
            return loop.makeSucceededFuture(AdminAnswer(.ok, contentType: "application/json", body: body))
        case .metrics:
            return proxy.counts(on: loop).map { [hub, metrics] counts in
                let gathered = ProxyMetrics.Gathered(
                    proxy: counts, feedSubscribers: hub?.subscriberCount ?? 0,
                    feedDropped: hub?.droppedEvents ?? 0)
                return AdminAnswer(
                    .ok, contentType: "text/plain; version=0.0.4; charset=utf-8",
                    body: metrics.exposition(gathered))
            }
        }
    }
}

/// One admin connection: reads a request, answers it, and keeps the connection if the client
/// asked to (`HTTPServerPipelineHandler` holds pipelined requests back until each answer is out).
final class AdminHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: AdminServer
    private var head: HTTPRequestHead?

    init(server: AdminServer) {
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            head = request
        case .body:
            break
        case .end:
            guard let request = head else { return }
            head = nil
            let chosen = AdminEndpoint.choose(request, token: server.settings.token)
            let loop = context.eventLoop
            let bound = NIOLoopBound((handler: self, context: context), eventLoop: loop)
            let answering: EventLoopFuture<AdminAnswer>
            switch chosen {
            case .success(let endpoint):
                answering = server.answer(endpoint, on: loop)
            case .failure(let refusal):
                answering = loop.makeSucceededFuture(refusal)
            }
            answering.whenSuccess { answer in
                bound.value.handler.write(answer, to: request, bound.value.context)
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func write(_ answer: AdminAnswer, to request: HTTPRequestHead, _ context: ChannelHandlerContext) {
        // The client may have gone while the answer was made.
        guard context.channel.isActive else { return }
        var headers = answer.headers
        headers.add(name: "content-length", value: String(answer.body.count))
        if !request.isKeepAlive { headers.add(name: "connection", value: "close") }
        let head = HTTPResponseHead(version: request.version, status: answer.status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if request.method != .HEAD {
            var body = context.channel.allocator.buffer(capacity: answer.body.count)
            body.writeBytes(answer.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !request.isKeepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
