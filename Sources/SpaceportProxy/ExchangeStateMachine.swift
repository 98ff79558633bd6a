import NIOCore
import NIOHTTP1
import SpaceportCore

/// One request and its response through the proxy, as a pure state machine: fed what happens
/// (the request's parts, the upstream's connection and response, failures, time), it answers
/// with what to do. Every decision of an exchange lives here: when to connect, when a request
/// goes again on a new connection, what the proxy answers itself, whether the client's
/// connection and the upstream's outlive the exchange, and how the response is framed for the
/// client. `ExchangeHandler` does the I/O each action names. An HTTP/2 stream is the same
/// request-and-response pair, so it can drive the same machine.
struct ExchangeStateMachine {
    /// What the machine knows of the request, fixed when its head is read.
    struct Request: Equatable {
        var method: HTTPMethod
        /// No body follows the head.
        var isWhole: Bool
        /// The client keeps its connection after this exchange (HTTP/1.1 unless it says close).
        var keepAlive: Bool
        /// The client speaks HTTP/1.1: interim answers and chunked bodies can reach it.
        var isHTTP11: Bool
        var isUpgrade: Bool
        /// The client waits for 100 Continue before its body, and may never send it once it
        /// has a final answer instead.
        var expectsContinue: Bool
        /// The decoder reads nothing after this request: it was an upgrade or a CONNECT, said
        /// close, or its framing is in doubt.
        var endsReading: Bool

        /// What a request the decoder could not read at all is taken for.
        static let unreadable = Request(
            method: .GET, isWhole: false, keepAlive: false, isHTTP11: true, isUpgrade: false,
            expectsContinue: false, endsReading: true)
    }

    /// What becomes of the upstream connection when an exchange is over.
    enum UpstreamDisposal: Equatable {
        /// It goes back to the pool for the next request.
        case release
        case close
        /// There is none, or it has gone already.
        case none
    }

    /// What becomes of the client's connection when an exchange is over.
    enum ClientDisposal: Equatable {
        /// It waits for the next request.
        case keepAlive
        /// It takes no more requests, but the rest of this one is still to be read and dropped:
        /// the answer has gone, the exchange ends with the request.
        case keepAliveAfterRequest
        /// It closes once what was written has gone.
        case close
        /// The client may still be sending: it closes after a while of reading and dropping
        /// what still comes, so that the answer reaches it instead of a reset.
        case closeLingering
    }

    /// How an exchange ends: the status its hop records, the response's last bytes, and what
    /// becomes of both connections.
    struct Finish: Equatable {
        var status: Int?
        /// The response's end still has to be written: the last chunk (and these trailers) when
        /// it went in chunks, nothing otherwise.
        var writeEnd: Bool
        var trailers: HTTPHeaders?
        var upstream: UpstreamDisposal
        var client: ClientDisposal
    }

    enum Action {
        case none
        /// Get a connection to the upstream: an idle one if `reuse`, else a new one. After a
        /// retry, the old connection is closed first.
        case connect(reuse: Bool)
        /// Write the request's head, then the parts read while connecting, and flush.
        case sendRequest(parts: [RequestBodyPart])
        case sendPart(RequestBodyPart)
        /// The request's end goes upstream, and the response had ended already.
        case sendEndAndFinish(HTTPHeaders?, Finish)
        /// An interim answer (100 Continue, 103 Early Hints) for the client.
        case relayInterim(UpstreamHead)
        /// The final head for the client: its body in chunks (`chunked`), the connection
        /// closing after it (`close`), or switching protocols.
        case relayHead(UpstreamHead, chunked: Bool, close: Bool, switching: Bool)
        case relayBody(ByteBuffer, chunked: Bool)
        /// The response has ended before the request did: its end goes to the client now, the
        /// rest of the request still goes upstream.
        case endResponse(HTTPHeaders?, chunked: Bool)
        /// Both ends have passed.
        case finish(Finish)
        /// The proxy answers itself; the upstream connection, if any, is closed.
        case answer(ErrorAnswer, Finish)
        /// Nothing can be answered any more (the response has started, or the client went):
        /// both connections close, and the hop ends with this reason and the status the
        /// response had, if it had begun.
        case abort(String, status: Int?)
        /// The 101's end has gone to the client: from here the bytes flow raw both ways.
        case joinTunnel(status: Int)
        /// The rest of a refused request has been read and dropped: the exchange is over.
        case requestDropped
    }

    private enum Response: Equatable {
        case awaitingHead
        case streaming(status: Int, chunked: Bool, switching: Bool)
        /// It ended before the request did (an early answer); its end has gone to the client.
        case ended(status: Int)

