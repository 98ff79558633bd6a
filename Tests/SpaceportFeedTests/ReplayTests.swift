import Foundation
import NIOCore
import NIOPosix
import SpaceportCore
import SpaceportProxy
import Synchronization
import Testing

@testable import SpaceportFeed

/// The requests an upstream was sent, head and body, as text.
private final class Received: Sendable {
    private let requests = Mutex<[String]>([])
    func add(_ request: String) { requests.withLock { $0.append(request) } }
    var all: [String] { requests.withLock { $0 } }
}

/// An upstream that answers every request with its name and keeps each request's head and body.
private final class KeepingUpstream: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let name: String
    let received: Received
    private let pending = Mutex("")

    init(name: String, received: Received) {
        self.name = name
        self.received = received
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let text = pending.withLock { pending in
            pending += String(buffer: unwrapInboundIn(data))
            return pending
        }
        guard let end = text.range(of: "\r\n\r\n") else { return }
        let length =
            text[..<end.lowerBound].split(separator: "\r\n").first {
                $0.lowercased().hasPrefix("content-length:")
            }.flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        guard text.utf8.count - text[..<end.upperBound].utf8.count >= length else { return }
        received.add(text)
        pending.withLock { $0 = "" }
        let response =
            "HTTP/1.1 200 OK\r\ncontent-length: \(name.utf8.count + 1)\r\nconnection: close\r\n\r\n\(name)\n"
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}

/// Two upstreams for servicea, default's and hotfix's, that keep what they were sent.
private final class Upstreams: Sendable {
    let defaultRequests = Received()
    let hotfixRequests = Received()
    let channels = Mutex<[any Channel]>([])

    /// The upstreams, and the ports of default's and hotfix's.
    static func start() async throws -> (Upstreams, Int, Int) {
        let upstreams = Upstreams()
        func serve(_ name: String, _ received: Received) async throws -> Int {
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(
                            KeepingUpstream(name: name, received: received))
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            upstreams.channels.withLock { $0.append(channel) }
            return channel.localAddress!.port!
        }
        let root = try await serve("from-default", upstreams.defaultRequests)
        let hotfix = try await serve("from-hotfix", upstreams.hotfixRequests)
        return (upstreams, root, hotfix)
    }
}

/// A proxy, its hub and its feed (Unix socket, and TCP with a token) over a tree where hotfix,
/// under default, runs its own servicea.
private struct ReplayRig {
    let folder: String
    let proxy: RoutingProxy
    let hub: FeedHub
    let server: FeedServer
    let feed: FeedListeners
    let ingress: Address
    let upstreams: Upstreams
    /// The proxy's own event loops, when it was given some, shut down with it.
    let group: MultiThreadedEventLoopGroup?
    static let token = "replay-test-token"

    /// `loops`: a group of that many event loops of the proxy's own; nil shares NIO's, whose
    /// loops the tests running beside it take turns on too.
    static func start(extra: String = "", loops: Int? = nil) async throws -> ReplayRig {
        let (upstreams, root, hotfix) = try await Upstreams.start()
        let folder = Samples.temporaryFolder()
        mkdir(folder, 0o700)
        let spacesPath = folder + "/spaces.yaml"
        try """
        \(extra)
        spaces:
          default:
            services:
              servicea: { upstream: 127.0.0.1:\(root) }
          hotfix:
            parent: default
            services:
              servicea: { upstream: 127.0.0.1:\(hotfix) }

        """.write(toFile: spacesPath, atomically: true, encoding: .utf8)
        let store = try SpacesStore(path: spacesPath)
        let hub = FeedHub(store: store, hello: Samples.hello)
        let group = loops.map { MultiThreadedEventLoopGroup(numberOfThreads: $0) }
        let proxy = RoutingProxy(
            store: store, name: "replays", ingress: try Address(parsing: "127.0.0.1:0"), sink: hub,
            group: group)
        let ingress = try await proxy.start().ingress
        hub.replayer = proxy
        let server = FeedServer(
            hub: hub,
            options: FeedServerOptions(
                name: "replays", directory: folder, tcp: try Address(parsing: "127.0.0.1:0"), token: token,
                authTimeoutMs: 600_000))
        let feed = try await server.start()
        return ReplayRig(
            folder: folder, proxy: proxy, hub: hub, server: server, feed: feed, ingress: ingress,
            upstreams: upstreams, group: group)
    }

