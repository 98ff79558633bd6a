import NIOCore
import NIOHTTP1
import SpaceportCore

/// Where a routed request goes and how the forwarded request is written: what the router
/// worked out from its head. A class: the exchange handler reads it at every step of the
/// exchange, and a struct of this many references would be copied, retained and released each time.
final class Forwarding {
    let target: RequestTarget
    /// The Host, or the authority of an absolute URL.
    let host: String?
    let route: KnownRoute
    /// The route carriers the forwarded request gains.
    let bridge: CarrierBridge
    let upstream: Address
    /// `<service>@<space>`, for `x-spaceport-route`.
    let routeLabel: String

    init(
        target: RequestTarget, host: String?, route: KnownRoute, bridge: CarrierBridge, upstream: Address,
        routeLabel: String
    ) {
        self.target = target
        self.host = host
        self.route = route
        self.bridge = bridge
        self.upstream = upstream
        self.routeLabel = routeLabel
    }
}

/// One request and its response: its head (nil when the head itself could not be read), its
/// hop, where it goes or why it is refused, and the state machine that decides the rest. A
/// class, made by the router and handed down the pipeline: one object and one reference a
/// request.
final class Exchange {
    enum Routing {
        case forward(Forwarding)
        case refuse(ErrorAnswer)
    }

    let head: ClientHead?
    let hop: Hop
    let routing: Routing
    var machine: ExchangeStateMachine
    /// Counted among the requests its instance is serving, until the exchange ends.
    var serving: (instance: InstanceRef, routeAs: String)?

    init(head: ClientHead, hop: Hop, routing: Routing) {
        self.head = head
        self.hop = hop
        self.routing = routing
        machine = ExchangeStateMachine(Self.facts(head))
    }

    /// A request whose head could not be read: it is answered `answer` and the connection ends.
    init(unreadable answer: ErrorAnswer, hop: Hop) {
        head = nil
        self.hop = hop
        routing = .refuse(answer)
        machine = ExchangeStateMachine(.unreadable)
    }

    var forwarding: Forwarding? {
        if case .forward(let forwarding) = routing { return forwarding }
        return nil
    }

    var version: HTTPVersion { head?.version ?? .http1_1 }
    var method: HTTPMethod { head?.method ?? .GET }
    /// The answer to a HEAD or a CONNECT has no body.
    var answersBodiless: Bool { method == .HEAD || method == .CONNECT }

    private static func facts(_ head: ClientHead) -> ExchangeStateMachine.Request {
        ExchangeStateMachine.Request(
            method: head.method, isWhole: head.isWhole, keepAlive: head.keepAlive,
            isHTTP11: head.version.isAtLeast11, isUpgrade: head.isUpgrade,
            expectsContinue: head.expectsContinue,
            endsReading: head.isUpgrade || head.method == .CONNECT || !head.keepAlive
                || head.framingProblem != nil)
    }
}

/// The parts of a request as the exchange handler receives them.
enum ProxyRequestPart {
    case head(Exchange)
    case body(ByteBuffer)
    case end(HTTPHeaders?)
}

extension HTTPVersion {
    /// HTTP/1.1 or later: interim responses, chunked bodies and keep-alive by default.
    var isAtLeast11: Bool { major > 1 || (major == 1 && minor >= 1) }
}
