import Foundation
import Testing

@testable import SpaceportCore

@Suite("The spaces file: every error says file:line:column, what is wrong and what to do")
struct SpacesFileTests {
    typealias F = SpacesFixtures

    @Test("the starter file reads as default with azureuser overriding servicea")
    func starterReads() throws {
        let tree = try F.tree(SpacesFile.starter)
        #expect(tree.spaces.map(\.name) == ["default", "azureuser"])
        #expect(tree.settings.ingress == Address(host: "127.0.0.1", port: 8080))
        #expect(tree.space("azureuser")?.instance("servicea")?.egress?.port == 7001)
        #expect(tree.settings.limits == Limits())
    }

    @Test("settings, limits, block and shorthand instances all read")
    func everythingReads() throws {
        let tree = try F.tree(
            """
            route_header: X-Route-As
            domain: Dev.Example.Test
            default_space: root
            ingress: "[::1]:9000"
            limits: { max_header_bytes: 1024, drain_timeout_ms: 1 }
            spaces:
              root:
                services:
                  a: 127.0.0.1:1
                  b:
                    upstream: localhost:2
                    enabled: off
                    listen: 127.0.0.1:3
              empty:

            """)
        #expect(tree.settings.routeHeader == "x-route-as")
        #expect(tree.settings.domain == "dev.example.test")
        #expect(tree.settings.ingress?.description == "[::1]:9000")
        #expect(tree.settings.limits.maxHeaderBytes == 1024)
        #expect(tree.settings.limits.drainTimeoutMs == 1)
        #expect(tree.space("root")?.instance("b")?.enabled == false)
        #expect(tree.space("root")?.instance("b")?.listen?.port == 3)
        #expect(tree.space("empty")?.services.isEmpty == true)
    }

    @Test("an empty spaces mapping is an empty tree")
    func emptySpaces() throws {
        #expect(try F.tree("spaces: {}\n").spaces.isEmpty)
        #expect(try F.tree("spaces:\n").spaces.isEmpty)
    }

    @Test(
        "each error names its place in the file",
        arguments: [
            ("spaces: [a, b]\n", "spaces.yaml:1:9: 'spaces' must be a mapping of keys to values"),
            (
                "spaces:\n  default:\n    parnt: x\n",
                "spaces.yaml:3:5: unknown key 'parnt'; expected one of: parent, services"
            ),
            (
                "sapces: {}\n",
                "spaces.yaml:1:1: unknown key 'sapces'; expected one of: route_header, domain, default_space, ingress, admin, trusted_proxies, propagation, sensitive_headers, limits, spaces"
            ),
            (
                "spaces:\n  default:\n    services:\n      a: 127.0.0.1:99999\n",
                "spaces.yaml:4:10: '127.0.0.1:99999' is not an address: the port must be a number from 1 to 65535"
            ),
            (
                "spaces:\n  default:\n    services:\n      a: { upstream: nowhere }\n",
                "spaces.yaml:4:22: 'nowhere' is not an address: expected HOST:PORT, for example 127.0.0.1:5001"
            ),
            (
                "spaces:\n  Default: {}\n",
                "spaces.yaml:2:3: bad name 'Default': 'Default' may hold only lowercase letters, digits and '-' (a DNS label)"
            ),
            (
                "spaces:\n  default:\n    services:\n      serv_a: 127.0.0.1:1\n",
                "spaces.yaml:4:7: bad name 'serv_a': 'serv_a' may hold only letters, digits and '-' (a DNS label)"
            ),
            (
                "spaces:\n  default:\n    services:\n      a: { upstream: 127.0.0.1:1, enabled: maybe }\n",
                "spaces.yaml:4:44: 'enabled' must be true or false"
            ),
            (
                "spaces:\n  default:\n    services:\n      a: { enabled: true }\n",
                "spaces.yaml:4:10: service 'a' in space 'default' needs 'upstream'"
            ),
            ("domain: localhost\n", "spaces.yaml:1:1: the spaces file needs 'spaces'"),
            ("", "spaces.yaml:1:1: the spaces file needs 'spaces'"),
            (
                "limits:\n  max_header_count: 0\nspaces: {}\n",
                "spaces.yaml:2:21: 'max_header_count': must be a whole number above 0"
            ),
            (
                "domain: bad_domain\nspaces: {}\n",
                "spaces.yaml:1:9: 'domain': 'bad_domain' is not a DNS name such as localhost or dev.example.com"
            ),
            (
                "default_space: Main\nspaces: {}\n",
                "spaces.yaml:1:16: bad name 'Main': 'Main' may hold only lowercase letters, digits and '-' (a DNS label)"
            ),
        ])
    func locatedErrors(text: String, expected: String) {
        #expect(F.failure(text) == expected)
    }

