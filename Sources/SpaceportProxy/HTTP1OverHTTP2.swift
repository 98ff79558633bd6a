import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// An HTTP/1.1 client's request on an HTTP/2 stream to an instance spoken to over h2c
/// (`protocol: h2c`). It sits at the head of the stream's channel, under the usual response
/// decoder and `UpstreamHandler`, so the exchange handler writes and reads HTTP/1.1 as it does
/// with any upstream: the request head it writes becomes the stream's header block and its
/// body DATA (a chunked body taken out of its chunks, its trailers sent as trailers); the
/// response's header block becomes an HTTP/1.1 head, its body in chunks unless it has a
/// content-length, its trailers the last chunk's when the client sent `TE: trailers`, else dropped.
final class HTTP1OverHTTP2Bridge: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = HTTP2Frame.FramePayload

    private enum RequestBody {
        case head
        case length(remaining: Int)
        case chunked
        case done

        var isDone: Bool {
            if case .done = self { return true }
            return false
        }
    }

    /// The client asked for trailers (`TE: trailers`, which HTTP/1 drops at each hop).
    private let wantsTrailers: Bool
    private var request = RequestBody.head
    /// Request bytes not yet taken apart: a head or a chunk still incomplete.
    private var unread = ByteBuffer()
    private var chunks = ChunkedBodyReader(message: "the request")
    private var answersHEAD = false
    private var responseStarted = false
    private var responseChunked = false

    init(wantsTrailers: Bool) {
        self.wantsTrailers = wantsTrailers
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var bytes = unwrapOutboundIn(data)
        unread.writeBuffer(&bytes)
        var frames: [HTTP2Frame.FramePayload] = []
        do {
            try take(into: &frames)
        } catch {
            promise?.fail(error)
            context.close(promise: nil)
            return
        }
        guard let last = frames.popLast() else {
            promise?.succeed()
            return
        }
        for frame in frames { context.write(wrapOutboundOut(frame), promise: nil) }
        context.write(wrapOutboundOut(last), promise: promise)
    }

    /// Turns what has come of the request so far into frames.
    private func take(into frames: inout [HTTP2Frame.FramePayload]) throws {
        while true {
            switch request {
            case .head:
                guard let end = unread.readableBytesView.firstRange(of: "\r\n\r\n".utf8) else { return }
                let text = unread.readString(length: end.upperBound - unread.readerIndex) ?? ""
                // Read first: it decides how the body is framed, and so whether the block ends the stream.
                let block = requestBlock(text)
                frames.append(.headers(.init(headers: block, endStream: request.isDone)))
            case .length(let remaining):
                guard unread.readableBytes > 0 else { return }
                let count = min(remaining, unread.readableBytes)
                let slice = unread.readSlice(length: count)!
                request = count == remaining ? .done : .length(remaining: remaining - count)
                frames.append(.data(.init(data: .byteBuffer(slice), endStream: request.isDone)))
            case .chunked:
                switch try chunks.next(&unread) {
                case nil:
                    return
                case .data(let slice):
                    frames.append(.data(.init(data: .byteBuffer(slice))))
                case .end(let trailers):
                    request = .done
                    if let trailers {
                        frames.append(
                            .headers(.init(headers: HPACKHeaders(httpHeaders: trailers), endStream: true)))
                    } else {
                        frames.append(.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true)))
                    }
                }
            case .done:
                unread.clear()
                return
            }
        }
    }

    /// The header block for a request head the proxy wrote: its request line as pseudo-fields,
    /// Host as `:authority`, and its framing read for the body that follows (a content-length
    /// goes on; `transfer-encoding` and the other connection-specific fields do not).
    private func requestBlock(_ head: String) -> HPACKHeaders {
        var lines = head.split(separator: "\r\n").makeIterator()
        let requestLine = (lines.next() ?? "").split(separator: " ")
        let method = requestLine.first.map(String.init) ?? "GET"
        answersHEAD = method == "HEAD"
        var headers: HPACKHeaders = [":method": method, ":scheme": "http"]
        var fields: [(String, String)] = []
        request = .done
        while let line = lines.next(), let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].lowercased()
            let value = String(line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" })
            switch name {
            case "host": headers.add(name: ":authority", value: value)
            case "transfer-encoding": request = .chunked
            case "content-length":
                if let length = Int(value), length > 0 { request = .length(remaining: length) }
                fields.append((name, value))
            case _ where HTTP2Headers.connectionSpecific.contains(name), "te": continue
            default: fields.append((name, value))
            }
        }
        headers.add(name: ":path", value: requestLine.count > 1 ? String(requestLine[1]) : "/")
        if wantsTrailers { headers.add(name: "te", value: "trailers") }
        for (name, value) in fields { headers.add(name: name, value: value) }
        return headers
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var out = context.channel.allocator.buffer(capacity: 256)
        switch unwrapInboundIn(data) {
        case .headers(let block) where !responseStarted:
            let status = block.headers.first(name: ":status").flatMap(Int.init) ?? 502
            responseStarted = status >= 200
            writeHead(block.headers, status: status, ends: block.endStream, into: &out)
        case .headers(let block):
            // Trailers: only a chunked body can carry them.
            if responseChunked {
                out.writeLastChunk(wantsTrailers ? HTTPHeaders(trailers(block.headers)) : nil)
            }
        case .data(let data):
            guard case .byteBuffer(var body) = data.data else { break }
            if responseChunked {
                if body.readableBytes > 0 {
                    out.writeChunkSize(body.readableBytes)
                    out.writeBuffer(&body)
                    out.writeStaticString("\r\n")
                }
                if data.endStream { out.writeLastChunk(nil) }
            } else {
                out.writeBuffer(&body)
            }
        default:
            break
        }
        if out.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(out)) }
    }

    /// An HTTP/1.1 head for a response header block: its body in chunks unless its length is
    /// known, or none at all when the block ends the stream.
    private func writeHead(_ headers: HPACKHeaders, status: Int, ends: Bool, into out: inout ByteBuffer) {
        let reason = HTTPResponseStatus(statusCode: status).reasonPhrase
        out.writeString("HTTP/1.1 \(status) \(reason)\r\n")
        var hasLength = false
        for (name, value, _) in headers where !name.hasPrefix(":") {
            if HTTP2Headers.connectionSpecific.contains(name) { continue }
            if name == "content-length" { hasLength = true }
            out.writeField(name, value)
        }
        let bodiless = status < 200 || status == 204 || status == 304 || answersHEAD
        if !bodiless, !hasLength {
            if ends {
                out.writeField("content-length", "0")
            } else {
                responseChunked = true
                out.writeField("transfer-encoding", "chunked")
            }
        }
        out.writeStaticString("\r\n")
    }

    private func trailers(_ headers: HPACKHeaders) -> [(String, String)] {
        headers.filter { !$0.name.hasPrefix(":") }.map { ($0.name, $0.value) }
    }
}
