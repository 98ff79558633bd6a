import Dispatch
import Logging
import SpaceportCore
import Synchronization

/// Logs one line per finished hop through swift-log, off the event loops. Lines wait in a
/// bounded queue; when it is full they are counted and dropped rather than slowing traffic.
public final class HopLogSink: EventSink {
    public static let maxPending = 10_000
    /// The metadata key a hop's line carries its hop under (`LoggedHop`), for a log handler
    /// that writes the hop's fields (JSON lines) rather than the line's words.
    public static let hopKey = "hop"

    private let logger: Logger
    private let queue = DispatchQueue(label: "spaceport.hop-log")
    private let pending = Atomic<Int>(0)
    private let dropped = Atomic<Int>(0)

    public init(logger: Logger) {
        self.logger = logger
    }

    /// It logs finished hops only, so it never needs a hop's start.
    public var isWatched: Bool { false }

    public func publish(_ event: FeedEvent) {
        guard case .hop(let hop) = event, hop.phase == .end else { return }
        guard pending.add(1, ordering: .relaxed).newValue <= Self.maxPending else {
            pending.subtract(1, ordering: .relaxed)
            dropped.add(1, ordering: .relaxed)
            return
        }
        queue.async { [self] in
            pending.subtract(1, ordering: .relaxed)
            let lost = dropped.exchange(0, ordering: .relaxed)
            if lost > 0 { logger.warning("\(lost) hop lines were dropped: the log could not keep up") }
            logger.log(
                level: hop.error == nil ? .info : .warning, "\(Self.line(hop))",
                metadata: [Self.hopKey: .stringConvertible(LoggedHop(hop: hop))])
        }
    }

    /// `GET servicea.localhost:8080/api → servicea@azureuser 200 3.1 ms · route-as azureuser (host)`.
    public static func line(_ hop: HopEvent) -> String {
        var parts: [String] = []
        switch hop.protocol {
        case .http: parts.append("\(hop.method ?? "-") \(hop.host ?? "")\(hop.path ?? "")")
        case .websocket: parts.append("websocket \(hop.host ?? "")\(hop.path ?? "")")
        case .tcp: parts.append("tcp \(hop.listener)")
        case .h2: parts.append("h2 \(hop.method ?? "-") \(hop.host ?? "")\(hop.path ?? "")")
        case .grpc: parts.append("grpc \(hop.host ?? "")\(hop.path ?? "")")
        }
        parts.append("→ \(hop.service.map { "\($0)@\(hop.space ?? "nowhere")" } ?? "unrouted")")
        parts.append(hop.status.map(String.init) ?? "-")
        if let code = hop.grpcStatus { parts.append(GRPCStatus.describe(code)) }
        parts.append(hop.durationMs.map { String(format: "%.1f ms", $0) } ?? "- ms")
        var detail: [String] = []
        if let routeAs = hop.routeAs, let source = hop.routeAsSource {
            detail.append("route-as \(routeAs) (\(source.rawValue))")
        }
        if hop.isFallback { detail.append("tried \(hop.tried.joined(separator: " → "))") }
        if let from = hop.from { detail.append("from \(from.space)/\(from.service)") }
        if let spoken = hop.upstreamProtocol { detail.append("upstream \(spoken.rawValue)") }
        if hop.protocol != .http { detail.append("\(hop.bytesIn) B in, \(hop.bytesOut) B out") }
        if let error = hop.error { detail.append("error: \(error)") }
        let head = parts.joined(separator: " ")
        return detail.isEmpty ? head : "\(head) · \(detail.joined(separator: " · "))"
    }
}

/// A finished hop as a log line's metadata: its description is the line, and a handler that
/// writes fields takes the hop itself.
public struct LoggedHop: CustomStringConvertible, Sendable {
    public let hop: HopEvent

    public init(hop: HopEvent) {
        self.hop = hop
    }

    public var description: String { HopLogSink.line(hop) }
}

/// Hands every event to each of several sinks, in order, after its readers have read it.
public final class FanOutSink: EventSink {
    private let sinks: [any EventSink]
    private let readers: [any HopReader]

    public init(_ sinks: [any EventSink], readers: [any HopReader] = []) {
        self.sinks = sinks
        self.readers = readers
    }

    public func publish(_ event: FeedEvent) {
        if case .hop(let hop) = event {
            for reader in readers { reader.read(hop) }
        }
        for sink in sinks { sink.publish(event) }
    }

    /// The last sink takes the hop itself; the ones before it take copies.
    public func publish(hop: consuming HopEvent) {
        for reader in readers { reader.read(hop) }
        for sink in sinks.dropLast() { sink.publish(hop: copy hop) }
        sinks.last?.publish(hop: consume hop)
    }

    public var isWatched: Bool { sinks.contains { $0.isWatched } }

    public func publishStart(id: String, build: () -> HopEvent) {
        for sink in sinks { sink.publishStart(id: id, build: build) }
    }
}
