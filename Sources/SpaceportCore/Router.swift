/// Where a request's route-as value came from (routing rule 1, docs/routing.md), in order of precedence.
public enum RouteAsSource: String, Codable, Sendable, CaseIterable {
    case header, host, caller
    case `default` = "default"
}

/// What the proxy knows about a request when it routes it.
public struct RouteRequest: Hashable, Sendable {
    /// The Host header, or the authority of an absolute-form request target.
    public var host: String?
    /// The value of the route header when the request carries one (the header's name is
    /// `Settings.routeHeader`).
    public var routeHeaderValue: String?
    /// The space of the instance whose egress listener the request came through.
    public var caller: String?

    public init(host: String?, routeHeaderValue: String? = nil, caller: String? = nil) {
        self.host = host
        self.routeHeaderValue = routeHeaderValue
        self.caller = caller
    }
}

/// A routing decision: route-as and its source, then the walk up the tree.
public struct Route: Equatable, Sendable {
    /// The space the request asked to be routed as, from its carrier: a known space or not.
    public var askedRouteAs: String
    public var routeAsSource: RouteAsSource
    public var resolution: Resolution

    public init(askedRouteAs: String, routeAsSource: RouteAsSource, resolution: Resolution) {
        self.askedRouteAs = askedRouteAs
        self.routeAsSource = routeAsSource
        self.resolution = resolution
    }

    /// The space the request is routed as: the one it asked for, or `default_space` when that
    /// names no space (routing rule 2). The walk up the tree starts here.
    public var routeAs: String { resolution.routeAs }
    /// The space asked for when no space has that name; nil when it is `routeAs`.
    public var unknownRouteAs: String? { resolution.unknownRouteAs }

    public var service: String { resolution.service }
    /// The service as the serving instance names it, else as asked for.
    public var servingService: String { resolution.instance?.service ?? service }
    public var tried: [String] { resolution.tried }
    public var space: String? { resolution.space }
    public var upstream: Address? { resolution.instance?.upstream }

    /// `<service>@<space>` once a space serves the route: the proxy's `x-spaceport-route`.
    public var label: String? { space.map { Self.label(service: servingService, space: $0) } }

    /// How `x-spaceport-route` names the instance that served a request.
    public static func label(service: String, space: String) -> String { "\(service)@\(space)" }
}

public enum RouteError: Error, Equatable, Sendable, CustomStringConvertible {
    case badRouteAs(String, source: RouteAsSource, problem: String)
    case host(HostRouteError)
    case noHost

    /// The HTTP status the proxy answers with.
    public var status: Int {
        switch self {
        case .badRouteAs, .noHost: return 400
        case .host(.badLabel): return 400
        case .host: return 404
        }
    }

    public var description: String {
        switch self {
        case .badRouteAs(let value, let source, let problem):
            return
                "route-as '\(Printable.clip(value))' from the \(source.rawValue) is not a space name: \(problem)"
        case .host(let error):
            return error.description
        case .noHost:
            return "the request has no Host header and no absolute URL, so it names no service"
        }
    }
}

extension SpaceTree {
    /// Rules 1 to 4: route-as from the header, else the host, else the caller, else
    /// `default_space`; the service from the host; then resolution up the tree.
    /// A route whose `space` is nil is served by no space on its chain (a 404).
    public func route(_ request: RouteRequest) throws(RouteError) -> Route {
        guard let host = request.host, !host.isEmpty else { throw .noHost }
        let hostRoute: HostRoute
        do {
            hostRoute = try HostRoute.parse(host, domain: settings.domain)
        } catch {
            throw .host(error)
        }
        let routeAs: String
        let source: RouteAsSource
        if let header = request.routeHeaderValue {
            routeAs = header
            source = .header
        } else if let space = hostRoute.space {
            routeAs = space
            source = .host
        } else if let caller = request.caller {
            routeAs = caller
            source = .caller
        } else {
            routeAs = settings.defaultSpace
            source = .default
        }
        if let problem = Names.problem(with: routeAs) {
            throw .badRouteAs(routeAs, source: source, problem: problem)
        }
        return Route(
            askedRouteAs: routeAs, routeAsSource: source,
            resolution: resolve(service: hostRoute.service, routeAs: routeAs))
    }
}
