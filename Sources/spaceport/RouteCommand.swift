import ArgumentParser
import Foundation
import SpaceportCore

struct RouteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "route",
        abstract: "Explain how the proxy would route a request, sending nothing.",
        discussion: """
            Route-as comes from the route header, else the host \
            (<space>.s.<root>.<service>.<domain>, <space>.s.<service>.<domain>, \
            <root>.<service>.<domain>, <service>.<domain>), else --from, else default_space. \
            The service comes from the host. The answer names the spaces tried, nearest first, \
            and the space and upstream chosen. When no space serves it, the answer starts \
            with why (and the nearest names when no space runs the service at all), and the \
            exit status is 1, as for any request the proxy would not forward.
            """)

    @OptionGroup var spaces: SpacesFileOptions

    @Argument(
        help: ArgumentHelp(
            "The request's URL, such as http://azureuser.s.default.servicea.localhost:8080/path, or a bare host such as serviceb.",
            valueName: "url"))
    var url: String

    @Option(
        name: [.customShort("H"), .customLong("header")],
        help: ArgumentHelp(
            "A request header, 'Name: value', as curl takes it; repeat for more. Host replaces the URL's host.",
            valueName: "header"))
    var headers: [String] = []

    @Option(
        name: .customLong("from"),
        help: ArgumentHelp(
            "Route as if the request came through this space's egress listener.", valueName: "space"))
    var caller: String?

    @Flag(
        help:
            "Print the answer as JSON: {routeAs, routeAsSource, service, tried, space, upstream, problem, didYouMean} or {error}."
    )
    var json = false

    func validate() throws {
        do {
            _ = try RouteQuestion(url: url, headers: headers)
        } catch {
            throw CommandFailure.usage(error.description)
        }
        if let caller, let problem = Names.problem(with: caller) {
            throw CommandFailure.usage("--from names no space: \(problem)")
        }
    }

    func run() throws {
        let tree: SpaceTree
        switch spaces.read() {
        case .success(let read):
            tree = read
        case .failure(let error):
            throw fail(spaces.describe(error))
        }
        let question = try RouteQuestion(url: url, headers: headers)
        let request = RouteRequest(
            host: question.host, routeHeaderValue: question.header(tree.settings.routeHeader), caller: caller)
        let route: Route
        do {
            route = try tree.route(request)
        } catch {
            throw fail("the proxy would answer \(error.status): \(error.description)")
        }
        let unserved = route.space == nil ? Unserved(route, in: tree) : nil
        if json {
            print(CommandJSON.text(RouteAnswer(route, unserved: unserved)))
        } else {
            if let unserved { print(unserved) }
            print(RouteAnswer.text(route, settings: tree.settings), terminator: "")
        }
        // A script asks `route` whether a request would reach a service: a 404 is a no.
        if unserved != nil { throw ExitCode.failure }
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
    var service: String
    var tried: [String]
    var space: String?
    var upstream: String?
    /// Why no space serves it (the proxy's 404), nil when one does.
    var problem: String?
    /// Services some space runs whose names are near the one asked for, when none runs it.
    var didYouMean: [String]

    init(_ route: Route, unserved: Unserved?) {
        routeAs = route.routeAs
        unknownRouteAs = route.unknownRouteAs
        routeAsSource = route.routeAsSource.rawValue
        service = route.service
        tried = route.tried
        space = route.space
        upstream = route.upstream?.description
        problem = unserved?.description
        didYouMean = unserved?.suggestions ?? []
    }

    /// Every field, nulls included, so a reader sees the whole shape every time.
    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(routeAs, forKey: .routeAs)
        try container.encode(unknownRouteAs, forKey: .unknownRouteAs)
        try container.encode(routeAsSource, forKey: .routeAsSource)
        try container.encode(service, forKey: .service)
        try container.encode(tried, forKey: .tried)
        try container.encode(space, forKey: .space)
        try container.encode(upstream, forKey: .upstream)
        try container.encode(problem, forKey: .problem)
        try container.encode(didYouMean, forKey: .didYouMean)
    }

    enum CodingKeys: String, CodingKey {
        case routeAs, unknownRouteAs, routeAsSource, service, tried, space, upstream, problem, didYouMean
    }

    static func text(_ route: Route, settings: Settings) -> String {
        let resolution = route.resolution
        var routeAs = "\(route.askedRouteAs) (\(source(route, settings: settings)))"
        if let unknown = resolution.unknownRouteAs {
            routeAs += ": there is no space '\(unknown)', so it is routed as \(resolution.routeAs)"
        }
        var rows = [
            ["route-as", routeAs], ["service", route.service],
            ["tried", route.tried.isEmpty ? "no space" : route.tried.joined(separator: " → ")],
        ]
        if let space = route.space, let upstream = route.upstream {
            var served = "\(space) at \(upstream)"
            let passed = route.tried.dropLast()
            if !passed.isEmpty {
                served += " (inherited: no enabled \(route.service) in \(passed.joined(separator: " or ")))"
            }
            rows.append(["served by", served])
        } else {
            rows.append(["served by", "nothing: the proxy would answer 404"])
        }
        return TextColumns.render(rows)
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
