import SpaceportCore
import Testing

@testable import SpaceportDashboard

@Suite("The hop filter")
struct FilterTests {
    private func ids(_ filter: String) throws -> [String] {
        let parsed = try HopFilter.parse(filter)
        var model = DashboardModel()
        for hop in Fixtures.sampleHops { model.ingest(.hop(hop), from: "main", at: 1) }
        return model.hops.newestFirst().filter(parsed.matches).map(\.hop.id).reversed()
    }

    @Test("service, space, status class, status, method, path and bare text each narrow the list")
    func terms() throws {
        #expect(try ids("service:serviceb") == ["h2"])
        #expect(try ids("svc:SERVICEA") == ["h1", "h4"])
        #expect(try ids("space:default") == ["h2"])
        #expect(try ids("space:bob") == ["h4"])
        #expect(try ids("5xx") == ["h4"])
        #expect(try ids("status:4xx") == ["h3"])
        #expect(try ids("status:200") == ["h1", "h2"])
        #expect(try ids("method:post") == ["h4"])
        #expect(try ids("POST") == ["h4"])
        #expect(try ids("path:/miss") == ["h3"])
        #expect(try ids("orders") == ["h4"])
        #expect(try ids("") == ["h1", "h2", "h3", "h4"])
    }

    @Test("lost, restored, kept and bridged narrow the list to hops whose route context fared so")
    func propagation() throws {
        func ids(_ filter: String) throws -> [String] {
            let parsed = try HopFilter.parse(filter)
            var model = DashboardModel()
            for hop in RouteContextTests.hops { model.ingest(.hop(hop), from: "main", at: 1) }
            return model.hops.newestFirst().filter(parsed.matches).map(\.hop.id).reversed()
        }
        #expect(try ids("lost") == ["l2"])
        #expect(try ids("restored") == ["r2"])
        #expect(try ids("bridged") == ["k1"])
        #expect(try ids("kept").isEmpty)
        #expect(try ids("Lost service:serviceb") == ["l2"])
        #expect(try ids("!lost !restored") == ["l1", "r1", "k1"])
        #expect(try ids("path:kept") == ["k1"], "a path still matches with path:")
    }

    @Test("proto: narrows to a protocol, and grpc: to gRPC calls that ended with a status, by name or number")
    func grpcCalls() throws {
        func hop(_ id: String, _ transport: HopProtocol, grpc: Int?) -> HopEvent {
            HopEvent(
                id: id, flow: id, phase: .end, time: "2026-12-07T02:00:00.000Z", proxy: "p",
                listener: "ingress",
                service: "greeter", tried: ["default"], space: "default", protocol: transport, method: "POST",
                host: "greeter.localhost", path: "/helloworld.Greeter/SayHello", status: 200, grpcStatus: grpc
            )
        }
        var model = DashboardModel()
        for event in [hop("g1", .grpc, grpc: 0), hop("g2", .grpc, grpc: 14), hop("h1", .h2, grpc: nil)] {
            model.ingest(.hop(event), from: "main", at: 1)
        }
        func ids(_ filter: String) throws -> [String] {
            let parsed = try HopFilter.parse(filter)
            return model.hops.newestFirst().filter(parsed.matches).map(\.hop.id).reversed()
        }
        #expect(try ids("proto:grpc") == ["g1", "g2"])
        #expect(try ids("proto:h2") == ["h1"])
        #expect(try ids("grpc:UNAVAILABLE") == ["g2"])
        #expect(try ids("grpc:unavailable") == ["g2"])
        #expect(try ids("grpc:0") == ["g1"])
        #expect(try ids("proto:grpc !grpc:OK") == ["g2"])
        let screen = Fixtures.screen(
            Fixtures.dashboard(hops: [hop("g1", .grpc, grpc: 0), hop("g2", .grpc, grpc: 14)])
        ).text
        let rows = screen.split(separator: "\n").filter { $0.contains("greeter → default") }
        #expect(rows.count == 2, "the hop list shows both calls:\n\(screen)")
        #expect(rows.allSatisfy { $0.contains("gRPC") }, "a gRPC call shows as gRPC, not POST:\n\(screen)")
        #expect(rows.contains { $0.contains("UNAVAILABLE") }, "its status by name:\n\(screen)")
        #expect(rows.contains { $0.contains(" OK ") }, "\(screen)")
        #expect(throws: HopFilterError.self) { try HopFilter.parse("grpc:BROKEN") }
        #expect(throws: HopFilterError.self) { try HopFilter.parse("proto:spdy") }
    }

    @Test("terms are all required, and ! negates one")
    func combining() throws {
        #expect(try ids("!2xx") == ["h3", "h4"])
        #expect(try ids("service:servicea 2xx") == ["h1"])
        #expect(try ids("!service:servicea !5xx") == ["h2", "h3"])
    }

    @Test(
        "a filter that cannot be read says which term and why",
        arguments: [
            ("7xx", "7xx"), ("status:abc", "not a status"), ("color:red", "unknown key 'color'"),
            ("service:", "needs a value"), ("GET !", "'!' must come right before a term"),
        ])
    func invalid(text: String, reason: String) {
        #expect(throws: HopFilterError.self) { try HopFilter.parse(text) }
        do {
            _ = try HopFilter.parse(text)
        } catch {
            #expect(error.description.contains(reason), "\(error.description)")
        }
    }

    @Test("typing an invalid filter shows it invalid and keeps the last valid one")
    func invalidWhileTyping() {
        var dashboard = Fixtures.dashboard(hops: Fixtures.sampleHops)
        _ = dashboard.press(.character("/"))
        dashboard.type("5xx")
        #expect(dashboard.view.filter.text == "5xx")
        dashboard.type(" status:9")
        #expect(dashboard.view.filter.text == "5xx status")
        _ = dashboard.press(.enter)
        guard case .prompt(let prompt) = dashboard.view.modal else {
            Issue.record("Enter on an invalid filter closed the prompt")
            return
        }
        #expect(prompt.problem?.hasPrefix("invalid filter") == true)
        let screen = Fixtures.screen(dashboard)
        #expect(screen.text.contains("invalid filter: '9' is not a status"))
        #expect(screen.role(of: "invalid filter") == .invalid)
        _ = dashboard.press(.backspace, .character("4"), .character("0"), .character("4"), .enter)
        #expect(dashboard.view.modal == nil)
        #expect(dashboard.view.filter.text == "5xx status:404")
    }

    @Test("Esc leaves the filter as it was before the prompt opened")
    func cancelRestores() {
        var dashboard = Fixtures.dashboard(hops: Fixtures.sampleHops)
        _ = dashboard.press(.character("/"))
        dashboard.type("4xx")
        _ = dashboard.press(.enter, .character("/"))
        dashboard.type(" POST")
        #expect(dashboard.view.filter.text == "4xx POST")
        _ = dashboard.press(.escape)
        #expect(dashboard.view.filter.text == "4xx")
        #expect(dashboard.hopWindow.sequences.compactMap { dashboard.model.hops[$0]?.hop.id } == ["h3"])
    }
}
