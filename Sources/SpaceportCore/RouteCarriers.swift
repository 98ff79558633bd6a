/// A place a request carries the space it is routed as: a header, or a member of its W3C baggage.
public struct RouteCarrier: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        case header, baggage
    }

    public let kind: Kind
    /// A header's name in lowercase, or a baggage member's key as written (keys keep their case).
    public let name: String

    public static func header(_ name: String) -> RouteCarrier {
        RouteCarrier(kind: .header, name: name.lowercased())
    }
    public static func baggage(_ key: String) -> RouteCarrier { RouteCarrier(kind: .baggage, name: key) }

    public var description: String {
        switch kind {
        case .header: return "header \(name)"
        case .baggage: return "baggage member \(name)"
        }
    }
}

/// The carriers a request's route-as is read from, and which of them decides.
///
/// The first carrier a request comes with decides, in this order:
/// 1. the route header (`route_header`);
/// 2. the other headers, in the order listed;
/// 3. the baggage members, in the order listed.
///
/// When the request comes with none of them, the router goes on to the Host, then trace memory,
/// then the calling instance, then `default_space`. A carrier that names another space than the
/// one that decided is a conflict: the first still wins, and the hop records which carrier said
/// what.
public struct RouteCarriers: Hashable, Sendable {
    /// The headers besides the route header a spaces file reads when it lists none: Bridge to
    /// Kubernetes' header.
    public static let defaultOtherHeaders = ["kubernetes-route-as"]
    /// The baggage keys a spaces file reads when it lists none: Azure Dev Spaces' and Okteto's.
    public static let defaultBaggageKeys = ["azds-route-as", "okteto-divert"]

    /// Header names in order of precedence, in lowercase; the first is the route header.
    public let headers: [String]
    /// Baggage keys in order of precedence.
    public let baggageKeys: [String]

    /// A name listed twice counts once, where it is listed first.
    public init(
        routeHeader: String = Settings.defaultRouteHeader,
        otherHeaders: [String] = RouteCarriers.defaultOtherHeaders,
        baggageKeys: [String] = RouteCarriers.defaultBaggageKeys
    ) {
        headers = Self.once(([routeHeader] + otherHeaders).map { $0.lowercased() })
        self.baggageKeys = Self.once(baggageKeys)
    }

    public var routeHeader: String { headers[0] }

    /// Every carrier, in order of precedence.
    public var all: [RouteCarrier] {
        headers.map(RouteCarrier.header) + baggageKeys.map(RouteCarrier.baggage)
    }

    /// Which carrier decides a request's route-as, or nil when it comes with none.
    /// - Parameters:
    ///   - header: the value of the request's header of that (lowercase) name, if it has one.
    ///   - baggage: the request's baggage (`Baggage()` when it has none).
    /// - Throws: when the deciding carrier's value is not a space name, naming the carrier.
    public func decide(
        header: (String) -> String?, baggage: Baggage
    ) throws(RouteCarrierError) -> RouteCarrierDecision? {
        var carried: [RouteCarrierValue] = []
        for name in headers {
            if let value = header(name) {
                carried.append(RouteCarrierValue(carrier: .header(name), value: value))
            }
        }
        for key in baggageKeys {
            if let value = baggage.value(forKey: key) {
                carried.append(RouteCarrierValue(carrier: .baggage(key), value: value))
            }
        }
        guard let first = carried.first else { return nil }
        if let problem = Names.problem(with: first.value) {
            throw .notASpace(first.value, carrier: first.carrier, problem: problem)
        }
        let others = carried.dropFirst()
        return RouteCarrierDecision(
            carrier: first.carrier, value: first.value,
            agreeing: others.filter { $0.value == first.value }.map(\.carrier),
            conflicts: others.filter { $0.value != first.value })
    }

    private static func once(_ names: [String]) -> [String] {
        var seen: Set<String> = []
        return names.filter { seen.insert($0).inserted }
    }
}

/// What a carrier said: the space a request named in it, as it came.
public struct RouteCarrierValue: Hashable, Sendable, CustomStringConvertible {
    public let carrier: RouteCarrier
    public let value: String

    public var description: String { "the \(carrier) said '\(Printable.clip(value))'" }
}

/// The carrier that decided a request's route-as, and what the others said.
public struct RouteCarrierDecision: Hashable, Sendable {
    public let carrier: RouteCarrier
    /// The space the request is routed as: a valid space name.
    public let value: String
    /// The other carriers that named the same space, in order of precedence.
    public let agreeing: [RouteCarrier]
    /// The carriers that named another space (or something that is no space name), in order of
    /// precedence; the decision stands, and the hop records them.
    public let conflicts: [RouteCarrierValue]
}

public enum RouteCarrierError: Error, Hashable, Sendable, CustomStringConvertible {
    case notASpace(String, carrier: RouteCarrier, problem: String)

    /// The HTTP status the proxy answers with.
    public var status: Int { 400 }

    public var description: String {
        switch self {
        case .notASpace(let value, let carrier, let problem):
            return "route-as '\(Printable.clip(value))' from the \(carrier) is not a space name: \(problem)"
        }
    }
}
