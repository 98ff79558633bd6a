import Foundation
import SpaceportTestSupport
import Testing

@testable import SpaceportCore

@Suite("Seeded fuzzing of the parsers")
struct FuzzTests {
    static let iterations = 4_000

    static let sampleFile = """
        # a team's spaces
        route_header: azds-route-as
        domain: localhost
        spaces:
          default:
            services:
              servicea: { upstream: 127.0.0.1:5001 }
              serviceb: { upstream: 127.0.0.1:5002, egress: 127.0.0.1:7002 }
          azureuser:
            parent: default
            services:
              servicea:
                upstream: 127.0.0.1:6001
                enabled: true
          hotfix:
            parent: azureuser

        """

    @Test("the host parser answers every host with a route or an error, and routes only valid names")
    func hostParserNeverCrashes() {
        var rng = SplitMix64(seed: 0x5EED_0001)
        let seeds = [
            "azureuser.s.default.servicea.localhost:8080", "servicea", "default.serviceb.localhost",
            "azureuser.s.servicec.localhost", "[::1]:8080", "SERVICEA.LOCALHOST.",
        ]
        for _ in 0..<Self.iterations {
            let host = Mutator.mutate(seeds.randomElement(using: &rng)!, using: &rng)
            do {
                let route = try HostRoute.parse(host, domain: "localhost")
                #expect(
                    Names.isValid(route.service),
                    "host \(host.debugDescription) gave service \(route.service)")
                if let space = route.space { #expect(Names.isValid(space)) }
            } catch {
                #expect(!error.description.isEmpty)
                #expect(!error.description.contains("\0"), "messages never carry raw control bytes")
            }
        }
    }

    @Test("routing any host and route header gives a decision or a 400/404, never a crash")
    func routerNeverCrashes() throws {
        let tree = try SpacesFile.parse(text: Self.sampleFile, file: "spaces.yaml")
        var rng = SplitMix64(seed: 0x5EED_0002)
        for _ in 0..<Self.iterations {
            let host = Mutator.mutate("hotfix.s.default.servicea.localhost", using: &rng)
            let header: String? = Bool.random(using: &rng) ? Mutator.mutate("azureuser", using: &rng) : nil
            do {
                let route = try tree.route(RouteRequest(host: host, routeHeaderValue: header))
                #expect(Names.isValid(route.routeAs))
                #expect(route.tried.allSatisfy(tree.contains))
            } catch {
                #expect([400, 404].contains(error.status))
            }
        }
    }

    @Test("a mangled spaces file is either refused at a real line of the file or round-trips exactly")
    func spacesFileLoaderNeverCrashes() {
        var rng = SplitMix64(seed: 0x5EED_0003)
        let lineCount = Self.sampleFile.split(separator: "\n", omittingEmptySubsequences: false).count
        for _ in 0..<Self.iterations {
            let text = Mutator.mutate(Self.sampleFile, using: &rng, edits: 4)
            do {
                let tree = try SpacesFile.parse(text: text, file: "spaces.yaml")
                let again = try SpacesFile.parse(text: SpacesFile.render(tree), file: "rendered.yaml")
                #expect(again == tree, "render then parse changed the tree for:\n\(text)")
            } catch {
                if let location = error.location {
                    #expect(location.file == "spaces.yaml" || location.file == "rendered.yaml")
                    #expect(
                        location.line >= 1 && location.line <= lineCount + 40,
                        "line \(location.line) for:\n\(text)")
                }
                #expect(!error.message.isEmpty)
            }
        }
    }
}