    /// Sends `head` (lines without the blank one) and `body` through the ingress; the whole answer.
    func send(_ head: [String], body: String = "") async throws -> String {
        let socket = try await LineSocket.tcp(ingress)
        try await socket.sendBytes(Array((head.joined(separator: "\r\n") + "\r\n\r\n" + body).utf8))
        return try await socket.untilClosed().joined(separator: "\n")
    }

    func stop() async {
        await proxy.shutdown(drainMs: 0)
        await server.shutdown()
        hub.replayer = nil
        hub.close()
        for channel in upstreams.channels.withLock({ $0 }) { try? await channel.close() }
        try? await group?.shutdownGracefully()
        try? FileManager.default.removeItem(atPath: folder)
    }
}

/// Every line a feed client reads, kept as it arrived: the bytes of the feed. Events are taken
/// in any order: one read past while waiting for another is still there to take.
private final class FeedTap: Sendable {
    let socket: LineSocket
    private let lines = Mutex<[String]>([])
    private let untaken = Mutex<[FeedEvent]>([])

    init(_ socket: LineSocket) {
        self.socket = socket
    }

    /// The first event not taken yet that `matches`, reading more lines as needed.
    func next(_ what: String, where matches: (FeedEvent) -> Bool) async throws -> FeedEvent {
        if let event = untaken.withLock({ untaken in
            untaken.firstIndex(where: matches).map { untaken.remove(at: $0) }
        }) {
            return event
        }
        while true {
            guard let line = try await socket.nextLine() else { throw LineSocket.Closed() }
            lines.withLock { $0.append(line) }
            guard let event = try? FeedEvent.decode(line: line) else { continue }
            if matches(event) { return event }
            untaken.withLock { $0.append(event) }
        }
    }

    var text: String { lines.withLock { $0.joined(separator: "\n") } }

    /// The next end of a hop for `path`: a replay's, or (by default) one a client sent.
    func ended(_ path: String, replay: Bool = false) async throws -> HopEvent {
        let event = try await next("the end of \(path)") { event in
            endedHop(event, path: path).map { ($0.replayOf != nil) == replay } ?? false
        }
        guard case .hop(let hop) = event else { throw LineSocket.Closed() }
        return hop
    }
}

private func endedHop(_ event: FeedEvent, path: String) -> HopEvent? {
    guard case .hop(let hop) = event, hop.phase == .end, hop.path == path else { return nil }
    return hop
}

@Suite("Replaying a request as another space", .serialized)
struct ReplayTests {
    static let secrets = [
        "Bearer s3cr3t-auth", "session=c00kie-value", "Basic cHJveHktc2VjcmV0", "k3y-value",
    ]

    static let request = [
        "GET /orders?id=7 HTTP/1.1", "Host: servicea.localhost", "Authorization: Bearer s3cr3t-auth",
        "Cookie: session=c00kie-value", "Proxy-Authorization: Basic cHJveHktc2VjcmV0", "X-Api-Key: k3y-value",
        "X-Visible: plain-value", "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "Connection: close",
    ]

