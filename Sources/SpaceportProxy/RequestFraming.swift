import NIOHTTP1

/// How a request's body is framed, checked before the request goes anywhere (RFC 9112 §6):
/// the proxy forwards only framings it re-creates exactly on the next hop, so the upstream
/// can never read the body's end where the proxy did not.
enum RequestFraming {
    /// Why the request cannot be forwarded as framed, as the answer to give; nil when it can.
    static func problem(_ head: HTTPRequestHead) -> ErrorAnswer? {
        let codings = head.headers[canonicalForm: "transfer-encoding"].map { $0.lowercased() }
        if !codings.isEmpty {
            guard head.version.isAtLeast11 else {
                return ErrorAnswer(
                    .badRequest, "Transfer-Encoding is not HTTP/1.0; send the body with a Content-Length")
            }
            if let other = codings.first(where: { $0 != "chunked" }) {
                return ErrorAnswer(
                    .notImplemented,
                    "the transfer coding '\(String(other.prefix(40)))' is not supported; Spaceport forwards chunked bodies only"
                )
            }
            if codings.count > 1 {
                return ErrorAnswer(
                    .badRequest, "the request body is chunked \(codings.count) times; chunk it once")
            }
        }
        // NIO's encoder writes no framing for a TRACE, so its body would reach the upstream as a request of its own.
        if head.method == .TRACE && declaresBody(head) {
            return ErrorAnswer(.badRequest, "a TRACE request cannot carry a body")
        }
        return nil
    }

    /// True when the head announces a body: chunks, or a Content-Length above zero.
    static func declaresBody(_ head: HTTPRequestHead) -> Bool {
        head.headers.contains(name: "transfer-encoding")
            || head.headers["content-length"].contains { $0.trimmingCharacters(in: .whitespaces) != "0" }
    }

    /// True when the client waits for a 100 Continue before it sends its body, and so may
    /// never send it once it gets a final answer instead (RFC 9110 §10.1.1).
    static func awaitsContinue(_ head: HTTPRequestHead) -> Bool {
        declaresBody(head)
            && head.headers[canonicalForm: "expect"].contains { $0.lowercased() == "100-continue" }
    }
}
