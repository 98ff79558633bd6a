import Foundation
import Logging
import SpaceportApp
import SpaceportCore
import SpaceportProxy
import SpaceportTestSupport
import SpaceportWire
import Synchronization
import Testing

/// Lines a handler wrote, in order.
final class WrittenLines: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    func append(_ line: String) { lines.withLock { $0.append(line) } }
}

@Suite("Log lines a team can ship: --log-format, --log-level and their variables")
struct LogLinesTests {
    static let hop = HopEvent(
        id: "0123456789abcde", flow: "flow-1", phase: .end, time: "2026-12-07T00:00:00.000Z", proxy: "p",
        listener: "ingress", routeAs: "azureuser", routeAsSource: .host, propagation: .bridged,
        service: "serviceb",
        tried: ["azureuser", "default"], space: "default", upstream: "127.0.0.1:5002", method: "GET",
        host: "azureuser.s.default.serviceb.localhost", path: "/x?a=\"b\"", status: 200, durationMs: 1.5,
        bytesOut: 12)

    func logger(_ format: LogFormat, level: Logger.Level = .info, into written: WrittenLines) -> Logger {
        Logger(label: SpaceportLog.label) { label in
            LogLineHandler(label: label, format: format, level: level) { written.append($0) }
        }
    }

    @Test("in JSON a hop's log line is one object carrying the hop's fields exactly as the feed has them")
    func jsonHopLine() async throws {
        let written = WrittenLines()
        let sink = HopLogSink(logger: logger(.json, into: written))
        sink.publish(hop: Self.hop)
        let deadline = Date().addingTimeInterval(10)
        while written.all.isEmpty && Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        let line = try #require(written.all.first)
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1, "\(line)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["label"] as? String == "spaceport")
        #expect(object["level"] as? String == "info")
        #expect((object["message"] as? String)?.contains("serviceb@default 200") == true, "\(object)")
        #expect((object["time"] as? String)?.hasSuffix("Z") == true)
        let hop = try #require(object["hop"] as? [String: Any])
        #expect(hop["status"] as? Int == 200 && hop["service"] as? String == "serviceb")
        #expect(hop["routeAs"] as? String == "azureuser" && hop["propagation"] as? String == "bridged")
        #expect(hop["path"] as? String == "/x?a=\"b\"" && hop["durationMs"] as? Double == 1.5)
        let hopText = String(data: try JSONSerialization.data(withJSONObject: hop), encoding: .utf8)!
        #expect(try FeedEvent.decode(line: hopText) == .hop(Self.hop))
    }

    @Test("in JSON every other line is one object too, its metadata as fields, quotes and newlines escaped")
    func jsonOtherLines() throws {
        let written = WrittenLines()
        var logger = logger(.json, into: written)
        logger[metadataKey: "listener"] = "ingress"
        logger.notice(
            "the spaces file changed:\n\"default\" is back", metadata: ["count": .stringConvertible(3)])
        let line = try #require(written.all.first)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["message"] == "the spaces file changed:\n\"default\" is back")
        #expect(object["level"] == "notice" && object["listener"] == "ingress" && object["count"] == "3")
    }

    @Test("as text a hop's line is the words alone, and the level drops what is below it")
    func textAndLevel() throws {
        let written = WrittenLines()
        let logger = logger(.text, level: .warning, into: written)
        logger.info("below the level")
        logger.warning(
            "\(HopLogSink.line(Self.hop))",
            metadata: [HopLogSink.hopKey: .stringConvertible(LoggedHop(hop: Self.hop))])
        #expect(written.all.count == 1)
        let line = try #require(written.all.first)
        #expect(line.hasSuffix(" warning spaceport: \(HopLogSink.line(Self.hop))\n"), "\(line)")
    }

    @Test(
        "flags win over SPACEPORT_LOG_FORMAT and SPACEPORT_LOG_LEVEL, and a value that names nothing says where it came from"
    )
    func settings() throws {
        let environment = ["SPACEPORT_LOG_FORMAT": "json", "SPACEPORT_LOG_LEVEL": "Warning"]
        #expect(
            try LogSettings.resolve(format: nil, level: nil, environment: environment)
                == LogSettings(format: .json, level: .warning))
        #expect(
            try LogSettings.resolve(format: "text", level: "debug", environment: environment)
                == LogSettings(format: .text, level: .debug))
        #expect(
            try LogSettings.resolve(format: nil, level: nil, environment: [:]) == LogSettings(format: .text))
        #expect(throws: LogSettingsError.badFormat("yaml", source: "$SPACEPORT_LOG_FORMAT")) {
            try LogSettings.resolve(format: nil, level: nil, environment: ["SPACEPORT_LOG_FORMAT": "yaml"])
        }
        #expect(
            LogSettingsError.badLevel("loud", source: "--log-level").description
                == "--log-level: 'loud' is no log level; use one of trace, debug, info, notice, warning, error, critical"
        )
    }
}
