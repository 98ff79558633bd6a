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
        let routeHeaderName = info.loop.routeHeader
        let uri = head.uri
        let target = RequestTarget(uri, isConnect: head.method == .CONNECT)
        let fields = RoutingFields(head, routeHeader: routeHeaderName)
        let host = target?.authority ?? fields.host
        let hop = info.reporter.begin(
            flow: fields.requestID, method: head.method.rawValue, host: host,
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
                "the request carries \(routeHeaderName) \(fields.routeCount) times; send one value")
        }
        let request: RouteRequest
        switch info.role {
        case .ingress:
            request = RouteRequest(host: host, routeHeaderValue: fields.routeValue)
        case .egress(let caller):
            request = RouteRequest(host: host, routeHeaderValue: fields.routeValue, caller: caller.space)
        case .listen(let instance):
            request = RouteRequest(
                host: instance.service, routeHeaderValue: fields.routeValue, caller: instance.space)
        }
        let known: KnownRoute
        do {
            known = try info.loop.route(request)
        } catch {
            return refusal(HTTPResponseStatus(statusCode: error.status), error.description)
        }
        hop.routed(known)
        guard let upstream = known.upstream, let label = known.label else {
            return refusal(.notFound, Unserved(known.route, in: info.loop.tree).description)
        }
        if head.isUpgrade && head.upgradesToWebSocket { hop.setProtocol(.websocket) }
        let forwarding = Forwarding(
            target: target, host: host, route: known, routeHeaderName: routeHeaderName,
            carriesRouteHeader: fields.routeCount > 0, upstream: upstream, routeLabel: label)
        return Exchange(head: head, hop: hop, routing: .forward(forwarding))
    }
}

/// What routing reads from a head, found in one pass over its fields.
struct RoutingFields {
    var host: String?
    var hostCount = 0
    var routeValue: String?
    var routeCount = 0
    /// The route header came more than once with different values.
    var routeValuesDiffer = false
    /// The first `x-request-id`: the flow the hop belongs to.
    var requestID: String?

    init(_ head: ClientHead, routeHeader: String) {
        let routeHeaderLength = routeHeader.utf8.count
        head.bytes.withUnsafeReadableBytes { raw in
            for field in head.fields {
                switch field.kind {
                case .host:
                    hostCount += 1
                    if host == nil { host = String(decoding: raw[field.value], as: UTF8.self) }
                case .requestID:
                    if requestID == nil { requestID = String(decoding: raw[field.value], as: UTF8.self) }
                case .other, .named:
                    guard field.name.count == routeHeaderLength,
                        Bytes.sameName(raw[field.name], routeHeader.utf8)
                    else { continue }
                    routeCount += 1
                    if let first = routeValue {
                        if !first.utf8.elementsEqual(raw[field.value]) { routeValuesDiffer = true }
                    } else {
                        routeValue = String(decoding: raw[field.value], as: UTF8.self)
                    }
                default:
                    continue
                }
            }
        }
    }
}
