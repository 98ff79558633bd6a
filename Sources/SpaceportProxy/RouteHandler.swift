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

    init(_ info: ConnectionInfo) {
        self.info = info
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            inRequest = !head.isWhole
            let exchange = route(head)
            if exchange.forwarding != nil { exchange.hop.start() }
            context.fireChannelRead(wrapInboundOut(.head(exchange)))
        case .body(let buffer):
            context.fireChannelRead(wrapInboundOut(.body(buffer)))
        case .end(let trailers):
            inRequest = false
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
        let trace = fields.traceparent.isEmpty ? nil : TraceParent(fields: fields.traceparent)?.traceID
        let hop = info.reporter.begin(
            flow: trace?.description ?? fields.requestID, method: head.method.rawValue, host: host,
            path: target == nil ? uri : target?.path)
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
        if fields.hostCount > 1 {
            return refusal(.badRequest, "the request has \(fields.hostCount) Host headers; send one")
        }
        if fields.routeValuesDiffer {
            return refusal(
                .badRequest,
                "the request carries \(plan.routeHeader) \(fields.routeCount) times; send one value")
        }
        let carried: Carried
        do {
            carried = try Carried(fields, plan)
        } catch {
            return refusal(.badRequest, error.description)
        }
        let propagation = plan.propagation
        // Trace memory is asked only when no carrier came: a carrier always decides first.
        let remembered =
            carried.route == nil ? trace.flatMap { info.loop.traces.space(of: $0, propagation) } : nil
        let request: RouteRequest
        switch info.role {
        case .ingress:
            request = RouteRequest(host: host, carried: carried.route, traceRouteAs: remembered)
        case .egress(let caller):
            request = RouteRequest(
                host: host, carried: carried.route, traceRouteAs: remembered, caller: caller.space)
        case .listen(let instance):
            request = RouteRequest(
                host: instance.service, carried: carried.route, traceRouteAs: remembered,
                caller: instance.space)
        }
        let known: KnownRoute
        do {
            known = try info.loop.route(request)
        } catch {
            return refusal(HTTPResponseStatus(statusCode: error.status), error.description)
        }
        hop.routed(known)
        let route = known.route
        if let trace, route.routeAsSource != .default {
            // Seen again, a trace is remembered afresh: its memory lasts from its last request.
            info.loop.traces.remember(trace, as: route.routeAs, propagation)
        }
        let bridge = CarrierBridge(fields: fields, baggage: carried.baggage, known: known, plan: plan)
        hop.propagated(
            HopContext(
                traceID: trace, conflicts: carried.conflicts, bridge: bridge,
                mark: mark(route, carried: carried, bridge: bridge)))
        guard let upstream = known.upstream, let label = known.label else {
            return refusal(.notFound, Unserved(route, in: info.loop.tree).description)
        }
        if head.isUpgrade && head.upgradesToWebSocket { hop.setProtocol(.websocket) }
        let forwarding = Forwarding(
            target: target, host: host, route: known, bridge: bridge, upstream: upstream, routeLabel: label)
        return Exchange(head: head, hop: hop, routing: .forward(forwarding))
    }

    /// What became of the request's route context (docs/routing.md, "Carrying the route"):
    /// restored by trace memory; kept or bridged when a carrier came; lost when none came while
    /// the calling instance was serving requests routed as another space; else unknown.
    private func mark(_ route: Route, carried: Carried, bridge: CarrierBridge) -> HopContext.Mark? {
        if route.routeAsSource == .trace { return .restored }
        if carried.arrived { return bridge.addsCarriers ? .bridged : .kept }
        guard case .egress(let caller) = info.role, route.routeAsSource != .host,
            let expected = info.loop.inFlight.expected(from: caller), expected != route.routeAs
        else { return nil }
        return .lost(by: caller, expected: expected)
    }
}

/// The carriers a request came with: the route-as they decided and the ones that disagreed.
struct Carried {
    var route: CarriedRouteAs?
    var conflicts: [HopConflict] = []
    var baggage: Baggage?
    /// Some carrier came with the request, whichever decided.
    var arrived: Bool

    /// Nearly every request carries the route header alone, or nothing: those take no list.
    init(_ fields: RoutingFields, _ plan: CarrierPlan) throws(RouteCarrierError) {
        baggage = fields.baggage.isEmpty ? nil : Baggage(fields: fields.baggage)
        guard !fields.otherCarriers.isEmpty || baggage != nil else {
            route = fields.routeValue.map { CarriedRouteAs($0, carrier: .header(plan.routeHeader)) }
            arrived = route != nil
            return
        }
        let decision = try plan.carriers.decide(
            header: { fields.value(of: $0, plan) }, baggage: baggage ?? Baggage())
        route = decision.map { CarriedRouteAs($0.value, carrier: $0.carrier) }
        conflicts =
            decision?.conflicts.map {
                HopConflict(carrier: $0.carrier.description, value: Printable.clip($0.value))
            } ?? []
        arrived = decision != nil
    }
}
