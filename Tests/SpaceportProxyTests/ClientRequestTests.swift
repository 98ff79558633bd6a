import NIOCore
import NIOEmbedded
import NIOHTTP1
import SpaceportTestSupport
import Testing

@testable import SpaceportProxy

/// Clients' requests are read from their bytes by `ClientRequestParser`: these check it
/// request by request, byte by byte, against what must be refused, and against SwiftNIO's
/// own decoder (llhttp) on thousands of generated requests. The attack table
/// (SpaceportHostileTests) checks the same parser end to end, over sockets.
@Suite("Reading client requests")
struct ClientRequestTests {
    /// What a reader of the parser's events sees.
    struct Read: Equatable {
        var lines: [String] = []
        var fields: [[String]] = []
        var body: [UInt8] = []
        var ends = 0
        var trailers: [String] = []

        mutating func record(_ part: ClientRequestPart) {
            switch part {
            case .head(let head):
                lines.append("\(head.method.rawValue) \(head.uri) HTTP/1.\(head.minorVersion)")
                fields.append(head.fields.map { "\(head.name($0)): \(head.value($0))" })
            case .body(let body): self.body += Array(body.readableBytesView)
            case .end(let trailers): recordEnd(trailers)
            }
        }

        /// What SwiftNIO's decoder read: field values without their trailing whitespace (RFC 9110
        /// §5.5), which llhttp keeps.
        mutating func record(nio part: HTTPServerRequestPart) {
            switch part {
            case .head(let head):
                lines.append("\(head.method.rawValue) \(head.uri) HTTP/1.\(head.version.minor)")
                fields.append(
                    head.headers.map { "\($0.name): \($0.value.trimmingCharacters(in: .whitespaces))" })
            case .body(let body): self.body += Array(body.readableBytesView)
            case .end(let trailers): recordEnd(trailers)
            }
        }

        private mutating func recordEnd(_ trailers: HTTPHeaders?) {
            ends += 1
            self.trailers += (trailers ?? [:]).map { "\($0.name): \($0.value)" }
        }
    }

    static func parser() -> ClientRequestParser {
        ClientRequestParser(maxHeaderBytes: 8192, maxHeaderCount: 100)
    }

    /// Feeds `text` in pieces of `step` bytes (0: all at once) and records the events.
    static func read(_ text: String, step: Int = 0) throws -> Read {
        var parser = parser()
        var read = Read()
        var buffer = ByteBuffer()
        for piece in pieces(of: Array(text.utf8), step: step) {
            buffer.writeBytes(piece)
            while let part = try parser.next(&buffer) { read.record(part) }
            buffer.discardReadBytes()
        }
        return read
    }

    /// The first head of `text`.
    static func head(_ text: String) throws -> ClientHead {
        var parser = parser()
        var buffer = ByteBuffer(string: text)
        guard case .head(let head)? = try parser.next(&buffer) else { throw NoHead() }
        return head
    }

    struct NoHead: Error {}

