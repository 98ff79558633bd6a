import NIOCore
import SpaceportCore

/// A route as a loop keeps it, with what each request on it needs written out once. A class:
/// a request holds one reference to it instead of copying the route's strings and chain.
final class KnownRoute {
    let route: Route
    /// Where the serving instance listens, and that as a hop event names it.
    let upstream: Address?
    let upstreamText: String?
    /// `<service>@<space>`, when a space serves the route.
    let label: String?
    /// The serving instance, when it has an egress listener: the requests it serves are counted
    /// while they run, so a call its app makes without a route carrier can be told lost.
    let watched: InstanceRef?
    /// Which HTTP the serving instance is spoken to (`protocol:`).
    let upstreamProtocol: UpstreamProtocol
    /// The baggage a forwarded request that came with none carries: each written key, route-as.
    let addedBaggage: String?

    init(_ route: Route, in tree: SpaceTree) {
        self.route = route
        upstream = route.upstream
        upstreamText = upstream?.description
        label = route.label
        upstreamProtocol = route.resolution.instance?.upstreamProtocol ?? .auto
        if let space = route.space, let instance = route.resolution.instance, instance.egress != nil {
            watched = InstanceRef(space: space, service: instance.service)
        } else {
            watched = nil
        }
        let keys = tree.settings.propagation.writtenBaggageKeys
        let value = Baggage.percentEncoded(route.askedRouteAs)
        addedBaggage = keys.isEmpty ? nil : keys.map { "\($0)=\(value)" }.joined(separator: ",")
    }
}
