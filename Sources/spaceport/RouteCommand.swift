import ArgumentParser
import Foundation
import SpaceportCore
import SpaceportProxy

struct RouteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Explain how the proxy would route a request, sending nothing.",
        discussion: """
            Route-as comes from the route header, else the other carrier headers, else the \
            baggage members the spaces file lists (-H 'baggage: okteto-divert=alice'), else the \
            host (<space>.s.<root>.<service>.<domain>, <space>.s.<service>.<domain>, \
            <root>.<service>.<domain>, <service>.<domain>), else trace memory (-H 'traceparent: …' \
            with --trace-known), else --from, else default_space. The service comes from the host, \
            which may also be a cluster name (serviceb.team, serviceb.team.svc, \
            serviceb.team.svc.cluster.local) whose namespace must be a space. \
            The answer says which carrier decided and which disagreed, the spaces tried, nearest \
            first, the space and upstream chosen, and the route carriers the forwarded request \
            would carry. When no space serves it, the answer starts with why (and the nearest \
            names when no space runs the service at all), and the exit status is 1, as for any \
            request the proxy would not forward.
            """)

    @OptionGroup var spaces: SpacesFileOptions

    @OptionGroup var cluster: KubeOptions

    @Argument(
        help: ArgumentHelp(
            "The request's URL, such as http://azureuser.s.default.servicea.localhost:8080/path, or a bare host such as serviceb.",
            valueName: "url"))
    var url: String

    @Option(
        name: [.customShort("H"), .customLong("header")],
        help: ArgumentHelp(
            "A request header, 'Name: value', as curl takes it; repeat for more. Host replaces the URL's host; baggage and traceparent are read as the proxy reads them.",
            valueName: "header"))
    var headers: [String] = []

    @Option(
        name: .customLong("from"),
        help: ArgumentHelp(
            "Route as if the request came through this space's egress listener.", valueName: "space"))
    var caller: String?

    @Option(
        name: .customLong("trace-known"),
        help: ArgumentHelp(
            "Route as if trace memory knew the request's trace (its traceparent) as routed as this space.",
            valueName: "space"))
    var traceKnown: String?

    @Flag(
        name: .customLong("http2"),
        help:
            "Ask as an HTTP/2 stream, as a gRPC client sends it: the host is its :authority, the headers its header block (-H 'content-type: application/grpc' for a gRPC call)."
    )
    var http2 = false

    @Flag(
        help:
            "Print the answer as JSON: {routeAs, routeAsSource, routeAsCarrier, conflicts, traceId, service, tried, space, upstream, propagation, forwarded, …} or {error}."
    )
    var json = false

    func validate() throws {
        let question: RouteQuestion
        do {
            question = try RouteQuestion(url: url, headers: headers)
        } catch {
            throw CommandFailure.usage(error.description)
        }
        if let caller, let problem = Names.problem(with: caller) {
            throw CommandFailure.usage("--from names no space: \(problem)")
        }
        if let traceKnown {
            if let problem = Names.problem(with: traceKnown) {
                throw CommandFailure.usage("--trace-known names no space: \(problem)")
            }
            if question.header("traceparent") == nil {
                throw CommandFailure.usage(
                    "--trace-known needs the request's trace: add -H 'traceparent: 00-<32 hex trace id>-<16 hex parent id>-01'"
                )
            }
        }
    }

    func run() async throws {
        let tree: SpaceTree
        if cluster.kube {
            tree = try await cluster.tree()
        } else {
            switch spaces.read() {
            case .success(let read):
                tree = read
            case .failure(let error):
                throw fail(spaces.describe(error))
            }
        }
        let question = try RouteQuestion(url: url, headers: headers)
        let explanation: RouteExplanation
        do {
            explanation = try RouteExplanation.explain(
                host: question.host, headers: question.headers, from: caller, traceKnown: traceKnown,
                tree: tree, http2: http2)
        } catch {
            throw fail(error.description)
        }
        let route = explanation.route
        let unserved = route.space == nil ? Unserved(route, in: tree) : nil
        if json {
            print(CommandJSON.text(RouteAnswer(explanation, unserved: unserved)))
        } else {
            if let unserved { print(unserved) }
            print(
                RouteAnswer.text(explanation, traceKnown: traceKnown, settings: tree.settings), terminator: ""
            )
        }
        // A script asks `route` whether a request would reach a service: a 404 is a no, and so
        // is a gRPC call its instance cannot take.
        if unserved != nil || explanation.grpcRefusal != nil { throw ExitCode.failure }
    }

    /// Ends the command: `{"error": ...}` on stdout with --json, else one line on stderr.
    private func fail(_ message: String) -> ExitCode {
        guard json else { return CommandFailure.report(message) }
        print(CommandJSON.error(message))
        return .failure
    }
}