    @Test(
        "a replay as hotfix sends the same request, credentials included, to hotfix's servicea as a new flow marked a replay, and no sensitive value ever crosses the feed"
    )
    func replayAsAnotherSpace() async throws {
        let rig = try await ReplayRig.start(extra: "sensitive_headers: [X-Api-Key]")
        defer { Task { await rig.stop() } }
        let unix = FeedTap(try await LineSocket.unix(rig.feed.socketPath))
        let tcpSocket = try await LineSocket.tcp(try #require(rig.feed.tcp))
        try await tcpSocket.send(.auth(token: ReplayRig.token))
        let tcp = FeedTap(tcpSocket)
        _ = try await unix.next("spaces") { $0.type == "spaces" }
        _ = try await tcp.next("spaces") { $0.type == "spaces" }

        let first = try await rig.send(Self.request)
        #expect(first.contains("from-default"))
        let original = try await unix.ended("/orders?id=7")
        _ = try await tcp.ended("/orders?id=7")
        #expect(original.space == "default")
        #expect(original.flow == "4bf92f3577b34da6a3ce929d0e0e4736")

        // What the feed may show of the kept request: names, plain values, never a sensitive value.
        try await unix.socket.send(.request(id: "q1", hop: original.id))
        guard
            case .request(let id, let view) = try await unix.next(
                "the request", where: { $0.type == "request" })
        else { return }
        #expect(id == "q1")
        #expect(view.method == "GET" && view.target == "/orders?id=7")
        #expect(view.fields.contains(.init(name: "X-Visible", value: "plain-value")))
        for name in ["Authorization", "Cookie", "Proxy-Authorization", "X-Api-Key"] {
            #expect(
                view.fields.contains(.init(name: name, value: nil, sensitive: true)), "\(name) is withheld")
        }

        try await tcp.socket.send(.replay(id: "r1", hop: original.id, space: "hotfix"))
        let answer = try await tcp.next("the replay's answer") { $0.type == "ack" || $0.type == "error" }
        #expect(answer == .ack(id: "r1"))
        let replay = try await unix.ended("/orders?id=7", replay: true)
        _ = try await tcp.ended("/orders?id=7", replay: true)
        #expect(replay.replayOf == original.id)
        #expect(replay.space == "hotfix")
        #expect(replay.routeAs == "hotfix")
        #expect(replay.flow != original.flow, "a replay is a flow of its own")
        #expect(replay.traceId != nil && replay.traceId != original.traceId)

        let received = rig.upstreams.hotfixRequests.all
        #expect(received.count == 1)
        let sent = received.first ?? ""
        for header in [
            "Authorization: Bearer s3cr3t-auth", "Cookie: session=c00kie-value",
            "Proxy-Authorization: Basic cHJveHktc2VjcmV0", "X-Api-Key: k3y-value", "X-Visible: plain-value",
        ] {
            #expect(sent.contains(header), "the replay reuses \(header) inside the proxy:\n\(sent)")
        }
        #expect(sent.lowercased().contains("azds-route-as: hotfix"))
        #expect(!sent.contains("4bf92f3577b34da6a3ce929d0e0e4736"), "a new trace")

        let everything = unix.text + "\n" + tcp.text
        for secret in Self.secrets {
            #expect(!everything.contains(secret), "the feed carried \(secret)")
        }
        #expect(everything.contains("plain-value"), "the check above would see a value that crossed")
    }

