import NIOCore
import NIOHTTP1
import SpaceportCore

/// Routes each request head by the routing rules (docs/routing.md) against the live tree:
/// the head goes on inside its `Exchange`, forwarded to an upstream or refused (400 for a bad
/// request or route-as, 404 for no route, 508 for a loop, 501 for CONNECT). A head the decoder
/// could not read becomes a refused exchange too, so one handler, the exchange handler behind
/// this one, writes every answer. Body parts and ends pass as they are.
final class RouteHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ClientRequestPart
    typealias InboundOut = ProxyRequestPart

    private let info: ConnectionInfo
    /// A request's head has come and its end has not: a syntax error now is in its body.
    private var inRequest = false
    /// Where the request being read is kept for replay, for its body.
    private var keeping: KeptRequests.Ticket?

    init(_ info: ConnectionInfo) {
        self.info = info
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            inRequest = !head.isWhole
            let exchange = route(head)
            keeping = info.loop.kept.keep(hop: exchange.hop.id, head: head, limits: info.limits)
            if exchange.forwarding != nil { exchange.hop.start() }
            context.fireChannelRead(wrapInboundOut(.head(exchange)))
        case .body(let buffer):
            if let keeping { info.loop.kept.body(buffer, for: keeping) }
            context.fireChannelRead(wrapInboundOut(.body(buffer)))
        case .end(let trailers):
            inRequest = false
            keeping = nil
            context.fireChannelRead(wrapInboundOut(.end(trailers)))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let syntaxError = error as? HTTPSyntaxError, !inRequest else {
            context.fireErrorCaught(error)
            return
        }
        // No head could be read: the refusal is an exchange of its own, with no request to speak of.
        inRequest = true
        let hop = info.reporter.begin(flow: nil, method: nil, host: nil, path: nil)
        context.fireChannelRead(wrapInboundOut(.head(Exchange(unreadable: syntaxError.answer, hop: hop))))
    }

    private func route(_ head: ClientHead) -> Exchange {
        let plan = info.loop.carriers
        let uri = head.uri
        let target = RequestTarget(uri, isConnect: head.method == .CONNECT)
        let fields = RoutingFields(head, plan: plan)
        let host = target?.authority ?? fields.host
        // A request's trace names its flow when it has one, so every hop of a trace is one flow.
        let trace = fields.traceID
        let hop = info.reporter.begin(
            flow: trace?.description ?? fields.requestID, method: head.method.rawValue, host: host,
            path: target == nil ? uri : target?.path)
        if case .ingress = info.role,
            let original = info.loop.replays.claim(ip: info.clientIP, port: info.clientPort)
        {
            hop.replays(original)
        }
        func refusal(_ status: HTTPResponseStatus, _ message: String) -> Exchange {
            Exchange(head: head, hop: hop, routing: .refuse(ErrorAnswer(status, message)))
        }
        if let answer = head.framingProblem {
            return Exchange(head: head, hop: hop, routing: .refuse(answer))
        }
        guard let target else {
            return refusal(
                .badRequest,
                "the request target '\(Printable.clip(uri))' is neither a path nor an http:// URL")
        }
        if target == .asterisk && head.method != .OPTIONS {
            return refusal(
                .badRequest, "the request target '*' is for OPTIONS only, not \(head.method.rawValue)")
        }
        if case .authority = target {
            return refusal(
                .notImplemented, "CONNECT is not supported; send plain http:// requests through Spaceport")
        }
        if ForwardedHeaders.timesThrough(head, via: info.reporter.proxy) >= ForwardedHeaders.maxPassesThrough
        {
            return refusal(
                .loopDetected,
                "the request has passed through \(info.reporter.proxy) \(ForwardedHeaders.maxPassesThrough) times; an upstream probably points back at the proxy"
            )
        }
        let context: RouteContext
        do {
            context = try Self.resolve(fields, host: host, trace: trace, info, hop)
        } catch {
            return Exchange(head: head, hop: hop, routing: .refuse(error))
        }
        let known = context.known
        let bridge = context.bridge
        guard let upstream = known.upstream, let label = known.label else {
            return refusal(.notFound, Unserved(known.route, in: info.loop.tree).description)
        }
        if head.isUpgrade && head.upgradesToWebSocket { hop.setProtocol(.websocket) }
        let forwarding = Forwarding(
            target: target, host: host, route: known, bridge: bridge, upstream: upstream, routeLabel: label)
        return Exchange(head: head, hop: hop, routing: .forward(forwarding))
    }

    /// Routes a request by the rules (docs/routing.md) as the listener it came to sees it, for
    /// HTTP/1 requests and HTTP/2 streams alike: an instance's own listeners route as its space
    /// when nothing else names one, and at its `listen` address the service is the instance's
    /// whatever the Host says. Records the route and its context on the hop.
    static func resolve(
        _ fields: RoutingFields, host: String?, trace: TraceID?, _ info: ConnectionInfo, _ hop: Hop
    ) throws(ErrorAnswer) -> RouteContext {
        let loop = info.loop
        let plan = loop.carriers
        let propagation = plan.propagation
        var routedHost = host
        var callerSpace: String?
        var caller: InstanceRef?
        switch info.role {
        case .ingress: break
        case .egress(let instance):
            callerSpace = instance.space
            caller = instance
        case .listen(let instance):
            routedHost = instance.service
            callerSpace = instance.space
        }
        // One clock read for trace memory's look-up and its remembering, none without a trace.
        let now = trace == nil ? NIODeadline.distantPast : .now()
        let context = try RouteContext(
            fields: fields, host: routedHost, caller: callerSpace, trace: trace, plan: plan,
            remembered: { loop.traces.space(of: $0, propagation, now: now) }, route: loop.route)
        let known = context.known
        hop.routed(known)
        if let trace, known.route.routeAsSource != .default {
            // Seen again, a trace is remembered afresh: its memory lasts from its last request.
            loop.traces.remember(trace, as: known.route.routeAs, propagation, now: now)
        }
        hop.propagated(
            HopContext(
                traceID: trace, conflicts: context.carried.conflicts, bridge: context.bridge,
                mark: context.mark(from: caller, expected: loop.inFlight.expected(from:))))
        return context
    }
}