    @Test("a key written twice is refused at the second one")
    func duplicateKey() {
        let text = """
            spaces:
              default:
                services:
                  servicea: 127.0.0.1:1
                  servicea: 127.0.0.1:2

            """
        #expect(
            F.failure(text)
                == "spaces.yaml:5:7: not valid YAML: the key 'servicea' appears twice in one mapping (first at line 4); keep one"
        )
    }

    @Test("YAML that does not parse is refused where the parser stopped")
    func syntaxError() {
        let message = F.failure("spaces:\n  default: { services: {}\n  other: {}\n")
        #expect(message?.hasPrefix("spaces.yaml:3:") == true, "\(message ?? "")")
        #expect(message?.contains("not valid YAML") == true)
        let tab = F.failure("spaces:\n\tdefault: {}\n")
        #expect(tab?.hasPrefix("spaces.yaml:2:1: not valid YAML") == true, "\(tab ?? "")")
    }

    @Test("a parent that is not a space is refused at its line")
    func unknownParent() {
        let text = """
            spaces:
              default: {}
              azureuser:
                parent: defualt

            """
        #expect(
            F.failure(text, file: "team/spaces.yaml")
                == "team/spaces.yaml:4:13: space 'azureuser' names parent 'defualt', which is not a space here; create it or fix the name"
        )
    }

    @Test("a fourth level is refused")
    func fourthLevel() {
        let text = """
            spaces:
              a: {}
              b: { parent: a }
              c: { parent: b }
              d: { parent: c }

            """
        #expect(
            F.failure(text)
                == "spaces.yaml:5:16: space 'd' would be a fourth level (a → b → c → d); spaces go at most root → child → grandchild"
        )
    }

    @Test("a cycle of parents is refused")
    func cycle() {
        let text = """
            spaces:
              a: { parent: b }
              b: { parent: a }

            """
        #expect(
            F.failure(text) == "spaces.yaml:2:16: spaces form a cycle (a → b → a); one of them must be a root"
        )
        #expect(F.failure("spaces:\n  a: { parent: a }\n")?.contains("cycle (a → a)") == true)
    }

    @Test("two service names that differ only by case are refused at the second")
    func caseDuplicates() {
        let text = """
            spaces:
              default:
                services:
                  ServiceA: 127.0.0.1:1
                  servicea: 127.0.0.1:2

            """
        #expect(
            F.failure(text)
                == "spaces.yaml:5:7: space 'default' has both 'ServiceA' and 'servicea': service names match without case, so keep one"
        )
    }

    @Test("several roots are allowed, each with its own family")
    func severalRoots() throws {
        let tree = try F.tree(F.threeLevels)
        #expect(tree.roots.count == 2)
    }

    @Test("a tree built in code is checked like a file")
    func treeInCode() {
        #expect(throws: SpacesError.duplicateSpace("a", at: nil)) {
            try SpaceTree(spaces: [Space(name: "a"), Space(name: "a")])
        }
        #expect(throws: SpacesError.unknownParent(space: "b", parent: "x", at: nil)) {
            try SpaceTree(spaces: [Space(name: "b", parent: "x")])
        }
    }

    @Test("rendering a tree and reading it back gives the same tree")
    func renderRoundTrip() throws {
        var text = "route_header: x-route\ndomain: example.test\ndefault_space: alice\ningress: \"[::1]:1\"\n"
        text += "limits:\n  idle_timeout_ms: 5\n" + F.threeLevels
        text += "  n:\n    parent: 'null'\n  'null': {}\n"
        let tree = try F.tree(text)
        #expect(try F.tree(SpacesFile.render(tree)) == tree)
    }

    @Test(
        "a tree rendered afresh keeps every setting: trusted proxies, propagation, admin, an instance's protocol"
    )
    func renderKeepsEverySetting() throws {
        var text = "admin: 127.0.0.1:9901\ntrusted_proxies: [10.0.0.0/8, \"fd00::/8\", 192.168.1.7]\n"
        text += "propagation:\n  write_route_header: false\n"
        text += "  headers: [x-route, { name: \"x-b!\", write: false }]\n"
        text += "  baggage: [\"#key\", { name: '*k', write: false }, \"true\", \"10\"]\n"
        text += "  trace_memory: { seconds: 5, traces: 0 }\n"
        text += "spaces:\n  default:\n    services:\n"
        text += "      db: { upstream: 127.0.0.1:5432, listen: 127.0.0.1:15432, protocol: tcp }\n"
        let tree = try F.tree(text)
        let settings = tree.settings
        #expect(settings.trustedProxies.count == 3 && !settings.propagation.writeRouteHeader)
        #expect(settings.propagation.baggage.map(\.name) == ["#key", "*k", "true", "10"])
        let rendered = SpacesFile.render(tree)
        let again = try F.tree(rendered)
        #expect(again == tree, "rendered as:\n\(rendered)")
        #expect(again.settings.propagation == settings.propagation)
        #expect(again.space("default")?.services.first?.protocol == .tcp)
        // A partial section renders only what differs, and a default tree renders no section.
        let partial = try F.tree("propagation:\n  trace_memory: { traces: 10 }\nspaces: {}\n")
        #expect(try F.tree(SpacesFile.render(partial)) == partial)
        #expect(!SpacesFile.render(try F.tree("spaces: {}\n")).contains("propagation"))
    }

    @Test("a missing file, a folder and a file that is not UTF-8 each say so")
    func unreadableFiles() throws {
        let folder = try F.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("none.yaml").path
        #expect(throws: SpacesError.io("\(missing): no such file; `spaceport init` writes a starter one")) {
            try SpacesFile.load(path: missing)
        }
        #expect(throws: SpacesError.io("\(folder.path): is a folder, not a spaces file")) {
            try SpacesFile.load(path: folder.path)
        }
        let binary = folder.appendingPathComponent("bin.yaml")
        try Data([0xFF, 0xFE, 0x00]).write(to: binary)
        #expect(throws: SpacesError.io("\(binary.path): is not UTF-8 text")) {
            try SpacesFile.load(path: binary.path)
        }
    }
}

