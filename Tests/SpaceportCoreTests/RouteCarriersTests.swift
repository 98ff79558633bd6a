import Testing

@testable import SpaceportCore

@Suite("Route carriers: which header or baggage member decides route-as, and which disagreed")
struct RouteCarriersTests {
    static let carriers = RouteCarriers(
        routeHeader: "azds-route-as", otherHeaders: ["kubernetes-route-as", "x-dev-space"],
        baggageKeys: ["azds-route-as", "okteto-divert", "sd-routing-key"])

    /// A request that carries each value in its carrier: headers by name, baggage members in one field.
    static func decide(
        _ values: [(RouteCarrier, String)], carriers: RouteCarriers = carriers
    ) throws(RouteCarrierError) -> RouteCarrierDecision? {
        var headers: [String: String] = [:]
        var members: [String] = []
        for (carrier, value) in values {
            switch carrier.kind {
            case .header: headers[carrier.name] = value
            case .baggage: members.append("\(carrier.name)=\(value)")
            }
        }
        return try carriers.decide(header: { headers[$0] }, baggage: Baggage(members.joined(separator: ",")))
    }

    /// Two carriers, the first ahead of the second.
    struct Pair: CustomTestStringConvertible, Sendable {
        let higher: RouteCarrier
        let lower: RouteCarrier
        var testDescription: String { "\(higher) over \(lower)" }
    }

    static let pairs = [
        Pair(higher: .header("azds-route-as"), lower: .header("kubernetes-route-as")),
        Pair(higher: .header("azds-route-as"), lower: .baggage("azds-route-as")),
        Pair(higher: .header("kubernetes-route-as"), lower: .baggage("okteto-divert")),
        Pair(higher: .header("kubernetes-route-as"), lower: .header("x-dev-space")),
        Pair(higher: .baggage("azds-route-as"), lower: .baggage("okteto-divert")),
        Pair(higher: .baggage("okteto-divert"), lower: .baggage("sd-routing-key")),
        Pair(higher: .header("x-dev-space"), lower: .baggage("sd-routing-key")),
    ]

