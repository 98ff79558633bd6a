import Testing

@testable import SpaceportCore

@Suite("Why nothing serves a route, and the names a typo was near")
struct UnservedTests {
    typealias F = SpacesFixtures

    @Test("a name a letter away, one dropped, or two swapped is near; a different word is not")
    func nearestNames() {
        let names = ["servicea", "serviceb", "tail", "tree", "route"]
        #expect(NearestNames.nearest(to: "servicaa", among: names) == ["servicea"])
        #expect(NearestNames.nearest(to: "servicx", among: names) == ["servicea", "serviceb"])
        #expect(NearestNames.nearest(to: "tial", among: names) == ["tail"])
        #expect(NearestNames.nearest(to: "rout", among: names) == ["route"])
        #expect(
            NearestNames.nearest(to: "ServiceA", among: names).isEmpty,
            "the same name in other case is no typo")
        #expect(NearestNames.nearest(to: "not-a-url", among: names).isEmpty)
        #expect(NearestNames.nearest(to: "x", among: names).isEmpty)
        #expect(NearestNames.list(["a", "b", "c"]) == "a, b or c")
    }

    @Test("a service no space runs is named first, with the nearest the tree does run and the chain tried")
    func unknownService() throws {
        let tree = try F.tree(F.azure)
        let typo = try tree.route(RouteRequest(host: "azureuser.s.default.servicaa.localhost"))
        #expect(
            Unserved(typo, in: tree).description
                == "no space runs 'servicaa'; did you mean servicea? (tried azureuser → default)")
        #expect(Unserved(typo, in: tree).suggestions == ["servicea"])
        let far = try tree.route(RouteRequest(host: "not-a-url"))
        #expect(
            Unserved(far, in: tree).description
                == "no space runs 'not-a-url'; the spaces run servicea, serviceb (tried default)")
        #expect(Unserved(far, in: tree).suggestions.isEmpty)
    }

    @Test("a service some space has, but none on the chain serves, is no typo: the chain is named")
    func noneOnChain() throws {
        let tree = try F.tree(F.azure)
        let edited = try tree.applying(.override(space: "default", service: "serviceb", enabled: false))
        let route = try edited.route(RouteRequest(host: "azureuser.s.default.serviceb.localhost"))
        #expect(
            Unserved(route, in: edited)
                == .noneOnChain(service: "serviceb", chain: "azureuser → default"))
        #expect(
            Unserved(route, in: edited).description
                == "no space on the chain azureuser → default serves serviceb")
    }
}
