import Foundation
import Synchronization

/// The instance a request came from, known when it came through an egress listener.
public struct HopCaller: Codable, Equatable, Sendable {
    public var space: String
    public var service: String

    public init(space: String, service: String) {
        self.space = space
        self.service = service
    }
}

public enum HopPhase: String, Codable, Sendable { case start, end }
/// How a hop's request came: HTTP/1.x, a WebSocket, raw TCP, an HTTP/2 stream, or a gRPC call on one.
public enum HopProtocol: String, Codable, Sendable { case http, websocket, tcp, h2, grpc }

/// What became of a request's route context on this hop (docs/routing.md, "Carrying the route").
public enum HopPropagation: String, Codable, Sendable, CaseIterable {
    /// It arrived with route carriers and left with the same ones.
    case kept
    /// It arrived with some carriers and left with more: the proxy added the others.
    case bridged
    /// It came with no carrier, and trace memory routed it as its trace was routed before.
    case restored
    /// It came with no carrier while its flow was routed as another space: the caller dropped it.
    case lost
}

/// A carrier that named a space other than the one that decided, for a hop to record.
public struct HopConflict: Codable, Equatable, Sendable {
    /// `header <name>` or `baggage member <key>`.
    public var carrier: String
    public var value: String

    public init(carrier: String, value: String) {
        self.carrier = carrier
        self.value = value
    }
}

/// One request passing through the proxy to one upstream: the routing decision and,
/// in its `end` phase, how it went. Optional fields are null until known.
public struct HopEvent: Codable, Equatable, Sendable {
    /// How long the ids a proxy makes for hops and flows are: 15 hex digits (60 bits), enough
    /// to tell apart every hop a proxy keeps, and the longest string Swift stores inline, so
    /// making one allocates nothing. The feed, tail and the dashboard show them whole.
    public static let idLength = 15

    public var id: String
    public var flow: String
    public var phase: HopPhase
    /// ISO 8601, UTC, milliseconds.
    public var time: String
    public var proxy: String
    /// `ingress`, `egress:<space>/<service>` or `listen:<space>/<service>`.
    public var listener: String
    public var from: HopCaller?
    /// The space the request was routed as (`Route.routeAs`): after a name that is no space
    /// fell back to `default_space`. Rates and tallies count a hop under it.
    public var routeAs: String?
    /// The space the request asked for when no space has that name; nil otherwise.
    public var unknownRouteAs: String?
    public var routeAsSource: RouteAsSource?
    /// The header's name or baggage key that carried route-as, when one did.
    public var routeAsCarrier: String?
    /// Other carriers that named another space; the first in precedence won.
    public var conflicts: [HopConflict]
    /// The W3C trace the request belongs to, when it carried a valid `traceparent`.
    public var traceId: String?
    /// What became of the route context; nil where nothing could be known.
    public var propagation: HopPropagation?
    /// When `lost`: the calling instance that dropped it, when known.
    public var lostBy: HopCaller?
    /// When `lost`: the space the flow was routed as, which this hop should have been too.
    public var expected: String?
    /// Why the forwarded request's baggage was left as it came instead of carrying route-as.
    public var bridgeProblem: String?
    /// The hop whose request this one sends again, routed as another space (a replay a feed
    /// client asked for); nil for every request a client sent itself.
    public var replayOf: String?
    public var service: String?
    public var tried: [String]
    public var space: String?
    public var upstream: String?
    /// The HTTP the proxy spoke to the upstream when it was not the client's (the instance's
    /// `protocol: h2c` or `protocol: http1`); nil when it was the client's.
    public var upstreamProtocol: UpstreamProtocol?
    public var `protocol`: HopProtocol
    public var method: String?
    /// The Host the request named, for display.
    public var host: String?
    public var path: String?
    public var status: Int?
    /// A gRPC call's status code: from the upstream's trailers, or the proxy's own answer.
    public var grpcStatus: Int?
    public var durationMs: Double?
    public var bytesIn: Int
    public var bytesOut: Int
    public var error: String?

