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

/// The front of every HTTP listener's connection: a client that opens with the HTTP/2 preface
/// gets the HTTP/2 pipeline in place of the HTTP/1 one installed behind this handler; any other
/// first bytes leave the HTTP/1 pipeline as it is. Either way it then leaves the pipeline.
final class HTTPVersionSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let info: ConnectionInfo
    private let http1: [any RemovableChannelHandler]
    private var buffered: ByteBuffer?

    init(_ info: ConnectionInfo, http1: [any RemovableChannelHandler]) {
        self.info = info
        self.http1 = http1
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffered == nil {
            buffered = incoming
        } else {
            buffered!.writeBuffer(&incoming)
        }
        switch HTTP2Preface.classify(buffered!.readableBytesView) {
        case .undecided:
            return
        case .http1:
            break
        case .http2:
            do {
                let pipeline = context.pipeline.syncOperations
                for handler in http1 { pipeline.removeHandler(handler, promise: nil) }
                try HTTP2Connection.install(on: pipeline, info)
            } catch {
                context.close(promise: nil)
                return
            }
        }
        let bytes = buffered.take()!
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        // HTTP/2 sits at the front of the pipeline: the HTTP/1 decoder may take a moment to leave.
        context.pipeline.fireChannelRead(wrapInboundOut(bytes))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if buffered == nil { context.fireChannelReadComplete() }
    }
}
