import NIOHTTP1

/// Bytes that break HTTP/1.1's rules, in a request or a response, said in one sentence that
/// names the message ("the request", "the response"). For a request, `status` is what the
/// client is answered (400, 431 for heads past the limits, 501 for codings the proxy does not
/// forward); for a response, the proxy answers its own client 502.
struct HTTPSyntaxError: Error, CustomStringConvertible {
    var status: HTTPResponseStatus
    var description: String
    /// The peer closed the connection part way through a message; the bytes it sent were fine.
    var cutOff: Bool

    init(_ description: String, status: HTTPResponseStatus = .badRequest, cutOff: Bool = false) {
        self.status = status
        self.description = description
        self.cutOff = cutOff
    }

    /// A client's request the proxy refuses: a 400 says first that it is not HTTP/1.1.
    static func request(_ status: HTTPResponseStatus, _ problem: String) -> HTTPSyntaxError {
        HTTPSyntaxError(
            status == .badRequest ? "the request is not valid HTTP/1.1: \(problem)" : problem, status: status)
    }

    /// What the client whose request this is gets back.
    var answer: ErrorAnswer { ErrorAnswer(status, description) }
}
