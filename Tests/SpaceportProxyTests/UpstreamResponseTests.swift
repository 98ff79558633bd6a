import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import SpaceportProxy

/// The upstream's responses are read from their bytes by `UpstreamResponseParser`: these
/// check it message by message, byte by byte, against what must be refused, and against
/// SwiftNIO's own decoder (llhttp) on thousands of generated responses.
@Suite("Reading upstream responses")
struct UpstreamResponseTests {
    /// What a reader of the parser's events sees: heads, the body's bytes, ends.
    struct Read: Equatable {
        var statuses: [Int] = []
        var fields: [[String]] = []
        var body: [UInt8] = []
        var ends = 0
        var trailers: [String] = []
    }

    /// Feeds `text` in pieces of `step` bytes (0: all at once) and records the events.
    static func read(_ text: String, step: Int = 0, answersHEAD: Bool = false, closeAtEnd: Bool = false)
        throws
        -> Read
    {
        var parser = UpstreamResponseParser()
        parser.answersHEAD = answersHEAD
        var read = Read()
        var buffer = ByteBuffer()
        func record(_ part: UpstreamResponsePart) {
            switch part {
            case .head(let head):
                read.statuses.append(head.status)
                read.fields.append(
                    head.fields.filter { $0.kind != .dropped }.map {
                        String(decoding: head.name($0), as: UTF8.self) + ": "
                            + String(decoding: head.value($0), as: UTF8.self)
                    })
            case .body(let body): read.body += Array(body.readableBytesView)
            case .end(let trailers):
                read.ends += 1
                read.trailers += (trailers ?? [:]).map { "\($0.name): \($0.value)" }
            case .unsolicited: Issue.record("the parser itself never calls bytes unsolicited")
            }
        }
        for piece in pieces(of: Array(text.utf8), step: step) {
            buffer.writeBytes(piece)
            while let part = try parser.next(&buffer) { record(part) }
            buffer.discardReadBytes()
        }
        if closeAtEnd, let part = try parser.inputClosed(buffer) { record(part) }
        return read
    }

    static let valid: [(String, String, Read)] = [
        (
            "a length-delimited body",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: up\r\n\r\nhello",
            Read(
                statuses: [200], fields: [["Content-Length: 5", "Server: up"]], body: Array("hello".utf8),
                ends: 1)
        ),
        (
            "a chunked body with an extension and trailers",
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 1\r\n\r\n",
            Read(
                statuses: [200], fields: [[]], body: Array("hello world".utf8), ends: 1,
                trailers: ["X-Sum: 1"])
        ),
        (
            "a 100 Continue before the final answer",
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
            Read(statuses: [100, 201], fields: [[], ["Content-Length: 0"]], ends: 1)
        ),
        (
            "204 and 304 have no body whatever they say",
            "HTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n",
            Read(statuses: [204, 304], fields: [["Content-Length: 3"], []], ends: 2)
        ),
        (
            "bare LF line ends and an empty reason",
            "HTTP/1.0 200 \nContent-Length: 2\n\nok",
            Read(statuses: [200], fields: [["Content-Length: 2"]], body: Array("ok".utf8), ends: 1)
        ),
        (
            "fields Connection names stay behind, Content-Length never does",
            "HTTP/1.1 200 OK\r\nConnection: x-secret, content-length\r\nX-Secret: 1\r\nContent-Length: 1\r\n\r\n!",
            Read(statuses: [200], fields: [["Content-Length: 1"]], body: [33], ends: 1)
        ),
    ]

    @Test("valid responses read the same whole, byte by byte, and in 7-byte pieces")
    func validResponses() throws {
        for (name, text, expected) in Self.valid {
            for step in [0, 1, 7] {
                #expect(try Self.read(text, step: step) == expected, "\(name), step \(step)")
            }
        }
    }

