import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import SpaceportCore

/// The upstream end of a client's HTTP/2 stream: a stream of its own on a pooled h2c
/// connection, or an HTTP/1.1 exchange on a pooled connection (`protocol: http1`).
enum StreamUpstream {
    case stream(any Channel)
    case http1(HTTP1StreamUpstream)

    func write(_ frame: HTTP2Frame.FramePayload) {
        switch self {
        case .stream(let channel): channel.write(frame, promise: nil)
        case .http1(let exchange): exchange.write(frame)
        }
    }

    func flush() {
        switch self {
        case .stream(let channel): channel.flush()
        case .http1(let exchange): exchange.flush()
        }
    }

    var isWritable: Bool {
        switch self {
        case .stream(let channel): channel.isWritable
        case .http1(let exchange): exchange.isWritable
        }
    }

    /// Reads again once the client's stream can take more.
    func read() {
        switch self {
        case .stream(let channel): channel.read()
        case .http1(let exchange): exchange.read()
        }
    }

    /// A reset: the upstream's stream is reset, an HTTP/1.1 connection closed.
    func close() {
        switch self {
        case .stream(let channel): channel.close(promise: nil)
        case .http1(let exchange): exchange.close()
        }
    }
}

/// An HTTP/2 client's stream carried to an instance spoken to over HTTP/1.1 (`protocol: http1`)
/// on a pooled connection, which it holds while the exchange lasts: the stream's header block
/// becomes a request head (`:authority` its Host, the body in chunks unless a content-length
/// says how long it is, trailers the last chunk's), and the response's head (less its
/// connection-specific fields), body and trailers come back to the stream as frames. The
/// connection goes back to the pool once both ends have passed.
final class HTTP1StreamUpstream: UpstreamOwner {
    /// Methods a request may be sent again with when a kept-alive connection closed on it
    /// unanswered (RFC 9110 §9.2.2).
    private static let idempotent: Set<String> = ["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]

    private var client: HTTP2StreamHandler?
    private let connection: UpstreamHandler
    private let pool: UpstreamPool
    private let limits: Limits
    private let reused: Bool
    private var method = "GET"
    private var headSent = false
    private var requestEnded = false
    private var responseStarted = false
    /// The exchange is over (answered, reset or gone): nothing more is written or relayed.
    private var done = false

    init(client: HTTP2StreamHandler, connection: UpstreamHandler, pool: UpstreamPool, limits: Limits) {
        self.client = client
        self.connection = connection
        self.pool = pool
        self.limits = limits
        reused = connection.requestsSent > 0
        connection.owner = self
    }

    /// The connection closed before anything came back, after an earlier request on it went
    /// well: the upstream timed it out as the request left, and an idempotent request may go again.
    var neverSaw: Bool { reused && !responseStarted && Self.idempotent.contains(method) }

    var isWritable: Bool { connection.isWritable }

    func write(_ frame: HTTP2Frame.FramePayload) {
        guard !done else { return }
        switch frame {
        case .headers(let block) where !headSent:
            headSent = true
            let (head, chunked) = requestHead(block.headers, ends: block.endStream)
            connection.sendHead(head, chunked: chunked, answersHEAD: method == "HEAD")
            if block.endStream { requestEnded = true }
        case .headers(let block):
            requestEnded = true
            connection.send(.end(HTTPHeaders(Self.fields(block.headers))))
        case .data(let data):
            if case .byteBuffer(let buffer) = data.data { connection.send(.body(buffer)) }
            if data.endStream {
                requestEnded = true
                connection.send(.end(nil))
            }
        case .rstStream:
            close()
        default:
            break
        }
    }

    func flush() { connection.flush() }

    func read() { connection.resumeReads() }

    func close() {
        guard !done else { return }
        done = true
        client = nil
        connection.close()
    }

    /// The request head for a stream's header block, and whether its body goes in chunks.
    private func requestHead(_ headers: HPACKHeaders, ends: Bool) -> (ByteBuffer, chunked: Bool) {
        method = headers.first(name: ":method") ?? "GET"
        var head = ByteBuffer()
        head.writeString("\(method) \(headers.first(name: ":path") ?? "/") HTTP/1.1\r\n")
        if let authority = HTTP2Headers.authority(headers) { head.writeField("host", authority) }
        var hasLength = false
        var cookies: [String] = []
        for (name, value) in Self.fields(headers) {
            switch name {
            case "host", "te": continue
            case _ where HTTP2Headers.connectionSpecific.contains(name): continue
            // HTTP/2 may split cookies into fields of their own; HTTP/1.1 has one (RFC 9113 §8.2.3).
            case "cookie": cookies.append(value)
            case "content-length":
                hasLength = true
                head.writeField(name, value)
            default: head.writeField(name, value)
            }
        }
        if !cookies.isEmpty { head.writeField("cookie", cookies.joined(separator: "; ")) }
        let chunked = !hasLength && !ends
        if chunked { head.writeField("transfer-encoding", "chunked") }
        head.writeStaticString("\r\n")
        return (head, chunked)
    }

    /// A block's fields less its pseudo-fields.
    private static func fields(_ headers: HPACKHeaders) -> [(String, String)] {
        headers.filter { !$0.name.hasPrefix(":") }.map { ($0.name, $0.value) }
    }

    func upstream(_ upstream: UpstreamHandler, received part: UpstreamResponsePart) {
        guard !done, let client else { return }
        switch part {
        case .head(let head) where head.status == 101:
            // Nothing on an HTTP/2 stream asks to switch protocols: the answer is no answer.
            close()
            client.upstreamClosed(reason: nil)
        case .head(let head):
            responseStarted = true
            var block: HPACKHeaders = [":status": String(head.status)]
            for field in head.fields where field.kind == .endToEnd {
                block.add(
                    name: String(decoding: head.name(field), as: UTF8.self).lowercased(),
                    value: String(decoding: head.value(field), as: UTF8.self))
            }
            client.upstreamRead(.headers(.init(headers: block)))
        case .body(let buffer):
            client.upstreamRead(.data(.init(data: .byteBuffer(buffer))))
            if !client.clientWritable { connection.pauseReads() }
        case .end(let trailers):
            done = true
            self.client = nil
            // Given back before the stream hears of the end, which may end the stream's handler.
            if requestEnded { pool.release(connection, limits: limits) } else { connection.close() }
            if let trailers, !trailers.isEmpty {
                let block = HPACKHeaders(trailers.map { ($0.name.lowercased(), $0.value) })
                client.upstreamRead(.headers(.init(headers: block, endStream: true)))
            } else {
                client.upstreamRead(.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true)))
            }
            // The connection's read ends with the pool as its owner: the end goes out now.
            client.upstreamReadComplete()
            // An early answer: its connection is closed, so the rest of the request has nowhere to go.
            if !requestEnded { client.upstreamClosed(reason: nil) }
        case .unsolicited:
            break
        }
    }

    func upstreamReadComplete(_ upstream: UpstreamHandler) {
        client?.upstreamReadComplete()
    }

    func upstreamWritabilityChanged(_ upstream: UpstreamHandler) {
        if upstream.isWritable { client?.upstreamWritable() }
    }

    func upstreamClosed(_ upstream: UpstreamHandler, error: (any Error)?) {
        guard !done, let client else { return }
        done = true
        self.client = nil
        client.upstreamClosed(reason: nil)
    }
}
