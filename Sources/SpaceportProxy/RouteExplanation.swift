import NIOCore
import NIOHPACK
import SpaceportCore

/// What the proxy would do with a request, worked out by the proxy's own code and sending
/// nothing: `spaceport route`'s answer. The request's head is written out and read by the
/// proxy's parser, routed on the path every request takes (`RouteContext`), and the forwarded
/// head written as the proxy writes it, so the carriers shown are the bytes it would send.
public struct RouteExplanation: Sendable {
    public let route: Route
    /// The carriers that named another space than the one that decided.
    public let conflicts: [HopConflict]
    /// The trace the request belongs to: its one valid `traceparent`.
    public let traceID: TraceID?
    /// Why the request's `traceparent` fields name no trace, when it has some that do not.
    public let ignoredTrace: String?
    /// What trace memory would answer for the trace: the space `traceKnown` named, or nil when
    /// there is no trace or the spaces file switches trace memory off.
    public let traceRouteAs: String?
    /// The hop's mark. `lost` depends on the requests a calling instance is serving at the
    /// moment, which only live traffic has, so it is never the answer here.
    public let propagation: HopPropagation?
    /// The baggage members the proxy skips as malformed.
    public let skippedBaggage: [Baggage.Skipped]
    /// Why the forwarded baggage stays as it came instead of carrying route-as.
    public let bridgeProblem: String?
    /// The forwarded request's route carriers; nil when no space serves it (a 404).
    public let forwarded: Forwarded?
    /// How the request was asked as: `h2` or `grpc` for an HTTP/2 stream, nil for HTTP/1.1.
    public let stream: HopProtocol?

    /// The HTTP the proxy would speak to the upstream when it is not the client's: the serving
    /// instance says `protocol: h2c` or `protocol: http1`.
    public var upstreamProtocol: UpstreamProtocol? {
        guard route.upstream != nil else { return nil }
        let client: UpstreamProtocol = stream == nil ? .http1 : .h2c
        let spoken = (route.resolution.instance?.upstreamProtocol ?? .auto).towards(client: client)
        return spoken == client ? nil : spoken
    }

    /// The proxy's answer to a gRPC call its instance cannot take (`protocol: http1`), else nil.
    public var grpcRefusal: Refusal? {
        guard stream == .grpc, upstreamProtocol?.carriesGRPC == false, let label = route.label,
            let upstream = route.upstream
        else { return nil }
        return Refusal(ErrorAnswer.grpcOverHTTP1(label, at: upstream))
    }

    /// The route carriers of the forwarded request, as the proxy writes them.
    public struct Forwarded: Equatable, Sendable {
        /// The carrier headers, in the order of the forwarded head, names as written.
        public let headers: [Field]
        /// The value of each `baggage` field.
        public let baggage: [String]
    }

    public struct Field: Equatable, Sendable {
        public let name: String
        public let value: String
    }

    /// The proxy would not route the request: the answer it would give instead.
    public struct Refusal: Error, Equatable, CustomStringConvertible {
        public let status: Int
        public let message: String

        public var description: String { "the proxy would answer \(status): \(message)" }
    }

    /// Explains how the proxy would route `method / HTTP/1.1` with `host` (unless `headers`
    /// hold a Host) and `headers`, at the ingress, or through an egress of the space `caller`.
    /// `traceKnown`: the space trace memory remembers the request's trace as.
    /// With `http2`, the request is an HTTP/2 stream (as a gRPC client sends one): its header
    /// block is read as the proxy reads a stream's, `host` as its `:authority`.
    public static func explain(
        method: String = "GET", host: String, headers: [(name: String, value: String)], from caller: String?,
        traceKnown: String?, tree: SpaceTree, http2: Bool = false
    ) throws(Refusal) -> RouteExplanation {
        let settings = tree.settings
        let plan = CarrierPlan(settings)
        if http2 {
            var block: HPACKHeaders = [
                ":method": method, ":scheme": "http", ":path": "/", ":authority": host,
            ]
            for header in headers where header.name.lowercased() != "host" {
                block.add(name: header.name.lowercased(), value: header.value)
            }
            let fields = RoutingFields(block, plan: plan)
            return try explain(fields, from: caller, traceKnown: traceKnown, tree: tree, plan: plan) {
                context in
                guard context.known.upstream != nil else { return nil }
                let written = HTTP2Headers.forwardedRequest(
                    block, bridge: context.bridge, requestID: fields.requestID ?? "", clientIP: nil,
                    via: "spaceport", keepsForwarded: true)
                return carriers(written.map { ($0.name, $0.value) }, plan: plan)
            } stream: {
                HTTP2Headers.isGRPC(block) ? .grpc : .h2
            }
        }
        var bytes = ByteBuffer(string: "\(method) / HTTP/1.1\r\n")
        if !headers.contains(where: { $0.name.lowercased() == "host" }) { bytes.writeField("host", host) }
        for header in headers { bytes.writeField(header.name, header.value) }
        bytes.writeStaticString("\r\n")
        var parser = ClientRequestParser(
            maxHeaderBytes: settings.limits.maxHeaderBytes, maxHeaderCount: settings.limits.maxHeaderCount)
        let part: ClientRequestPart?
        do {
            part = try parser.next(&bytes)
        } catch {
            throw Refusal(error.answer)
        }
        guard case .head(let head)? = part else {
            throw Refusal(HTTPSyntaxError.request(.badRequest, "the request head is incomplete").answer)
        }
        let fields = RoutingFields(head, plan: plan)
        return try explain(fields, from: caller, traceKnown: traceKnown, tree: tree, plan: plan) { context in
            forwarded(head, fields: fields, context: context, plan: plan)
        } stream: {
            nil
        }
    }