        var status: Int? {
            switch self {
            case .awaitingHead: return nil
            case .streaming(let status, _, _), .ended(let status): return status
            }
        }
    }

    private enum State: Equatable {
        case idle
        /// Waiting for a connection; `pending`: parts read meanwhile.
        case connecting(attempt: Int, pending: [RequestBodyPart])
        case forwarding(attempt: Int, reused: Bool, response: Response)
        /// Answered by the proxy; the rest of the request is read and dropped.
        case refusing
        case tunnelling
        case done
    }

    private var state = State.idle
    let request: Request
    /// The client's request has been read to its end.
    private(set) var requestRead: Bool
    /// Body bytes went upstream: a request with a body is never sent twice.
    private var sentBody = false
    /// The client's connection ends with this exchange, whatever else is decided.
    private var clientCloses: Bool
    /// The upstream connection may take another request after this response.
    private var upstreamReusable = false
    private var draining = false

    init(_ request: Request) {
        self.request = request
        requestRead = request.isWhole
        clientCloses = !request.keepAlive
    }

    var isDone: Bool { state == .done }
    var isTunnelling: Bool { state == .tunnelling }

    /// The response has begun on the client's side: the proxy can no longer answer instead.
    var responseStarted: Bool {
        if case .forwarding(_, _, let response) = state { return response != .awaitingHead }
        return false
    }

    /// Waiting for a connection: the client's bytes have nowhere to go yet.
    var isConnecting: Bool {
        if case .connecting = state { return true }
        return false
    }

    /// Waiting for a connection while the client may still send bytes of this exchange (its
    /// body, or what follows an upgrade), which have nowhere to go yet. A request read whole
    /// waits without holding the client's reads: what follows is the next request, which the
    /// sequencer holds, and holding them cost two `epoll_ctl` calls a request in the pool's queue.
    var awaitsConnectionForBytes: Bool {
        isConnecting && (!requestRead || request.endsReading)
    }

    // MARK: - The request

    /// The request was routed to an upstream.
    mutating func forward() -> Action {
        guard state == .idle else { return .none }
        state = .connecting(attempt: 1, pending: [])
        return .connect(reuse: true)
    }

    /// The request is refused with `answer` before it reaches an upstream.
    mutating func refuse(_ answer: ErrorAnswer) -> Action {
        guard state == .idle else { return .none }
        return answerNow(answer, upstream: .none)
    }

    mutating func requestBody(_ buffer: ByteBuffer) -> Action {
        switch state {
        case .connecting(let attempt, var pending):
            pending.append(.body(buffer))
            state = .connecting(attempt: attempt, pending: pending)
            return .none
        case .forwarding:
            if buffer.readableBytes > 0 { sentBody = true }
            return .sendPart(.body(buffer))
        case .idle, .refusing, .tunnelling, .done:
            return .none
        }
    }

    mutating func requestEnd(_ trailers: HTTPHeaders?) -> Action {
        requestRead = true
        switch state {
        case .connecting(let attempt, var pending):
            pending.append(.end(trailers))
            state = .connecting(attempt: attempt, pending: pending)
            return .none
        case .forwarding(_, _, .ended(let status)):
            state = .done
            return .sendEndAndFinish(
                trailers,
                Finish(
                    status: status, writeEnd: false, trailers: nil, upstream: upstreamDisposal,
                    client: clientDisposal))
        case .forwarding:
            return .sendPart(.end(trailers))
        case .refusing:
            state = .done
            return .requestDropped
        case .idle, .tunnelling, .done:
            return .none
        }
    }

    // MARK: - The upstream connection

    mutating func connected(reused: Bool) -> Action {
        guard case .connecting(let attempt, let pending) = state else { return .none }
        state = .forwarding(attempt: attempt, reused: reused, response: .awaitingHead)
        if pending.contains(where: { if case .body(let part) = $0 { part.readableBytes > 0 } else { false } })
        {
            sentBody = true
        }
        return .sendRequest(parts: pending)
    }

    /// No connection could be had: refused, unreachable, too slow to accept, or the upstream
    /// has all the connections the limits allow.
    mutating func connectFailed(_ answer: ErrorAnswer) -> Action {
        guard case .connecting = state else { return .none }
        return answerNow(answer, upstream: .none)
    }

    // MARK: - The response

