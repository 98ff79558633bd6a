import NIOCore
import NIOHTTP1
import NIOPosix
import SpaceportCore

/// An answer the proxy gives itself (routing rule 6, docs/routing.md): a status and one plain-text sentence that
/// is both the body and the hop's `error`.
struct ErrorAnswer: Error {
    var status: HTTPResponseStatus
    var message: String

    init(_ status: HTTPResponseStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    var bodyText: String { message + "\n" }

    /// The whole answer as bytes, for a connection that has no HTTP encoder in front of it.
    func bytes(_ allocator: ByteBufferAllocator) -> ByteBuffer {
        response(version: .http1_1, route: nil, close: true, bodiless: false, allocator)
    }

    /// The answer as it goes to the client: head and (unless `bodiless`) body in one buffer.
    func response(
        version: HTTPVersion, route: String?, close: Bool, bodiless: Bool, _ allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        let text = bodyText
        var buffer = allocator.buffer(capacity: 160 + text.utf8.count)
        buffer.writeString("HTTP/\(version.major).\(version.minor) \(status.code) \(status.reasonPhrase)\r\n")
        buffer.writeField("content-type", "text/plain; charset=utf-8")
        buffer.writeField("content-length", String(text.utf8.count))
        if let route { buffer.writeField(ForwardedHeaders.routeResponseHeader, route) }
        if close {
            buffer.writeField("connection", "close")
        } else if !version.isAtLeast11 {
            // An HTTP/1.0 client takes a connection for closing unless told otherwise.
            buffer.writeField("connection", "keep-alive")
        }
        buffer.writeStaticString("\r\n")
        if !bodiless { buffer.writeString(text) }
        return buffer
    }
}

extension ErrorAnswer {
    /// An upstream that could not be reached: 504 when it was too slow to accept, 503 when it
    /// has all the connections the limits allow and too many requests wait, else 502.
    static func unreachable(_ label: String, at address: Address, _ error: any Error, limits: Limits)
        -> ErrorAnswer
    {
        if let refusal = error as? UpstreamPool.Refusal {
            switch refusal {
            case .queueFull(let open, let waiting):
                return ErrorAnswer(
                    .serviceUnavailable,
                    "\(label) at \(address) is busy: \(open) connections are open (max_upstream_connections) and \(waiting) requests wait (max_upstream_queue); try again shortly or raise the limits"
                )
            case .waitedTooLong(let open, let ms):
                return ErrorAnswer(
                    .serviceUnavailable,
                    "\(label) at \(address) is busy: none of its \(open) connections came free within \(ms) ms; try again shortly or raise max_upstream_connections"
                )
            case .shuttingDown:
                return ErrorAnswer(.serviceUnavailable, "the proxy is shutting down; send the request again")
            }
        }
        if let channelError = error as? ChannelError, case .connectTimeout = channelError {
            return ErrorAnswer(
                .gatewayTimeout,
                "\(label) at \(address) did not accept a connection within \(limits.connectTimeoutMs) ms")
        }
        return ErrorAnswer(.badGateway, "\(label) at \(address) could not be reached: \(reason(error))")
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
