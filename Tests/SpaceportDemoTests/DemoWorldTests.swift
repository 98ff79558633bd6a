import Foundation
import NIOCore
import NIOPosix
import SpaceportCore
import SpaceportProxy
import SpaceportTestSupport
import Testing

@testable import SpaceportDemo

@Suite("The demo's built-in world")
struct DemoWorldTests {
    @Test("the demo tree has three levels and every kind of fallback")
    func treeShowsEveryLevel() async throws {
        let world = try await DemoWorld.start(group: MultiThreadedEventLoopGroup.singleton)
        defer { Task { await world.stop() } }
        let tree = world.tree
        #expect(tree.depth(of: "hotfix") == 2)
        #expect(tree.ownership(of: "servicea", in: "azureuser").servedBy(in: "azureuser") == "azureuser")
        #expect(tree.ownership(of: "serviceb", in: "azureuser").servedBy(in: "azureuser") == "default")
        #expect(tree.ownership(of: "servicea", in: "hotfix").servedBy(in: "hotfix") == "azureuser")
        #expect(tree.ownership(of: "servicec", in: "hotfix").servedBy(in: "hotfix") == "default")
        #expect(tree.spaces.flatMap(\.services).allSatisfy { $0.upstream.isLoopback })
        // Every HTTP service calls the next through its egress; the greeter calls nothing.
        #expect(
            tree.spaces.flatMap(\.services).allSatisfy { ($0.egress == nil) == ($0.service == "greeter") })
        #expect(tree.ownership(of: "greeter", in: "hotfix").servedBy(in: "hotfix") == "azureuser")
    }

    @Test("a demo service says which instance answered and which space the request routes as")
    func serviceAnswersWithItsIdentity() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let service = DemoService(
            service: "servicec", space: "default", calls: nil, routeHeader: "azds-route-as", group: group)
        let address = try await service.start(preferredPort: 0)
        defer { Task { await service.stop() } }
        let response = try await DemoHTTPClient.get(
            address, host: "servicec", headers: [("azds-route-as", "azureuser")], group: group
        ).get()
        #expect(response.status == 200)
        #expect(response.body == "servicec@default answered (route-as: azureuser)\n")
    }

    @Test(
        "through the proxy, servicea@azureuser's call for a request routed as hotfix is lost while it passes on nothing, restored with traceparent alone, and kept in hotfix with everything"
    )
    func forgetfulService() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let world = try await DemoWorld.start(group: group)
        defer { Task { await world.stop() } }
        #expect(world.forgetfulService.label == "servicea@azureuser")
        #expect(world.forgetfulService.forwarding == .nothing, "the demo starts with the service forgetting")
        #expect(
            world.services.filter { $0 !== world.forgetfulService }.allSatisfy {
                $0.forwarding == .everything
            })
        // Each egress on a port of its own choosing: another demo may hold the documented ones.
        var spaces = world.tree.spaces
        for space in spaces.indices {
            for instance in spaces[space].services.indices {
                spaces[space].services[instance].egress = Address(host: "127.0.0.1", port: 0)
            }
        }
        let hops = HopCollector()
        let proxy = RoutingProxy(
            store: SpacesStore(tree: try SpaceTree(settings: world.tree.settings, spaces: spaces)),
            ingress: Address(host: "127.0.0.1", port: 0), sink: hops, group: group)
        let listeners = try await proxy.start()
        defer { Task { await proxy.shutdown() } }
        for service in world.services {
            service.callThrough(
                try #require(listeners.egress(space: service.space, service: service.service)))
        }
        /// A request routed as hotfix, a trace of its own, and servicea@azureuser's call to serviceb.
        func request() async throws -> (answer: String, call: HopEvent) {
            let traceparent = DemoTrace.start()
            let trace = try #require(TraceParent(traceparent)).traceID.description
            let response = try await DemoHTTPClient.get(
                listeners.ingress, host: "hotfix.s.default.servicea.localhost",
                headers: [("traceparent", traceparent)], group: group
            ).get()
            let call = try await hops.end { $0.listener == "egress:azureuser/servicea" && $0.flow == trace }
            return (response.body, call)
        }

        let lost = try await request()
        #expect(lost.answer.contains("\n  serviceb@default answered"), "\(lost.answer)")
        #expect(lost.call.propagation == .lost)
        #expect(lost.call.lostBy == HopCaller(space: "azureuser", service: "servicea"))
        #expect(lost.call.expected == "hotfix")
        #expect(lost.call.traceId == nil, "nothing passed on, not even the trace")

        #expect(world.cycleForwarding() == .traceparent)
        let restored = try await request()
        #expect(restored.answer.contains("\n  serviceb@hotfix answered"), "\(restored.answer)")
        #expect(restored.call.propagation == .restored)
        #expect(restored.call.routeAsSource == .trace)

        #expect(world.cycleForwarding() == .everything)
        let kept = try await request()
        #expect(kept.answer.contains("\n  serviceb@hotfix answered (route-as: hotfix)"), "\(kept.answer)")
        #expect(kept.call.routeAsSource == .header)
        #expect(
            kept.call.propagation == .bridged,
            "the proxy adds kubernetes-route-as, which the app did not pass on")

        #expect(world.cycleForwarding() == .nothing, "the key's cycle comes back round")
    }

    @Test("the world says which of its documented ports were taken, and the ports it used instead")
    func movedPorts() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        // Holds 5002 for the test, unless something else already does: either way the demo cannot have it.
        let holder = DemoService(service: "x", space: "x", calls: nil, routeHeader: "x", group: group)
        _ = try await holder.start(preferredPort: 5002)
        defer { Task { await holder.stop() } }
        let world = try await DemoWorld.start(group: group)
        defer { Task { await world.stop() } }
        let serviceb = try #require(world.tree.space("default")?.instance("serviceb"))
        #expect(serviceb.upstream.port != 5002)
        let moved = world.movedPorts
        #expect(moved.contains { $0.preferred == 5002 && $0.actual == serviceb.upstream.port })
        let used = world.tree.spaces.flatMap(\.services).flatMap {
            [$0.upstream.port] + ($0.egress.map { [$0.port] } ?? [])
        }
        for (preferred, actual) in moved {
            #expect(preferred != actual)
            #expect(used.contains(actual))
        }
        #expect(moved.map(\.preferred) == moved.map(\.preferred).sorted())
    }

    @Test("a port that is taken makes the demo fall back to a free one")
    func takenPortFallsBack() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let first = DemoService(
            service: "servicea", space: "default", calls: nil, routeHeader: "x", group: group)
        let taken = try await first.start(preferredPort: 0)
        defer { Task { await first.stop() } }
        let second = DemoService(
            service: "servicea", space: "other", calls: nil, routeHeader: "x", group: group)
        let address = try await second.start(preferredPort: taken.port)
        defer { Task { await second.stop() } }
        #expect(address.port != taken.port)
        #expect(PortProbe.free(preferred: taken.port) != taken.port)
    }
}