    public init(
        id: String, flow: String, phase: HopPhase, time: String, proxy: String, listener: String,
        from: HopCaller? = nil, routeAs: String? = nil, unknownRouteAs: String? = nil,
        routeAsSource: RouteAsSource? = nil, routeAsCarrier: String? = nil, conflicts: [HopConflict] = [],
        traceId: String? = nil, propagation: HopPropagation? = nil, lostBy: HopCaller? = nil,
        expected: String? = nil, bridgeProblem: String? = nil, replayOf: String? = nil,
        service: String? = nil,
        tried: [String] = [],
        space: String? = nil, upstream: String? = nil, upstreamProtocol: UpstreamProtocol? = nil,
        protocol: HopProtocol = .http, method: String? = nil, host: String? = nil, path: String? = nil,
        status: Int? = nil, grpcStatus: Int? = nil, durationMs: Double? = nil, bytesIn: Int = 0,
        bytesOut: Int = 0, error: String? = nil
    ) {
        self.id = id
        self.flow = flow
        self.phase = phase
        self.time = time
        self.proxy = proxy
        self.listener = listener
        self.from = from
        self.routeAs = routeAs
        self.unknownRouteAs = unknownRouteAs
        self.routeAsSource = routeAsSource
        self.routeAsCarrier = routeAsCarrier
        self.conflicts = conflicts
        self.traceId = traceId
        self.propagation = propagation
        self.lostBy = lostBy
        self.expected = expected
        self.bridgeProblem = bridgeProblem
        self.replayOf = replayOf
        self.service = service
        self.tried = tried
        self.space = space
        self.upstream = upstream
        self.upstreamProtocol = upstreamProtocol
        self.protocol = `protocol`
        self.method = method
        self.host = host
        self.path = path
        self.status = status
        self.grpcStatus = grpcStatus
        self.durationMs = durationMs
        self.bytesIn = bytesIn
        self.bytesOut = bytesOut
        self.error = error
    }

    /// True when an ancestor of the route-as space served the request.
    public var isFallback: Bool {
        guard let space, let first = tried.first else { return false }
        return space != first
    }

    /// When a finished hop started, in milliseconds since 1970: its end's time less its duration.
    public var endedStart: Double? {
        EventTime.milliseconds(time).map { $0 - (durationMs ?? 0) }
    }

    /// It failed: it ended with an error, or a status of 500 or more.
    public var isFailed: Bool { error != nil || (status ?? 0) >= 500 }

