import NIOCore
import NIOHTTP1
import SpaceportCore
import Testing

@testable import SpaceportProxy

/// The exchange's decisions, with no sockets: each test feeds the machine what happens to
/// one request and checks what it says to do, as the handler would carry it out.
@Suite("The exchange state machine")
struct ExchangeStateMachineTests {
    typealias Machine = ExchangeStateMachine

    static func request(
        _ method: HTTPMethod = .GET, whole: Bool = true, keepAlive: Bool = true, http11: Bool = true,
        upgrade: Bool = false, expectsContinue: Bool = false
    ) -> Machine.Request {
        Machine.Request(
            method: method, isWhole: whole, keepAlive: keepAlive, isHTTP11: http11, isUpgrade: upgrade,
            expectsContinue: expectsContinue, endsReading: upgrade || !keepAlive)
    }

    static func head(_ text: String, answersHEAD: Bool = false) throws -> UpstreamHead {
        try UpstreamResponseParser.parseHead(ByteBuffer(string: text + "\r\n"), answersHEAD: answersHEAD)
    }

    static let ok = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n"
    static let chunkedOK = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n"
    static let label = "app@default"
    static let address = "127.0.0.1:1"

    /// A machine routed, connected and waiting for the response's head.
    static func sent(_ request: Machine.Request, reused: Bool = false) -> Machine {
        var machine = Machine(request)
        _ = machine.forward()
        _ = machine.connected(reused: reused)
        return machine
    }

    func finish(_ action: Machine.Action) -> Machine.Finish? {
        if case .finish(let finish) = action { return finish }
        return nil
    }

    func answer(_ action: Machine.Action) -> (status: Int, finish: Machine.Finish)? {
        if case .answer(let answer, let finish) = action { return (Int(answer.status.code), finish) }
        return nil
    }