    @Test(
        "a feed client that may not send commands cannot replay: an unauthenticated TCP client is refused and closed"
    )
    func unauthenticatedCannotReplay() async throws {
        let rig = try await ReplayRig.start()
        defer { Task { await rig.stop() } }
        let unix = FeedTap(try await LineSocket.unix(rig.feed.socketPath))
        _ = try await unix.next("spaces") { $0.type == "spaces" }
        _ = try await rig.send(Self.request)
        let original = try await unix.ended("/orders?id=7")
        let stranger = try await LineSocket.tcp(try #require(rig.feed.tcp))
        try await stranger.send(.replay(id: "x", hop: original.id, space: "hotfix"))
        let lines = try await stranger.untilClosed()
        #expect(lines.count == 1)
        #expect(lines.first?.contains("authenticate first") == true)
        try await Task.sleep(for: .milliseconds(200))
        #expect(rig.upstreams.hotfixRequests.all.isEmpty, "nothing was replayed")
    }

    @Test("a replay names what stops it: replay off, a hop no longer kept, no such space, a body not kept")
    func refusals() async throws {
        let rig = try await ReplayRig.start(extra: "limits: { replay_requests: 0 }")
        defer { Task { await rig.stop() } }
        _ = try await rig.send(Self.request)
        let off = await rig.proxy.replay(hop: "000000000000000", as: "hotfix")
        #expect(off == .failure(.off))
        #expect(
            ReplayError.off.description
                == "this proxy keeps no requests to replay: its spaces file sets limits.replay_requests or replay_bytes to 0"
        )

        // One loop, so which loop a connection lands on cannot keep the first request.
        let keeping = try await ReplayRig.start(extra: "limits: { replay_requests: 2 }", loops: 1)
        defer { Task { await keeping.stop() } }
        let tap = FeedTap(try await LineSocket.unix(keeping.feed.socketPath))
        #expect(
            await keeping.proxy.replay(hop: "000000000000000", as: "nosuch") == .failure(.noSpace("nosuch")))
        #expect(
            await keeping.proxy.replay(hop: "000000000000000", as: "hotfix")
                == .failure(.notKept(hop: "000000000000000", keeps: 2)))
        _ = try await keeping.send(
            ["POST /orders HTTP/1.1", "Host: servicea.localhost", "Content-Length: 5", "Connection: close"],
            body: "hello")
        let post = try await tap.ended("/orders")
        let refused = await keeping.proxy.replay(hop: post.id, as: "hotfix")
        #expect(
            refused
                == .failure(
                    .cannotReplay(
                        hop: post.id,
                        reason:
                            "its body (5 bytes) was not kept: the spaces file's limits.replay_body_bytes is 0"
                    )))
        // Six requests later, with two kept, the first is gone.
        for _ in 0..<6 { _ = try await keeping.send(Self.request) }
        #expect(
            await keeping.proxy.replay(hop: post.id, as: "hotfix")
                == .failure(.notKept(hop: post.id, keeps: 2)))
        #expect(keeping.upstreams.hotfixRequests.all.isEmpty)
    }

    @Test("with replay_body_bytes set, a body up to it is kept and sent again")
    func bodies() async throws {
        let rig = try await ReplayRig.start(extra: "limits: { replay_body_bytes: 64 }")
        defer { Task { await rig.stop() } }
        let tap = FeedTap(try await LineSocket.unix(rig.feed.socketPath))
        _ = try await rig.send(
            ["POST /orders HTTP/1.1", "Host: servicea.localhost", "Content-Length: 13", "Connection: close"],
            body: "{\"item\":4711}")
        let post = try await tap.ended("/orders")
        #expect(await rig.proxy.replay(hop: post.id, as: "hotfix") == .success(200))
        let sent = rig.upstreams.hotfixRequests.all.first ?? ""
        #expect(sent.hasPrefix("POST /orders HTTP/1.1\r\n"))
        #expect(sent.hasSuffix("\r\n\r\n{\"item\":4711}"), "\(sent)")
    }

    @Test(
        "FeedClient, as dash --attach uses it, asks for a replay and for a kept request, and hears the proxy's refusal"
    )
    func throughFeedClient() async throws {
        let rig = try await ReplayRig.start()
        defer { Task { await rig.stop() } }
        let tap = FeedTap(try await LineSocket.unix(rig.feed.socketPath))
        _ = try await rig.send(Self.request)
        let original = try await tap.ended("/orders?id=7")
        let client = FeedClient(targets: [.unix(rig.feed.socketPath)])
        try await client.start()
        let view = try await client.request(hop: original.id)
        #expect(view.fields.first { $0.name == "Authorization" }?.value == nil)
        try await client.replay(hop: original.id, as: "hotfix")
        #expect(rig.upstreams.hotfixRequests.all.count == 1)
        await #expect(throws: FeedClientError.rejected(ReplayError.noSpace("nosuch").description)) {
            try await client.replay(hop: original.id, as: "nosuch")
        }
        await client.stop()
    }
}
