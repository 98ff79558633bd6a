import NIOCore
import NIOHPACK
import NIOHTTP2
import SpaceportCore

/// The proxy's own answer on an HTTP/2 stream: for a gRPC call a Trailers-Only response (one
/// HEADERS frame ending the stream: `:status 200`, `grpc-status` mapped from the HTTP status as
/// `GRPCStatus(answering:)` says, `grpc-message` percent-encoded); for any other request the
/// status and plain-text sentence HTTP/1 clients get.
extension ErrorAnswer {
    var grpcStatus: GRPCStatus { GRPCStatus(answering: Int(status.code)) }

    /// A gRPC call to an instance spoken to over HTTP/1.1, which has no trailers to end it with:
    /// a 502, so UNAVAILABLE, as for an upstream the proxy cannot use.
    static func grpcOverHTTP1(_ label: String, at upstream: Address) -> ErrorAnswer {
        ErrorAnswer(
            .badGateway,
            "\(label) at \(upstream) is configured `protocol: http1`, which cannot carry gRPC; set `protocol: h2c` or `auto` on the instance in the spaces file"
        )
    }

    func frames(grpc: Bool, _ allocator: ByteBufferAllocator) -> [HTTP2Frame.FramePayload] {
        if grpc {
            let headers: HPACKHeaders = [
                ":status": "200", "content-type": "application/grpc",
                "grpc-status": String(grpcStatus.rawValue), "grpc-message": Self.percentEncoded(message),
            ]
            return [.headers(.init(headers: headers, endStream: true))]
        }
        let text = bodyText
        let headers: HPACKHeaders = [
            ":status": String(status.code), "content-type": "text/plain; charset=utf-8",
            "content-length": String(text.utf8.count),
        ]
        return [
            .headers(.init(headers: headers)),
            .data(.init(data: .byteBuffer(allocator.buffer(string: text)), endStream: true)),
        ]
    }

    /// gRPC's percent-encoding of `grpc-message` (PROTOCOL-HTTP2.md): bytes outside printable
    /// ASCII, and `%` itself, as `%XX`.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if byte >= 0x20, byte <= 0x7E, byte != UInt8(ascii: "%") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0xF)]))
            }
        }
        return out
    }
}

/// gRPC's `grpc-timeout` (PROTOCOL-HTTP2.md): up to 8 digits and a unit, H M S m u n.
enum GRPCTimeout {
    static func parse(_ text: String) -> TimeAmount? {
        guard let unit = text.last, (2...9).contains(text.count), let value = Int64(text.dropLast()),
            value >= 0
        else { return nil }
        switch unit {
        case "H": return .hours(value)
        case "M": return .minutes(value)
        case "S": return .seconds(value)
        case "m": return .milliseconds(value)
        case "u": return .microseconds(value)
        case "n": return .nanoseconds(value)
        default: return nil
        }
    }
}
