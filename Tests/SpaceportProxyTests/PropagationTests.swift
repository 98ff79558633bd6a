import Foundation
import NIOCore
import SpaceportCore
import Testing

@testable import SpaceportProxy

/// A chain of three services, a → b → c, each calling the next through its egress listener
/// as an app with `HTTP_PROXY` does, routed as the grandchild `hotfix`: what the services
/// pass on decides whether the chain stays in hotfix, and each hop says what became of its
/// route context.
@Suite("The route carried through a chain of calls")
struct PropagationTests {
    /// default runs a, b and c; alice, its child, runs b; hotfix, alice's child, runs c.
    static let tree = """
        spaces:
          default:
            services:
              a: { upstream: A, egress: "127.0.0.1:0" }
              b: { upstream: B, egress: "127.0.0.1:0" }
              c: { upstream: C, egress: "127.0.0.1:0" }
          alice:
            parent: default
            services:
              b: { upstream: B2, egress: "127.0.0.1:0" }
          hotfix:
            parent: alice
            services:
              c: { upstream: C2, egress: "127.0.0.1:0" }
        """

    static let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    static let traceID = "4bf92f3577b34da6a3ce929d0e0e4736"

    /// The hops of one request through the chain whose services pass on `forwards`, by listener.
    static func chain(forwarding forwards: [String]) async throws -> (
        answer: String, hops: [String: HopEvent]
    ) {
        let a = try await ChainService.start("a", space: "default", next: "b", forwards: forwards)
        let b = try await ChainService.start("b", space: "default", next: "c", forwards: forwards)
        let b2 = try await ChainService.start("b", space: "alice", next: "c", forwards: forwards)
        let c = try await ChainService.start("c", space: "default", next: nil, forwards: forwards)
        let c2 = try await ChainService.start("c", space: "hotfix", next: nil, forwards: forwards)
        let services = [a, b, b2, c, c2]
        defer { Task { for service in services { await service.stop() } } }
        var yaml = tree
        for (marker, service) in [("B2", b2), ("C2", c2), ("A", a), ("B", b), ("C", c)] {
            yaml = yaml.replacingOccurrences(
                of: "upstream: \(marker),", with: "upstream: \(service.address),")
        }
        var result: (String, [String: HopEvent]) = ("", [:])
        try await RunningProxy.with(yaml) { proxy in
            for service in services {
                let egress = try #require(
                    proxy.listeners.egress[InstanceRef(space: service.space, service: service.name)])
                service.callThrough(egress)
            }
            let ingress = proxy.listeners.ingress
            let answer = try await blocking {
                let client = try RawClient(ingress, timeoutSeconds: 20)
                try client.send(
                    "GET / HTTP/1.1\r\nHost: hotfix.s.default.a.localhost\r\ntraceparent: \(Self.trace)\r\n"
                        + "Connection: close\r\n\r\n")
                return try client.readResponse().text
            }
            // a's call, then the one it led to, each a hop of its own; the ingress hop ends last.
            _ = try await proxy.hops.end { $0.listener == "ingress" }
            var hops: [String: HopEvent] = [:]
            for hop in proxy.hops.ended { hops[hop.listener] = hop }
            result = (answer, hops)
        }
        return result
    }

    @Test("services that pass on only baggage keep the whole chain in hotfix, each hop kept or bridged")
    func baggageOnly() async throws {
        let (answer, hops) = try await Self.chain(forwarding: ["baggage"])
        #expect(answer == "a@default\nb@alice\nc@hotfix\n")
        let first = try #require(hops["egress:default/a"])
        #expect(first.routeAs == "hotfix")
        #expect(first.routeAsSource == .baggage)
        #expect(first.routeAsCarrier == "azds-route-as")
        #expect(first.propagation == .bridged, "the route header and kubernetes-route-as were added")
        let second = try #require(hops["egress:alice/b"])
        #expect(second.space == "hotfix")
        #expect(second.propagation == .bridged)
    }

    @Test("services that pass on only traceparent stay in hotfix: trace memory restores each call")
    func traceparentOnly() async throws {
        let (answer, hops) = try await Self.chain(forwarding: ["traceparent"])
        #expect(answer == "a@default\nb@alice\nc@hotfix\n")
        let ingress = try #require(hops["ingress"])
        #expect(ingress.traceId == Self.traceID)
        #expect(ingress.flow == Self.traceID, "a trace names its flow")
        for listener in ["egress:default/a", "egress:alice/b"] {
            let hop = try #require(hops[listener])
            #expect(hop.routeAs == "hotfix", "\(listener)")
            #expect(hop.routeAsSource == .trace, "\(listener)")
            #expect(hop.propagation == .restored, "\(listener)")
            #expect(hop.flow == Self.traceID, "\(listener)")
        }
    }

    @Test("services that pass on nothing lose the route at a's call, and the hop says a dropped it")
    func nothingPassedOn() async throws {
        let (answer, hops) = try await Self.chain(forwarding: [])
        // From a's call on, the chain runs in a's own space.
        #expect(answer == "a@default\nb@default\nc@default\n")
        let lost = try #require(hops["egress:default/a"])
        #expect(lost.propagation == .lost)
        #expect(lost.lostBy == HopCaller(space: "default", service: "a"))
        #expect(lost.expected == "hotfix")
        #expect(lost.routeAs == "default")
        let later = try #require(hops["egress:default/b"])
        #expect(later.propagation == nil, "b was asked as default, and asked on as default")
        #expect(later.space == "default")
    }

    @Test("carriers that disagree: the first in precedence decides and the hop names the others")
    func conflicts() async throws {
        let upstream = try await TestUpstream.start("app")
        try await RunningProxy.with(
            """
            spaces:
              default: { services: { app: \(upstream.address) } }
              alice: { parent: default }
              bob: { parent: default }
            """
        ) { proxy in
            let response = try await Curl.run([
                proxy.url("app.localhost"), "-H", "kubernetes-route-as: bob", "-H",
                "baggage: okteto-divert=alice, other=1",
            ])
            #expect(response.status == 200)
            let seen = try response.seen()
            // Each carrier on the way out says the space that decided.
            #expect(seen.header("azds-route-as") == "bob")
            #expect(seen.header("kubernetes-route-as") == "bob")
            #expect(seen.header("baggage") == "okteto-divert=bob,other=1,azds-route-as=bob")
            let hop = try await proxy.hops.end()
            #expect(hop.routeAs == "bob")
            #expect(hop.routeAsCarrier == "kubernetes-route-as")
            #expect(hop.conflicts == [HopConflict(carrier: "baggage member okteto-divert", value: "alice")])
        }
        await upstream.stop()
    }

    @Test("a carrier whose value is no space name is a 400 that names the carrier")
    func badCarrier() async throws {
        let upstream = try await TestUpstream.start("app")
        try await RunningProxy.with("spaces:\n  default: { services: { app: \(upstream.address) } }\n") {
            proxy in
            let response = try await Curl.run([
                proxy.url("app.localhost"), "-H", "baggage: okteto-divert=Not_A_Space",
            ])
            #expect(response.status == 400)
            #expect(response.text.contains("baggage member okteto-divert"))
        }
        await upstream.stop()
    }
}