    mutating func upstreamHead(_ head: UpstreamHead, _ label: String, _ upstream: String) -> Action {
        guard case .forwarding(let attempt, let reused, .awaitingHead) = state else { return .none }
        if head.isInterim {
            // HTTP/1.0 clients cannot read interim answers.
            return request.isHTTP11 ? .relayInterim(head) : .none
        }
        guard head.status != 101 || request.isUpgrade else {
            return answerNow(
                ErrorAnswer(
                    .badGateway,
                    "\(label) at \(upstream) answered 101 Switching Protocols to a request that did not ask to switch"
                ),
                upstream: .close)
        }
        let switching = request.isUpgrade && head.status == 101
        let unknownLength = head.framing == .chunked || head.framing == .untilClose
        upstreamReusable = head.keepAlive && head.framing != .untilClose && !switching
        // After an upgrade request the decoder reads no further requests, so a refused upgrade ends the connection.
        if request.isUpgrade && !switching { clientCloses = true }
        // A body of unknown length ends with the connection for an HTTP/1.0 client.
        if unknownLength && !request.isHTTP11 { clientCloses = true }
        if !requestRead {
            // A client told no before it sent its body may never send it: its next bytes could be either.
            if request.expectsContinue { clientCloses = true }
            // A final answer before the request's end, from an upstream that will close: the
            // rest of the request has nowhere to go.
            if !head.keepAlive { clientCloses = true }
        }
        let chunked = unknownLength && request.isHTTP11 && !switching
        state = .forwarding(
            attempt: attempt, reused: reused,
            response: .streaming(status: head.status, chunked: chunked, switching: switching))
        return .relayHead(head, chunked: chunked, close: closesClient && !switching, switching: switching)
    }

    mutating func upstreamBody(_ buffer: ByteBuffer) -> Action {
        guard case .forwarding(_, _, .streaming(_, let chunked, _)) = state else { return .none }
        return .relayBody(buffer, chunked: chunked)
    }

    mutating func upstreamEnd(_ trailers: HTTPHeaders?) -> Action {
        guard
            case .forwarding(let attempt, let reused, .streaming(let status, let chunked, let switching)) =
                state
        else { return .none }
        if switching {
            state = .tunnelling
            return .joinTunnel(status: status)
        }
        if requestRead {
            state = .done
            return .finish(
                Finish(
                    status: status, writeEnd: chunked, trailers: trailers, upstream: upstreamDisposal,
                    client: clientDisposal))
        }
        // An early answer (a 413, say). Whether the upstream reads the rest of the request as
        // this request's body or as a new request cannot be known: its connection is not used again.
        upstreamReusable = false
        if closesClient {
            state = .done
            return .finish(
                Finish(
                    status: status, writeEnd: chunked, trailers: trailers, upstream: .close,
                    client: .closeLingering))
        }
        state = .forwarding(attempt: attempt, reused: reused, response: .ended(status: status))
        return .endResponse(trailers, chunked: chunked)
    }

    /// The upstream connection closed, or failed with `error`. `label` and `upstream` name it
    /// in an answer; `malformed`: it sent bytes that are not HTTP/1.1.
    mutating func upstreamClosed(_ problem: UpstreamProblem, _ label: String, _ upstream: String) -> Action {
        guard case .forwarding(let attempt, let reused, let response) = state else { return .none }
        upstreamReusable = false
        switch (problem, response) {
        case (.malformed(let error), .awaitingHead):
            // Bytes that are not HTTP/1.1: nothing more from this upstream can be trusted, nor retried.
            return answerNow(
                ErrorAnswer(
                    .badGateway,
                    "\(label) at \(upstream) answered with something that is not valid HTTP/1.1: \(error)"),
                upstream: .close)
        case (.malformed(let error), _):
            state = .done
            return .abort(
                "the upstream's response stopped being valid HTTP/1.1: \(error)", status: response.status)
        case (_, .awaitingHead)
        where attempt == 1 && reused && requestRead && !sentBody && Self.retriable(request.method):
            // A kept-alive connection the upstream closed just as the request went: it goes again, on a new one.
            state = .connecting(attempt: 2, pending: request.isWhole ? [] : [.end(nil)])
            return .connect(reuse: false)
        case (_, .awaitingHead):
            let detail = problem.reason.map { " (\($0))" } ?? ""
            return answerNow(
                ErrorAnswer(
                    .badGateway, "\(label) at \(upstream) closed the connection without answering\(detail)"),
                upstream: .close)
        case (_, .ended(let status)):
            // An early answer whose upstream went: the rest of the request has nowhere to go.
            state = .done
            return .finish(
                Finish(
                    status: status, writeEnd: false, trailers: nil, upstream: .close, client: .closeLingering)
            )
        case (_, .streaming(let status, _, _)):
            state = .done
            return .abort("the upstream closed the connection in the middle of the response", status: status)
        }
    }

