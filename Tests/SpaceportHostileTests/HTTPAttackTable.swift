import Testing

/// One hostile request: the bytes a client sends, what it must get back, and what the
/// upstream may see.
struct Attack: Sendable, CustomTestStringConvertible {
    enum After: Sendable {
        /// The proxy closes the connection after its answers.
        case closed
        /// The connection goes on: a follow-up request on it is answered by the upstream.
        case open
    }

    var name: String
    var bytes: [UInt8]
    /// The statuses of the answers, in order.
    var statuses: [Int]
    var after: After
    /// The request targets the upstream receives, in order (the follow-up aside).
    var forwarded: [String]
    /// A request refused in its body may reach the upstream as a head cut off by a close.
    var mayCutOff = false
    /// A further check of the requests the upstream received; returns a problem, or nil.
    var check: (@Sendable ([RecordedRequest]) -> String?)? = nil

    var testDescription: String { name }
}

/// Builds request bytes from text; `\r\n` is written out so that bare CRs and LFs stand out.
private func text(_ string: String) -> [UInt8] { Array(string.utf8) }

private let host = "Host: app.localhost\r\n"
private let smuggled = "GET /smuggled HTTP/1.1\r\n\(host)\r\n"

private func attack(
    _ name: String, _ bytes: [UInt8], _ statuses: [Int], _ after: Attack.After, forwarded: [String] = [],
    mayCutOff: Bool = false, check: (@Sendable ([RecordedRequest]) -> String?)? = nil
) -> Attack {
    Attack(
        name: name, bytes: bytes, statuses: statuses, after: after, forwarded: forwarded,
        mayCutOff: mayCutOff,
        check: check)
}

private func attack(
    _ name: String, _ request: String, _ statuses: [Int], _ after: Attack.After, forwarded: [String] = [],
    mayCutOff: Bool = false, check: (@Sendable ([RecordedRequest]) -> String?)? = nil
) -> Attack {
    attack(name, text(request), statuses, after, forwarded: forwarded, mayCutOff: mayCutOff, check: check)
}

/// Checks the first forwarded request's body.
private func body(_ expected: String) -> @Sendable ([RecordedRequest]) -> String? {
    { requests in
        let seen = String(decoding: requests.first?.body ?? [], as: UTF8.self)
        return seen == expected
            ? nil : "the upstream got the body \(seen.debugDescription), not \(expected.debugDescription)"
    }
}

/// Checks a header of the first forwarded request.
private func header(_ name: String, is expected: String) -> @Sendable ([RecordedRequest]) -> String? {
    { requests in
        let seen = requests.first?.values(name) ?? []
        return seen == [expected] ? nil : "the upstream got \(name): \(seen), not \(expected)"
    }
}

enum AttackTable {
    static let limits = ["max_header_bytes": 8192, "max_header_count": 40]

    static let rows: [Attack] = framing + chunks + head + routing + sizes + versions + pipelines

