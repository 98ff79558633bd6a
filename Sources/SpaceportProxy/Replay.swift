import NIOCore
import NIOPosix
import SpaceportCore

/// A kept request made ready to go again, routed as another space: the request line and fields
/// as the client wrote them, sensitive ones included (they never left the proxy), except what
/// would tie it to the original: its route carriers say the new space, its `traceparent` starts
/// a new trace and its `x-request-id` is gone, so it is a flow of its own; and it asks the proxy
/// to close after answering.
enum ReplayRequest {
    /// The bytes to send through the ingress.
    static func write(_ kept: KeptRequest, as space: String, settings: Settings) throws(ReplayError)
        -> ByteBuffer
    {
        let head = parse(kept)
        if head.isUpgrade || head.method == .CONNECT {
            throw .cannotReplay(
                hop: kept.hop,
                reason: "it asks to switch protocols or for a tunnel; a replay sends plain requests only")
        }
        if case .notKept(let reason) = kept.body { throw .cannotReplay(hop: kept.hop, reason: reason) }
        let propagation = settings.propagation
        let carriers = Set([settings.routeHeader] + propagation.headers.map(\.name))
        var out = ByteBuffer()
        let requestLine = kept.head.firstIndex(of: UInt8(ascii: "\r")) ?? 0
        out.writeBytes(kept.head[..<requestLine])
        out.writeString("\r\n")
        var traceparents: [String] = []
        var baggage: [String] = []
        for field in head.fields {
            let name = head.name(field)
            switch field.kind {
            case .requestID, .connection, .hopByHop, .named, .upgrade: continue
            case .traceparent:
                traceparents.append(head.value(field))
                continue
            case .baggage:
                baggage.append(head.value(field))
                continue
            default: break
            }
            let lower = name.lowercased()
            if carriers.contains(lower) || lower == "expect" { continue }
            out.writeString("\(name): \(head.value(field))\r\n")
        }
        out.writeString("\(settings.routeHeader): \(space)\r\n")
        if let trace = TraceParent(fields: traceparents) {
            out.writeString("traceparent: \(freshTrace(flags: trace.flags))\r\n")
        }
        if !baggage.isEmpty {
            let bridged = Baggage(fields: baggage).bridging(propagation.baggage.map(\.name), to: space)
            for value in bridged.field.map({ [$0] }) ?? baggage { out.writeString("baggage: \(value)\r\n") }
        }
        out.writeString("connection: close\r\n\r\n")
        if case .kept(let body) = kept.body { out.writeBytes(body) }
        return out
    }

    /// The kept request as a feed client may see it: every field's name, the values of all but
    /// the sensitive ones, and only the length of a body.
    static func view(_ kept: KeptRequest, settings: Settings) -> KeptRequestView {
        let head = parse(kept)
        let fields = head.fields.map { field -> KeptRequestView.Field in
            let name = head.name(field)
            return settings.isSensitive(name)
                ? KeptRequestView.Field(name: name, value: nil, sensitive: true)
                : KeptRequestView.Field(name: name, value: head.value(field))
        }
        var bodyBytes: Int?
        var bodyProblem: String?
        switch kept.body {
        case .none: break
        case .kept(let body): bodyBytes = body.count
        case .notKept(let reason): bodyProblem = reason
        }
        return KeptRequestView(
            hop: kept.hop, method: head.method.rawValue, target: head.uri,
            version: "HTTP/1.\(head.minorVersion)",
            fields: fields, bodyBytes: bodyBytes, bodyProblem: bodyProblem)
    }

    /// The kept head read again by the parser that read it the first time.
    private static func parse(_ kept: KeptRequest) -> ClientHead {
        var buffer = ByteBuffer(bytes: kept.head)
        var parser = ClientRequestParser(maxHeaderBytes: kept.head.count + 1, maxHeaderCount: .max)
        guard case .head(let head)? = try? parser.next(&buffer) else {
            preconditionFailure("a kept head was read once; it reads again")
        }
        return head
    }

