/// How a message's body is framed (RFC 9112 §6.3).
enum BodyFraming: Equatable {
    /// No body: a request without one, a 1xx, 204 or 304, or the answer to a HEAD.
    case none
    case length(Int)
    case chunked
    /// The body ends when the upstream closes the connection (responses only).
    case untilClose
}

/// What a head's Connection fields say (RFC 9112 §9.3, RFC 9110 §7.6.1), read token by token.
struct ConnectionOptions {
    var close = false
    var keepAlive = false
    var upgrade = false
    /// The other tokens: fields that are hop-by-hop for this message.
    var named: [Range<Int>] = []

    mutating func read(_ raw: UnsafeRawBufferPointer, _ value: Range<Int>) {
        Bytes.forEachToken(raw, value) { token in
            let word = raw[token]
            if Bytes.sameName(word, "close".utf8) {
                close = true
            } else if Bytes.sameName(word, "keep-alive".utf8) {
                keepAlive = true
            } else if Bytes.sameName(word, "upgrade".utf8) {
                upgrade = true
            } else {
                named.append(token)
            }
        }
    }

    /// The connection stays open after this message: HTTP/1.1 unless it says close, HTTP/1.0
    /// only when it says keep-alive.
    func keepsAlive(minorVersion: Int) -> Bool {
        minorVersion == 1 ? !close : keepAlive && !close
    }
}
