/// How a space gets a service: its own enabled instance, an ancestor's, or none.
public enum Ownership: Equatable, Sendable {
    case owned(Instance)
    case inherited(from: String, Instance)
    case missing

    public var instance: Instance? {
        switch self {
        case .owned(let instance), .inherited(_, let instance): return instance
        case .missing: return nil
        }
    }

    /// The space whose instance serves, if any.
    public func servedBy(in space: String) -> String? {
        switch self {
        case .owned: return space
        case .inherited(let from, _): return from
        case .missing: return nil
        }
    }
}

/// One row of a space's service list: what serves it and the space's own override.
public struct ServiceState: Equatable, Sendable {
    public var service: String
    public var ownership: Ownership
    /// The space's own instance, enabled or not; nil when it never had one.
    public var own: Instance?
}

/// The outcome of walking route-as → parent → grandparent for one service.
public struct Resolution: Equatable, Sendable {
    public var service: String
    /// The space routed as, after an unknown name fell back to `default_space`.
    public var routeAs: String
    /// The name asked for when it was not a known space, so the hop can say so.
    public var unknownRouteAs: String?
    /// Spaces tried, nearest first, up to and including the one that served.
    public var tried: [String]
    public var space: String?
    public var instance: Instance?

    /// True when an ancestor served rather than the route-as space itself.
    public var isFallback: Bool { space != nil && space != routeAs }
}

extension SpaceTree {
    /// Rule 4: the first enabled instance on route-as → parent → grandparent. An unknown
    /// route-as space routes as `default_space` (routing rule 2).
    public func resolve(service: String, routeAs: String) -> Resolution {
        var effective = routeAs
        var unknown: String? = nil
        if !contains(routeAs) {
            unknown = routeAs
            effective = settings.defaultSpace
        }
        let key = Names.serviceKey(service)
        var tried: [String] = []
        for name in chain(from: effective) {
            tried.append(name)
            if let instance = instance(key, in: name), instance.enabled {
                return Resolution(
                    service: service, routeAs: effective, unknownRouteAs: unknown, tried: tried,
                    space: name, instance: instance)
            }
        }
        return Resolution(
            service: service, routeAs: effective, unknownRouteAs: unknown, tried: tried, space: nil,
            instance: nil)
    }

    public func ownership(of service: String, in spaceName: String) -> Ownership {
        let resolution = resolve(service: service, routeAs: spaceName)
        guard contains(spaceName), let served = resolution.space, let instance = resolution.instance
        else { return .missing }
        return served == spaceName ? .owned(instance) : .inherited(from: served, instance)
    }

    /// Every service known in the space's tree (its root and all that descend from it),
    /// each with what serves it for this space. Order: the root tree's file order.
    public func serviceStates(of spaceName: String) -> [ServiceState] {
        familyServices(of: spaceName).map { instance in
            let own = self.instance(instance.key, in: spaceName)
            return ServiceState(
                service: own?.service ?? instance.service,
                ownership: ownership(of: instance.key, in: spaceName),
                own: own)
        }
    }
}