    /// Every field of a hop, as the feed names it: the fast encoder and decoder of the feed
    /// are held to this list by a test.
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case id, flow, phase, time, proxy, listener, from, routeAs, unknownRouteAs, routeAsSource
        case routeAsCarrier, conflicts, traceId, propagation, lostBy, expected, bridgeProblem, replayOf
        case service, tried, space, upstream, upstreamProtocol, `protocol`, method, host, path, status,
            grpcStatus
        case durationMs, bytesIn, bytesOut, error
    }

    /// Writes every field the first version of the feed had, nulls included, so a reader sees
    /// the whole shape every time; the fields added since appear only when they say something.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(flow, forKey: .flow)
        try c.encode(phase, forKey: .phase)
        try c.encode(time, forKey: .time)
        try c.encode(proxy, forKey: .proxy)
        try c.encode(listener, forKey: .listener)
        try c.encode(from, forKey: .from)
        try c.encode(routeAs, forKey: .routeAs)
        try c.encodeIfPresent(unknownRouteAs, forKey: .unknownRouteAs)
        try c.encode(routeAsSource, forKey: .routeAsSource)
        try c.encodeIfPresent(routeAsCarrier, forKey: .routeAsCarrier)
        if !conflicts.isEmpty { try c.encode(conflicts, forKey: .conflicts) }
        try c.encodeIfPresent(traceId, forKey: .traceId)
        try c.encodeIfPresent(propagation, forKey: .propagation)
        try c.encodeIfPresent(lostBy, forKey: .lostBy)
        try c.encodeIfPresent(expected, forKey: .expected)
        try c.encodeIfPresent(bridgeProblem, forKey: .bridgeProblem)
        try c.encodeIfPresent(replayOf, forKey: .replayOf)
        try c.encode(service, forKey: .service)
        try c.encode(tried, forKey: .tried)
        try c.encode(space, forKey: .space)
        try c.encode(upstream, forKey: .upstream)
        try c.encodeIfPresent(upstreamProtocol, forKey: .upstreamProtocol)
        try c.encode(`protocol`, forKey: .protocol)
        try c.encode(method, forKey: .method)
        try c.encode(host, forKey: .host)
        try c.encode(path, forKey: .path)
        try c.encode(status, forKey: .status)
        try c.encodeIfPresent(grpcStatus, forKey: .grpcStatus)
        try c.encode(durationMs, forKey: .durationMs)
        try c.encode(bytesIn, forKey: .bytesIn)
        try c.encode(bytesOut, forKey: .bytesOut)
        try c.encode(error, forKey: .error)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try c.decode(String.self, forKey: .id), flow: try c.decode(String.self, forKey: .flow),
            phase: try c.decode(HopPhase.self, forKey: .phase),
            time: try c.decode(String.self, forKey: .time),
            proxy: try c.decode(String.self, forKey: .proxy),
            listener: try c.decode(String.self, forKey: .listener),
            from: try c.decodeIfPresent(HopCaller.self, forKey: .from),
            routeAs: try c.decodeIfPresent(String.self, forKey: .routeAs),
            unknownRouteAs: try c.decodeIfPresent(String.self, forKey: .unknownRouteAs),
            routeAsSource: try c.decodeIfPresent(RouteAsSource.self, forKey: .routeAsSource),
            routeAsCarrier: try c.decodeIfPresent(String.self, forKey: .routeAsCarrier),
            conflicts: try c.decodeIfPresent([HopConflict].self, forKey: .conflicts) ?? [],
            traceId: try c.decodeIfPresent(String.self, forKey: .traceId),
            propagation: try c.decodeIfPresent(HopPropagation.self, forKey: .propagation),
            lostBy: try c.decodeIfPresent(HopCaller.self, forKey: .lostBy),
            expected: try c.decodeIfPresent(String.self, forKey: .expected),
            bridgeProblem: try c.decodeIfPresent(String.self, forKey: .bridgeProblem),
            replayOf: try c.decodeIfPresent(String.self, forKey: .replayOf),
            service: try c.decodeIfPresent(String.self, forKey: .service),
            tried: try c.decode([String].self, forKey: .tried),
            space: try c.decodeIfPresent(String.self, forKey: .space),
            upstream: try c.decodeIfPresent(String.self, forKey: .upstream),
            upstreamProtocol: try c.decodeIfPresent(UpstreamProtocol.self, forKey: .upstreamProtocol),
            protocol: try c.decode(HopProtocol.self, forKey: .protocol),
            method: try c.decodeIfPresent(String.self, forKey: .method),
            host: try c.decodeIfPresent(String.self, forKey: .host),
            path: try c.decodeIfPresent(String.self, forKey: .path),
            status: try c.decodeIfPresent(Int.self, forKey: .status),
            grpcStatus: try c.decodeIfPresent(Int.self, forKey: .grpcStatus),
            durationMs: try c.decodeIfPresent(Double.self, forKey: .durationMs),
            bytesIn: try c.decode(Int.self, forKey: .bytesIn),
            bytesOut: try c.decode(Int.self, forKey: .bytesOut),
            error: try c.decodeIfPresent(String.self, forKey: .error))
    }
}

/// Times in events: ISO 8601 UTC with milliseconds.
public enum EventTime {
    /// The last stamp made: a busy proxy stamps dozens of events within one millisecond, and
    /// they share one string instead of formatting and allocating each.
    private static let last = Mutex<(millis: Int64, text: String)>((-1, ""))

    public static func now() -> String {
        let millis = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        if let text = last.withLock({ $0.millis == millis ? $0.text : nil }) { return text }
        let text = format(millis: millis)
        last.withLock { $0 = (millis, text) }
        return text
    }

