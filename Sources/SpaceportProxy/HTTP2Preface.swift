import NIOCore

/// The client connection preface of HTTP/2 with prior knowledge (RFC 9113 §3.4), which gRPC
/// clients and `curl --http2-prior-knowledge` open with.
enum HTTP2Preface {
    static let bytes = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    enum Verdict: Equatable {
        case http2
        case http1
        /// The bytes so far begin the preface; more are needed to tell.
        case undecided
    }

    static func classify(_ view: ByteBufferView) -> Verdict {
        for (offset, byte) in view.enumerated() {
            guard offset < bytes.count else { return .http2 }
            if byte != bytes[offset] { return .http1 }
        }
        return view.count >= bytes.count ? .http2 : .undecided
    }
}