    @Test("a browser's head is read into its parts, and each field is known for what it is")
    func browserHead() throws {
        let head = try Self.head(
            "GET /page?q=1 HTTP/1.1\r\nHost: app.localhost\r\nUser-Agent: Firefox\r\n"
                + "Connection: keep-alive, X-Private\r\nX-Private: 1\r\nTE: trailers\r\nVia: 1.1 other\r\n"
                + "X-Request-ID: abc\r\nX-Forwarded-For: 10.0.0.1\r\nContent-Length: 0\r\n\r\n")
        #expect(head.method == .GET)
        #expect(head.uri == "/page?q=1")
        #expect(head.version == .http1_1)
        #expect(head.keepAlive)
        #expect(head.framing == .length(0))
        #expect(!head.isUpgrade && !head.expectsContinue && head.framingProblem == nil)
        #expect(
            head.fields.map(\.kind) == [
                .host, .other, .connection, .named, .hopByHop, .via, .requestID, .forwardedFor,
                .contentLength,
            ])
        #expect(head.fields.map { head.value($0) }[0...1] == ["app.localhost", "Firefox"])
    }

    @Test("keep-alive follows the version and the Connection field")
    func keepAlive() throws {
        #expect(try Self.head("GET / HTTP/1.1\r\nHost: a\r\n\r\n").keepAlive)
        #expect(try !Self.head("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keepAlive)
        #expect(try !Self.head("GET / HTTP/1.0\r\nHost: a\r\n\r\n").keepAlive)
        #expect(try Self.head("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive)
    }

    @Test("pipelined requests with bodies by length and by chunks come apart where they end")
    func pipelined() throws {
        let text =
            "\r\nPOST /a HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
            + "PUT /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nX-Sum: 9\r\n\r\n"
            + "GET /c HTTP/1.1\r\n\r\n"
        for step in [0, 1, 7] {
            let read = try Self.read(text, step: step)
            #expect(read.lines == ["POST /a HTTP/1.1", "PUT /b HTTP/1.1", "GET /c HTTP/1.1"], "step \(step)")
            #expect(read.body == Array("helloabcde".utf8))
            #expect(read.ends == 3)
            #expect(read.trailers == ["X-Sum: 9"])
        }
    }

    @Test("after an upgrade or a CONNECT the parser stops: the bytes that follow are the new protocol's")
    func stopsAfterUpgrade() throws {
        for request in [
            "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
            "CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n",
        ] {
            var parser = Self.parser()
            var buffer = ByteBuffer(string: request + "RAW GET / HTTP/1.1\r\n\r\n")
            guard case .head(let head)? = try parser.next(&buffer) else {
                Issue.record("no head")
                return
            }
            #expect(head.isUpgrade == (head.method != .CONNECT))
            guard case .end? = try parser.next(&buffer) else {
                Issue.record("no end")
                return
            }
            #expect(try parser.next(&buffer) == nil)
            #expect(String(buffer: buffer) == "RAW GET / HTTP/1.1\r\n\r\n")
        }
    }

    @Test("framings the proxy cannot pass on exactly are found with the head, which is the last one read")
    func framingProblems() throws {
        let cases: [(String, HTTPResponseStatus, String)] = [
            ("Content-Length: 4\r\nTransfer-Encoding: chunked", .badRequest, "both Content-Length"),
            ("Content-Length: 4\r\nContent-Length: 4", .badRequest, "2 Content-Length headers"),
            ("Content-Length: 4, 4", .badRequest, "is not a number"),
            ("Content-Length: +4", .badRequest, "is not a number"),
            ("Transfer-Encoding: xchunked", .notImplemented, "'xchunked' is not supported"),
            ("Transfer-Encoding: gzip, chunked", .notImplemented, "'gzip' is not supported"),
            ("Transfer-Encoding: chunked, identity", .badRequest, "last transfer coding is not chunked"),
            ("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked", .badRequest, "chunked 2 times"),
        ]
        for (fields, status, reason) in cases {
            var parser = Self.parser()
            var buffer = ByteBuffer(
                string: "POST / HTTP/1.1\r\nHost: a\r\n\(fields)\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n")
            guard case .head(let head)? = try parser.next(&buffer) else {
                Issue.record("no head for \(fields)")
                continue
            }
            #expect(head.framingProblem?.status == status, "\(fields)")
            #expect(
                head.framingProblem?.message.contains(reason) == true,
                "\(fields): \(head.framingProblem?.message ?? "")")
            #expect(try parser.next(&buffer) == nil, "\(fields): read on past a framing it refused")
        }
        let http10 = try Self.head("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n")
        #expect(http10.framingProblem?.message.contains("not HTTP/1.0") == true)
        let trace = try Self.head("TRACE / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc")
        #expect(trace.framingProblem?.message.contains("TRACE") == true)
        let waits = try Self.head("POST / HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
        #expect(waits.expectsContinue)
    }

    static let invalid: [(String, HTTPResponseStatus, String)] = [
        ("GET / HTTP/1.1\nHost: a\n\n", .badRequest, "bare LF"),
        ("GET / HTTP/1.1\r\nHost: a\n", .badRequest, "bare LF"),
        ("\u{16}\u{03}\u{01}\u{00}", .badRequest, "does not start with an HTTP method"),
        ("get / HTTP/1.1\r\n\r\n", .badRequest, "does not start with an HTTP method"),
        ("BREW / HTTP/1.1\r\n\r\n", .badRequest, "method 'BREW' is not an HTTP method"),
        ("GET / HTTP/2.0\r\n\r\n", .badRequest, "the version 'HTTP/2.0'"),
        ("GET /\r\n\r\n", .badRequest, "no version"),
        ("GET /a\u{7F}b HTTP/1.1\r\n\r\n", .badRequest, "not visible ASCII"),
        ("GET /caf\u{E9} HTTP/1.1\r\n\r\n", .badRequest, "not visible ASCII"),
        ("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", .badRequest, "folds a header"),
        ("GET / HTTP/1.1\r\nX : a\r\n\r\n", .badRequest, "not a token"),
        ("GET / HTTP/1.1\r\n: a\r\n\r\n", .badRequest, "no name"),
        ("GET / HTTP/1.1\r\nX: a\u{1B}b\r\n\r\n", .badRequest, "control character"),
        (
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello", .badRequest,
            "does not end with CRLF"
        ),
        (
            "GET /\(String(repeating: "a", count: 9000))", .requestHeaderFieldsTooLarge,
            "request line is longer"
        ),
        (
            "GET / HTTP/1.1\r\n" + (0..<101).map { "X-\($0): 1\r\n" }.joined() + "\r\n",
            .requestHeaderFieldsTooLarge, "more than 100 header fields"
        ),
        (
            "GET / HTTP/1.1\r\n"
                + (0..<20).map { "X-\($0): \(String(repeating: "v", count: 500))\r\n" }.joined(),
            .requestHeaderFieldsTooLarge, "larger than 8192 bytes"
        ),
    ]

    @Test("what the upstream could read differently is refused at once, with a status and a reason")
    func invalidRequests() {
        for (text, status, reason) in Self.invalid {
            for step in [0, 1] {
                do {
                    _ = try Self.read(text, step: step)
                    Issue.record("accepted: \(text.prefix(60).debugDescription)")
                } catch let error as HTTPSyntaxError {
                    #expect(error.answer.status == status, "\(text.prefix(60).debugDescription)")
                    #expect("\(error)".contains(reason), "\(text.prefix(60).debugDescription): \(error)")
                } catch {
                    Issue.record("\(text.prefix(60).debugDescription): \(error)")
                }
            }
        }
    }

    /// Up to three pipelined requests made of seeded random parts: method, target, fields in
    /// random case and spacing, a body framed by length, by chunks or not at all.
    static func generated(_ random: inout SplitMix64) -> String {
        let methods = ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND", "M-SEARCH"]
        let names = [
            "Accept", "User-Agent", "X-Trace", "Cookie", "azds-route-as", "Cache-Control", "Referer",
        ]
        var text = ""
        for _ in 0...random.next(3) {
            text +=
                "\(methods[random.next(methods.count)]) /p\(random.next(1000))?q=\(random.next(9)) HTTP/1.1\r\n"
            text += "Host: s\(random.next(5)).localhost\r\n"
            for _ in 0..<random.next(10) {
                var name = names[random.next(names.count)]
                if random.next(2) == 0 { name = name.uppercased() }
                let spaces = String(repeating: random.next(2) == 0 ? " " : "\t", count: random.next(3))
                text += "\(name):\(spaces)v \(random.next(100000))\(spaces)\r\n"
            }
            let body = String(repeating: "b", count: random.next(200))
            switch random.next(3) {
            case 0:
                text += "Content-Length: \(body.utf8.count)\r\n\r\n" + body
            case 1:
                text += "Transfer-Encoding: chunked\r\n\r\n"
                var rest = Substring(body)
                while !rest.isEmpty {
                    let size = min(rest.count, 1 + random.next(64))
                    text += String(size, radix: 16) + "\r\n" + rest.prefix(size) + "\r\n"
                    rest = rest.dropFirst(size)
                }
                text += "0\r\n\r\n"
            default:
                text += "\r\n"
            }
        }
        return text
    }

    /// What NIO's decoder reads from the same bytes.
    static func readWithNIO(_ text: String) throws -> Read {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder()))
        try channel.writeInbound(ByteBuffer(string: text))
        var read = Read()
        while let part = try channel.readInbound(as: HTTPServerRequestPart.self) { read.record(nio: part) }
        _ = try? channel.finish()
        return read
    }

    @Test("on 3,000 generated requests it reads what SwiftNIO's decoder reads, fed whole or in pieces")
    func agreesWithNIO() throws {
        var random = SplitMix64(seed: 0xC11E_47)
        for round in 0..<3000 {
            let text = Self.generated(&random)
            let expected = try Self.readWithNIO(text)
            let step = [0, 1, 5, 64][round % 4]
            let ours = try Self.read(text, step: step)
            #expect(ours == expected, "round \(round), step \(step):\n\(text)")
            if ours != expected { return }
        }
    }
}