    /// What became of an upstream connection that closed.
    enum UpstreamProblem {
        /// It closed, or failed at the socket (`reason` says how).
        case closed(reason: String?)
        /// It sent bytes that are not HTTP/1.1.
        case malformed(String)

        var reason: String? {
            if case .closed(let reason) = self { return reason }
            return nil
        }
    }

    /// Requests a proxy may send again (RFC 9110 §9.2.2): sending them twice does what once does.
    static func retriable(_ method: HTTPMethod) -> Bool {
        switch method {
        case .GET, .HEAD, .OPTIONS, .TRACE, .PUT, .DELETE: return true
        default: return false
        }
    }

    // MARK: - The client and time

    /// The client closed its sending side: its connection ends after this exchange.
    mutating func clientInputClosed() {
        clientCloses = true
    }

    /// The proxy is shutting down: the response says close, and the connection ends with it.
    mutating func drain() {
        draining = true
    }

    /// The client's bytes stopped being valid HTTP/1.1 in the middle of its request.
    mutating func clientError(_ error: HTTPSyntaxError) -> Action {
        switch state {
        case .connecting, .forwarding(_, _, .awaitingHead), .idle:
            clientCloses = true
            return answerNow(error.answer, upstream: isConnecting || state == .idle ? .none : .close)
        case .forwarding(_, _, let response):
            state = .done
            return .abort(
                "the client's request stopped being valid HTTP/1.1: \(error)", status: response.status)
        case .refusing:
            state = .done
            return .abort("the client's request stopped being valid HTTP/1.1: \(error)", status: nil)
        case .tunnelling, .done:
            return .none
        }
    }

    /// The client's connection has gone.
    mutating func clientClosed() -> Action {
        switch state {
        case .connecting:
            state = .done
            return .abort("the client closed the connection before the response was complete", status: nil)
        case .forwarding(_, _, let response):
            state = .done
            return .abort(
                "the client closed the connection before the response was complete", status: response.status)
        case .idle, .refusing, .tunnelling, .done:
            state = .done
            return .none
        }
    }

    /// Nothing moved for the upstream timeout. `upstreamWritable`: the upstream could take more
    /// of the request, so the client is the slow one. A refused request whose rest stops
    /// arriving ends its connection.
    mutating func timedOut(limits: Limits, upstreamWritable: Bool, _ label: String, _ upstream: String)
        -> Action
    {
        if state == .refusing {
            // The answer has gone; the connection was kept for the rest of the request, which stopped.
            state = .done
            return .abort(
                "the rest of the refused request stopped arriving: nothing came for \(limits.upstreamTimeoutMs) ms",
                status: nil)
        }
        guard case .forwarding(_, _, let response) = state else { return .none }
        if response != .awaitingHead {
            state = .done
            return .abort("no bytes moved for \(limits.upstreamTimeoutMs) ms", status: response.status)
        }
        if !requestRead && upstreamWritable {
            return answerNow(
                ErrorAnswer(
                    .requestTimeout,
                    "the request body stopped arriving: nothing came for \(limits.upstreamTimeoutMs) ms"),
                upstream: .close)
        }
        return answerNow(
            ErrorAnswer(
                .gatewayTimeout,
                "\(label) at \(upstream) did not answer within \(limits.upstreamTimeoutMs) ms"),
            upstream: .close)
    }

    // MARK: - Deciding

    /// The client's connection ends with this exchange.
    private var closesClient: Bool { clientCloses || draining }

    private var upstreamDisposal: UpstreamDisposal { upstreamReusable ? .release : .close }

    private var clientDisposal: ClientDisposal {
        if !closesClient { return .keepAlive }
        return requestRead ? .close : .closeLingering
    }

    /// The proxy's own answer, in place of a response that has not begun. A request whose
    /// rest can still be read keeps its connection and has that rest read and dropped;
    /// otherwise the connection ends, lingering while the client may still be sending.
    private mutating func answerNow(_ answer: ErrorAnswer, upstream: UpstreamDisposal) -> Action {
        if request.endsReading || (request.expectsContinue && !requestRead) { clientCloses = true }
        let status = Int(answer.status.code)
        let client: ClientDisposal
        if closesClient {
            client = requestRead ? .close : .closeLingering
            state = .done
        } else if requestRead {
            client = .keepAlive
            state = .done
        } else if state == .idle {
            // Refused before it was forwarded: the rest of the request is read and dropped.
            client = .keepAliveAfterRequest
            state = .refusing
        } else {
            // Part of the request went upstream and the rest cannot follow: the connection ends.
            clientCloses = true
            client = .closeLingering
            state = .done
        }
        return .answer(
            answer, Finish(status: status, writeEnd: false, trailers: nil, upstream: upstream, client: client)
        )
    }
}