@Suite("Every limit is documented with its real default")
struct LimitDocsTests {
    static let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("README.md")

    @Test("the starter file and the README list each limit with the default the proxy uses")
    func limitsDocumented() throws {
        let readme = try String(contentsOf: Self.readme, encoding: .utf8)
        let defaults = Limits()
        for (key, path) in SpacesFile.limitKeys {
            let line = "\(key): \(defaults[keyPath: path])"
            #expect(SpacesFile.starter.contains("#   \(line)\n"), "the starter file lacks '\(line)'")
            #expect(readme.contains("  \(line)"), "the README's spaces file lacks '\(line)'")
        }
    }
}

@Suite("The propagation section")
struct PropagationSettingsTests {
    @Test("carriers are read in order, each writable unless it says not, and trace memory takes its numbers")
    func read() throws {
        let tree = try SpacesFile.parse(
            text: """
                propagation:
                  write_route_header: false
                  headers: [X-Dev-Space, { name: kubernetes-route-as, write: false }]
                  baggage: [sd-routing-key]
                  trace_memory: { seconds: 5, traces: 0 }
                spaces: { default: {} }
                """, file: "s.yaml")
        let propagation = tree.settings.propagation
        #expect(propagation.headers == [.init("x-dev-space"), .init("kubernetes-route-as", write: false)])
        #expect(propagation.baggage == [.init("sd-routing-key")])
        #expect(propagation.writtenHeaders(routeHeader: "azds-route-as") == ["x-dev-space"])
        #expect(!propagation.remembersTraces)
        #expect(
            propagation.carriers(routeHeader: "azds-route-as").headers == [
                "azds-route-as", "x-dev-space", "kubernetes-route-as",
            ])
    }

    @Test(
        "with no section the defaults hold: kubernetes-route-as, and azds-route-as and okteto-divert in baggage"
    )
    func defaults() throws {
        let propagation = try SpacesFile.parse(text: "spaces: { default: {} }\n", file: "s.yaml").settings
            .propagation
        #expect(propagation.headers.map(\.name) == ["kubernetes-route-as"])
        #expect(propagation.baggage.map(\.name) == ["azds-route-as", "okteto-divert"])
        #expect(propagation.traceMemorySeconds == 60)
        #expect(propagation.traceMemoryTraces == 100_000)
    }

    @Test(
        "a carrier that cannot carry route-as is refused at its line, saying why",
        arguments: [
            ("propagation: { headers: [host] }\nspaces: {}\n", "s.yaml:1:26", "means something else to HTTP"),
            ("propagation: { headers: [\"a b\"] }\nspaces: {}\n", "s.yaml:1:26", "is not a header name"),
            ("propagation: { baggage: [k, k] }\nspaces: {}\n", "s.yaml:1:29", "listed twice"),
            ("propagation: { trace_memory: { seconds: -1 } }\nspaces: {}\n", "s.yaml:1:41", "0 or more"),
            ("propagation: { headers: [{ write: false }] }\nspaces: {}\n", "s.yaml:1:26", "name"),
        ])
    func refused(_ text: String, _ place: String, _ why: String) {
        #expect {
            _ = try SpacesFile.parse(text: text, file: "s.yaml")
        } throws: { error in
            "\(error)".contains(place) && "\(error)".contains(why)
        }
    }
}