    /// `2026-03-01T12:03:04.120Z` in milliseconds since 1970; nil for a time the proxy does not write.
    public static func milliseconds(_ time: String) -> Double? {
        // The proxy's own shape, read digit by digit: the flows view reads a time per hop it draws.
        if let fast = fixedMilliseconds(time) { return fast }
        guard let date = try? timeFormat.parse(time) else { return nil }
        return (date.timeIntervalSince1970 * 1000).rounded()
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` exactly, as `format` writes it; nil for anything else.
    private static func fixedMilliseconds(_ time: String) -> Double? {
        var text = time
        return text.withUTF8 { bytes -> Double? in
            guard bytes.count == 24, bytes[4] == 0x2D, bytes[7] == 0x2D, bytes[10] == 0x54, bytes[13] == 0x3A,
                bytes[16] == 0x3A, bytes[19] == 0x2E, bytes[23] == 0x5A
            else { return nil }
            func number(_ range: Range<Int>) -> Int? {
                var value = 0
                for index in range {
                    let digit = Int(bytes[index]) - 0x30
                    guard (0...9).contains(digit) else { return nil }
                    value = value * 10 + digit
                }
                return value
            }
            guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
                let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
                let millis = number(20..<23), (1...12).contains(month), (1...31).contains(day), hour < 24,
                minute < 60, second < 61
            else { return nil }
            // Days from 1970-01-01 to the date (Howard Hinnant's days_from_civil).
            let y = month <= 2 ? year - 1 : year
            let era = (y >= 0 ? y : y - 399) / 400
            let yearOfEra = y - era * 400
            let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
            let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
            let days = era * 146_097 + dayOfEra - 719_468
            return Double(((days * 24 + hour) * 60 + minute) * 60 + second) * 1000 + Double(millis)
        }
    }

    private static let timeFormat = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    public static func format(_ date: Date) -> String {
        format(millis: Int64((date.timeIntervalSince1970 * 1000).rounded(.down)))
    }

    private static func format(millis: Int64) -> String {
        var seconds = time_t(millis / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        // Digits written in place: one string allocation per timestamp, as every hop carries two.
        return String(unsafeUninitializedCapacity: 24) { bytes in
            var end = 0
            func put(_ value: Int, width: Int, then separator: UInt8) {
                var value = value
                for index in stride(from: end + width - 1, through: end, by: -1) {
                    bytes[index] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
                bytes[end + width] = separator
                end += width + 1
            }
            put(Int(parts.tm_year) + 1900, width: 4, then: UInt8(ascii: "-"))
            put(Int(parts.tm_mon) + 1, width: 2, then: UInt8(ascii: "-"))
            put(Int(parts.tm_mday), width: 2, then: UInt8(ascii: "T"))
            put(Int(parts.tm_hour), width: 2, then: UInt8(ascii: ":"))
            put(Int(parts.tm_min), width: 2, then: UInt8(ascii: ":"))
            put(Int(parts.tm_sec), width: 2, then: UInt8(ascii: "."))
            put(Int(millis % 1000), width: 3, then: UInt8(ascii: "Z"))
            return end
        }
    }
}

extension HopEvent {
    /// Records how the hop was routed: the route-as and where it came from, the chain tried,
    /// and the space and upstream that serve it (nil when none does).
    public mutating func record(_ route: Route) {
        record(route, upstream: route.upstream?.description)
    }

    /// `record(route)`, with the upstream already written out (a proxy keeps it with the route).
    public mutating func record(_ route: Route, upstream text: String?) {
        routeAs = route.routeAs
        unknownRouteAs = route.unknownRouteAs
        routeAsSource = route.routeAsSource
        routeAsCarrier = route.routeAsCarrier?.name
        service = route.servingService
        tried = route.tried
        space = route.space
        upstream = text
    }

    /// `<service>@<space>` once a space serves the hop: the proxy's `x-spaceport-route`.
    public var routeLabel: String? {
        guard let service, let space else { return nil }
        return Route.label(service: service, space: space)
    }
}