    @Test("a whole GET connects, sends its head, relays the response and keeps both connections")
    func wholeRequest() throws {
        var machine = Machine(Self.request())
        guard case .connect(reuse: true) = machine.forward() else { throw Unexpected() }
        guard case .sendRequest(let parts) = machine.connected(reused: false), parts.isEmpty else {
            throw Unexpected()
        }
        guard
            case .relayHead(_, chunked: false, close: false, switching: false) =
                machine.upstreamHead(try Self.head(Self.ok), Self.label, Self.address)
        else { throw Unexpected() }
        guard case .relayBody(_, chunked: false) = machine.upstreamBody(ByteBuffer(string: "ok")) else {
            throw Unexpected()
        }
        let done = try #require(finish(machine.upstreamEnd(nil)))
        #expect(
            done
                == Machine.Finish(
                    status: 200, writeEnd: false, trailers: nil, upstream: .release, client: .keepAlive))
        #expect(machine.isDone)
    }

    @Test("parts read while connecting go with the head once the connection is made")
    func pendingParts() throws {
        var machine = Machine(Self.request(.POST, whole: false))
        _ = machine.forward()
        #expect(machine.isConnecting)
        guard case .none = machine.requestBody(ByteBuffer(string: "abc")) else { throw Unexpected() }
        guard case .none = machine.requestEnd(nil) else { throw Unexpected() }
        guard case .sendRequest(let parts) = machine.connected(reused: true) else { throw Unexpected() }
        #expect(parts == [.body(ByteBuffer(string: "abc")), .end(nil)])
        _ = machine.upstreamHead(try Self.head(Self.ok), Self.label, Self.address)
        #expect(finish(machine.upstreamEnd(nil))?.client == .keepAlive)
    }

    @Test("a chunked response goes in chunks to an HTTP/1.1 client and ends with the connection for HTTP/1.0")
    func unknownLength() throws {
        var modern = Self.sent(Self.request())
        guard
            case .relayHead(_, chunked: true, close: false, _) =
                modern.upstreamHead(try Self.head(Self.chunkedOK), Self.label, Self.address)
        else { throw Unexpected() }
        #expect(finish(modern.upstreamEnd(nil))?.writeEnd == true)

        var old = Self.sent(Self.request(http11: false))
        guard
            case .relayHead(_, chunked: false, close: true, _) =
                old.upstreamHead(try Self.head(Self.chunkedOK), Self.label, Self.address)
        else { throw Unexpected() }
        let done = try #require(finish(old.upstreamEnd(nil)))
        #expect(done.client == .close)
        #expect(done.writeEnd == false)
    }

    @Test("a client that says close, or an upstream that does, ends its connection after the response")
    func closes() throws {
        var machine = Self.sent(Self.request(keepAlive: false))
        guard
            case .relayHead(_, _, close: true, _) = machine.upstreamHead(
                try Self.head(Self.ok), Self.label, Self.address)
        else { throw Unexpected() }
        #expect(finish(machine.upstreamEnd(nil))?.client == .close)

        var upstreamCloses = Self.sent(Self.request())
        _ = upstreamCloses.upstreamHead(
            try Self.head("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n"), Self.label,
            Self.address)
        let done = try #require(finish(upstreamCloses.upstreamEnd(nil)))
        #expect(done.upstream == .close)
        #expect(done.client == .keepAlive)
    }

    @Test("a refused whole request keeps the connection; one with a body has the rest read and dropped first")
    func refusals() throws {
        var whole = Machine(Self.request())
        let refused = try #require(answer(whole.refuse(ErrorAnswer(.notFound, "no route"))))
        #expect(refused.status == 404)
        #expect(refused.finish.client == .keepAlive)
        #expect(refused.finish.upstream == .none)

        var withBody = Machine(Self.request(.POST, whole: false))
        let early = try #require(answer(withBody.refuse(ErrorAnswer(.notFound, "no route"))))
        #expect(early.finish.client == .keepAliveAfterRequest)
        guard case .none = withBody.requestBody(ByteBuffer(string: "dropped")) else { throw Unexpected() }
        guard case .requestDropped = withBody.requestEnd(nil) else { throw Unexpected() }
        #expect(withBody.isDone)
    }

    @Test(
        "a refused request the decoder reads no further after, or one waiting for 100 Continue, ends the connection"
    )
    func refusalsThatClose() throws {
        var upgrade = Machine(Self.request(upgrade: true))
        #expect(answer(upgrade.refuse(ErrorAnswer(.notFound, "x")))?.finish.client == .close)
        var waiting = Machine(Self.request(.PUT, whole: false, expectsContinue: true))
        #expect(answer(waiting.refuse(ErrorAnswer(.notFound, "x")))?.finish.client == .closeLingering)
        var unreadable = Machine(.unreadable)
        #expect(answer(unreadable.refuse(ErrorAnswer(.badRequest, "x")))?.finish.client == .closeLingering)
    }

    @Test("an upstream that closes in the middle of the response ends both connections, with its status")
    func closedMidResponse() throws {
        var machine = Self.sent(Self.request())
        _ = machine.upstreamHead(try Self.head(Self.ok), Self.label, Self.address)
        guard
            case .abort(let reason, status: 200) = machine.upstreamClosed(
                .closed(reason: nil), Self.label, Self.address)
        else { throw Unexpected() }
        #expect(reason.contains("middle of the response"))
    }

    @Test("a GET that meets a pooled connection the upstream closed goes again once, on a new connection")
    func retryOnStaleConnection() throws {
        var machine = Self.sent(Self.request(), reused: true)
        guard
            case .connect(reuse: false) = machine.upstreamClosed(
                .closed(reason: nil), Self.label, Self.address)
        else {
            throw Unexpected()
        }
        guard case .sendRequest = machine.connected(reused: false) else { throw Unexpected() }
        // A fresh connection that fails too is answered, not retried again.
        let failed = try #require(
            answer(machine.upstreamClosed(.closed(reason: "connection reset"), Self.label, Self.address)))
        #expect(failed.status == 502)
    }

    @Test(
        "a POST, a request on a new connection, and a request after a malformed answer are never sent twice")
    func noRetry() throws {
        var post = Self.sent(Self.request(.POST), reused: true)
        #expect(answer(post.upstreamClosed(.closed(reason: nil), Self.label, Self.address))?.status == 502)
        var fresh = Self.sent(Self.request(), reused: false)
        #expect(answer(fresh.upstreamClosed(.closed(reason: nil), Self.label, Self.address))?.status == 502)
        var malformed = Self.sent(Self.request(), reused: true)
        let bad = try #require(
            answer(malformed.upstreamClosed(.malformed("garbage"), Self.label, Self.address)))
        #expect(bad.status == 502)
        #expect(bad.finish.upstream == .close)
    }

    @Test("drain during a response: it says connection: close and the connection ends with it")
    func drainDuringResponse() throws {
        var machine = Self.sent(Self.request())
        machine.drain()
        guard
            case .relayHead(_, _, close: true, _) = machine.upstreamHead(
                try Self.head(Self.ok), Self.label, Self.address)
        else { throw Unexpected() }
        #expect(finish(machine.upstreamEnd(nil))?.client == .close)
    }

    @Test(
        "an early answer from a kept-alive upstream goes to the client; the rest of the request follows it upstream"
    )
    func earlyAnswer() throws {
        var machine = Self.sent(Self.request(.POST, whole: false))
        _ = machine.requestBody(ByteBuffer(string: "part"))
        guard
            case .relayHead(_, _, close: false, _) =
                machine.upstreamHead(
                    try Self.head("HTTP/1.1 413 Too Large\r\ncontent-length: 2\r\n"), Self.label, Self.address
                )
        else { throw Unexpected() }
        guard case .endResponse(nil, chunked: false) = machine.upstreamEnd(nil) else { throw Unexpected() }
        guard case .sendPart(.body) = machine.requestBody(ByteBuffer(string: "more")) else {
            throw Unexpected()
        }
        guard case .sendEndAndFinish(nil, let done) = machine.requestEnd(nil) else { throw Unexpected() }
        // Whether the upstream read the rest as a body or as a request cannot be known: its connection goes.
        #expect(done.upstream == .close)
        #expect(done.client == .keepAlive)
        #expect(done.status == 413)
    }

    @Test(
        "an early answer from an upstream that closes says close, and the client's connection lingers as it ends"
    )
    func earlyAnswerThenClose() throws {
        var machine = Self.sent(Self.request(.POST, whole: false))
        guard
            case .relayHead(_, _, close: true, _) =
                machine.upstreamHead(
                    try Self.head("HTTP/1.1 413 Too Large\r\ncontent-length: 2\r\nconnection: close\r\n"),
                    Self.label,
                    Self.address)
        else { throw Unexpected() }
        let done = try #require(finish(machine.upstreamEnd(nil)))
        #expect(done.client == .closeLingering)
        #expect(done.upstream == .close)
    }

    @Test("a final answer to a client waiting for 100 Continue ends its connection")
    func expectContinueRefused() throws {
        var machine = Self.sent(Self.request(.PUT, whole: false, expectsContinue: true))
        guard
            case .relayHead(_, _, close: true, _) =
                machine.upstreamHead(
                    try Self.head("HTTP/1.1 401 No\r\ncontent-length: 2\r\n"), Self.label, Self.address)
        else { throw Unexpected() }
    }

    @Test("a 101 to an upgrade joins the tunnel once its end passes; a 101 nobody asked for is a 502")
    func switching() throws {
        var upgrade = Self.sent(Self.request(upgrade: true))
        let switchHead = try Self.head(
            "HTTP/1.1 101 Switching Protocols\r\nupgrade: echo\r\nconnection: upgrade\r\n")
        guard
            case .relayHead(_, chunked: false, close: false, switching: true) =
                upgrade.upstreamHead(switchHead, Self.label, Self.address)
        else { throw Unexpected() }
        guard case .joinTunnel(status: 101) = upgrade.upstreamEnd(nil) else { throw Unexpected() }
        #expect(upgrade.isTunnelling)

        var plain = Self.sent(Self.request())
        let refused = try #require(answer(plain.upstreamHead(switchHead, Self.label, Self.address)))
        #expect(refused.status == 502)
        #expect(refused.finish.upstream == .close)
    }

    @Test("interim answers reach HTTP/1.1 clients only, and the final head still follows")
    func interim() throws {
        let continueHead = try Self.head("HTTP/1.1 100 Continue\r\n")
        var modern = Self.sent(Self.request())
        guard case .relayInterim = modern.upstreamHead(continueHead, Self.label, Self.address) else {
            throw Unexpected()
        }
        var old = Self.sent(Self.request(http11: false))
        guard case .none = old.upstreamHead(continueHead, Self.label, Self.address) else {
            throw Unexpected()
        }
        guard case .relayHead = old.upstreamHead(try Self.head(Self.ok), Self.label, Self.address) else {
            throw Unexpected()
        }
    }

    @Test(
        "time runs out: 504 while the upstream says nothing, 408 while the client's body stalls, abort once answering"
    )
    func timeouts() throws {
        let limits = Limits()
        var silent = Self.sent(Self.request())
        #expect(
            answer(silent.timedOut(limits: limits, upstreamWritable: true, Self.label, Self.address))?.status
                == 504)
        var stalled = Self.sent(Self.request(.POST, whole: false))
        #expect(
            answer(stalled.timedOut(limits: limits, upstreamWritable: true, Self.label, Self.address))?.status
                == 408)
        var answering = Self.sent(Self.request())
        _ = answering.upstreamHead(try Self.head(Self.ok), Self.label, Self.address)
        guard
            case .abort(_, status: 200) = answering.timedOut(
                limits: limits, upstreamWritable: true, Self.label, Self.address)
        else { throw Unexpected() }
    }

    @Test("a client that goes, or whose body turns invalid, ends the exchange the right way")
    func clientFailures() throws {
        var gone = Self.sent(Self.request())
        guard case .abort = gone.clientClosed() else { throw Unexpected() }
        var invalid = Self.sent(Self.request(.POST, whole: false))
        let refused = try #require(answer(invalid.clientError(.request(.badRequest, "a bad chunk"))))
        #expect(refused.status == 400)
        #expect(refused.finish.client == .closeLingering)
        #expect(refused.finish.upstream == .close)
        var midResponse = Self.sent(Self.request(.POST, whole: false))
        _ = midResponse.upstreamHead(try Self.head(Self.ok), Self.label, Self.address)
        guard case .abort = midResponse.clientError(.request(.badRequest, "a bad chunk")) else {
            throw Unexpected()
        }
    }

    @Test("no connection could be had: the answer given keeps a whole request's connection")
    func connectFailed() throws {
        var machine = Machine(Self.request())
        _ = machine.forward()
        let refused = try #require(answer(machine.connectFailed(ErrorAnswer(.badGateway, "refused"))))
        #expect(refused.status == 502)
        #expect(refused.finish.client == .keepAlive)
        #expect(refused.finish.upstream == .none)
    }

    @Test("a client that half-closes gets its answer, then the connection ends")
    func halfClosed() throws {
        var machine = Self.sent(Self.request())
        machine.clientInputClosed()
        guard
            case .relayHead(_, _, close: true, _) = machine.upstreamHead(
                try Self.head(Self.ok), Self.label, Self.address)
        else { throw Unexpected() }
        #expect(finish(machine.upstreamEnd(nil))?.client == .close)
    }

    struct Unexpected: Error {}
}