@Suite("Settings compared")
struct SettingsEqualityTests {
    @Test("a change to trusted_proxies or propagation alone is a change: a running proxy takes it")
    func everySettingCounts() throws {
        let plain = try SpacesFile.parse(text: "spaces: { default: {} }\n", file: "s.yaml")
        let trusted = try SpacesFile.parse(
            text: "trusted_proxies: [10.0.0.1]\nspaces: { default: {} }\n", file: "s.yaml")
        let carried = try SpacesFile.parse(
            text: "propagation: { baggage: [sd-routing-key] }\nspaces: { default: {} }\n", file: "s.yaml")
        #expect(plain.settings != trusted.settings)
        #expect(plain.settings != carried.settings)
        #expect(plain != carried)
    }
}

@Suite("An instance's protocol towards its upstream (protocol: auto, http1, h2c)")
struct UpstreamProtocolFileTests {
    typealias F = SpacesFixtures

    @Test("protocol: h2c and protocol: http1 read, render and read back; auto and http are the default")
    func valuesRead() throws {
        let tree = try F.tree(
            """
            spaces:
              default:
                services:
                  greeter: { upstream: 127.0.0.1:50051, protocol: h2c }
                  legacy: { upstream: 127.0.0.1:8081, protocol: http1 }
                  plain: { upstream: 127.0.0.1:8082, protocol: auto }
                  web: { upstream: 127.0.0.1:8083, protocol: http }
            """)
        let space = try #require(tree.space("default"))
        #expect(space.instance("greeter")?.upstreamProtocol == .h2c)
        #expect(space.instance("legacy")?.upstreamProtocol == .http1)
        #expect(space.instance("plain")?.upstreamProtocol == .auto)
        #expect(space.instance("web")?.upstreamProtocol == .auto)
        let rendered = SpacesFile.render(tree)
        #expect(rendered.contains("protocol: h2c") && rendered.contains("protocol: http1"))
        #expect(!rendered.contains("protocol: auto"), "the default is not written:\n\(rendered)")
        #expect(try F.tree(rendered) == tree)
    }

    @Test("any other protocol is refused at its line and column, naming the values it takes")
    func badValue() {
        let message = F.failure(
            """
            spaces:
              default:
                services:
                  greeter: { upstream: 127.0.0.1:50051, protocol: h2 }
            """)
        #expect(
            message
                == "spaces.yaml:4:55: 'protocol': 'h2' is not one of: auto, http, http1, h2c, tcp (h2c: HTTP/2 with prior knowledge to the upstream, http1: HTTP/1.1, auto: the client's)"
        )
    }

    @Test("the protocol spoken upstream is the client's unless the instance forces one")
    func decided() {
        #expect(UpstreamProtocol.auto.towards(client: .h2c) == .h2c)
        #expect(UpstreamProtocol.auto.towards(client: .http1) == .http1)
        #expect(UpstreamProtocol.h2c.towards(client: .http1) == .h2c)
        #expect(UpstreamProtocol.http1.towards(client: .h2c) == .http1)
        #expect(!UpstreamProtocol.http1.carriesGRPC && UpstreamProtocol.h2c.carriesGRPC)
    }
}
