import Foundation
import SpaceportCore
import Testing

@testable import SpaceportDashboard

/// Hops of made-up flows, timed to the millisecond from `base`.
enum FlowHops {
    static let base = 1_795_000_000_000.0

    /// A hop of `flow` that `from` (an instance) called through its egress, or one from outside.
    static func hop(
        _ id: String, flow: String = "f1", phase: HopPhase = .end, from: HopCaller? = nil,
        service: String, space: String?, routeAs: String = "azureuser", tried: [String]? = nil,
        start: Double, duration: Double, status: Int? = 200, error: String? = nil,
        propagation: HopPropagation? = nil, replayOf: String? = nil, path: String = "/",
        proxy: String = "main"
    ) -> HopEvent {
        let listener = from.map { "egress:\($0.space)/\($0.service)" } ?? "ingress"
        let at = phase == .start ? start : start + duration
        return HopEvent(
            id: id, flow: flow, phase: phase,
            time: EventTime.format(Date(timeIntervalSince1970: (base + at) / 1000)),
            proxy: proxy, listener: listener, from: from, routeAs: routeAs,
            routeAsSource: from == nil ? .host : .header,
            propagation: propagation, replayOf: replayOf, service: service, tried: tried ?? [routeAs],
            space: space, upstream: "127.0.0.1:5001", method: "GET",
            host: from == nil ? "\(routeAs).s.default.\(service).localhost:8080" : service, path: path,
            status: phase == .end ? status : nil, durationMs: phase == .end ? duration : nil, bytesIn: 0,
            bytesOut: 10, error: phase == .end ? error : nil)
    }

    static let a = HopCaller(space: "azureuser", service: "servicea")
    static let b = HopCaller(space: "default", service: "serviceb")

    /// servicea@azureuser → serviceb@default (a fallback) → servicec@default, as ends.
    static func chain(flow: String = "f1", at start: Double = 0, idPrefix: String = "") -> [HopEvent] {
        [
            hop(
                "\(idPrefix)a", flow: flow, service: "servicea", space: "azureuser", start: start,
                duration: 12),
            hop(
                "\(idPrefix)b", flow: flow, from: a, service: "serviceb", space: "default",
                tried: ["azureuser", "default"], start: start + 2, duration: 8),
            hop(
                "\(idPrefix)c", flow: flow, from: b, service: "servicec", space: "default",
                tried: ["azureuser", "default"], start: start + 4, duration: 3),
        ]
    }

    static func model(_ hops: [(source: String, HopEvent)], capacity: Int = 10_000, hopsPerFlow: Int = 1_000)
        -> DashboardModel
    {
        var model = DashboardModel(hopCapacity: capacity, hopsPerFlow: hopsPerFlow)
        for (source, hop) in hops { model.ingest(.hop(hop), from: source, at: 1) }
        return model
    }

    /// Each node of `flow`'s tree as `depth service link`, in the order drawn.
    static func outline(_ model: DashboardModel, flow: String) -> [String] {
        guard let flow = model.flows.flow(flow) else { return [] }
        let shape = FlowShape(flow: flow, records: model.records(of: flow))
        return shape.tree.nodes.map { node in
            let link: String
            switch node.link {
            case .root(let caller?): link = "root, called by \(caller.service)@\(caller.space) unseen"
            case .root(nil): link = "root"
            case .caller(let certain): link = certain ? "caller" : "caller (guess)"
            case .timing: link = "timing (guess)"
            }
            return "\(node.depth) \(shape.records[node.member].hop.service ?? "?") \(link)"
        }
    }
}

