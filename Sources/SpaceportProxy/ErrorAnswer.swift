import NIOCore
import NIOHTTP1
import NIOPosix
import SpaceportCore

/// An answer the proxy gives itself (rule 6): a status and one plain-text sentence that
/// is both the body and the hop's `error`.
struct ErrorAnswer: Error {
    var status: HTTPResponseStatus
    var message: String

    init(_ status: HTTPResponseStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    func head(version: HTTPVersion, route: String?, close: Bool) -> HTTPResponseHead {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        headers.add(name: "content-length", value: String(bodyText.utf8.count))
        if let route { headers.add(name: ForwardedHeaders.routeResponseHeader, value: route) }
        if close { headers.add(name: "connection", value: "close") }
        return HTTPResponseHead(version: version, status: status, headers: headers)
    }

    var bodyText: String { message + "\n" }

    func body(_ allocator: ByteBufferAllocator) -> ByteBuffer {
        allocator.buffer(string: bodyText)
    }

    /// The whole answer as bytes, for a connection that has no HTTP encoder in front of it.
    func bytes(_ allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 160 + bodyText.utf8.count)
        buffer.writeString("HTTP/1.1 \(status.code) \(status.reasonPhrase)\r\n")
        for header in head(version: .http1_1, route: nil, close: true).headers {
            buffer.writeString("\(header.name): \(header.value)\r\n")
        }
        buffer.writeString("\r\n")
        buffer.writeString(bodyText)
        return buffer
    }
}

extension ChannelHandlerContext {
    /// Writes `answer` as a whole response through the HTTP encoder, then closes the
    /// connection if `close`. Answers to HEAD and CONNECT are `bodiless`.
    func writeAnswer(_ answer: ErrorAnswer, version: HTTPVersion, route: String?, close: Bool, bodiless: Bool)
    {
        let head = answer.head(version: version, route: route, close: close)
        write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        if !bodiless {
            write(
                NIOAny(HTTPServerResponsePart.body(.byteBuffer(answer.body(channel.allocator)))), promise: nil
            )
        }
        let written = writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)))
        if close {
            written.assumeIsolated().whenComplete { _ in self.close(promise: nil) }
        }
    }
}

extension ErrorAnswer {
    /// An upstream that could not be reached: 504 when it was too slow to accept, else 502.
    static func unreachable(_ label: String, at address: Address, _ error: any Error, limits: Limits)
        -> ErrorAnswer
    {
        if let channelError = error as? ChannelError, case .connectTimeout = channelError {
            return ErrorAnswer(
                .gatewayTimeout,
                "\(label) at \(address) did not accept a connection within \(limits.connectTimeoutMs) ms")
        }
        return ErrorAnswer(.badGateway, "\(label) at \(address) could not be reached: \(reason(error))")
    }

    /// An upstream that went away before it answered.
    static func hungUp(_ label: String, at address: Address, _ error: (any Error)?) -> ErrorAnswer {
        let detail = error.map { " (\(reason($0)))" } ?? ""
        return ErrorAnswer(
            .badGateway, "\(label) at \(address) closed the connection without answering\(detail)")
    }

    /// A client that stopped sending its request body part way.
    static func bodyStalled(limits: Limits) -> ErrorAnswer {
        ErrorAnswer(
            .requestTimeout,
            "the request body stopped arriving: nothing came for \(limits.upstreamTimeoutMs) ms")
    }

    static func tooSlow(_ label: String, at address: Address, limits: Limits) -> ErrorAnswer {
        ErrorAnswer(
            .gatewayTimeout, "\(label) at \(address) did not answer within \(limits.upstreamTimeoutMs) ms")
    }

    /// A socket error in words: `connection refused`, not `IOError(errno: 111)`.
    static func reason(_ error: any Error) -> String {
        if let io = error as? IOError {
            return String(cString: strerror(io.errnoCode)).lowercased()
        }
        if let failure = error as? NIOConnectionError {
            if let first = failure.connectionErrors.first { return reason(first.error) }
            return "the host name did not resolve"
        }
        return "\(error)"
    }
}
