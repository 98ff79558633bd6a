import NIOCore
import NIOHTTP1
import SpaceportCore

/// A request as routed: the head the client sent, where it goes and how that was decided.
/// Kept inside its `Exchange`, which the router makes and hands down the pipeline: one
/// object, and one reference to pass, for the request and its progress.
struct RoutedRequest {
    let head: ClientHead
    let target: RequestTarget
    /// The Host, or the authority of an absolute URL.
    let host: String?
    let route: KnownRoute
    let routeHeader: String
    let upstream: Address
    /// `<service>@<space>`, for `x-spaceport-route`.
    let routeLabel: String
    /// The client sent the route header itself, so the forwarded request keeps it as sent.
    let carriesRouteHeader: Bool
    let hop: Hop

    init(
        head: ClientHead, target: RequestTarget, host: String?, route: KnownRoute, routeHeader: String,
        carriesRouteHeader: Bool, upstream: Address, routeLabel: String, hop: Hop
    ) {
        self.head = head
        self.target = target
        self.host = host
        self.route = route
        self.routeHeader = routeHeader
        self.upstream = upstream
        self.routeLabel = routeLabel
        self.carriesRouteHeader = carriesRouteHeader
        self.hop = hop
    }

    var method: HTTPMethod { head.method }
    var clientVersion: HTTPVersion { head.version }
    var clientKeepAlive: Bool { head.keepAlive }
    var isUpgrade: Bool { head.isUpgrade }
}

/// The parts of a routed request, as the forwarder receives them.
enum ProxyRequestPart {
    case head(Exchange)
    case body(ByteBuffer)
    case end(HTTPHeaders?)
}

/// Routes each request head by the rules (DESIGN.md 1–4) against the live tree, and
/// answers what cannot be routed itself: a bad request (400), no route (404), a request
/// the decoder rejected (400, or 431 for headers past the limits).
final class RouteHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ClientRequestPart
    typealias InboundOut = ProxyRequestPart

    private enum State {
        case idle
        case forwarding
        /// Answered already; the rest of the request is read and dropped.
        case refusing
        case closing
    }

    private var state = State.idle
    private let info: ConnectionInfo
    private let headGuard: HeadGuard
    private let sequencer: RequestSequencer

    init(_ info: ConnectionInfo, headGuard: HeadGuard, sequencer: RequestSequencer) {
        self.info = info
        self.headGuard = headGuard
        self.sequencer = sequencer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .idle):
            headGuard.note(.headReceived)
            switch route(head) {
            case .routed(let routed):
                // A whole request is read once its head is: settled before the forwarder begins,
                // since the next request may come in before that call returns (an answer given
                // at once lets the sequencer hand it on).
                if head.isWhole {
                    state = .idle
                    headGuard.note(.requestRead)
                } else {
                    state = .forwarding
                }
                routed.hop.start()
                context.fireChannelRead(wrapInboundOut(.head(routed)))
            case .refused(let refusal):
                refuse(refusal, head: head, context)
            }
        case (.body(let buffer), .forwarding):
            context.fireChannelRead(wrapInboundOut(.body(buffer)))
        case (.end(let trailers), .forwarding):
            state = .idle
            headGuard.note(.requestRead)
            context.fireChannelRead(wrapInboundOut(.end(trailers)))
        case (.end, .refusing):
            state = .idle
            headGuard.note(.exchangeDone)
        case (.body, .refusing), (_, .closing):
            break
        case (.head, _), (.body, .idle), (.end, .idle):
            state = .closing
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        guard let syntaxError = error as? RequestSyntaxError else {
            context.fireErrorCaught(error)
            return
        }
        switch state {
        case .forwarding:
            context.fireErrorCaught(error)
        case .refusing:
            state = .closing
            context.close(promise: nil)
        case .closing:
            break
        case .idle:
            state = .closing
            headGuard.note(.headReceived)
            let answer = syntaxError.answer
            let hop = info.reporter.begin(flow: nil, method: nil, host: nil, path: nil)
            hop.refuse(answer)
            context.writeAnswer(
                answer, version: .http1_1, route: nil, close: true, bodiless: false, sequencer: sequencer)
        }
    }

    private enum Routing {
        case routed(Exchange)
        case refused(Refusal)
    }

    private struct Refusal {
        var answer: ErrorAnswer
        var hop: Hop
        /// The request's framing is in doubt, so nothing after it on the connection can be trusted.
        var framing = false
    }

    private func refuse(_ refusal: Refusal, head: ClientHead, _ context: ChannelHandlerContext) {
        let hop = refusal.hop
        let label = hop.routeLabel
        hop.refuse(refusal.answer)
        // After an upgrade or a CONNECT the decoder reads no further requests on this connection;
        // a client told no before its body may never send it, so its next bytes would be misread.
        let close =
            !head.keepAlive || head.isUpgrade || head.method == .CONNECT
            || refusal.framing || head.expectsContinue || sequencer.isDraining
        if close {
            state = .closing
        } else if head.isWhole {
            // Nothing of it is left to read and drop; settled before the answer lets the next request in.
            state = .idle
            headGuard.note(.exchangeDone)
        } else {
            state = .refusing
        }
        context.writeAnswer(
            refusal.answer, version: head.version, route: label, close: close,
            bodiless: head.method == .HEAD || head.method == .CONNECT, sequencer: sequencer)
    }

    private func route(_ head: ClientHead) -> Routing {
        let routeHeader = info.loop.routeHeader
        let uri = head.uri
        let target = RequestTarget(uri, isConnect: head.method == .CONNECT)
        let fields = RoutingFields(head, routeHeader: routeHeader)
        let host = target?.authority ?? fields.host
        let hop = info.reporter.begin(
            flow: fields.requestID, method: head.method.rawValue, host: host,
            path: target == nil ? uri : target?.path)
        func refusal(_ status: HTTPResponseStatus, _ message: String) -> Routing {
            .refused(Refusal(answer: ErrorAnswer(status, message), hop: hop))
        }
        if let answer = head.framingProblem {
            return .refused(Refusal(answer: answer, hop: hop, framing: true))
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
                "the request carries \(routeHeader) \(fields.routeCount) times; send one value")
        }
        let request: RouteRequest
        switch info.role {
        case .ingress:
            request = RouteRequest(host: host, routeHeader: fields.routeValue)
        case .egress(let caller):
            request = RouteRequest(host: host, routeHeader: fields.routeValue, caller: caller.space)
        case .listen(let instance):
            request = RouteRequest(
                host: instance.service, routeHeader: fields.routeValue, caller: instance.space)
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
        return .routed(
            Exchange(
                RoutedRequest(
                    head: head, target: target, host: host, route: known, routeHeader: routeHeader,
                    carriesRouteHeader: fields.routeCount > 0, upstream: upstream, routeLabel: label, hop: hop
                )))
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