@Suite("Flows assembled from hops")
struct FlowModelTests {
    @Test(
        "a request's three hops make one flow whose tree is servicea → serviceb → servicec, linked by caller")
    func chainIsOneTree() {
        let model = FlowHops.model(FlowHops.chain().map { ("main", $0) })
        #expect(model.flows.count == 1)
        #expect(
            FlowHops.outline(model, flow: "f1") == [
                "0 servicea root", "1 serviceb caller", "2 servicec caller",
            ])
    }

    @Test("ends before starts, children before parents, a start after its end: the same tree")
    func outOfOrder() {
        let chain = FlowHops.chain()
        let startA = FlowHops.hop(
            "a", phase: .start, service: "servicea", space: "azureuser", start: 0, duration: 12)
        let startB = FlowHops.hop(
            "b", phase: .start, from: FlowHops.a, service: "serviceb", space: "default",
            tried: ["azureuser", "default"], start: 2, duration: 8)
        let starts = [startA, startB]
        // servicec's end first (as a coalescing feed sends quick calls), then serviceb's start and end
        // reversed, then servicea's end and, late, its start.
        let arrivals: [HopEvent] = [chain[2], chain[1], starts[1], chain[0], starts[0]]
        let model = FlowHops.model(arrivals.map { ("main", $0) })
        #expect(model.hops.count == 3, "a hop's start and end are one hop, whichever came first")
        #expect(
            FlowHops.outline(model, flow: "f1") == [
                "0 servicea root", "1 serviceb caller", "2 servicec caller",
            ])
        let flow = try! #require(model.flows.flow("f1"))
        let shape = FlowShape(flow: flow, records: model.records(of: flow))
        #expect(shape.durationMs == 12)
        #expect(shape.hasEnded)
    }

    @Test(
        "a flow in flight grows: a call that started shows at once, still running, and the flow spans to it")
    func inFlightGrows() {
        var hops = [
            FlowHops.hop("a", phase: .start, service: "servicea", space: "azureuser", start: 0, duration: 0)
        ]
        var model = FlowHops.model(hops.map { ("main", $0) })
        #expect(FlowHops.outline(model, flow: "f1") == ["0 servicea root"])
        hops = [
            FlowHops.hop(
                "b", phase: .start, from: FlowHops.a, service: "serviceb", space: "default", start: 5,
                duration: 0)
        ]
        for hop in hops { model.ingest(.hop(hop), from: "main", at: 2) }
        #expect(FlowHops.outline(model, flow: "f1") == ["0 servicea root", "1 serviceb caller"])
        let flow = try! #require(model.flows.flow("f1"))
        let shape = FlowShape(flow: flow, records: model.records(of: flow))
        #expect(!shape.hasEnded)
        #expect(shape.durationMs == 5)
        #expect(
            shape.bar(for: 0, width: 10) == 0..<10, "a running hop's bar reaches the flow's latest moment")
        #expect(shape.bar(for: 1, width: 10) == 9..<10)
    }

    @Test(
        "hops two proxies saw of one trace are one flow, the call through the second proxy's egress under its caller"
    )
    func severalProxies() {
        let chain = FlowHops.chain(flow: "4bf92f3577b34da6a3ce929d0e0e4736")
        let model = FlowHops.model([
            ("proxy-one", chain[0]), ("proxy-two", chain[1]), ("proxy-two", chain[2]),
        ])
        #expect(model.flows.count == 1)
        #expect(
            FlowHops.outline(model, flow: "4bf92f3577b34da6a3ce929d0e0e4736") == [
                "0 servicea root", "1 serviceb caller", "2 servicec caller",
            ])
        let flow = try! #require(model.flows.flow("4bf92f3577b34da6a3ce929d0e0e4736"))
        #expect(Set(model.records(of: flow).map(\.source)) == ["proxy-one", "proxy-two"])
    }

    @Test(
        "a flow whose first hop was sampled out starts at the call, marked as called by an instance not seen")
    func rootSampledOut() {
        let chain = FlowHops.chain()
        let model = FlowHops.model([("main", chain[1]), ("main", chain[2])])
        #expect(
            FlowHops.outline(model, flow: "f1") == [
                "0 serviceb root, called by servicea@azureuser unseen", "1 servicec caller",
            ])
    }

    @Test("a request from outside that started inside another hop's span is put under it, as a guess")
    func timingGuess() {
        let hops = [
            FlowHops.hop("a", service: "servicea", space: "azureuser", start: 0, duration: 20),
            // serviceb called straight through the ingress, with the same request id: no egress says who.
            FlowHops.hop("b", service: "serviceb", space: "default", start: 5, duration: 4),
            FlowHops.hop("z", service: "servicez", space: "default", start: 40, duration: 1),
        ]
        let model = FlowHops.model(hops.map { ("main", $0) })
        #expect(
            FlowHops.outline(model, flow: "f1") == [
                "0 servicea root", "1 serviceb timing (guess)", "0 servicez root",
            ])
    }

    @Test(
        "when the calling instance served two hops of the flow, the one running at the time is the caller, a guess"
    )
    func twoCandidates() {
        let hops = [
            FlowHops.hop("a1", service: "servicea", space: "azureuser", start: 0, duration: 5),
            FlowHops.hop("a2", service: "servicea", space: "azureuser", start: 10, duration: 10),
            FlowHops.hop(
                "b", from: FlowHops.a, service: "serviceb", space: "default", start: 12, duration: 2),
            FlowHops.hop(
                "b0", from: FlowHops.a, service: "serviceb", space: "default", start: 1, duration: 2),
        ]
        let model = FlowHops.model(hops.map { ("main", $0) })
        let outline = FlowHops.outline(model, flow: "f1")
        #expect(
            outline == [
                "0 servicea root", "1 serviceb caller", "0 servicea root", "1 serviceb caller",
            ], "each call under the hop that was running when it started")
        let flow = try! #require(model.flows.flow("f1"))
        let records = model.records(of: flow)
        let tree = FlowShape(flow: flow, records: records).tree
        let parents = Dictionary(
            uniqueKeysWithValues: tree.nodes.map {
                (records[$0.member].hop.id, $0.parent.map { records[$0].hop.id })
            })
        #expect(parents["b"] == "a2")
        #expect(parents["b0"] == "a1")
    }

    @Test("two instances calling each other make no loop: the first hop of it becomes a root")
    func noCycles() {
        let hops = [
            FlowHops.hop(
                "x", from: FlowHops.b, service: "servicea", space: "azureuser", start: 0, duration: 10),
            FlowHops.hop(
                "y", from: FlowHops.a, service: "serviceb", space: "default", start: 0.5, duration: 5),
        ]
        let model = FlowHops.model(hops.map { ("main", $0) })
        #expect(
            FlowHops.outline(model, flow: "f1") == [
                "0 servicea root, called by serviceb@default unseen", "1 serviceb caller",
            ])
    }

    @Test("a flow of 10,000 calls keeps at most hopsPerFlow of them and counts the rest")
    func hugeFlow() {
        var model = DashboardModel(hopCapacity: 20_000, hopsPerFlow: 500)
        for index in 0..<10_000 {
            let hop = FlowHops.hop(
                "h\(index)", flow: "big", from: index == 0 ? nil : FlowHops.a, service: "serviceb",
                space: "default", start: Double(index), duration: 1)
            model.ingest(.hop(hop), from: "main", at: 1)
        }
        let flow = try! #require(model.flows.flow("big"))
        #expect(flow.sequences.count == 500)
        #expect(flow.omitted == 9_500)
        #expect(model.flows.keptSequences == 500, "the index holds no more than the cap")
        #expect(FlowShape(flow: flow, records: model.records(of: flow)).tree.nodes.count == 500)
    }

    @Test("a long flow's calls that left the ring make room for later ones, within the cap")
    func longFlowKeepsLatest() {
        var model = DashboardModel(hopCapacity: 100, hopsPerFlow: 50)
        for index in 0..<1_000 {
            let hop = FlowHops.hop(
                "h\(index)", flow: "long", service: "serviceb", space: "default", start: Double(index),
                duration: 1)
            model.ingest(.hop(hop), from: "main", at: 1)
        }
        let flow = try! #require(model.flows.flow("long"))
        let records = model.records(of: flow)
        #expect(records.count == 50)
        #expect(records.first.map { $0.sequence >= model.hops.oldestSequence } == true)
        #expect(records.first?.hop.id != "h0", "the first calls went with the ring")
        #expect(flow.sequences.count <= 50)
        #expect(flow.omitted > 0)
    }

    @Test("a flood of one-hop flows keeps as many flows as the ring keeps hops, the oldest let go")
    func floodOfFlows() {
        var model = DashboardModel(hopCapacity: 1_000)
        for index in 0..<50_000 {
            let hop = FlowHops.hop(
                "h\(index)", flow: "flow\(index)", service: "servicea", space: "azureuser",
                start: Double(index), duration: 1)
            model.ingest(.hop(hop), from: "main", at: 1)
        }
        #expect(model.flows.count <= 1_000)
        #expect(model.flows.keptSequences <= 1_000)
        #expect(model.flows.flow("flow49999") != nil)
        #expect(model.flows.flow("flow0") == nil)
        let listed = Array(model.flows.newestFirst(oldest: model.hops.oldestSequence).map(\.key).prefix(3))
        #expect(listed == ["flow49999", "flow49998", "flow49997"])
    }

    @Test("a hop's detail lists the hops of its flow from its own feed, in the order they started")
    func detailFlow() {
        let chain = FlowHops.chain()
        let model = FlowHops.model([("main", chain[2]), ("main", chain[0]), ("main", chain[1])])
        let record = try! #require(model.hops.record(source: "main", id: "c"))
        #expect(model.flow(of: record).map(\.hop.id) == ["a", "b", "c"])
    }
}
