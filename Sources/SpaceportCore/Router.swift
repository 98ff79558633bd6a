/// Where a request's route-as value came from (routing rule 1, docs/routing.md), in order of precedence.
public enum RouteAsSource: String, Codable, Sendable, CaseIterable {
    /// A header: the route header, or another the spaces file lists.
    case header
    /// A member of the W3C `baggage` header.
    case baggage
    case host
    /// The space the request's trace was routed as before (trace memory).
    case trace
    case caller
    case `default` = "default"
}

/// A route-as value a carrier brought, and which carrier: what the router takes before the Host.
public struct CarriedRouteAs: Hashable, Sendable {
    public var value: String
    public var carrier: RouteCarrier

    public init(_ value: String, carrier: RouteCarrier) {
        self.value = value
        self.carrier = carrier
    }

    var source: RouteAsSource { carrier.kind == .header ? .header : .baggage }
}

/// What the proxy knows about a request when it routes it.
public struct RouteRequest: Hashable, Sendable {
    /// The Host header, or the authority of an absolute-form request target.
    public var host: String?
    /// The route-as a carrier brought (the route header, another header, a baggage member), as
    /// `RouteCarriers.decide` chose it from the request.
    public var carried: CarriedRouteAs?
    /// The space the request's trace was routed as before, when trace memory knows it.
    public var traceRouteAs: String?
    /// The space of the instance whose egress listener the request came through.
    public var caller: String?

    public init(
        host: String?, carried: CarriedRouteAs? = nil, traceRouteAs: String? = nil, caller: String? = nil
    ) {
        self.host = host
        self.carried = carried
        self.traceRouteAs = traceRouteAs
        self.caller = caller
    }

    /// A request whose only carrier is the route header (named `Settings.routeHeader`), with this value.
    public init(
        host: String?, routeHeaderValue: String?, routeHeader: String = Settings.defaultRouteHeader,
        caller: String? = nil
    ) {
        self.init(
            host: host, carried: routeHeaderValue.map { CarriedRouteAs($0, carrier: .header(routeHeader)) },
            caller: caller)
    }
}

/// A routing decision: route-as and its source, then the walk up the tree.
public struct Route: Equatable, Sendable {
    /// The space the request asked to be routed as, from its carrier: a known space or not.
    public var askedRouteAs: String
    public var routeAsSource: RouteAsSource
    /// The header or baggage key that carried route-as, when one did.
    public var routeAsCarrier: RouteCarrier?
    public var resolution: Resolution
    /// The namespace a cluster name (`serviceb.team.svc.cluster.local`) named: a space.
    public var namespace: String?

    public init(
        askedRouteAs: String, routeAsSource: RouteAsSource, routeAsCarrier: RouteCarrier? = nil,
        resolution: Resolution, namespace: String? = nil
    ) {
        self.askedRouteAs = askedRouteAs
        self.routeAsSource = routeAsSource
        self.routeAsCarrier = routeAsCarrier
        self.resolution = resolution
        self.namespace = namespace
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
    case badRouteAs(String, source: RouteAsSource, carrier: RouteCarrier?, problem: String)
    case host(HostRouteError)
    case noHost
    /// A cluster name whose namespace is no space: a service outside the tree.
    case unknownNamespace(String, host: String, domain: String)

    /// The HTTP status the proxy answers with.
    public var status: Int {
        switch self {
        case .badRouteAs, .noHost: return 400
        case .host(.badLabel): return 400
        case .host, .unknownNamespace: return 404
        }
    }

    public var description: String {
        switch self {
        case .badRouteAs(let value, let source, let carrier, let problem):
            let from = carrier.map { "the \($0)" } ?? "the \(source.rawValue)"
            return "route-as '\(Printable.clip(value))' from \(from) is not a space name: \(problem)"
        case .host(let error):
            return error.description
        case .noHost:
            return "the request has no Host header and no absolute URL, so it names no service"
        case .unknownNamespace(let namespace, let host, let domain):
            return
                "host '\(Printable.clip(host))' is not under the domain '\(domain)', and as a cluster name its namespace '\(namespace)' is no space; call it directly (list it in NO_PROXY) or make the namespace a space"
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
        if let namespace = hostRoute.namespace, !contains(namespace) {
            throw .unknownNamespace(namespace, host: host, domain: settings.domain)
        }
        let routeAs: String
        let source: RouteAsSource
        if let carried = request.carried {
            routeAs = carried.value
            source = carried.source
        } else if let space = hostRoute.space {
            routeAs = space
            source = .host
        } else if let remembered = request.traceRouteAs {
            routeAs = remembered
            source = .trace
        } else if let caller = request.caller {
            routeAs = caller
            source = .caller
        } else {
            routeAs = settings.defaultSpace
            source = .default
        }
        if let problem = Names.problem(with: routeAs) {
            throw .badRouteAs(routeAs, source: source, carrier: request.carried?.carrier, problem: problem)
        }
        return Route(
            askedRouteAs: routeAs, routeAsSource: source, routeAsCarrier: request.carried?.carrier,
            resolution: resolve(service: hostRoute.service, routeAs: routeAs), namespace: hostRoute.namespace)
    }
}
