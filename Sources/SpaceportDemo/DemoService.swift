import NIOCore
import NIOHTTP1
import NIOPosix
import SpaceportCore
import Synchronization

/// A small HTTP service standing in for one instance: it says who answered, and calls
/// the next service through its space's egress proxy, passing on the route header, baggage
/// and traceparent (or less: `forwarding`), as an instrumented app does.
public final class DemoService: Sendable {
    public let service: String
    public let space: String
    /// The service this one calls, if any.
    public let calls: String?
    let routeHeader: String
    let group: any EventLoopGroup
    let state = Mutex<(channel: (any Channel)?, proxy: Address?, forwarding: DemoForwarding)>(
        (nil, nil, .everything))

    public init(
        service: String, space: String, calls: String?, routeHeader: String, group: any EventLoopGroup
    ) {
        self.service = service
        self.space = space
        self.calls = calls
        self.routeHeader = routeHeader
        self.group = group
    }

    /// Where calls to `calls` go: this instance's egress listener, or the ingress.
    public func callThrough(_ proxy: Address) {
        state.withLock { $0.proxy = proxy }
    }

    /// What the service passes on when it calls the next one.
    public var forwarding: DemoForwarding {
        get { state.withLock { $0.forwarding } }
        set { state.withLock { $0.forwarding = newValue } }
    }

    /// `service@space`, as `x-spaceport-route` names it.
    public var label: String { Route.label(service: service, space: space) }

    /// Binds `preferred` when it is free, else any free loopback port; returns the address.
    public func start(preferredPort: Int) async throws -> Address {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(Handler(owner: self))
                }
            }
        let channel = try await bootstrap.bindLoopback(preferring: preferredPort)
        state.withLock { $0.channel = channel }
        return Address(host: "127.0.0.1", port: channel.localAddress?.port ?? preferredPort)
    }

    public func stop() async {
        let channel = state.withLock { $0.channel }
        try? await channel?.close()
    }

    /// The answer's text: this instance, then what the called service said, indented.
    func answer(_ incoming: HTTPHeaders) -> EventLoopFuture<String> {
        let line = "\(label) answered (route-as: \(incoming.first(name: routeHeader) ?? "none"))\n"
        let loop = group.next()
        let (proxy, forwarding) = state.withLock { ($0.proxy, $0.forwarding) }
        guard let calls, let proxy else {
            return loop.makeSucceededFuture(line)
        }
        let headers = forwarding.fields(from: incoming, routeHeader: routeHeader)
        return DemoHTTPClient.get(proxy, host: calls, headers: headers, group: group)
            .map { response in
                let nested = response.body.split(separator: "\n").map { "  \($0)" }.joined(separator: "\n")
                return line + "  → \(calls): \(response.status)\n" + nested + "\n"
            }
            .recover { error in line + "  → \(calls) failed: \(error)\n" }
    }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let owner: DemoService
        var head: HTTPRequestHead?

        init(owner: DemoService) { self.owner = owner }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): self.head = head
            case .body: break
            case .end:
                guard let head else { return }
                self.head = nil
                let channel = context.channel
                let keepAlive = head.isKeepAlive
                owner.answer(head.headers).whenSuccess { text in
                    var response = HTTPResponseHead(version: head.version, status: .ok)
                    response.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
                    response.headers.add(name: "Content-Length", value: String(text.utf8.count))
                    if !keepAlive { response.headers.add(name: "Connection", value: "close") }
                    channel.write(HTTPServerResponsePart.head(response), promise: nil)
                    channel.write(
                        HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: text))), promise: nil)
                    let done = channel.writeAndFlush(HTTPServerResponsePart.end(nil))
                    if !keepAlive { done.whenComplete { _ in channel.close(promise: nil) } }
                }
            }
        }
    }
}
