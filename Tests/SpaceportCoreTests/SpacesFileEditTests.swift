import Testing

@testable import SpaceportCore

@Suite("Saving keeps the user's file: comments, order and layout")
struct SpacesFileEditTests {
    typealias F = SpacesFixtures

    @Test("turning an override off in the starter file changes only that one word")
    func toggleKeepsEverything() throws {
        let saved = try F.save(
            SpacesFile.starter, .override(space: "azureuser", service: "servicea", enabled: false))
        let expected = SpacesFile.starter.replacingOccurrences(
            of: "127.0.0.1:6001, enabled: true,", with: "127.0.0.1:6001, enabled: false,")
        #expect(expected != SpacesFile.starter)
        #expect(saved == expected)
        let back = try F.save(saved, .override(space: "azureuser", service: "servicea", enabled: true))
        #expect(back == SpacesFile.starter)
    }

    @Test("turning off a flow instance with no enabled key adds it before the closing brace")
    func toggleFlowWithoutFlag() throws {
        let saved = try F.save(F.azure, .override(space: "default", service: "serviceb", enabled: false))
        #expect(
            saved
                == F.azure.replacingOccurrences(
                    of: "serviceb: { upstream: 127.0.0.1:5002 }",
                    with: "serviceb: { upstream: 127.0.0.1:5002, enabled: false }"))
    }

    @Test("turning off a shorthand instance writes it as a flow mapping and keeps its comment")
    func toggleShorthand() throws {
        let text = """
            spaces:
              default:
                services:
                  servicea: 127.0.0.1:5001   # the API
                  ServiceB: "127.0.0.1:5002"

            """
        let saved = try F.save(text, .override(space: "default", service: "servicea", enabled: false))
        #expect(
            saved
                == text.replacingOccurrences(
                    of: "servicea: 127.0.0.1:5001   #",
                    with: "servicea: { upstream: 127.0.0.1:5001, enabled: false }   #"))
        let quoted = try F.save(text, .override(space: "default", service: "serviceb", enabled: false))
        #expect(
            quoted
                == text.replacingOccurrences(
                    of: "ServiceB: \"127.0.0.1:5002\"",
                    with: "ServiceB: { upstream: \"127.0.0.1:5002\", enabled: false }"))
        #expect(try F.save(text, .override(space: "default", service: "servicea", enabled: true)) == text)
    }

    @Test("turning a block-style instance off adds enabled: false at its keys' indentation, and back on")
    func toggleBlockInstance() throws {
        let text = """
            spaces:
              default:
                services:
                  servicea:
                    upstream: 127.0.0.1:5001  # api
                    # listen: 127.0.0.1:9001
                  serviceb: { upstream: 127.0.0.1:5002 }

            """
        let saved = try F.save(text, .override(space: "default", service: "servicea", enabled: false))
        #expect(
            saved
                == """
                spaces:
                  default:
                    services:
                      servicea:
                        upstream: 127.0.0.1:5001  # api
                        # listen: 127.0.0.1:9001
                        enabled: false
                      serviceb: { upstream: 127.0.0.1:5002 }

                """)
        let back = try F.save(saved, .override(space: "default", service: "servicea", enabled: true))
        #expect(back == saved.replacingOccurrences(of: "enabled: false", with: "enabled: true"))
    }

    @Test("a new upstream replaces only the address, keeping its quotes")
    func setUpstreamInPlace() throws {
        let text = """
            spaces:
              default:
                services:
                  servicea: { upstream: 127.0.0.1:5001 }  # a
                  serviceb: 127.0.0.1:5002  # b
                  servicec:
                    upstream: '127.0.0.1:5003'  # c

            """
        let address = try Address(parsing: "127.0.0.1:9999")
        #expect(
            try F.save(text, .setUpstream(space: "default", service: "servicea", upstream: address))
                == text.replacingOccurrences(of: "127.0.0.1:5001", with: "127.0.0.1:9999"))
        #expect(
            try F.save(text, .setUpstream(space: "default", service: "SERVICEB", upstream: address))
                == text.replacingOccurrences(of: "127.0.0.1:5002", with: "127.0.0.1:9999"))
        #expect(
            try F.save(text, .setUpstream(space: "default", service: "servicec", upstream: address))
                == text.replacingOccurrences(of: "127.0.0.1:5003", with: "127.0.0.1:9999"))
        let ipv6 = try Address(parsing: "[::1]:9999")
        #expect(
            try F.save(text, .setUpstream(space: "default", service: "servicea", upstream: ipv6))
                == text.replacingOccurrences(of: "127.0.0.1:5001", with: "\"[::1]:9999\""))
    }

    @Test("a new instance goes on a new line at the end of the space's services")
    func addInstanceToBlockServices() throws {
        let saved = try F.save(
            SpacesFile.starter,
            .setUpstream(
                space: "azureuser", service: "serviceb", upstream: try Address(parsing: "127.0.0.1:6002")))
        let anchor = "servicea: { upstream: 127.0.0.1:6001, enabled: true, egress: 127.0.0.1:7001 }\n"
        #expect(
            saved
                == SpacesFile.starter.replacingOccurrences(
                    of: anchor, with: anchor + "      serviceb: { upstream: 127.0.0.1:6002 }\n"))
    }

    @Test("a new instance in a space without services adds the services key, in any layout")
    func addInstanceCreatesServices() throws {
        let text = """
            spaces:
              default:
                services: {}   # nothing yet
              one:
                parent: default
              two:
              three: { parent: default }
              four:
                parent: default
                services:
                # to do

            """
        let address = try Address(parsing: "127.0.0.1:1")
        let edits = [
            "default":
                "spaces:\n  default:\n    services:   # nothing yet\n      svc: { upstream: 127.0.0.1:1 }\n  one:\n",
            "one":
                "  one:\n    parent: default\n    services:\n      svc: { upstream: 127.0.0.1:1 }\n  two:\n",
            "two": "  two:\n    services:\n      svc: { upstream: 127.0.0.1:1 }\n  three:",
            "three": "  three: { parent: default, services: { svc: { upstream: 127.0.0.1:1 } } }\n",
            "four": "    services:\n      svc: { upstream: 127.0.0.1:1 }\n    # to do\n",
        ]
        for (space, expected) in edits {
            let saved = try F.save(text, .setUpstream(space: space, service: "svc", upstream: address))
            #expect(saved.contains(expected), "adding svc to \(space) gave:\n\(saved)")
            #expect(!saved.hasPrefix("#"))
        }
    }

    @Test("a new space goes at the end of spaces, indented and spaced as the file is")
    func createSpaceInBlockFile() throws {
        let saved = try F.save(SpacesFile.starter, .createSpace(name: "alice", parent: "azureuser"))
        #expect(saved == SpacesFile.starter + "\n  alice:\n    parent: azureuser\n    services: {}\n")
        let text = """
            spaces:
                default:
                    services: {}
            # settings below
            domain: example.test

            """
        let root = try F.save(text, .createSpace(name: "team2", parent: nil))
        #expect(
            root
                == """
                spaces:
                    default:
                        services: {}
                    team2:
                        services: {}
                # settings below
                domain: example.test

                """)
    }

    @Test("a new space in an empty spaces mapping opens a block")
    func createSpaceInEmptyFile() throws {
        #expect(
            try F.save("spaces: {}\n", .createSpace(name: "default", parent: nil))
                == "spaces:\n  default:\n    services: {}\n")
        #expect(
            try F.save("# mine\nspaces:\n", .createSpace(name: "default", parent: nil))
                == "# mine\nspaces:\n  default:\n    services: {}\n")
    }

    @Test("removing an instance takes out its lines and the comment lines directly above it, nothing else")
    func removeInstanceInBlockFile() throws {
        let saved = try F.save(SpacesFile.starter, .removeInstance(space: "azureuser", service: "servicea"))
        let start = SpacesFile.starter.range(of: "      # enabled: false turns")!.lowerBound
        #expect(saved == String(SpacesFile.starter[..<start]), "azureuser keeps an empty services:")
        #expect(try F.tree(saved).space("azureuser")?.services.isEmpty == true)
        let text = """
            spaces:
              default:
                services:
                  servicea: 127.0.0.1:5001   # the API
                  # the stock service
                  ServiceB:
                    upstream: 127.0.0.1:5002
                    enabled: false
                  servicec: { upstream: 127.0.0.1:5003 }
              # mine
              dev:
                parent: default

            """
        #expect(
            try F.save(text, .removeInstance(space: "default", service: "serviceb"))
                == text.replacingOccurrences(
                    of:
                        "      # the stock service\n      ServiceB:\n        upstream: 127.0.0.1:5002\n        enabled: false\n",
                    with: ""))
        #expect(
            try F.save(text, .removeInstance(space: "default", service: "servicea"))
                == text.replacingOccurrences(of: "      servicea: 127.0.0.1:5001   # the API\n", with: ""))
        #expect(
            try F.save(text, .removeInstance(space: "default", service: "servicec"))
                == text.replacingOccurrences(of: "      servicec: { upstream: 127.0.0.1:5003 }\n", with: ""))
    }

    @Test("removing an instance from services written { } takes it and one comma out")
    func removeInstanceInFlow() throws {
        let text =
            "spaces: {default: {services: {servicea: 127.0.0.1:1, serviceb: {upstream: 127.0.0.1:2}}}}\n"
        #expect(
            try F.save(text, .removeInstance(space: "default", service: "serviceb"))
                == "spaces: {default: {services: {servicea: 127.0.0.1:1}}}\n")
        #expect(
            try F.save(text, .removeInstance(space: "default", service: "servicea"))
                == "spaces: {default: {services: {serviceb: {upstream: 127.0.0.1:2}}}}\n")
        let one = "spaces:\n  default:\n    services: { servicea: 127.0.0.1:1 }  # one\n"
        #expect(
            try F.save(one, .removeInstance(space: "default", service: "servicea"))
                == "spaces:\n  default:\n    services: {}  # one\n")
    }

    @Test("removing an instance the space does not have is refused, naming the space and the service")
    func removeMissingInstance() throws {
        #expect(throws: SpacesError.unknownService(space: "azureuser", service: "serviceb")) {
            try F.tree(F.azure).applying(.removeInstance(space: "azureuser", service: "serviceb"))
        }
        #expect(throws: SpacesError.unknownSpace("nobody")) {
            try F.tree(F.azure).applying(.removeInstance(space: "nobody", service: "servicea"))
        }
    }

    @Test("deleting a space removes its lines and the comment above it")
    func deleteSpaceInBlockFile() throws {
        let saved = try F.save(SpacesFile.starter, .deleteSpace(name: "azureuser", recursive: false))
        let start = SpacesFile.starter.range(of: "\n\n  # A developer's space")!.lowerBound
        #expect(saved == String(SpacesFile.starter[..<start]) + "\n")
        let text = """
            spaces:
              # the root
              default:
                services:
                  servicea: 127.0.0.1:1

              other:
                services: {}
            # end

            """
        #expect(
            try F.save(text, .deleteSpace(name: "default", recursive: false))
                == "spaces:\n  other:\n    services: {}\n# end\n")
    }

    @Test("deleting a space keeps the file's final newline and one blank line between neighbours")
    func deleteTidiesBlankLines() throws {
        #expect(try F.save("spaces:\n  a: {}\n", .deleteSpace(name: "a", recursive: false)) == "spaces:\n")
        #expect(
            try F.save("spaces:\n  a: {}\n\n  b: {}\n", .deleteSpace(name: "a", recursive: false))
                == "spaces:\n  b: {}\n")
        #expect(
            try F.save("spaces:\n  a: {}\n\n  b: {}\n\n  c: {}\n", .deleteSpace(name: "b", recursive: false))
                == "spaces:\n  a: {}\n\n  c: {}\n")
        #expect(
            try F.save("spaces:\n  a: {}\n\n  b: {}", .deleteSpace(name: "b", recursive: false))
                == "spaces:\n  a: {}")
    }

    @Test("deleting a space with --recursive removes its descendants' lines too")
    func deleteRecursive() throws {
        let saved = try F.save(F.threeLevels, .deleteSpace(name: "azureuser", recursive: true))
        #expect(
            saved
                == """
                spaces:
                  default:
                    services:
                      servicea: 127.0.0.1:5001
                      serviceb: 127.0.0.1:5002
                      servicec: 127.0.0.1:5003
                  other:
                    services:
                      servicez: 127.0.0.1:9000

                """)
    }

    @Test("a file written all in flow style is edited inside its braces")
    func flowStyleFile() throws {
        let text =
            "# flow\n{spaces: {default: {services: {a: 127.0.0.1:1}}, dev: {parent: default, services: {}}}}\n"
        #expect(
            try F.save(text, .override(space: "default", service: "a", enabled: false))
                == text.replacingOccurrences(
                    of: "{a: 127.0.0.1:1}", with: "{a: { upstream: 127.0.0.1:1, enabled: false }}"))
        #expect(
            try F.save(text, .createSpace(name: "bob", parent: "dev"))
                == text.replacingOccurrences(
                    of: "services: {}}}}", with: "services: {}}, bob: { parent: dev, services: {} }}}"))
        #expect(
            try F.save(text, .deleteSpace(name: "dev", recursive: false))
                == "# flow\n{spaces: {default: {services: {a: 127.0.0.1:1}}}}\n")
        #expect(
            try F.save(
                text, .setUpstream(space: "dev", service: "b", upstream: try Address(parsing: "127.0.0.1:2")))
                == text.replacingOccurrences(
                    of: "services: {}}", with: "services: { b: { upstream: 127.0.0.1:2 } }}"))
        #expect(
            try F.save(text, .deleteSpace(name: "default", recursive: true))
                == "# flow\n{spaces: {}}\n")
    }

    @Test("flow-style spaces inside a block file are edited in place")
    func flowSpacesInBlockFile() throws {
        let text = """
            # team
            spaces: { default: { services: { a: 127.0.0.1:1 } }, dev: { parent: default } }  # two

            """
        #expect(
            try F.save(text, .deleteSpace(name: "default", recursive: true))
                == "# team\nspaces: {}  # two\n")
        #expect(
            try F.save(text, .createSpace(name: "x", parent: nil))
                == text.replacingOccurrences(
                    of: "{ parent: default } }", with: "{ parent: default }, x: { services: {} } }"))
    }

    @Test("a flow mapping spread over several lines gets its new entry before the closing brace")
    func multiLineFlow() throws {
        let text = """
            spaces:
              default:
                services: {
                  a: 127.0.0.1:1,   # first
                  b: 127.0.0.1:2
                }

            """
        let saved = try F.save(
            text, .setUpstream(space: "default", service: "c", upstream: try Address(parsing: "127.0.0.1:3")))
        #expect(
            saved
                == text.replacingOccurrences(
                    of: "127.0.0.1:2\n", with: "127.0.0.1:2, c: { upstream: 127.0.0.1:3 }\n"))
        let off = try F.save(text, .override(space: "default", service: "a", enabled: false))
        #expect(off.contains("a: { upstream: 127.0.0.1:1, enabled: false },   # first\n"))
    }

    @Test("an empty value written as ~ is rewritten whole rather than guessed at")
    func tildeFallsBack() throws {
        let saved = try F.save(
            "spaces:\n  default:\n    services: ~\n",
            .setUpstream(space: "default", service: "a", upstream: try Address(parsing: "127.0.0.1:1")))
        #expect(
            saved == SpacesFile.rewriteNotice
                + "spaces:\n  default:\n    services:\n      a: { upstream: 127.0.0.1:1 }\n")
    }

    @Test("a file with Windows line endings keeps them")
    func crlfFile() throws {
        let text = F.azure.replacingOccurrences(of: "\n", with: "\r\n")
        let saved = try F.save(
            text,
            .setUpstream(
                space: "azureuser", service: "serviceb", upstream: try Address(parsing: "127.0.0.1:2")))
        #expect(saved.hasSuffix("egress: 127.0.0.1:7001 }\r\n      serviceb: { upstream: 127.0.0.1:2 }\r\n"))
    }

    @Test(
        "a layout the editor cannot change in place is rewritten whole under a notice, and reads back right")
    func fallbackRewrites() throws {
        let text = """
            spaces:
              default:
                services:
                  servicea:
                    upstream: >-
                      127.0.0.1:5001

            """
        let saved = try F.save(
            text,
            .setUpstream(space: "default", service: "servicea", upstream: try Address(parsing: "127.0.0.1:2"))
        )
        #expect(saved.hasPrefix(SpacesFile.rewriteNotice))
        #expect(saved.contains("servicea: { upstream: 127.0.0.1:2 }"))
        let aliased = """
            spaces:
              default:
                services:
                  a: &shared 127.0.0.1:1
                  b: *shared

            """
        let split = try F.save(
            aliased,
            .setUpstream(space: "default", service: "a", upstream: try Address(parsing: "127.0.0.1:2")))
        #expect(split.hasPrefix(SpacesFile.rewriteNotice))
        #expect(try F.tree(split).space("default")?.instance("b")?.upstream.port == 1)
    }

    @Test("a save with no text to edit renders the tree with no notice")
    func noOriginal() throws {
        let tree = try F.tree(F.azure)
        let new = try tree.applying(.override(space: "azureuser", service: "servicea", enabled: false))
        let text = SpacesFile.updatedText(
            nil, from: tree, to: new, by: .override(space: "azureuser", service: "servicea", enabled: false),
            file: "x")
        #expect(!text.hasPrefix("#"))
        #expect(try F.tree(text) == new)
    }
}
