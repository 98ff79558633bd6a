import Yams

extension SpacesFile {
    /// The settings a cluster's ConfigMap holds (`spaceport kube manifests`): the top-level keys
    /// of a spaces file that are not about listeners or spaces, every value spelled out so an
    /// operator sees what to change.
    public static func settingsNode(_ settings: Settings) -> Node {
        let propagation = settings.propagation
        func carriers(_ list: [Propagation.Carrier]) -> Node {
            Node(
                list.map { carrier in
                    carrier.write
                        ? Node(carrier.name)
                        : Node([
                            (Node("name"), Node(carrier.name)), (Node("write"), Node("false", Tag(.bool))),
                        ])
                })
        }
        // A default_space written down must be a space, so it is written only when one was named.
        let defaultSpace =
            settings.namesDefaultSpace ? [(Node("default_space"), Node(settings.defaultSpace))] : []
        return Node(
            [
                (Node("route_header"), Node(settings.routeHeader)),
                (Node("domain"), Node(settings.domain)),
            ] + defaultSpace + [
                (
                    Node("limits"),
                    Node(
                        limitKeys.map {
                            (Node($0.0), Node(String(settings.limits[keyPath: $0.1]), Tag(.int)))
                        })
                ),
                (
                    Node("propagation"),
                    Node([
                        (Node("write_route_header"), Node(String(propagation.writeRouteHeader), Tag(.bool))),
                        (Node("headers"), carriers(propagation.headers)),
                        (Node("baggage"), carriers(propagation.baggage)),
                        (
                            Node("trace_memory"),
                            Node([
                                (Node("seconds"), Node(String(propagation.traceMemorySeconds), Tag(.int))),
                                (Node("traces"), Node(String(propagation.traceMemoryTraces), Tag(.int))),
                            ])
                        ),
                    ])
                ),
            ])
    }
}
