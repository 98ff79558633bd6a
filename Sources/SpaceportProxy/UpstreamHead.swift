import NIOCore
import NIOHTTP1
import SpaceportCore

/// A response head as an upstream sent it: its status, how its body is framed, and where
/// each field sits in its bytes, so relaying it copies bytes instead of building strings.
struct UpstreamHead {
    /// What the proxy does with a field when it relays the head.
    enum Role: UInt8 {
        case endToEnd
        /// Hop-by-hop (RFC 9110 §7.6.1), named by Connection, or the proxy's own route field.
        case dropped
        /// `Upgrade`: relayed only with a 101 to an upgrade request.
        case upgrade
    }

    typealias Field = HeadField<Role>

    var status: Int
    /// 0 or 1: HTTP/1.0 or HTTP/1.1.
    var minorVersion: Int
    var framing: BodyFraming
    /// The upstream may take another request on this connection after this response.
    var keepAlive: Bool
    /// The head's bytes; `reason` and the fields' ranges index into them.
    var bytes: ByteBuffer
    var reason: Range<Int>
    var fields: [Field]

    var version: HTTPVersion { HTTPVersion(major: 1, minor: minorVersion) }
    var isInterim: Bool { status < 200 && status != 101 }

    func name(_ field: Field) -> ByteBufferView { bytes.readableBytesView[field.name] }
    func value(_ field: Field) -> ByteBufferView { bytes.readableBytesView[field.value] }
}

/// What an upstream connection reads, one event at a time.
enum UpstreamResponsePart {
    case head(UpstreamHead)
    case body(ByteBuffer)
    case end(HTTPHeaders?)
    /// Bytes no request asked for (past a response's end, or while none was owed): whatever the
    /// upstream sends from here cannot be told apart from an answer.
    case unsolicited
}