    @Test("a body without a length ends when the upstream closes; HEAD answers have none")
    func untilCloseAndHEAD() throws {
        let untilClose = try Self.read("HTTP/1.1 200 OK\r\n\r\nall of it", step: 3, closeAtEnd: true)
        #expect(untilClose.body == Array("all of it".utf8))
        #expect(untilClose.ends == 1)
        let head = try Self.read("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", answersHEAD: true)
        #expect(head.ends == 1)
        #expect(head.body.isEmpty)
        #expect(throws: HTTPSyntaxError.self) {
            try Self.read("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\ncut", closeAtEnd: true)
        }
    }

    @Test("after a 101 the parser stops: the bytes that follow are the new protocol's")
    func switching() throws {
        var parser = UpstreamResponseParser()
        var buffer = ByteBuffer(
            string: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: upgrade\r\n\r\nRAW")
        guard case .head(let head) = try parser.next(&buffer) else {
            Issue.record("no head")
            return
        }
        #expect(head.status == 101)
        #expect(head.fields.map(\.kind) == [.upgrade, .dropped])
        guard case .end = try parser.next(&buffer) else {
            Issue.record("no end")
            return
        }
        #expect(try parser.next(&buffer) == nil)
        #expect(String(buffer: buffer) == "RAW")
    }

    static let invalid: [(String, String)] = [
        ("SSH-2.0-OpenSSH_9.2\r\n\r\n", "is not HTTP/1.x"),
        ("SSH-2.0-OpenSSH_9.2\r\n", "does not start with HTTP/1.x"),
        ("HTTP/2 200 OK\r\n\r\n", "is not HTTP/1.x"),
        ("HTTP/1.1 20 OK\r\n\r\n", "three digits"),
        ("HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n", "folds a header"),
        ("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", "not a token"),
        ("HTTP/1.1 200 OK\r\nX :a\r\n\r\n", "not a token"),
        ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "is not a number"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "both Content-Length"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "differ"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "not a hexadecimal"),
        ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n", "does not end with CRLF"),
        ("HTTP/1.1 200 OK\r\nX: a\u{01}b\r\n\r\n", "control character"),
        ("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", "control character"),
        (
            "HTTP/1.1 200 OK\r\n"
                + String(repeating: "X-Long: " + String(repeating: "a", count: 1000) + "\r\n", count: 70),
            "longer than 64 KiB"
        ),
    ]

    @Test("what would make the client misread the response is refused, with a reason")
    func invalidResponses() {
        for (text, reason) in Self.invalid {
            do {
                _ = try Self.read(text)
                Issue.record("accepted: \(text.prefix(60))")
            } catch {
                #expect("\(error)".contains(reason), "\(text.prefix(60)): \(error)")
            }
        }
    }

    /// A response made of seeded random parts: status, fields in random case and spacing, a
    /// body framed by length, by chunks or (last) by closing.
    static func generated(_ random: inout SplitMix64) -> (text: String, closes: Bool) {
        let statuses = [200, 201, 202, 203, 206, 301, 302, 400, 404, 418, 500, 503]
        let status = statuses[random.next(statuses.count)]
        var text = "HTTP/1.\(random.next(2)) \(status) Reason \(random.next(1000))\r\n"
        let names = ["Server", "Content-Type", "X-Trace", "Cache-Control", "Set-Cookie", "ETag", "Vary"]
        for _ in 0..<random.next(8) {
            var name = names[random.next(names.count)]
            if random.next(2) == 0 { name = name.lowercased() }
            let spaces = String(repeating: " ", count: random.next(3))
            text += "\(name):\(spaces)v\(random.next(100000))\(spaces)\r\n"
        }
        let body = String(repeating: "b", count: random.next(300))
        switch random.next(3) {
        case 0:
            return (text + "Content-Length: \(body.utf8.count)\r\n\r\n" + body, false)
        case 1:
            var chunked = text + "Transfer-Encoding: chunked\r\n\r\n"
            var rest = Substring(body)
            while !rest.isEmpty {
                let size = min(rest.count, 1 + random.next(64))
                chunked += String(size, radix: 16) + "\r\n" + rest.prefix(size) + "\r\n"
                rest = rest.dropFirst(size)
            }
            return (chunked + "0\r\n\r\n", false)
        default:
            return (text + "\r\n" + body, true)
        }
    }

    /// A field that describes one connection rather than the message (RFC 9110 §7.6.1): what
    /// the parser marks dropped, said independently of it.
    static func isHopByHop(_ name: String) -> Bool {
        ["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"]
            .contains(name.lowercased())
    }

    /// What NIO's decoder reads from the same bytes.
    static func readWithNIO(_ text: String, closes: Bool) throws -> Read {
        let channel = EmbeddedChannel(
            handler: ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)))
        // The decoder learns the request method from the request written before the response.
        try channel.pipeline.syncOperations.addHandler(HTTPRequestEncoder(), position: .first)
        try channel.writeOutbound(
            HTTPClientRequestPart.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/")))
        try channel.writeOutbound(HTTPClientRequestPart.end(nil))
        try channel.writeInbound(ByteBuffer(string: text))
        if closes { channel.pipeline.fireChannelInactive() }
        var read = Read()
        while let part = try channel.readInbound(as: HTTPClientResponsePart.self) {
            switch part {
            case .head(let head):
                read.statuses.append(Int(head.status.code))
                read.fields.append(
                    // Field values without their trailing whitespace (RFC 9110 §5.5), which llhttp keeps.
                    head.headers.filter { !isHopByHop($0.name) }.map {
                        "\($0.name): \($0.value.trimmingCharacters(in: .whitespaces))"
                    })
            case .body(let body): read.body += Array(body.readableBytesView)
            case .end: read.ends += 1
            }
        }
        _ = try? channel.finish()
        return read
    }

    @Test("on 3,000 generated responses it reads what SwiftNIO's decoder reads, fed whole or in pieces")
    func agreesWithNIO() throws {
        var random = SplitMix64(seed: 0x5EED_0F_5AC3)
        for round in 0..<3000 {
            let (text, closes) = Self.generated(&random)
            let expected = try Self.readWithNIO(text, closes: closes)
            let step = [0, 1, 5, 64][round % 4]
            let ours = try Self.read(text, step: step, closeAtEnd: closes)
            #expect(ours == expected, "round \(round), step \(step):\n\(text)")
            if ours != expected { return }
        }
    }
}
