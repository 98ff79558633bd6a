import NIOCore

/// One field of a head the proxy read (a client's request, an upstream's response): where
/// its name and value sit in the head's bytes, and what it means to the proxy, in the
/// request's or the response's own vocabulary (`Kind`).
struct HeadField<Kind> {
    var name: Range<Int>
    var value: Range<Int>
    var kind: Kind
}

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

extension Bytes {
    /// An empty field list for the next head, in the storage of `spare` (the last head's) when
    /// that head is gone, so a head read on a kept-alive connection allocates no list.
    static func reused<Kind>(_ spare: inout [HeadField<Kind>]) -> [HeadField<Kind>] {
        var fields = spare
        spare = []
        fields.removeAll(keepingCapacity: true)
        if fields.capacity < 12 { fields.reserveCapacity(12) }
        return fields
    }

    /// Gives the fields a Connection header names (`tokens`) the kind `named`: they are
    /// hop-by-hop for this message (RFC 9110 §7.6.1). The message's length and its Host
    /// stay, whatever Connection says, and so do fields `keep` spares.
    static func markNamedByConnection<Kind>(
        _ tokens: [Range<Int>], in fields: inout [HeadField<Kind>], _ raw: UnsafeRawBufferPointer,
        as named: Kind, keep: (Kind) -> Bool = { _ in false }
    ) {
        for token in tokens {
            let word = raw[token]
            if sameName(word, "content-length".utf8) || sameName(word, "host".utf8) { continue }
            for index in fields.indices where !keep(fields[index].kind) {
                if sameName(raw[fields[index].name], word) { fields[index].kind = named }
            }
        }
    }
}

extension Optional where Wrapped == ByteBuffer {
    /// The bytes held here (read before and not parsed yet) followed by `incoming`; the hold is
    /// emptied. What the two parsers' handlers do with every read.
    mutating func takeJoined(with incoming: ByteBuffer) -> ByteBuffer {
        guard var held = take() else { return incoming }
        var incoming = incoming
        held.writeBuffer(&incoming)
        return held
    }
}

extension ChannelHandlerContext {
    /// Leaves the pipeline after handing the next handler `rest`, the bytes read and not yet
    /// parsed, so that the handler taking over (the glue, after a 101) loses none of them.
    func leavePipeline(handingOn rest: ByteBuffer?, removalToken: RemovalToken) {
        if let rest, rest.readableBytes > 0 {
            fireChannelRead(NIOAny(rest))
            fireChannelReadComplete()
        }
        leavePipeline(removalToken: removalToken)
    }
}
