import Foundation
import SpaceportTestSupport
import Testing

@testable import SpaceportCore
@testable import SpaceportWire

@Suite("Hop lines are read by hand exactly as JSONDecoder reads them")
struct HopLineDecoderTests {
    static let awkward = [
        "", "plain", "quote \" and \\ backslash", "/slash/path?q=1&r=2", "line\nbreak\r\ttab",
        "\u{8}\u{C}\u{1}\u{0}\u{1B}[2J\u{7F}", "é😀\u{2028}\u{2029}\u{FEFF}",
        String(repeating: "x", count: 3000),
        "𝄞 e\u{301} \u{10FFFF}",
    ]
    static let durations: [Double?] = [
        nil, 12.4, 0.0, -0.0, 1e-7, 3.0000000000000004, 1e20, 123_456.0, 0.333, .leastNonzeroMagnitude, -1.5,
        .greatestFiniteMagnitude, 1e300, 0.1,
    ]
    static let counts = [0, 1000, -7, Int.max, Int.min]

    /// Every shape a proxy writes: each text, optional present and absent, enum case and extreme number.
    static func hops() -> [HopEvent] {
        (0..<28).map { index in
            let text = awkward[index % awkward.count]
            return HopEvent(
                id: "h\(index)\(text)", flow: text, phase: index % 2 == 0 ? .start : .end,
                time: "2026-03-01T12:03:04.123Z", proxy: text, listener: "egress:\(text)/servicea",
                from: index % 3 == 0 ? HopCaller(space: text, service: "s\(text)") : nil,
                routeAs: index % 4 == 1 ? nil : text,
                routeAsSource: ([nil] + RouteAsSource.allCases)[index % 5],
                service: index % 5 == 2 ? nil : "servicea",
                tried: Array([text, "default", "x"].prefix(index % 4)),
                space: index % 2 == 0 ? nil : text, upstream: index % 3 == 1 ? nil : "127.0.0.1:5001",
                protocol: [HopProtocol.http, .websocket, .tcp, .h2, .grpc][index % 5],
                method: index % 4 == 0 ? nil : text,
                host: index % 3 == 2 ? nil : text, path: index % 5 == 0 ? nil : text,
                status: [nil, 200, -1, Int.max, 0][index % 5], grpcStatus: [nil, 0, 14][index % 3],
                durationMs: durations[index % durations.count],
                bytesIn: counts[index % counts.count], bytesOut: counts[(index + 2) % counts.count],
                error: index % 2 == 1 ? nil : text)
        }
    }

    static func foundation(_ bytes: some Sequence<UInt8>) -> FeedEvent? {
        try? JSONDecoder().decode(FeedEvent.self, from: Data(bytes))
    }

    static func fast(_ bytes: [UInt8]) -> HopEvent? {
        bytes.withUnsafeBytes { HopJSON.decode(bytes: $0) }
    }

    /// A hop's members as JSON text, in the order HopEvent declares them.
    static func members(of hop: HopEvent) -> [(key: String, value: String)] {
        let encoder = JSONEncoder()
        func json(_ value: some Encodable) -> String {
            String(decoding: try! encoder.encode(value), as: UTF8.self)
        }
        return [
            ("id", json(hop.id)), ("flow", json(hop.flow)), ("phase", json(hop.phase)),
            ("time", json(hop.time)),
            ("proxy", json(hop.proxy)), ("listener", json(hop.listener)), ("from", json(hop.from)),
            ("routeAs", json(hop.routeAs)), ("routeAsSource", json(hop.routeAsSource)),
            ("service", json(hop.service)), ("tried", json(hop.tried)), ("space", json(hop.space)),
            ("upstream", json(hop.upstream)), ("protocol", json(hop.protocol)), ("method", json(hop.method)),
            ("host", json(hop.host)), ("path", json(hop.path)), ("status", json(hop.status)),
            ("grpcStatus", json(hop.grpcStatus)), ("durationMs", json(hop.durationMs)),
            ("bytesIn", json(hop.bytesIn)),
            ("bytesOut", json(hop.bytesOut)), ("error", json(hop.error)), ("type", "\"hop\""), ("v", "1"),
        ]
    }