/// The request `route` asks about: its host and headers, read from curl-like arguments.
struct RouteQuestion {
    var host: String
    var headers: [(name: String, value: String)]

    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    init(url: String, headers: [String]) throws(Problem) {
        var rest = Substring(url)
        if let scheme = rest.range(of: "://") {
            let name = rest[..<scheme.lowerBound].lowercased()
            guard ["http", "https", "ws", "wss"].contains(name) else {
                throw Problem(
                    description: "'\(url)' is not an http:// URL; give one, or a bare host such as serviceb")
            }
            rest = rest[scheme.upperBound...]
        }
        var authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        self.headers = []
        for header in headers {
            guard let colon = header.firstIndex(of: ":") else {
                throw Problem(description: "-H '\(header)' is not a header; write it 'Name: value'")
            }
            let name = header[..<colon].trimmingCharacters(in: .whitespaces)
            guard !name.isEmpty, !name.contains(" ") else {
                throw Problem(description: "-H '\(header)' has no header name; write it 'Name: value'")
            }
            guard !header.contains(where: \.isNewline) else {
                throw Problem(description: "-H '\(name): …' holds a line break; give one header per -H")
            }
            self.headers.append(
                (name, header[header.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        host = self.headers.last { $0.name.lowercased() == "host" }?.value ?? String(authority)
        guard !host.isEmpty else {
            throw Problem(
                description: "'\(url)' names no host; give one such as http://servicea.localhost:8080/")
        }
    }

    /// The value of the header called `name`, matched without case.
    func header(_ name: String) -> String? {
        headers.last { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// What `route` prints: the decision, as JSON or as labelled lines.
struct RouteAnswer: Encodable {
    var routeAs: String
    var unknownRouteAs: String?
    var routeAsSource: String
    /// The header's name or baggage key that carried route-as, as a hop's `routeAsCarrier`.
    var routeAsCarrier: String?
    var conflicts: [HopConflict]
    var traceId: String?
    /// Why the request's traceparent names no trace, when it has one that does not.
    var traceProblem: String?
    var service: String
    /// The namespace a cluster name named (serviceb.team.svc.cluster.local), nil for other hosts.
    var namespace: String?
    var tried: [String]
    var space: String?
    var upstream: String?
    /// The HTTP spoken to the upstream when not the client's (the instance's `protocol:`).
    var upstreamProtocol: String?
    /// The hop's mark: kept, bridged, restored, or nil.
    var propagation: String?
    var forwarded: Forwarded?
    var bridgeProblem: String?
    var skippedBaggage: [Skipped]
    /// Why no space serves it (the proxy's 404), nil when one does.
    var problem: String?
    /// Services some space runs whose names are near the one asked for, when none runs it.
    var didYouMean: [String]

    struct Forwarded: Encodable {
        var headers: [Field]
        var baggage: [String]
    }

    struct Field: Encodable {
        var name: String
        var value: String
    }

    struct Skipped: Encodable {
        var member: String
        var problem: String
    }

    init(_ explanation: RouteExplanation, unserved: Unserved?) {
        let route = explanation.route
        routeAs = route.routeAs
        unknownRouteAs = route.unknownRouteAs
        routeAsSource = route.routeAsSource.rawValue
        routeAsCarrier = route.routeAsCarrier?.name
        conflicts = explanation.conflicts
        traceId = explanation.traceID?.description
        traceProblem = explanation.ignoredTrace
        service = route.service
        namespace = route.namespace
        tried = route.tried
        space = route.space
        upstream = route.upstream?.description
        upstreamProtocol = explanation.upstreamProtocol?.rawValue
        propagation = explanation.propagation?.rawValue
        forwarded = explanation.forwarded.map {
            Forwarded(headers: $0.headers.map { Field(name: $0.name, value: $0.value) }, baggage: $0.baggage)
        }
        bridgeProblem = explanation.bridgeProblem
        skippedBaggage = explanation.skippedBaggage.map {
            Skipped(member: $0.text, problem: $0.problem.description)
        }
        problem = unserved?.description
        didYouMean = unserved?.suggestions ?? []
    }

    /// Every field, nulls included, so a reader sees the whole shape every time.
    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(routeAs, forKey: .routeAs)
        try container.encode(unknownRouteAs, forKey: .unknownRouteAs)
        try container.encode(routeAsSource, forKey: .routeAsSource)
        try container.encode(routeAsCarrier, forKey: .routeAsCarrier)
        try container.encode(conflicts, forKey: .conflicts)
        try container.encode(traceId, forKey: .traceId)
        try container.encode(traceProblem, forKey: .traceProblem)
        try container.encode(service, forKey: .service)
        try container.encode(namespace, forKey: .namespace)
        try container.encode(tried, forKey: .tried)
        try container.encode(space, forKey: .space)
        try container.encode(upstream, forKey: .upstream)
        try container.encode(upstreamProtocol, forKey: .upstreamProtocol)
        try container.encode(propagation, forKey: .propagation)
        try container.encode(forwarded, forKey: .forwarded)
        try container.encode(bridgeProblem, forKey: .bridgeProblem)
        try container.encode(skippedBaggage, forKey: .skippedBaggage)
        try container.encode(problem, forKey: .problem)
        try container.encode(didYouMean, forKey: .didYouMean)
    }

    enum CodingKeys: String, CodingKey {
        case routeAs, unknownRouteAs, routeAsSource, routeAsCarrier, conflicts, traceId, traceProblem, service
        case namespace, tried, space, upstream, upstreamProtocol, propagation, forwarded, bridgeProblem,
            skippedBaggage,
            problem,
            didYouMean
    }

    static func text(_ explanation: RouteExplanation, traceKnown: String?, settings: Settings) -> String {
        let route = explanation.route
        let resolution = route.resolution
        var routeAs = "\(route.askedRouteAs) (\(source(route, settings: settings)))"
        if let unknown = resolution.unknownRouteAs {
            routeAs += ": there is no space '\(unknown)', so it is routed as \(resolution.routeAs)"
        }
        var rows = [["route-as", routeAs]]
        if let stream = explanation.stream {
            rows.append(["as", stream == .grpc ? "a gRPC call on an HTTP/2 stream" : "an HTTP/2 stream"])
        }
        rows += labelled(
            "conflicts", explanation.conflicts.map { "the \($0.carrier) said '\($0.value)'" })
        if let trace = trace(explanation, traceKnown: traceKnown, settings: settings) {
            rows.append(["trace", trace])
        }
        rows.append(["service", route.service])
        if let namespace = route.namespace {
            rows.append([
                "namespace", "\(namespace) (a space, from the cluster name; a namespace never sets route-as)",
            ])
        }
        rows += [
            ["tried", route.tried.isEmpty ? "no space" : route.tried.joined(separator: " → ")]
        ]
        if let space = route.space, let upstream = route.upstream {
            var served = "\(space) at \(upstream)"
            let passed = route.tried.dropLast()
            if !passed.isEmpty {
                served += " (inherited: no enabled \(route.service) in \(passed.joined(separator: " or ")))"
            }
            rows.append(["served by", served])
            if let spoken = explanation.upstreamProtocol {
                rows.append([
                    "upstream",
                    "over \(spoken == .h2c ? "h2c (HTTP/2 with prior knowledge)" : "HTTP/1.1"): the instance says protocol: \(spoken.rawValue)",
                ])
            }
            if let refusal = explanation.grpcRefusal {
                let code = GRPCStatus(answering: refusal.status)
                rows.append([
                    "answer", "the proxy would answer \(code.name) (\(code.rawValue)): \(refusal.message)",
                ])
            }
        } else if explanation.stream == .grpc {
            let code = GRPCStatus(answering: 404)
            rows.append(["served by", "nothing: the proxy would answer \(code.name) (\(code.rawValue))"])
        } else {
            rows.append(["served by", "nothing: the proxy would answer 404"])
        }
        if let mark = explanation.propagation { rows.append(["marked", marked(mark)]) }
        rows += labelled(
            "skipped", explanation.skippedBaggage.map { "baggage member '\($0.text)': \($0.problem)" })
        if let problem = explanation.bridgeProblem { rows.append(["baggage", problem]) }
        // A call the proxy refuses itself is forwarded nowhere.
        if let forwarded = explanation.forwarded, explanation.grpcRefusal == nil {
            rows += labelled(
                "forwarded",
                forwarded.headers.map { "\($0.name): \($0.value)" }
                    + forwarded.baggage.map { "baggage: \($0)" })
        }
        return TextColumns.render(rows)
    }

    /// One row a line, the label on the first.
    private static func labelled(_ label: String, _ lines: [String]) -> [[String]] {
        lines.enumerated().map { [$0.offset == 0 ? label : "", $0.element] }
    }

    /// The request's trace and what trace memory makes of it; nil when it carries no traceparent.
    private static func trace(_ explanation: RouteExplanation, traceKnown: String?, settings: Settings)
        -> String?
    {
        if let problem = explanation.ignoredTrace { return "none: \(problem)" }
        guard let trace = explanation.traceID else { return nil }
        let route = explanation.route
        let memory = settings.propagation
        guard memory.remembersTraces else { return "\(trace) (trace memory is off in the spaces file)" }
        if route.routeAsSource == .trace { return "\(trace): trace memory knows it as \(route.routeAs)" }
        if let known = explanation.traceRouteAs {
            return
                "\(trace): trace memory knows it as \(known), but the \(route.routeAsSource.rawValue) decides first"
        }
        guard route.routeAsSource != .default else { return "\(trace)" }
        return
            "\(trace): the proxy remembers it as \(route.routeAs) for \(memory.traceMemorySeconds) s, for calls that carry only traceparent"
    }

    private static func marked(_ propagation: HopPropagation) -> String {
        switch propagation {
        case .kept: return "kept: it carries route-as on every carrier the proxy writes"
        case .bridged: return "bridged: the proxy adds route-as on the carriers it lacks"
        case .restored: return "restored: it carries no carrier, and trace memory routed it"
        case .lost: return "lost: it carries no carrier, and its caller was serving another space"
        }
    }

    static func source(_ route: Route, settings: Settings) -> String {
        switch route.routeAsSource {
        case .header: return "from the \(route.routeAsCarrier?.name ?? settings.routeHeader) header"
        case .baggage: return "from the baggage member \(route.routeAsCarrier?.name ?? "?")"
        case .trace: return "the space its trace was routed as (trace memory)"
        case .host: return "from the host"
        case .caller: return "from the calling instance's space"
        case .default: return "the default_space: the request names no space"
        }
    }
}