    /// The route of a request read into `fields`, on the path every request takes.
    private static func explain(
        _ fields: RoutingFields, from caller: String?, traceKnown: String?, tree: SpaceTree,
        plan: CarrierPlan,
        forwarded: (RouteContext) -> Forwarded?, stream: () -> HopProtocol?
    ) throws(Refusal) -> RouteExplanation {
        let trace = fields.traceID
        let memory = TraceMemory()
        if let trace, let traceKnown { memory.remember(trace, as: traceKnown, plan.propagation) }
        let context: RouteContext
        do {
            context = try RouteContext(
                fields: fields, host: fields.host, caller: caller, trace: trace, plan: plan,
                remembered: { memory.space(of: $0, plan.propagation) },
                route: { request throws(RouteError) in try KnownRoute(tree.route(request), in: tree) })
        } catch {
            throw Refusal(error)
        }
        return RouteExplanation(
            route: context.known.route, conflicts: context.carried.conflicts, traceID: trace,
            ignoredTrace: ignoredTrace(fields.traceparent, count: fields.traceparentCount, trace: trace),
            traceRouteAs: trace.flatMap { memory.space(of: $0, plan.propagation) },
            propagation: context.mark(from: nil, expected: { _ in nil })?.propagation,
            skippedBaggage: context.carried.skippedBaggage,
            bridgeProblem: context.bridge.baggageProblem,
            forwarded: forwarded(context), stream: stream())
    }

    /// The carrier lines of the head the proxy would write upstream.
    private static func forwarded(
        _ head: ClientHead, fields: RoutingFields, context: RouteContext, plan: CarrierPlan
    ) -> Forwarded? {
        guard context.known.upstream != nil else { return nil }
        var written = ByteBuffer()
        ForwardedHeaders.writeRequest(
            head, into: &written, path: "/", host: fields.host, bridge: context.bridge,
            requestID: fields.requestID ?? "", clientIP: nil, via: "spaceport")
        var fields: [(String, String)] = []
        for line in String(buffer: written).components(separatedBy: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields.append(
                (String(line[..<colon]), String(line[line.index(after: colon)...].drop { $0 == " " })))
        }
        return carriers(fields, plan: plan)
    }

    /// The route carriers among a forwarded request's fields.
    private static func carriers(_ fields: [(String, String)], plan: CarrierPlan) -> Forwarded {
        var headers: [Field] = []
        var baggage: [String] = []
        for (name, value) in fields {
            let lowered = name.lowercased()
            if lowered == "baggage" {
                baggage.append(value)
            } else if plan.headers.contains(where: { $0.name == lowered }) {
                headers.append(Field(name: name, value: value))
            }
        }
        return Forwarded(headers: headers, baggage: baggage)
    }

    private static func ignoredTrace(_ first: String?, count: Int, trace: TraceID?) -> String? {
        guard trace == nil, let first else { return nil }
        if count > 1 {
            return "the request carries \(count) traceparent fields, so the proxy ignores them"
        }
        return
            "'\(Printable.clip(first))' is not a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>), so the proxy ignores it"
    }
}

extension RouteExplanation.Refusal {
    init(_ answer: ErrorAnswer) {
        self.init(status: Int(answer.status.code), message: answer.message)
    }
}