@Suite("The demo's gRPC greeter")
struct DemoGreeterTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("README.md")

    /// The README's gRPC command, as written (continuation lines joined), and the output it shows.
    static func readmeCall() throws -> (command: String, output: [String]) {
        let lines = try String(contentsOf: readme, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false
        ).map { $0.trimmingCharacters(in: .whitespaces) }
        let start = try #require(lines.firstIndex { $0.hasPrefix("$ printf") && $0.contains("world") })
        var command = String(lines[start].dropFirst(2))
        var index = start
        while command.hasSuffix("\\") {
            index += 1
            command = command.dropLast() + " " + lines[index]
        }
        let output = lines[(index + 1)...].prefix { $0 != "```" }
        return (command, Array(output))
    }

    @Test(
        "the README's curl command makes a real gRPC call through the demo's proxy and prints what the README shows"
    )
    func readmeCommand() async throws {
        _ = try RequiredTool.curl.path()
        let group = MultiThreadedEventLoopGroup.singleton
        let world = try await DemoWorld.start(group: group)
        defer { Task { await world.stop() } }
        // The ingress alone: the documented egress ports may be another test's.
        var spaces = world.tree.spaces
        for space in spaces.indices {
            for instance in spaces[space].services.indices { spaces[space].services[instance].egress = nil }
        }
        let hops = HopCollector()
        let proxy = RoutingProxy(
            store: SpacesStore(tree: try SpaceTree(settings: world.tree.settings, spaces: spaces)),
            ingress: Address(host: "127.0.0.1", port: 0), sink: hops, group: group)
        let listeners = try await proxy.start()
        defer { Task { await proxy.shutdown() } }
        let (command, shown) = try Self.readmeCall()
        #expect(command.contains(":8080/demo.Greeter/SayHello"), "the README calls the demo's ingress")
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = [
            "-c", command.replacingOccurrences(of: ":8080/", with: ":\(listeners.ingress.port)/"),
        ]
        let pipe = Pipe()
        shell.standardOutput = pipe
        try shell.run()
        let stdout = pipe.fileHandleForReading.readDataToEndOfFile()
        shell.waitUntilExit()
        let printed = String(decoding: stdout, as: UTF8.self).replacingOccurrences(of: "\r", with: "")
            .replacingOccurrences(of: "\0", with: "")
        #expect(shell.terminationStatus == 0)
        // Every line the README shows, in order, the status line's trailing space aside.
        let lines = printed.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        #expect(lines.prefix(shown.count) == shown[...], "printed:\n\(printed)")
        let hop = try await hops.end()
        #expect(hop.protocol == .grpc)
        #expect(hop.path == "/demo.Greeter/SayHello")
        #expect(hop.space == "azureuser" && hop.grpcStatus == 0)
    }

    @Test("Lookup ends NOT_FOUND, SayHellos streams three replies, and an unknown method is UNIMPLEMENTED")
    func methods() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let greeter = DemoGreeter(space: "default", routeHeader: "azds-route-as", group: group)
        let address = try await greeter.start(preferredPort: 0)
        defer { Task { await greeter.stop() } }
        func call(_ method: String) async throws -> DemoGRPCClient.Answer {
            try await DemoGRPCClient.call(
                address, authority: "greeter", method: method, name: "ada",
                headers: [("azds-route-as", "hotfix")],
                group: group
            ).get()
        }
        let hello = try await call(DemoGreeter.methods.hello)
        #expect(hello.status == 0)
        #expect(hello.replies == ["Hello ada, from greeter@default (route-as: hotfix)\n"])
        let hellos = try await call(DemoGreeter.methods.hellos)
        #expect(hellos.replies.count == 3 && hellos.status == 0)
        let lookup = try await call(DemoGreeter.methods.lookup)
        #expect(lookup.status == GRPCStatus.notFound.rawValue && lookup.replies.isEmpty)
        #expect(try await call("/demo.Greeter/Nope").status == GRPCStatus.unimplemented.rawValue)
    }
}
