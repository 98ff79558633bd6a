import SpaceportCore

/// What routing reads from a head, found in one pass over its fields: the Host, the flow's
/// request id, each carrier header's value (the route header's apart, as nearly every request
/// has only that one), the baggage and `traceparent` fields.
struct RoutingFields {
    var host: String?
    var hostCount = 0
    var routeValue: String?
    var routeCount = 0
    /// The route header came more than once with different values.
    var routeValuesDiffer = false
    /// Carrier headers after the route header: (index in the plan's headers, first value).
    var otherCarriers: [(index: Int, value: String)] = []
    /// Which carrier headers came, by index in the plan's headers (bit 0: the route header).
    var present: UInt64 = 0
    var baggage: [String] = []
    /// The `traceparent` field, and how many came: two or more make none valid (W3C Trace Context).
    var traceparent: String?
    var traceparentCount = 0
    /// The first `x-request-id`: the flow the hop belongs to when no trace names one.
    var requestID: String?

    init(_ head: ClientHead, plan: CarrierPlan) {
        let routeHeader = plan.routeHeader
        let routeHeaderLength = routeHeader.utf8.count
        head.bytes.withUnsafeReadableBytes { raw in
            for field in head.fields {
                switch field.kind {
                case .host:
                    hostCount += 1
                    if host == nil { host = String(decoding: raw[field.value], as: UTF8.self) }
                case .requestID:
                    if requestID == nil { requestID = String(decoding: raw[field.value], as: UTF8.self) }
                case .baggage:
                    baggage.append(String(decoding: raw[field.value], as: UTF8.self))
                case .traceparent:
                    traceparentCount += 1
                    if traceparent == nil { traceparent = String(decoding: raw[field.value], as: UTF8.self) }
                case .other, .named:
                    let name = raw[field.name]
                    if name.count == routeHeaderLength, Bytes.sameName(name, routeHeader.utf8) {
                        present |= 1
                        routeCount += 1
                        if let first = routeValue {
                            if !first.utf8.elementsEqual(raw[field.value]) { routeValuesDiffer = true }
                        } else {
                            routeValue = String(decoding: raw[field.value], as: UTF8.self)
                        }
                        continue
                    }
                    for index in plan.headers.indices.dropFirst() where index < 64 {
                        let carrier = plan.headers[index].name
                        guard carrier.utf8.count == name.count, Bytes.sameName(name, carrier.utf8),
                            present & (1 << index) == 0
                        else { continue }
                        present |= 1 << index
                        otherCarriers.append((index, String(decoding: raw[field.value], as: UTF8.self)))
                    }
                default:
                    continue
                }
            }
        }
    }

    /// The trace the request belongs to: the trace id of its one valid `traceparent`.
    var traceID: TraceID? {
        guard traceparentCount == 1, let traceparent else { return nil }
        return TraceParent(traceparent)?.traceID
    }

    /// The value the request carries in the carrier header `name`, the first of it.
    func value(of name: String, _ plan: CarrierPlan) -> String? {
        // Lengths first: most carriers' names differ in length, which costs a fraction of their text.
        func named(_ carrier: String) -> Bool { carrier.utf8.count == name.utf8.count && carrier == name }
        if named(plan.routeHeader) { return routeValue }
        return otherCarriers.first { named(plan.headers[$0.index].name) }?.value
    }
}
