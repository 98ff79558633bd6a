import SpaceportCore

/// One line of the services pane: how the selected space gets one service.
public struct ServiceRow: Equatable, Sendable {
    public var service: String
    public var ownership: Ownership
    /// The space's own instance, on or off; nil when it has none.
    public var own: Instance?
    /// The upstream that serves the space: its own, or the ancestor's it inherits.
    public var upstream: Address?
    /// What the proxy speaks to that upstream: `auto`, the client's, unless its instance forces one.
    public var upstreamProtocol: UpstreamProtocol = .auto
    public var health: Health
    public var rate: Double
    /// Route contexts the instance that serves dropped lately (`DashboardModel.dropped`).
    public var dropped: Int

    /// Whether the space's own instance is switched off, so it inherits despite having one.
    public var isOverriddenOff: Bool { own.map { !$0.enabled } ?? false }

    public static func rows(for ref: SpaceRef?, in model: DashboardModel, at now: Double) -> [ServiceRow] {
        guard let ref, let tree = model.source(ref.source)?.tree, tree.contains(ref.space) else { return [] }
        return tree.serviceStates(of: ref.space).map { state in
            let upstream = state.ownership.instance?.upstream
            return ServiceRow(
                service: state.service, ownership: state.ownership, own: state.own, upstream: upstream,
                upstreamProtocol: state.ownership.instance?.upstreamProtocol ?? .auto,
                health: upstream.flatMap { model.health[$0.description] } ?? .unknown,
                rate: model.serviceRate(
                    source: ref.source, space: ref.space, service: state.service, at: now),
                dropped: state.ownership.servedBy(in: ref.space).map {
                    model.dropped(source: ref.source, space: $0, service: state.service, at: now)
                } ?? 0)
        }
    }
}
