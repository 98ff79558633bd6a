import SpaceportCore

/// A tree's route carriers as the proxy uses them on every request: the headers it reads (the
/// route header first) and writes, the baggage keys, and trace memory's settings. Worked out
/// once per tree, so a request compares bytes with names and looks nothing up.
final class CarrierPlan: Sendable {
    let carriers: RouteCarriers
    let propagation: Propagation
    /// Each carrier header: its name, and whether the proxy adds it to a request that lacks it.
    let headers: [(name: String, write: Bool)]
    /// The baggage keys the proxy writes route-as into.
    let writtenBaggageKeys: [String]
    /// Some baggage key is read or written: else a request's baggage goes on unread.
    let usesBaggage: Bool
    /// The route header's name in lowercase, kept apart since every request looks for it.
    let routeHeader: String

    init(_ settings: Settings) {
        propagation = settings.propagation
        carriers = propagation.carriers(routeHeader: settings.routeHeader)
        let written = Set(propagation.writtenHeaders(routeHeader: settings.routeHeader))
        headers = carriers.headers.map { ($0, written.contains($0)) }
        writtenBaggageKeys = propagation.writtenBaggageKeys
        usesBaggage = !carriers.baggageKeys.isEmpty || !writtenBaggageKeys.isEmpty
        routeHeader = carriers.routeHeader
    }

    /// `name` is one of the carrier headers: Connection cannot make it hop-by-hop.
    func isCarrierHeader(_ name: Slice<UnsafeRawBufferPointer>) -> Bool {
        headers.contains { $0.name.utf8.count == name.count && Bytes.sameName(name, $0.name.utf8) }
    }
}