/// Requests broken at random: whatever the proxy's parser accepts, SwiftNIO's decoder must
/// read the same way, so that no upstream reading with a common parser sees a request the
/// proxy did not (the root of request smuggling).
@Suite("Reading client requests, broken at random")
struct ClientRequestMutationTests {
    /// Bytes that matter to HTTP's framing, put in, taken out or swapped at random places.
    static let bytes: [UInt8] = Array("\r\n \t:,;0a-".utf8) + [0, 0x0B, 0x7F, 0x80, 0xFF]

    static func mutated(_ text: String, _ random: inout SplitMix64) -> [UInt8] {
        var bytes = Array(text.utf8)
        for _ in 0...random.next(2) {
            let at = random.next(bytes.count)
            let byte = Self.bytes[random.next(Self.bytes.count)]
            switch random.next(3) {
            case 0: bytes.insert(byte, at: at)
            case 1: bytes.remove(at: at)
            default: bytes[at] = byte
            }
        }
        return bytes
    }

    /// What the proxy's parser reads before it stops or refuses; nil when it refuses anything.
    static func ours(_ bytes: [UInt8]) -> ClientRequestTests.Read? {
        var parser = ClientRequestTests.parser()
        var buffer = ByteBuffer(bytes: bytes)
        var read = ClientRequestTests.Read()
        do {
            while let part = try parser.next(&buffer) {
                // Refused by the parser, or by routing (a target that is no path or URL).
                if case .head(let head) = part {
                    if head.framingProblem != nil { return nil }
                    if RequestTarget(head.uri, isConnect: head.method == .CONNECT) == nil { return nil }
                }
                read.record(part)
            }
        } catch {
            return nil
        }
        return read
    }