    /// The same hop spelled another way: shuffled keys, JSON's four kinds of space, and unknown keys.
    static func respelled(_ hop: HopEvent, using rng: inout SplitMix64) -> String {
        let spaces = ["", " ", "\t", "\n", "\r\n", "  \t "]
        func gap() -> String { spaces.randomElement(using: &rng)! }
        var pairs = members(of: hop)
        pairs.append(("future", #"{"a":[1,-2.5e-3,true,false,null,{"b":"\"]}\\"}],"c":{}}"#))
        pairs.append(("zz\u{e9}", #""\/\u00e9\ud83d\ude00""#))
        pairs.shuffle(using: &rng)
        let body = pairs.map { "\(gap())\"\($0.key)\"\(gap()):\(gap())\($0.value)\(gap())" }
        return gap() + "{" + body.joined(separator: ",") + "}" + gap()
    }

    @Test("every awkward hop a proxy writes reads back as itself, as JSONDecoder reads it")
    func awkwardHopsReadBack() throws {
        for hop in Self.hops() {
            let line = FeedEvent.hop(hop).jsonLine()
            #expect(HopJSON.decode(line: line) == hop, "\(line)")
            #expect(Self.foundation(line.utf8) == .hop(hop))
            #expect(Self.fast(Array(line.utf8)) == hop)
            #expect(HopJSON.decode(line: line.dropLast()) == hop, "a substring without its newline")
            #expect(try FeedEvent.decode(line: line) == .hop(hop))
        }
    }

    @Test("a hop with shuffled keys, extra space, unknown keys and escapes reads as JSONDecoder reads it")
    func respelledHops() {
        var rng = SplitMix64(seed: 0x4E0B_D1CE)
        for hop in Self.hops() {
            let line = Self.respelled(hop, using: &rng)
            #expect(HopJSON.decode(line: line) == hop, "\(line)")
            #expect(Self.foundation(line.utf8) == .hop(hop))
        }
    }

    @Test("escaped keys and values, \\/ and \\u00e9 included, read as JSONDecoder reads them")
    func escapes() throws {
        let line = #"""
            {"\u0074ype":"h\u006fp","id":"\u00e9\/\"\\\b\f\n\r\t\u0000\u001f\uD834\uDD1E\u2028","flow":"f",
            "phase":"end","time":"t","proxy":"p","listener":"l","tried":["\u00E9"],"protocol":"tcp",
            "bytesIn":0,"bytesOut":0,"from":{"sp\u0061ce":"\u00e9","service":"b","more":null}}
            """#
        let hop = try #require(HopJSON.decode(line: line))
        #expect(hop.id == "é/\"\\\u{8}\u{C}\n\r\t\u{0}\u{1F}𝄞\u{2028}")
        #expect(hop.from == HopCaller(space: "é", service: "b"))
        #expect(Self.foundation(line.utf8) == .hop(hop))
    }

    /// One end hop as the proxy writes it.
    static let sample: String = {
        var hop = HopEvent(
            id: "h1", flow: "f1", phase: .end, time: "2026-03-01T12:03:04.123Z", proxy: "test",
            listener: "ingress", routeAs: "azureuser", routeAsSource: .header, service: "servicea",
            tried: ["azureuser"], space: "azureuser", upstream: "127.0.0.1:6001", method: "GET",
            host: "servicea.localhost", path: "/", status: 200, durationMs: 12.4, bytesOut: 512)
        hop.error = "boom"
        return FeedEvent.hop(hop).jsonLine()
    }()

    /// The sample with one field spelled `replacement` instead.
    static func base(replacing field: String, with replacement: String) -> String {
        guard let range = sample.range(of: field) else { return "field \(field) is not in \(sample)" }
        return sample.replacingCharacters(in: range, with: replacement)
    }

    /// A line and what is odd about it; only the label is shown, as some lines are long.
    struct Unsure: CustomTestStringConvertible, Sendable {
        var label: String
        var line: String
        var testDescription: String { label }
    }

    static let unsure: [Unsure] = [
        .init(
            label: "a count written as 200.0",
            line: base(replacing: #""status":200"#, with: #""status":200.0"#)),
        .init(
            label: "a count written as 5.12e2",
            line: base(replacing: #""bytesOut":512"#, with: #""bytesOut":5.12e2"#)),
        .init(
            label: "a key given twice", line: base(replacing: #""id":"h1""#, with: #""id":"h1","id":"h2""#)),
        .init(label: "a trailing comma", line: base(replacing: #","v":1}"#, with: #","v":1,}"#)),
        .init(
            label: "a count beyond Int",
            line: base(replacing: #""bytesOut":512"#, with: #""bytesOut":9223372036854775808"#)),
        .init(
            label: "a duration beyond Double",
            line: base(replacing: #""durationMs":12.4"#, with: #""durationMs":1e400"#)),
        .init(
            label: "a duration that rounds to zero",
            line: base(replacing: #""durationMs":12.4"#, with: #""durationMs":1e-400"#)),
        .init(
            label: "a zero with an exponent",
            line: base(replacing: #""durationMs":12.4"#, with: #""durationMs":0e5"#)),
        .init(label: "a byte-order mark", line: "\u{FEFF}" + sample),
        .init(label: "another event", line: FeedEvent.dropped(count: 3).jsonLine()),
        .init(
            label: "a hello",
            line: FeedEvent.hello(FeedHello(proxy: "p", pid: 1, version: "1", listeners: [])).jsonLine()),
        .init(label: "an error event", line: FeedEvent.error(message: "no", id: nil).jsonLine()),
        .init(
            label: "a type that is not hop", line: base(replacing: #""type":"hop""#, with: #""type":"Hop""#)),
        .init(label: "no type", line: base(replacing: #""type":"hop","#, with: "")),
        .init(label: "no listener", line: base(replacing: #""listener":"ingress","#, with: "")),
        .init(label: "a null id", line: base(replacing: #""id":"h1""#, with: #""id":null"#)),
        .init(
            label: "a null protocol", line: base(replacing: #""protocol":"http""#, with: #""protocol":null"#)),
        .init(
            label: "an unknown phase", line: base(replacing: #""phase":"end""#, with: #""phase":"middle""#)),
        .init(
            label: "an unknown route-as source",
            line: base(replacing: #""routeAsSource":"header""#, with: #""routeAsSource":"x""#)),
        .init(label: "a status as text", line: base(replacing: #""status":200"#, with: #""status":"200""#)),
        .init(
            label: "a caller without a service",
            line: base(replacing: #""from":null"#, with: #""from":{"space":"a"}"#)),
        .init(
            label: "a null in tried",
            line: base(replacing: #""tried":["azureuser"]"#, with: #""tried":[null]"#)),
        .init(
            label: "a lone high surrogate", line: base(replacing: #""path":"/""#, with: #""path":"\ud800""#)),
        .init(
            label: "a lone low surrogate", line: base(replacing: #""path":"/""#, with: #""path":"\udc00x""#)),
        .init(label: "an unknown escape", line: base(replacing: #""path":"/""#, with: #""path":"\q""#)),
        .init(
            label: "a raw control character",
            line: base(replacing: #""path":"/""#, with: "\"path\":\"\u{1}\"")),
        .init(label: "text after the object", line: base(replacing: #""v":1}"#, with: #""v":1}x"#)),
        .init(label: "a leading zero", line: base(replacing: #""bytesOut":512"#, with: #""bytesOut":0512"#)),
        .init(label: "a number without digits", line: base(replacing: #""v":1"#, with: #""v":-"#)),
        .init(label: "a misspelt literal", line: base(replacing: #""from":null"#, with: #""from":nul"#)),
        .init(
            label: "nesting deeper than JSONDecoder allows",
            line:
                base(replacing: #""v":1"#, with: "\"v\":" + String(repeating: "[", count: 10_000))),
        .init(label: "a truncated line", line: String(sample.prefix(200))),
        .init(label: "an empty line", line: ""),
    ]

    @Test("a line the hand-written reader is unsure of is read by JSONDecoder, as before", arguments: unsure)
    func unsureLinesFallBack(unsure: Unsure) {
        let line = unsure.line
        #expect(!line.hasPrefix("field "), "\(line)")
        #expect(HopJSON.decode(line: line) == nil)
        let viaDecode = try? FeedEvent.decode(line: line)
        #expect(viaDecode == Self.foundation(line.utf8))
        #expect(Array(line.utf8).withUnsafeBytes { try? FeedEvent.decode(bytes: $0) } == viaDecode)
    }

    static let pieces: [[UInt8]] =
        [
            "\"", "\\", "\\u", "\\ud800", "\\udc00", "\\u00e9", "{", "}", "[", "]", ":", ",", " ", "\t", "\n",
            "null", "true", "1e999", "1e-999", "-0", "0", "9", ".", "e", "E", "+", "-", "é", "😀", "\"v\":2,",
            "\"id\":\"x\",", "\"status\":1.0,", "\"hop\"", "\"end\"", "{}", "[]",
        ].map { Array($0.utf8) } + [
            [0x00], [0x1F], [0x7F], [0x80], [0xC3], [0xED, 0xA0, 0x80], [0xFF], [0xF0, 0x9F],
        ]

    /// One to three edits a transport or a bug might make: a byte changed, dropped, repeated or cut.
    static func mutate(_ bytes: inout [UInt8], using rng: inout SplitMix64) {
        for _ in 0..<Int.random(in: 1...3, using: &rng) {
            let position = Int.random(in: 0...bytes.count, using: &rng)
            switch Int.random(in: 0..<12, using: &rng) {
            case 0...2 where position < bytes.count:
                bytes[position] = UInt8.random(in: 0x20...0x7E, using: &rng)
            case 3 where position < bytes.count:
                bytes[position] = pieces.randomElement(using: &rng)!.first!
            case 4 where position < bytes.count:
                bytes.removeSubrange(
                    position..<min(bytes.count, position + Int.random(in: 1...4, using: &rng)))
            case 5...6:
                bytes.insert(contentsOf: pieces.randomElement(using: &rng)!, at: position)
            case 7 where position < bytes.count:
                let run = bytes[position..<min(bytes.count, position + Int.random(in: 1...30, using: &rng))]
                bytes.insert(contentsOf: run, at: Int.random(in: 0...bytes.count, using: &rng))
            case 8:
                bytes.removeSubrange(position...)
            case 9:
                bytes.insert(UInt8.random(in: 0...255, using: &rng), at: position)
            default:
                // Numbers bent in place: another digit, a sign, a point or an exponent.
                let digits = bytes.indices.filter {
                    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[$0])
                }
                guard let digit = digits.randomElement(using: &rng) else { continue }
                bytes[digit] = Array("0123456789-.eE+".utf8).randomElement(using: &rng)!
            }
        }
    }

    @Test("mutated hop lines never crash it, and whenever it answers JSONDecoder answers the same")
    func seededFuzz() {
        var rng = SplitMix64(seed: 0x00F0_0D5E_ED00)
        let originals = Self.hops().flatMap {
            [FeedEvent.hop($0).jsonLine(), Self.respelled($0, using: &rng)]
        }
        var answered = 0
        var refused = 0
        for iteration in 0..<4_000 {
            var bytes = Array(originals.randomElement(using: &rng)!.utf8)
            Self.mutate(&bytes, using: &rng)
            let fast = Self.fast(bytes)
            let foundation = Self.foundation(bytes)
            if let fast {
                answered += 1
                #expect(
                    foundation == .hop(fast),
                    "iteration \(iteration): \(String(decoding: bytes, as: UTF8.self).prefix(400))")
            }
            if foundation == nil {
                refused += 1
                #expect(
                    fast == nil,
                    "iteration \(iteration): \(String(decoding: bytes, as: UTF8.self).prefix(400))")
            }
            let text = String(decoding: bytes, as: UTF8.self)
            let viaText = try? FeedEvent.decode(line: text)
            #expect(viaText == Self.foundation(text.utf8), "iteration \(iteration): \(text.prefix(400))")
            #expect(
                bytes.withUnsafeBytes { try? FeedEvent.decode(bytes: $0) } == viaText,
                "iteration \(iteration)")
        }
        // Both outcomes must be common, or the fuzz would prove nothing.
        #expect(answered > 400)
        #expect(refused > 400)
    }
}