    @Test(
        "the precedence is the route header, the other headers as listed, then the baggage members as listed")
    func precedence() {
        #expect(
            Self.carriers.all.map(\.description) == [
                "header azds-route-as", "header kubernetes-route-as", "header x-dev-space",
                "baggage member azds-route-as", "baggage member okteto-divert",
                "baggage member sd-routing-key",
            ])
        #expect(Self.carriers.routeHeader == "azds-route-as")
    }

    @Test(
        "the default carriers are the route header, kubernetes-route-as, then azds-route-as and okteto-divert in baggage"
    )
    func defaults() {
        #expect(
            RouteCarriers().all == [
                .header("azds-route-as"), .header("kubernetes-route-as"), .baggage("azds-route-as"),
                .baggage("okteto-divert"),
            ])
        #expect(
            RouteCarriers(routeHeader: "X-Route").all.prefix(2) == [
                .header("x-route"), .header("kubernetes-route-as"),
            ],
            "a renamed route header comes first")
    }

    @Test(
        "of two carriers naming different spaces the first decides and the second is a conflict",
        arguments: pairs)
    func conflict(pair: Pair) throws {
        let decision = try #require(try Self.decide([(pair.lower, "bob"), (pair.higher, "alice")]))
        #expect(decision.carrier == pair.higher)
        #expect(decision.value == "alice")
        #expect(decision.agreeing.isEmpty)
        #expect(decision.conflicts == [RouteCarrierValue(carrier: pair.lower, value: "bob")])
        #expect(decision.conflicts.first?.description == "the \(pair.lower) said 'bob'")
    }

    @Test("of two carriers naming the same space the first decides and the second agrees", arguments: pairs)
    func agreement(pair: Pair) throws {
        let decision = try #require(try Self.decide([(pair.lower, "alice"), (pair.higher, "alice")]))
        #expect(decision.carrier == pair.higher)
        #expect(decision.agreeing == [pair.lower])
        #expect(decision.conflicts.isEmpty)
    }

    @Test("each carrier decides alone", arguments: carriers.all)
    func alone(carrier: RouteCarrier) throws {
        let decision = try #require(try Self.decide([(carrier, "alice")]))
        #expect(decision.carrier == carrier)
        #expect(decision.value == "alice")
    }

    @Test("a request with no carrier leaves route-as to the Host, trace memory, the caller and default_space")
    func none() throws {
        #expect(try Self.decide([]) == nil)
        #expect(
            try Self.carriers.decide(
                header: { $0 == "x-other" ? "alice" : nil }, baggage: Baggage("userId=alice"))
                == nil)
        #expect(
            try Self.carriers.decide(header: { _ in nil }, baggage: Baggage("okteto-divert=bad value"))
                == nil,
            "a malformed member carries nothing")
    }

    @Test("every other carrier that disagrees is listed in order, those that agree apart")
    func many() throws {
        let decision = try #require(
            try Self.decide([
                (.baggage("sd-routing-key"), "carol"), (.header("azds-route-as"), "alice"),
                (.baggage("azds-route-as"), "alice"), (.header("kubernetes-route-as"), "bob"),
                (.baggage("okteto-divert"), "Not_A_Space"),
            ]))
        #expect(decision.carrier == .header("azds-route-as"))
        #expect(decision.agreeing == [.baggage("azds-route-as")])
        #expect(
            decision.conflicts == [
                RouteCarrierValue(carrier: .header("kubernetes-route-as"), value: "bob"),
                RouteCarrierValue(carrier: .baggage("okteto-divert"), value: "Not_A_Space"),
                RouteCarrierValue(carrier: .baggage("sd-routing-key"), value: "carol"),
            ])
    }

    @Test("the listed order decides between baggage members, not their order in the baggage")
    func listedOrder() throws {
        let decision = try Self.carriers.decide(
            header: { _ in nil },
            baggage: Baggage("sd-routing-key=carol,okteto-divert=bob,azds-route-as=alice"))
        #expect(decision?.carrier == .baggage("azds-route-as"))
        let reversed = RouteCarriers(otherHeaders: [], baggageKeys: ["sd-routing-key", "okteto-divert"])
        let other = try reversed.decide(
            header: { _ in nil }, baggage: Baggage("okteto-divert=bob,sd-routing-key=carol"))
        #expect(other?.carrier == .baggage("sd-routing-key"))
    }

    @Test("a deciding value that is no space name is a 400 naming its carrier", arguments: carriers.all)
    func badValue(carrier: RouteCarrier) {
        #expect(throws: RouteCarrierError.self) { try Self.decide([(carrier, "Not_A_Space")]) }
        do {
            _ = try Self.decide([(carrier, "Not_A_Space")])
        } catch {
            #expect(error.status == 400)
            #expect(
                error.description
                    == "route-as 'Not_A_Space' from the \(carrier) is not a space name: 'Not_A_Space' may hold only lowercase letters, digits and '-' (a DNS label)"
            )
        }
    }

    @Test("an empty route header is refused as before, not passed over")
    func emptyHeader() {
        #expect(
            throws: RouteCarrierError.notASpace(
                "", carrier: .header("azds-route-as"), problem: "a name cannot be empty")
        ) { try Self.decide([(.header("azds-route-as"), ""), (.baggage("azds-route-as"), "alice")]) }
    }

    @Test("header names are matched in lowercase and a name listed twice counts once")
    func names() throws {
        let carriers = RouteCarriers(
            routeHeader: "AZDS-Route-As", otherHeaders: ["Kubernetes-Route-As", "azds-route-as"],
            baggageKeys: ["okteto-divert", "okteto-divert"])
        #expect(carriers.headers == ["azds-route-as", "kubernetes-route-as"])
        #expect(carriers.baggageKeys == ["okteto-divert"])
        var asked: [String] = []
        _ = try carriers.decide(
            header: {
                asked.append($0)
                return nil
            }, baggage: Baggage())
        #expect(asked == ["azds-route-as", "kubernetes-route-as"])
    }
}
