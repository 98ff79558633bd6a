import NIOHTTP1
import SpaceportCore

/// What routing makes of a request's route context (docs/routing.md, "Carrying the route"): the
/// carriers it came with and the one that decided, the route, and what the forwarded request
/// carries besides. The one path every request takes, in the proxy (`RouteHandler`) and in
/// `spaceport route` (`RouteExplanation`); they differ only in the trace memory and tree they ask.
struct RouteContext {
    let carried: Carried
    let known: KnownRoute
    let bridge: CarrierBridge

    /// - Parameters:
    ///   - host: the Host the request is routed by (at a `listen` address, the instance's service).
    ///   - caller: the space of the instance the request came from (egress, listen), when known.
    ///   - trace: the trace the request belongs to (`RoutingFields.traceID`).
    ///   - remembered: the space trace memory knows a trace was routed as.
    ///   - route: the router, on the tree in effect.
    /// - Throws: the proxy's answer instead: 400 for a malformed carrier, else the router's.
    init(
        fields: RoutingFields, host: String?, caller: String?, trace: TraceID?, plan: CarrierPlan,
        remembered: (TraceID) -> String?, route: (RouteRequest) throws(RouteError) -> KnownRoute
    ) throws(ErrorAnswer) {
        if fields.hostCount > 1 {
            throw ErrorAnswer(.badRequest, "the request has \(fields.hostCount) Host headers; send one")
        }
        if fields.routeValuesDiffer {
            throw ErrorAnswer(
                .badRequest,
                "the request carries \(plan.routeHeader) \(fields.routeCount) times; send one value")
        }
        // Read once, for the carriers and the bridge; the context keeps only what routing made of it.
        let baggage =
            fields.baggage.isEmpty || !plan.usesBaggage ? Baggage() : Baggage(fields: fields.baggage)
        do {
            carried = try Carried(fields, baggage: baggage, plan)
        } catch {
            throw ErrorAnswer(.badRequest, error.description)
        }
        // Trace memory is asked only when no carrier came: a carrier always decides first.
        let traceRouteAs = carried.route == nil ? trace.flatMap(remembered) : nil
        do {
            known = try route(
                RouteRequest(host: host, carried: carried.route, traceRouteAs: traceRouteAs, caller: caller))
        } catch {
            throw ErrorAnswer(HTTPResponseStatus(statusCode: error.status), error.description)
        }
        bridge = CarrierBridge(present: fields.present, baggage: baggage, known: known, plan: plan)
    }

    /// What became of the request's route context: restored by trace memory; kept or bridged when
    /// a carrier came; lost when none came through `caller`'s egress while the requests it was
    /// serving were all routed as another space (`expected`); else unknown.
    func mark(from caller: InstanceRef?, expected: (InstanceRef) -> String?) -> HopContext.Mark? {
        let route = known.route
        if route.routeAsSource == .trace { return .restored }
        if carried.arrived { return bridge.addsCarriers ? .bridged : .kept }
        guard let caller, route.routeAsSource != .host, let expected = expected(caller),
            expected != route.routeAs
        else { return nil }
        return .lost(by: caller, expected: expected)
    }
}

/// The carriers a request came with: the route-as they decided and the ones that disagreed.
struct Carried {
    var route: CarriedRouteAs?
    var conflicts: [HopConflict] = []
    /// The baggage members skipped as malformed.
    var skippedBaggage: [Baggage.Skipped] = []
    /// Some carrier came with the request, whichever decided.
    var arrived: Bool

    /// Nearly every request carries the route header alone, or nothing: those take no list.
    /// - Parameter baggage: the request's baggage as the plan reads it (`Baggage()` when unread).
    init(_ fields: RoutingFields, baggage: Baggage, _ plan: CarrierPlan) throws(RouteCarrierError) {
        guard !fields.otherCarriers.isEmpty || baggage.came else {
            route = fields.routeValue.map { CarriedRouteAs($0, carrier: .header(plan.routeHeader)) }
            arrived = route != nil
            return
        }
        let decision = try plan.carriers.decide(
            // A request with baggage alone, the usual case here, has no header to look for.
            header: { fields.present == 0 ? nil : fields.value(of: $0, plan) }, baggage: baggage)
        skippedBaggage = baggage.skipped
        route = decision.map { CarriedRouteAs($0.value, carrier: $0.carrier) }
        conflicts =
            decision?.conflicts.map {
                HopConflict(carrier: $0.carrier.description, value: Printable.clip($0.value))
            } ?? []
        arrived = decision != nil
    }
}
