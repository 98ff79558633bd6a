import NIOCore
import NIOPosix
import SpaceportCore
import Synchronization

/// An upstream that answers each request by the first segment of its path, tagging every
/// answer it means for a request with that request's tag (`/<kind>/<tag>` → `x-tag: <tag>`):
/// some kinds answer properly, the others send more than their response's framing says,
/// so a proxy that reads those bytes as a later response hands a client an answer that
/// is not its own. Requests on one connection are answered in order, as HTTP/1.1 has it.
final class ScriptedUpstream: Sendable {
    /// The answer whose extra bytes a proxy must never pass on: it carries `x-tag: poison`.
    static let poison = "HTTP/1.1 200 OK\r\nx-tag: poison\r\ncontent-length: 7\r\n\r\npoison\n"

    let address: Address
    private let channel: any Channel
    let connections: Connections

    /// Connections accepted, open now, and the most open at once.
    final class Connections: Sendable {
        let accepted = Atomic<Int>(0)
        let open = Atomic<Int>(0)
        let mostOpen = Atomic<Int>(0)
        /// Answers written later than their request's (the `stray` kind's), so far.
        let lateWrites = Atomic<Int>(0)

        func opened() {
            accepted.add(1, ordering: .relaxed)
            let now = open.add(1, ordering: .relaxed).newValue
            var most = mostOpen.load(ordering: .relaxed)
            while now > most {
                let (exchanged, original) = mostOpen.compareExchange(
                    expected: most, desired: now, ordering: .relaxed)
                if exchanged { break }
                most = original
            }
        }
    }

    private init(address: Address, channel: any Channel, connections: Connections) {
        self.address = address
        self.channel = channel
        self.connections = connections
    }

    static func start() async throws -> ScriptedUpstream {
        let connections = Connections()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Script(connections))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ScriptedUpstream(
            address: Address(host: "127.0.0.1", port: channel.localAddress!.port!), channel: channel,
            connections: connections)
    }

    func stop() async { try? await channel.close() }

    /// The bytes a request of this kind is answered with; `head`: the request was a HEAD;
    /// `reused`: the connection answered a request before. `close`: close once they are written.
    static func answer(kind: String, tag: String, head: Bool, reused: Bool)
        -> (now: String, later: String?, close: Bool)
    {
        let own = "HTTP/1.1 200 OK\r\nx-tag: \(tag)\r\ncontent-length: \(tag.utf8.count)\r\n\r\n\(tag)"
        switch kind {
        case "split":
            // A second response nobody asked for, right behind the first.
            return (own + poison, nil, false)
        case "overrun":
            // More body than Content-Length says: the tail is not a response at all.
            return (own + "and-then-some-bytes\r\n\r\n", nil, false)
        case "head":
            // A body after the answer to a HEAD, which has none whatever its fields say.
            return ("HTTP/1.1 200 OK\r\nx-tag: \(tag)\r\ncontent-length: 7\r\n\r\n" + poison, nil, false)
        case "nocontent":
            return ("HTTP/1.1 204 No Content\r\nx-tag: \(tag)\r\n\r\n" + poison, nil, false)
        case "notmodified":
            return ("HTTP/1.1 304 Not Modified\r\nx-tag: \(tag)\r\n\r\n" + poison, nil, false)
        case "interim":
            // An interim answer with a body: its "body" reads as the final answer, and the real one is extra.
            return ("HTTP/1.1 100 Continue\r\ncontent-length: 7\r\n\r\n" + poison + own, nil, false)
        case "stray":
            // The answer, then, once the connection is idle, the start of a response no request asked for.
            return (own, "HTTP/1.1 200 OK\r\nx-tag: poison\r\n", false)
        case "trailers":
            // Trailers that would re-route, re-frame or impersonate the proxy if a client merged them.
            return (
                "HTTP/1.1 200 OK\r\nx-tag: \(tag)\r\ntransfer-encoding: chunked\r\ntrailer: x-sum\r\n\r\n"
                    + "\(String(tag.utf8.count, radix: 16))\r\n\(tag)\r\n0\r\n"
                    + "x-spaceport-route: evil@evil\r\ncontent-length: 99\r\nazds-route-as: evil\r\n"
                    + "set-cookie: session=evil\r\nx-sum: 42\r\n\r\n", nil, false
            )
        case "early":
            // A refusal before the body, from an upstream that then closes: the body has nowhere to go.
            return (
                "HTTP/1.1 413 Content Too Large\r\nx-tag: \(tag)\r\nconnection: close\r\ncontent-length: 4\r\n\r\nbig\n",
                nil, true
            )
        case "stale" where reused:
            // A kept-alive connection the upstream gave up on just as the request came.
            return ("", nil, true)
        case "stalebytes" where reused:
            // The same, after the start of an answer that was never meant for this request.
            return ("HTTP/1.1 200 OK\r\nx-tag: poison\r\n", nil, true)
        default:
            let bodiless = "HTTP/1.1 200 OK\r\nx-tag: \(tag)\r\ncontent-length: \(tag.utf8.count)\r\n\r\n"
            return (head ? bodiless : own, nil, false)
        }
    }

    private final class Script: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private var pending: [UInt8] = []
        private var answered = 0
        private let connections: Connections

        init(_ connections: Connections) { self.connections = connections }

        func channelActive(context: ChannelHandlerContext) {
            connections.opened()
            context.fireChannelActive()
        }

        func channelInactive(context: ChannelHandlerContext) {
            connections.open.subtract(1, ordering: .relaxed)
            context.fireChannelInactive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            pending += buffer.readBytes(length: buffer.readableBytes) ?? []
            let marker = Array("\r\n\r\n".utf8)
            while let end = pending.firstRange(of: marker) {
                let head = String(decoding: pending[..<end.lowerBound], as: UTF8.self)
                pending.removeSubrange(..<end.upperBound)
                let requestLine = head.prefix { $0 != "\r" }.split(separator: " ")
                guard requestLine.count >= 2 else { continue }
                let segments = requestLine[1].split(separator: "/").map(String.init)
                let kind = segments.first ?? ""
                let tag = segments.count > 1 ? segments[1] : "untagged"
                let answer = ScriptedUpstream.answer(
                    kind: kind, tag: tag, head: requestLine[0] == "HEAD", reused: answered > 0)
                answered += 1
                if kind == "slow" {
                    // Answers after a while, keeping its connection busy meanwhile.
                    let bytes = context.channel.allocator.buffer(string: answer.now)
                    let channel = context.channel
                    context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(300)) {
                        channel.writeAndFlush(bytes, promise: nil)
                    }
                    continue
                }
                let written = context.writeAndFlush(
                    wrapOutboundOut(context.channel.allocator.buffer(string: answer.now)))
                if answer.close {
                    let channel = context.channel
                    written.whenComplete { _ in channel.close(promise: nil) }
                    pending = []
                    return
                }
                if let later = answer.later {
                    let connections = self.connections
                    context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(20)) {
                        context.writeAndFlush(
                            self.wrapOutboundOut(context.channel.allocator.buffer(string: later))
                        ).whenComplete { _ in connections.lateWrites.add(1, ordering: .relaxed) }
                    }
                }
            }
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if case ChannelEvent.inputClosed = event { context.close(promise: nil) }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
