import SpaceportCore

/// What the forwarded request carries of its route besides the client's own fields (routing
/// rule 5, and the bridge of docs/routing.md): each carrier header the proxy writes and the
/// request lacked, set to route-as (a header the client sent is never overwritten), and its
/// baggage with each written key carrying route-as, every other member left byte for byte.
struct CarrierBridge {
    /// The value the carriers get: route-as as the request asked for it.
    let routeAs: String
    /// Which carrier headers came with the request (bit i: the plan's header i).
    let present: UInt64
    /// The carrier headers, and which of them the proxy writes.
    let headers: [(name: String, write: Bool)]
    /// The one `baggage` field the forwarded request carries in place of the client's; nil
    /// sends the client's fields as they came (or none, when it sent none and no key is written).
    let baggage: String?
    /// What the client's one `baggage` field gains at its end, after a comma, when that is all
    /// the bridge changes (`Baggage.appendsAll`): the written keys as a baggage of their own,
    /// shared by every request of the route, so that no field is made per request.
    let baggageSuffix: String?
    /// Why some written key could not carry route-as: the baggage would pass the spec's limits.
    let baggageProblem: String?
    /// The forwarded request carries a carrier the client's did not.
    let addsCarriers: Bool

    /// - Parameters:
    ///   - present: which carrier headers came (`RoutingFields.present`).
    ///   - incoming: the request's baggage as the plan reads it (`Baggage()` when unread).
    init(present: UInt64, baggage incoming: Baggage, known: KnownRoute, plan: CarrierPlan) {
        routeAs = known.route.askedRouteAs
        self.present = present
        headers = plan.headers
        let keys = plan.writtenBaggageKeys
        var adds = plan.headers.indices.contains { plan.headers[$0].write && present & (1 << $0) == 0 }
        if incoming.came, let added = known.addedBaggage,
            incoming.appendsAll(keys, appendedBytes: added.utf8.count)
        {
            baggage = nil
            baggageSuffix = added
            baggageProblem = nil
            adds = true
        } else if incoming.came, !keys.isEmpty {
            baggageSuffix = nil
            let bridge = incoming.bridging(keys, to: routeAs)
            baggage = bridge.field
            baggageProblem =
                bridge.overLimit.isEmpty ? nil : bridge.overLimit.map(\.description).joined(separator: "; ")
            adds = adds || bridge.addedKeys > 0
        } else {
            baggage = known.addedBaggage
            baggageSuffix = nil
            baggageProblem = nil
            adds = adds || known.addedBaggage != nil
        }
        addsCarriers = adds
    }

    /// The carrier headers the proxy adds: those it writes that the request did not bring.
    func forEachAddedHeader(_ body: (String) -> Void) {
        for index in headers.indices where headers[index].write && present & (1 << index) == 0 {
            body(headers[index].name)
        }
    }
}

/// What a hop records of its route context: its trace, the carriers that disagreed, what the
/// bridge could not carry, and the mark (docs/routing.md, "Carrying the route").
struct HopContext {
    enum Mark {
        case kept, bridged, restored
        case lost(by: InstanceRef, expected: String)

        /// The hop's `propagation` field.
        var propagation: HopPropagation {
            switch self {
            case .kept: return .kept
            case .bridged: return .bridged
            case .restored: return .restored
            case .lost: return .lost
            }
        }
    }

    var traceID: TraceID?
    var conflicts: [HopConflict]
    var bridge: CarrierBridge
    var mark: Mark?
}