    /// Request smuggling through disagreeing framing (RFC 9112 §6).
    static let framing: [Attack] = [
        attack(
            "Content-Length and Transfer-Encoding together",
            "POST / HTTP/1.1\r\n\(host)Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n\(smuggled)",
            [400], .closed),
        attack(
            "Transfer-Encoding before Content-Length",
            "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\nContent-Length: 40\r\n\r\n0\r\n\r\n\(smuggled)",
            [400], .closed),
        attack(
            "two identical Content-Length headers",
            "POST / HTTP/1.1\r\n\(host)Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello", [400], .closed),
        attack(
            "two conflicting Content-Length headers",
            "POST / HTTP/1.1\r\n\(host)Content-Length: 5\r\nContent-Length: 46\r\n\r\nhello\(smuggled)",
            [400], .closed),
        attack(
            "a Content-Length list of two values",
            "POST / HTTP/1.1\r\n\(host)Content-Length: 5, 5\r\n\r\nhello", [400], .closed),
        attack(
            "a Content-Length with a plus sign",
            "POST / HTTP/1.1\r\n\(host)Content-Length: +5\r\n\r\nhello", [400], .closed),
        attack(
            "a negative Content-Length",
            "POST / HTTP/1.1\r\n\(host)Content-Length: -1\r\n\r\nhello", [400], .closed),
        attack(
            "a hexadecimal Content-Length",
            "POST / HTTP/1.1\r\n\(host)Content-Length: 0x5\r\n\r\nhello", [400], .closed),
        attack(
            "a Content-Length past 64 bits",
            "POST / HTTP/1.1\r\n\(host)Content-Length: 99999999999999999999999\r\n\r\nhello", [400], .closed),
        attack(
            "a Content-Length with a space inside the number",
            "POST / HTTP/1.1\r\n\(host)Content-Length: 1 0\r\n\r\nhello", [400], .closed),
        attack(
            "Transfer-Encoding: xchunked, a coding nobody knows",
            "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", [501],
            .closed),
        attack(
            "Transfer-Encoding: chunked, identity",
            "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked, identity\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            [400], .closed),
        attack(
            "Transfer-Encoding: gzip, chunked, a coding the proxy cannot pass on",
            "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            [501], .closed),
        attack(
            "Transfer-Encoding: chunked given on two lines",
            "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            [400], .closed),
        attack(
            "Transfer-Encoding with a tab before the value is plain chunked",
            "POST / HTTP/1.1\r\n\(host)Transfer-Encoding:\tchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", [200],
            .open,
            forwarded: ["/"], check: body("hello")),
        attack(
            "Transfer-Encoding with spaces around the value is plain chunked",
            "POST / HTTP/1.1\r\n\(host)Transfer-Encoding:   chunked  \r\n\r\n5\r\nhello\r\n0\r\n\r\n", [200],
            .open, forwarded: ["/"], check: body("hello")),
        attack(
            "Transfer-Encoding in capitals is plain chunked",
            "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: CHUNKED\r\n\r\n5\r\nhello\r\n0\r\n\r\n", [200],
            .open,
            forwarded: ["/"], check: body("hello")),
        attack(
            "Transfer-Encoding with a vertical tab before the value",
            "POST / HTTP/1.1\r\n\(host)Transfer-Encoding:\u{0B}chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", [400],
            .closed),
        attack(
            "Transfer-Encoding with a space before the colon",
            "POST / HTTP/1.1\r\n\(host)Transfer-Encoding : chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", [400],
            .closed),
        attack(
            "Transfer-Encoding as a folded continuation of another header",
            "POST / HTTP/1.1\r\n\(host)X-Pad: 1\r\n Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello",
            [400], .closed),
        attack(
            "Transfer-Encoding on an HTTP/1.0 request",
            "POST / HTTP/1.0\r\n\(host)Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", [400],
            .closed),
        attack(
            "a Connection header naming Content-Length cannot strip the body's length",
            "GET / HTTP/1.1\r\n\(host)Connection: content-length\r\nContent-Length: \(smuggled.utf8.count)\r\n\r\n\(smuggled)",
            [200], .open, forwarded: ["/"], check: body(smuggled)),
        attack(
            "a Connection header naming Host cannot strip the Host",
            "GET /h HTTP/1.1\r\n\(host)Connection: host\r\n\r\n", [200], .open, forwarded: ["/h"],
            check: header("host", is: "app.localhost")),
        attack(
            "a TRACE with a body, which could only be smuggled",
            "TRACE / HTTP/1.1\r\n\(host)Content-Length: \(smuggled.utf8.count)\r\n\r\n\(smuggled)", [400],
            .closed),
        attack(
            "an upgrade the upstream declines, with a second request in the same packet",
            "GET /up HTTP/1.1\r\n\(host)Connection: Upgrade\r\nUpgrade: h2c\r\n\r\n\(smuggled)", [200],
            .closed,
            forwarded: ["/up"]),
        attack(
            "a body longer than its Content-Length, the rest not HTTP",
            "POST / HTTP/1.1\r\n\(host)Content-Length: 5\r\n\r\nhelloGARBAGE\r\n\r\n", [200, 400], .closed,
            forwarded: ["/"], check: body("hello")),
    ]

    /// Chunked bodies that are not what they claim.
    static let chunks: [Attack] = [
        attack(
            "a chunk size that is not hexadecimal",
            "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", [400],
            .closed,
            mayCutOff: true),
        attack(
            "a chunk size past 64 bits",
            "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n1ffffffffffffffff\r\nhello\r\n0\r\n\r\n",
            [400], .closed, mayCutOff: true),
        attack(
            "a chunk size written 0x5",
            "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n", [400],
            .closed,
            mayCutOff: true),
        attack(
            "a chunk size with a negative sign",
            "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n", [400],
            .closed,
            mayCutOff: true),
        attack(
            "a chunk longer than its size",
            "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n", [400],
            .closed,
            mayCutOff: true),
        attack(
            "a chunk extension holding a control character",
            "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n5;x=\u{01}\r\nhello\r\n0\r\n\r\n",
            [400],
            .closed, mayCutOff: true),
        attack(
            "a chunk size line ended by a bare LF",
            "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", [400],
            .closed,
            mayCutOff: true),
        attack(
            "a trailer line that is not a header",
            "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nnot a header\r\n\r\n",
            [400], .closed, mayCutOff: true),
        attack(
            "a chunk extension with a name and value is passed as a plain body",
            "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n0\r\n\r\n",
            [200],
            .open, forwarded: ["/"], check: body("hello")),
        attack(
            "a last chunk hiding a request after it is the next request, not part of this one",
            "POST / HTTP/1.1\r\n\(host)Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /next HTTP/1.1\r\n\(host)\r\n",
            [200, 200], .open, forwarded: ["/", "/next"], check: body("hello")),
    ]

    /// Header syntax the RFC forbids or that readers disagree on.
    static let head: [Attack] = [
        attack(
            "an obs-fold continuation line", "GET / HTTP/1.1\r\n\(host)X-Folded: a\r\n b\r\n\r\n", [400],
            .closed),
        attack(
            "an obs-fold inside the Host header", "GET / HTTP/1.1\r\nHost: app\r\n .localhost\r\n\r\n", [400],
            .closed),
        attack(
            "whitespace before the colon", "GET / HTTP/1.1\r\nHost : app.localhost\r\n\r\n", [400], .closed),
        attack("a tab before the colon", "GET / HTTP/1.1\r\n\(host)X-Tab\t: 1\r\n\r\n", [400], .closed),
        attack("bare LF line endings", "GET / HTTP/1.1\nHost: app.localhost\n\n", [400], .closed),
        attack("a bare CR inside the request line", "GET /\rx HTTP/1.1\r\n\(host)\r\n", [400], .closed),
        attack(
            "a bare CR inside a header value", "GET / HTTP/1.1\r\n\(host)X-A: 1\rX-B: 2\r\n\r\n", [400],
            .closed),
        attack(
            "a bare LF inside a header value", "GET / HTTP/1.1\r\n\(host)X-A: 1\nX-Injected: 2\r\n\r\n",
            [400],
            .closed),
        attack(
            "a NUL inside a header value", "GET / HTTP/1.1\r\n\(host)X-A: 1\u{0}2\r\n\r\n", [400], .closed),
        attack(
            "a header name with a space inside", "GET / HTTP/1.1\r\n\(host)X Bad: 1\r\n\r\n", [400], .closed),
        attack("a header with no name", "GET / HTTP/1.1\r\n\(host): nameless\r\n\r\n", [400], .closed),
        attack("a header line with no colon", "GET / HTTP/1.1\r\n\(host)NoColon\r\n\r\n", [400], .closed),
        attack(
            "a header value in bytes that are not UTF-8 reaches the upstream well-formed",
            [UInt8]("GET /bin HTTP/1.1\r\n\(host)X-Bin: ".utf8) + [0xFF, 0xFE, 0x80]
                + [UInt8]("\r\n\r\n".utf8), [200],
            .open, forwarded: ["/bin"]),
    ]

    /// The Host, the target and the route header: what decides where a request goes.
    static let routing: [Attack] = [
        attack(
            "a NUL inside the route header", "GET / HTTP/1.1\r\n\(host)azds-route-as: bob\u{0}\r\n\r\n",
            [400],
            .closed),
        attack(
            "a bare CR inside the route header",
            "GET / HTTP/1.1\r\n\(host)azds-route-as: bob\rX-Injected: 1\r\n\r\n", [400], .closed),
        attack(
            "a bare LF inside the route header",
            "GET / HTTP/1.1\r\n\(host)azds-route-as: bob\nX-Injected: 1\r\n\r\n", [400], .closed),
        attack(
            "an escape sequence inside the route header",
            "GET / HTTP/1.1\r\n\(host)azds-route-as: \u{1B}[31mred\r\n\r\n", [400], .closed),
        attack(
            "a right-to-left override inside the route header",
            "GET / HTTP/1.1\r\n\(host)azds-route-as: bob\u{202E}evil\r\n\r\n", [400], .open),
        attack(
            "a route header that is a path",
            "GET / HTTP/1.1\r\n\(host)azds-route-as: ../../etc/passwd\r\n\r\n",
            [400], .open),
        attack(
            "a route header that is not a space name",
            "GET / HTTP/1.1\r\n\(host)azds-route-as: Not_A_Space\r\n\r\n", [400], .open),
        attack("an empty route header", "GET / HTTP/1.1\r\n\(host)azds-route-as:\r\n\r\n", [400], .open),
        attack(
            "a route header longer than any space name",
            "GET / HTTP/1.1\r\n\(host)azds-route-as: \(String(repeating: "a", count: 300))\r\n\r\n", [400],
            .open),
        attack(
            "a route header listing two spaces", "GET / HTTP/1.1\r\n\(host)azds-route-as: alice, bob\r\n\r\n",
            [400], .open),
        attack(
            "two different route headers",
            "GET / HTTP/1.1\r\n\(host)azds-route-as: alice\r\nazds-route-as: bob\r\n\r\n", [400], .open),
        attack(
            "a route header in bytes that are not UTF-8",
            [UInt8]("GET / HTTP/1.1\r\n\(host)azds-route-as: ".utf8) + [0xC3, 0x28, 0xFF]
                + [UInt8]("\r\n\r\n".utf8),
            [400], .open),
        attack(
            "a route header naming an unknown space falls back and reaches the upstream as sent",
            "GET /who HTTP/1.1\r\n\(host)azds-route-as: nobody\r\n\r\n", [200], .open, forwarded: ["/who"],
            check: header("azds-route-as", is: "nobody")),
        attack("no Host header", "GET / HTTP/1.1\r\nX-A: 1\r\n\r\n", [400], .open),
        attack("an empty Host header", "GET / HTTP/1.1\r\nHost:\r\n\r\n", [400], .open),
        attack("two Host headers", "GET / HTTP/1.1\r\n\(host)Host: other.localhost\r\n\r\n", [400], .open),
        attack("two identical Host headers", "GET / HTTP/1.1\r\n\(host)\(host)\r\n", [400], .open),
        attack(
            "an escape sequence inside the Host", "GET / HTTP/1.1\r\nHost: app\u{1B}[2J.localhost\r\n\r\n",
            [400],
            .closed),
        attack(
            "a right-to-left override inside the Host",
            "GET / HTTP/1.1\r\nHost: app\u{202E}.localhost\r\n\r\n",
            [400], .open),
        attack(
            "an absolute-form target wins over a Host that disagrees",
            "GET http://app.localhost/abs HTTP/1.1\r\nHost: other.localhost\r\n\r\n", [200], .open,
            forwarded: ["/abs"], check: header("host", is: "app.localhost")),
        attack(
            "an absolute-form target naming an unknown service, whatever the Host says",
            "GET http://nosuch.localhost/ HTTP/1.1\r\n\(host)\r\n", [404], .open),
        attack(
            "an absolute-form target with user info naming another host",
            "GET http://app.localhost@evil.example/ HTTP/1.1\r\n\(host)\r\n", [404], .open),
        attack("an asterisk target on a GET", "GET * HTTP/1.1\r\n\(host)\r\n", [400], .open),
        attack(
            "an asterisk target on an OPTIONS is forwarded as it is", "OPTIONS * HTTP/1.1\r\n\(host)\r\n",
            [200],
            .open, forwarded: ["*"]),
    ]

    /// Heads past the limits (8 KB of headers, 40 fields in this table's spaces file).
    static let sizes: [Attack] = [
        attack(
            "a request line of 20 KB",
            "GET /\(String(repeating: "a", count: 20_000)) HTTP/1.1\r\n\(host)\r\n", [431], .closed),
        attack(
            "a header block of 12 KB in small headers",
            "GET / HTTP/1.1\r\n\(host)"
                + (0..<30).map { "X-Fill-\($0): \(String(repeating: "f", count: 400))\r\n" }.joined()
                + "\r\n",
            [431], .closed),
        attack(
            "one header value of 10 KB",
            "GET / HTTP/1.1\r\n\(host)X-Big: \(String(repeating: "b", count: 10_000))\r\n\r\n", [431], .closed
        ),
        attack(
            "a header name of 10 KB",
            "GET / HTTP/1.1\r\n\(host)X-\(String(repeating: "n", count: 10_000)): 1\r\n\r\n", [431], .closed),
        attack(
            "more header fields than the limit",
            "GET / HTTP/1.1\r\n\(host)" + (0..<45).map { "X-Many-\($0): \($0)\r\n" }.joined() + "\r\n", [431],
            .closed),
    ]

    /// Methods and versions that are not HTTP/1.x.
    static let versions: [Attack] = [
        attack("a lowercase method", "get / HTTP/1.1\r\n\(host)\r\n", [400], .closed),
        attack("an unknown method", "BREW / HTTP/1.1\r\n\(host)\r\n", [400], .closed),
        attack("a NUL inside the method", "GE\u{0}T / HTTP/1.1\r\n\(host)\r\n", [400], .closed),
        attack("HTTP/2.0 on the request line", "GET / HTTP/2.0\r\n\(host)\r\n", [400], .closed),
        attack("HTTP/3.0 on the request line", "GET / HTTP/3.0\r\n\(host)\r\n", [400], .closed),
        attack("an HTTP/0.9 request line without a version", "GET /\r\n\r\n", [400], .closed),
        attack("HTTP/1.2 on the request line", "GET / HTTP/1.2\r\n\(host)\r\n", [400], .closed),
        attack("a version that is not a number", "GET / HTTP/1.x\r\n\(host)\r\n", [400], .closed),
        attack("a lowercase version", "GET / http/1.1\r\n\(host)\r\n", [400], .closed),
        attack("the HTTP/2 preface cut short", "PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", [400], .closed),
        attack(
            "two spaces inside the request line are read as one, as RFC 9112 allows",
            "GET  /two HTTP/1.1\r\n\(host)\r\n", [200], .open, forwarded: ["/two"]),
        attack("a space inside the target", "GET /a b HTTP/1.1\r\n\(host)\r\n", [400], .closed),
        attack("a NUL inside the target", "GET /a\u{0}b HTTP/1.1\r\n\(host)\r\n", [400], .closed),
        attack(
            "a TLS ClientHello on the plain port",
            [0x16, 0x03, 0x01, 0x00, 0xA5, 0x01, 0x00, 0x00, 0xA1, 0x03, 0x03]
                + [UInt8](repeating: 0x2A, count: 64),
            [400], .closed),
    ]

    /// What follows a bad or refused request on the same connection.
    static let pipelines: [Attack] = [
        attack(
            "a malformed request followed by a pipelined good one",
            "GET / HTTP/1.1\r\nHost : app.localhost\r\n\r\n\(smuggled)", [400], .closed),
        attack(
            "a 404 followed by a pipelined good one",
            "GET / HTTP/1.1\r\nHost: nosuch.localhost\r\n\r\nGET /ok HTTP/1.1\r\n\(host)\r\n", [404, 200],
            .open,
            forwarded: ["/ok"]),
        attack(
            "a refused request whose body holds a request",
            "POST / HTTP/1.1\r\nHost: nosuch.localhost\r\nContent-Length: \(smuggled.utf8.count)\r\n\r\n\(smuggled)",
            [404], .open),
        attack(
            "a refused request that expects 100-continue, whose body never comes",
            "POST / HTTP/1.1\r\nHost: nosuch.localhost\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n",
            [404], .closed),
        attack(
            "a good request, a malformed one, then a good one",
            "GET /first HTTP/1.1\r\n\(host)\r\nGET / HTTP/1.1\r\n\(host)X Bad: 1\r\n\r\n\(smuggled)",
            [200, 400],
            .closed, forwarded: ["/first"]),
        attack(
            "ten pipelined requests are answered in order",
            (0..<10).map { "GET /p\($0) HTTP/1.1\r\n\(host)\r\n" }.joined(), Array(repeating: 200, count: 10),
            .open,
            forwarded: (0..<10).map { "/p\($0)" }),
        attack(
            "a bad route header between two good requests",
            "GET /a HTTP/1.1\r\n\(host)\r\nGET /b HTTP/1.1\r\n\(host)azds-route-as: B@d\r\n\r\nGET /c HTTP/1.1\r\n\(host)\r\n",
            [200, 400, 200], .open, forwarded: ["/a", "/c"]),
    ]
}