    /// `00-<new trace>-<new parent>-<flags>`: a trace of its own, so trace memory and the flow
    /// know the replay apart from the original.
    private static func freshTrace(flags: UInt8) -> String {
        func hex(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        let flagDigits = String(flags, radix: 16)
        return
            "00-\(hex(UInt64.random(in: 1 ... .max)))\(hex(.random(in: 0 ... .max)))-\(hex(.random(in: 1 ... .max)))-\(flags < 16 ? "0" : "")\(flagDigits)"
    }
}

extension RoutingProxy: RequestReplayer {
    public func replay(hop: String, as space: String) async -> Result<Int, ReplayError> {
        let settings = live.current.settings
        guard settings.limits.keepsRequests else { return .failure(.off) }
        guard live.current.contains(space) else { return .failure(.noSpace(space)) }
        guard let kept = await kept(hop: hop) else {
            return .failure(.notKept(hop: hop, keeps: settings.limits.replayRequests))
        }
        let request: ByteBuffer
        do {
            request = try ReplayRequest.write(kept, as: space, settings: settings)
        } catch {
            return .failure(error)
        }
        guard let ingress = listeners?.ingress else { return .failure(.failed("the proxy has stopped")) }
        return await send(request, to: ingress, replaying: hop, limits: settings.limits)
    }

    public func keptRequest(hop: String) async -> Result<KeptRequestView, ReplayError> {
        let settings = live.current.settings
        guard settings.limits.keepsRequests else { return .failure(.off) }
        guard let kept = await kept(hop: hop) else {
            return .failure(.notKept(hop: hop, keeps: settings.limits.replayRequests))
        }
        return .success(ReplayRequest.view(kept, settings: settings))
    }

    /// The request hop `hop` kept, from whichever loop served it.
    private func kept(hop: String) async -> KeptRequest? {
        let loops = self.loops
        for loop in loops.loops {
            if let kept = try? await loop.submit({ loops.on(loop).kept.request(hop: hop) }).get() {
                return kept
            }
        }
        return nil
    }

    /// Sends `request` to the ingress from a connection its listener will know as a replay of
    /// `hop`, and waits for the response's status; the rest of the response is read and dropped.
    private func send(_ request: ByteBuffer, to ingress: Address, replaying hop: String, limits: Limits) async
        -> Result<Int, ReplayError>
    {
        let host =
            ingress.host == "0.0.0.0"
            ? "127.0.0.1" : ingress.host == "::" || ingress.host == "[::]" ? "::1" : ingress.host
        let status = group.next().makePromise(of: Int.self)
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(.milliseconds(Int64(limits.connectTimeoutMs)))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ReplayResponseHandler(status: status))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: host, port: ingress.port).get()
        } catch {
            status.fail(error)
            return .failure(
                .failed(
                    "the proxy's ingress at \(ingress) could not be reached: \(ErrorAnswer.reason(error))"))
        }
        guard let ip = channel.localAddress?.ipAddress, let port = channel.localAddress?.port else {
            channel.close(promise: nil)
            return .failure(.failed("the connection to the ingress has no address"))
        }
        let peer = ReplayTickets.Peer(ip: ip, port: port)
        let tickets = loops.replays
        tickets.issue(peer, hop: hop)
        // However the response goes, the connection lasts no longer than the proxy would wait on it.
        let deadline = channel.eventLoop.scheduleTask(
            in: .milliseconds(Int64(limits.connectTimeoutMs + limits.upstreamTimeoutMs + 1000))
        ) { channel.close(promise: nil) }
        channel.closeFuture.whenComplete { _ in
            deadline.cancel()
            tickets.withdraw(peer)
        }
        channel.writeAndFlush(request, promise: nil)
        do {
            return .success(try await status.futureResult.get())
        } catch {
            return .failure(.failed("the ingress closed the connection before answering"))
        }
    }
}

/// Reads a replay's answer: its status once a final status line arrives, the rest dropped.
private final class ReplayResponseHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let status: EventLoopPromise<Int>
    private var head: [UInt8] = []
    private var answered = false
    /// More than any status line and interim heads before it.
    static let maxHead = 16 * 1024

    init(status: EventLoopPromise<Int>) {
        self.status = status
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !answered else { return }
        let buffer = unwrapInboundIn(data)
        head.append(contentsOf: buffer.readableBytesView.prefix(Self.maxHead - head.count))
        // Interim (1xx) heads come before the final one: skip each whole.
        while let line = head.firstRange(of: Array("\r\n".utf8)) {
            let words = String(decoding: head[..<line.lowerBound], as: UTF8.self).split(separator: " ")
            guard words.count >= 2, words[0].hasPrefix("HTTP/"), let code = Int(words[1]) else {
                return fail(context)
            }
            if code >= 200 {
                answered = true
                status.succeed(code)
                return
            }
            guard let end = head.firstRange(of: Array("\r\n\r\n".utf8)) else { return }
            head.removeSubrange(..<end.upperBound)
        }
        if head.count >= Self.maxHead { fail(context) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !answered {
            answered = true
            status.fail(ChannelError.eof)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    private func fail(_ context: ChannelHandlerContext) {
        answered = true
        status.fail(ChannelError.eof)
        context.close(promise: nil)
    }
}