    /// What NIO's decoder reads of the messages it finished, and whether it refused the bytes.
    static func nio(_ bytes: [UInt8]) -> (read: ClientRequestTests.Read, refused: Bool) {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(HTTPRequestDecoder()))
        var refused = false
        do { try channel.writeInbound(ByteBuffer(bytes: bytes)) } catch { refused = true }
        var read = ClientRequestTests.Read()
        while let part = try? channel.readInbound(as: HTTPServerRequestPart.self) { read.record(nio: part) }
        _ = try? channel.finish()
        return (read, refused)
    }

    @Test("on 20,000 broken requests, every message the proxy reads whole, llhttp reads the same")
    func acceptedMeansAgreed() {
        var random = SplitMix64(seed: 0xBAD_5EED)
        var disagreements: [String] = []
        for _ in 0..<20_000 {
            let bytes = Self.mutated(ClientRequestTests.generated(&random), &random)
            guard let ours = Self.ours(bytes), ours.ends > 0 else { continue }
            let theirs = Self.nio(bytes)
            // Compare the messages both finished: the proxy forwards a message only once it has read it.
            let count = min(ours.ends, theirs.read.ends)
            let same =
                theirs.read.lines.prefix(count) == ours.lines.prefix(count)
                && theirs.read.ends >= ours.ends
            if !same && disagreements.count < 5 {
                disagreements.append(
                    "\(String(decoding: bytes, as: UTF8.self).debugDescription)\nours: \(ours.lines) \(ours.ends) ends\nllhttp: \(theirs.read.lines) \(theirs.read.ends) ends, refused: \(theirs.refused)"
                )
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.joined(separator: "\n\n"))")
    }
}
