import Testing

@testable import SpaceportCore

@Suite("Resolution walks route-as, then parent, then grandparent")
struct ResolverTests {
    typealias F = SpacesFixtures

    @Test("in the Azure Dev Spaces example azureuser serves its own servicea")
    func azureOwnService() throws {
        let tree = try F.tree(F.azure)
        let resolution = tree.resolve(service: "servicea", routeAs: "azureuser")
        #expect(resolution.space == "azureuser")
        #expect(resolution.tried == ["azureuser"])
        #expect(resolution.instance?.upstream == Address(host: "127.0.0.1", port: 6001))
        #expect(!resolution.isFallback)
    }

    @Test("in the Azure Dev Spaces example azureuser inherits serviceb from default")
    func azureInheritedService() throws {
        let tree = try F.tree(F.azure)
        let resolution = tree.resolve(service: "serviceb", routeAs: "azureuser")
        #expect(resolution.space == "default")
        #expect(resolution.tried == ["azureuser", "default"])
        #expect(resolution.instance?.upstream.port == 5002)
        #expect(resolution.isFallback)
    }

    @Test("requests routed as default never reach azureuser's servicea")
    func rootIgnoresChildren() throws {
        let tree = try F.tree(F.azure)
        #expect(tree.resolve(service: "servicea", routeAs: "default").instance?.upstream.port == 5001)
    }

    @Test("a grandchild falls through two levels to the root")
    func grandchildFallsThroughTwoLevels() throws {
        let tree = try F.tree(F.threeLevels)
        let resolution = tree.resolve(service: "servicea", routeAs: "alice")
        #expect(resolution.tried == ["alice", "azureuser", "default"])
        #expect(resolution.space == "default")
        let middle = tree.resolve(service: "serviceb", routeAs: "alice")
        #expect(middle.tried == ["alice", "azureuser"])
        #expect(middle.space == "azureuser")
    }

    @Test("an override turned off falls back to the parent's instance")
    func overrideOffFallsBack() throws {
        let tree = try F.tree(F.azure).applying(
            .override(space: "azureuser", service: "servicea", enabled: false))
        let resolution = tree.resolve(service: "servicea", routeAs: "azureuser")
        #expect(resolution.space == "default")
        #expect(resolution.tried == ["azureuser", "default"])
        #expect(tree.space("azureuser")?.instance("servicea")?.upstream.port == 6001, "the instance stays")
    }

    @Test("a disabled instance in a grandchild is skipped on the way up")
    func disabledGrandchildSkipped() throws {
        let tree = try F.tree(F.threeLevels)
        let resolution = tree.resolve(service: "servicec", routeAs: "alice")
        #expect(resolution.space == "default")
        #expect(resolution.tried == ["alice", "azureuser", "default"])
    }

    @Test("service names match whatever their case")
    func serviceCaseInsensitive() throws {
        let tree = try F.tree(F.azure)
        #expect(tree.resolve(service: "ServiceA", routeAs: "azureuser").space == "azureuser")
    }

    @Test("an unknown route-as space is routed as default_space, and the resolution says so")
    func unknownRouteAs() throws {
        let tree = try F.tree(F.azure)
        let resolution = tree.resolve(service: "servicea", routeAs: "nobody")
        #expect(resolution.routeAs == "default")
        #expect(resolution.unknownRouteAs == "nobody")
        #expect(resolution.tried == ["default"])
        #expect(resolution.space == "default")
    }

    @Test("default_space can name another space")
    func customDefaultSpace() throws {
        let tree = try F.tree("default_space: azureuser\n" + F.azure)
        let resolution = tree.resolve(service: "servicea", routeAs: "nobody")
        #expect(resolution.routeAs == "azureuser")
        #expect(resolution.space == "azureuser")
    }

    @Test("a service no space on the chain has is served by nobody, and the chain tried is whole")
    func missingService() throws {
        let tree = try F.tree(F.threeLevels)
        let resolution = tree.resolve(service: "servicez", routeAs: "alice")
        #expect(resolution.space == nil)
        #expect(resolution.instance == nil)
        #expect(resolution.tried == ["alice", "azureuser", "default"])
    }

    @Test("a space is owned, inherited from the nearest ancestor, or missing")
    func ownershipStates() throws {
        let tree = try F.tree(F.threeLevels)
        #expect(
            tree.ownership(of: "serviceb", in: "azureuser") == .owned(tree.space("azureuser")!.services[0]))
        #expect(tree.ownership(of: "serviceb", in: "alice").servedBy(in: "alice") == "azureuser")
        #expect(tree.ownership(of: "servicea", in: "alice").servedBy(in: "alice") == "default")
        #expect(tree.ownership(of: "servicez", in: "alice") == .missing)
        #expect(tree.ownership(of: "servicea", in: "nobody") == .missing)
    }

    @Test("a space's service list covers its root's whole family, with its own override state")
    func serviceStates() throws {
        let tree = try F.tree(F.threeLevels)
        let states = tree.serviceStates(of: "alice")
        #expect(states.map(\.service) == ["servicea", "serviceb", "servicec"])
        #expect(states[2].own?.enabled == false)
        #expect(states[2].ownership.servedBy(in: "alice") == "default")
        #expect(states[0].own == nil)
        #expect(tree.serviceStates(of: "other").map(\.service) == ["servicez"])
    }

    @Test("the tree lists roots first with their descendants depth first")
    func orderedTree() throws {
        let tree = try F.tree(F.threeLevels)
        #expect(tree.ordered.map(\.name) == ["default", "azureuser", "alice", "other"])
        #expect(tree.depth(of: "alice") == 2)
        #expect(tree.roots.map(\.name) == ["default", "other"])
        #expect(tree.chain(from: "alice") == ["alice", "azureuser", "default"])
    }
}