@Suite("Trace memory")
struct TraceMemoryTests {
    static func trace(_ number: UInt64) -> TraceID { TraceID(high: 1, low: number) }

    @Test("a flood of distinct traces keeps at most the number the spaces file allows")
    func bounded() {
        let memory = TraceMemory()
        var settings = Propagation()
        settings.traceMemoryTraces = 1_600
        for number in 0..<Self.flood { memory.remember(Self.trace(number), as: "alice", settings) }
        #expect(memory.count <= 1_600)
        #expect(memory.space(of: Self.trace(Self.flood - 1), settings) == "alice", "the newest is kept")
        #expect(memory.space(of: Self.trace(0), settings) == nil, "the oldest is forgotten")
    }

    static let flood: UInt64 = 200_000

    @Test("a trace is forgotten once its time has passed, and remembered afresh when seen again")
    func forgottenOnTime() {
        let memory = TraceMemory()
        var settings = Propagation()
        settings.traceMemorySeconds = 60
        let start = NIODeadline.now()
        memory.remember(Self.trace(1), as: "alice", settings, now: start)
        #expect(memory.space(of: Self.trace(1), settings, now: start + .seconds(59)) == "alice")
        memory.remember(Self.trace(1), as: "alice", settings, now: start + .seconds(59))
        #expect(memory.space(of: Self.trace(1), settings, now: start + .seconds(100)) == "alice")
        #expect(memory.space(of: Self.trace(1), settings, now: start + .seconds(120)) == nil)
    }

    @Test("trace memory switched off remembers nothing")
    func off() {
        let memory = TraceMemory()
        var settings = Propagation()
        settings.traceMemoryTraces = 0
        memory.remember(Self.trace(1), as: "alice", settings)
        #expect(memory.space(of: Self.trace(1), settings) == nil)
        #expect(memory.count == 0)
    }
}
