import NIOCore
import NIOPosix
import SpaceportCore
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
        #expect(tree.spaces.flatMap(\.services).allSatisfy { $0.upstream.isLoopback && $0.egress != nil })
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
