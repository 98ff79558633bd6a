import Foundation
import SpaceportCore
import Synchronization
import Testing

/// The `spaceport` binary SwiftPM built beside this test bundle, or SPACEPORT_BINARY.
enum Binary {
    static func require() throws -> URL { URL(fileURLWithPath: try BuiltSpaceport.require()) }
}

/// What a user sees from one run of the command.
struct Run: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String
    var killed: Bool

    var description: String { "exit \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
}

/// A folder for one test, holding its spaces file; the commands run inside it.
struct Workspace {
    let folder: URL

    init(under base: URL = FileManager.default.temporaryDirectory) throws {
        folder = base.appendingPathComponent("spaceport-cli-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }

    var spaces: String { folder.appendingPathComponent("spaces.yaml").path }

    func text(_ name: String = "spaces.yaml") throws -> String {
        try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
    }

    func write(_ text: String, to name: String = "spaces.yaml") throws {
        try text.write(to: folder.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    func names() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
    }

    /// Runs `spaceport` with `arguments` in the folder; `shell` wraps it in `sh -c` first.
    func run(_ arguments: String..., shell: String? = nil) throws -> Run {
        try run(arguments, shell: shell)
    }

    func run(_ arguments: [String], shell: String? = nil) throws -> Run {
        let process = try start(arguments, shell: shell)
        return finish(process)
    }

    func start(_ arguments: [String], shell: String? = nil) throws -> Process {
        let binary = try Binary.require()
        let process = Process()
        if let shell {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", shell, binary.path] + arguments
        } else {
            process.executableURL = binary
            process.arguments = arguments
        }
        process.currentDirectoryURL = folder
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = Pipe()
        process.standardError = Pipe()
        try process.run()
        return process
    }

    /// Reads both pipes to their end (stderr on another thread, so neither can fill and
    /// block the command), then waits for the exit.
    func finish(_ process: Process) -> Run {
        let errors = (process.standardError as! Pipe).fileHandleForReading
        let stderr = Locked<Data?>(nil)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            let data = errors.readDataToEndOfFile()
            stderr.withLock { $0 = data }
            done.signal()
        }
        let stdout = (process.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile()
        done.wait()
        process.waitUntilExit()
        return Run(
            status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
            stderr: String(decoding: stderr.withLock { $0 } ?? Data(), as: UTF8.self),
            killed: process.terminationReason == .uncaughtSignal)
    }
}

/// A value a background reader hands back, locked because Data is read on another thread.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&value)
    }
}

@Suite("The spaceport command line, run as a user runs it")
struct CLITests {
    static let starterTree = """
        default
          ✓ servicea    owned                   127.0.0.1:5001  override on
          ✓ serviceb    owned                   127.0.0.1:5002  override on
          azureuser
            ✓ servicea  owned                   127.0.0.1:6001  override on
            ↑ serviceb  inherited from default  127.0.0.1:5002

        """

    @Test("init writes the commented starter file and refuses to overwrite it without --force")
    func initCommand() throws {
        let space = try Workspace()
        defer { space.remove() }
        let first = try space.run("init")
        #expect(first.status == 0, "\(first)")
        #expect(
            first.stdout
                == "wrote spaces.yaml: default runs servicea and serviceb; azureuser runs its own servicea\nnext: `spaceport tree` shows which space serves what\n"
        )
        #expect(try space.text() == SpacesFile.starter)
        try space.write("# mine\nspaces: {}\n")
        let again = try space.run("init")
        #expect(again.status == 1)
        #expect(again.stdout.isEmpty)
        #expect(
            again.stderr
                == "spaceport: error: spaces.yaml exists already; pass --force to replace it with the starter\n"
        )
        #expect(try space.text() == "# mine\nspaces: {}\n")
        #expect(try space.run("init", "--force").status == 0)
        #expect(try space.text() == SpacesFile.starter)
    }

    @Test("tree shows every space's services as owned, inherited or missing, with override states")
    func treeCommand() throws {
        let space = try Workspace()
        defer { space.remove() }
        _ = try space.run("init")
        let tree = try space.run("tree")
        #expect(tree.status == 0)
        #expect(tree.stdout == Self.starterTree)
        #expect(tree.stderr.isEmpty)
        try space.write(
            """
            spaces:
              default:
                services:
                  servicea: 127.0.0.1:5001
              azureuser:
                parent: default
                services:
                  servicea: { upstream: 127.0.0.1:6001, enabled: false }
                  serviceb: 127.0.0.1:6002
              lonely: {}

            """)
        #expect(
            try space.run("tree").stdout
                == """
                default
                  ✓ servicea    owned                   127.0.0.1:5001  override on
                  ✗ serviceb    missing
                  azureuser
                    ↑ servicea  inherited from default  127.0.0.1:5001  override off
                    ✓ serviceb  owned                   127.0.0.1:6002  override on
                lonely
                  (no services)

                """)
    }

    @Test("tree --json prints the documented shape, nulls included")
    func treeJSON() throws {
        let space = try Workspace()
        defer { space.remove() }
        _ = try space.run("init")
        _ = try space.run("override", "azureuser", "servicea", "off")
        let run = try space.run("tree", "--json")
        #expect(run.status == 0)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        let spaces = try #require(object["spaces"] as? [[String: Any]])
        #expect(spaces.map { $0["name"] as? String } == ["default", "azureuser"])
        #expect(spaces[0]["parent"] is NSNull)
        #expect(spaces[1]["parent"] as? String == "default")
        #expect(spaces.map { $0["depth"] as? Int } == [0, 1])
        let services = try #require(spaces[1]["services"] as? [[String: Any]])
        #expect(
            Set(services[0].keys) == [
                "name", "state", "servedBy", "upstream", "override", "upstreamProtocol",
            ])
        #expect(services[0]["upstreamProtocol"] is NSNull, "the instance speaks the client's protocol")
        #expect(services[0]["name"] as? String == "servicea")
        #expect(services[0]["state"] as? String == "inherited")
        #expect(services[0]["servedBy"] as? String == "default")
        #expect(services[0]["upstream"] as? String == "127.0.0.1:5001")
        #expect(services[0]["override"] as? String == "off")
        #expect(services[1]["override"] is NSNull)
        #expect(services[1]["state"] as? String == "inherited")
    }

    @Test("route explains the route-as, the chain tried and the space chosen, sending nothing")
    func routeCommand() throws {
        let space = try Workspace()
        defer { space.remove() }
        _ = try space.run("init")
        let own = try space.run("route", "http://azureuser.s.default.servicea.localhost:8080/api?x=1")
        #expect(own.status == 0)
        #expect(
            own.stdout
                == """
                route-as   azureuser (from the host)
                service    servicea
                tried      azureuser
                served by  azureuser at 127.0.0.1:6001
                forwarded  azds-route-as: azureuser
                           kubernetes-route-as: azureuser
                           baggage: azds-route-as=azureuser,okteto-divert=azureuser

                """)
        let inherited = try space.run("route", "http://azureuser.s.default.serviceb.localhost:8080/")
        #expect(
            inherited.stdout.contains(
                "tried      azureuser → default\nserved by  default at 127.0.0.1:5002 (inherited: no enabled serviceb in azureuser)\n"
            ))
        let header = try space.run("route", "serviceb", "-H", "Azds-Route-As: bob", "-H", "Accept: */*")
        #expect(
            header.stdout
                == """
                route-as   bob (from the azds-route-as header): there is no space 'bob', so it is routed as default
                service    serviceb
                tried      default
                served by  default at 127.0.0.1:5002
                marked     bridged: the proxy adds route-as on the carriers it lacks
                forwarded  Azds-Route-As: bob
                           kubernetes-route-as: bob
                           baggage: azds-route-as=bob,okteto-divert=bob

                """)
        let hostHeader = try space.run(
            "route", "http://127.0.0.1:8080/", "-H", "Host: azureuser.serviceb.localhost")
        #expect(hostHeader.stdout.hasPrefix("route-as   azureuser (from the host)\nservice    serviceb\n"))
        let caller = try space.run("route", "http://servicea/", "--from", "azureuser")
        #expect(caller.stdout.hasPrefix("route-as   azureuser (from the calling instance's space)\n"))
        _ = try space.run("override", "default", "serviceb", "off")
        let nobody = try space.run("route", "http://azureuser.s.default.serviceb.localhost/")
        #expect(nobody.status == 1, "a request the proxy would answer 404 is a no for a script")
        #expect(
            nobody.stdout
                == """
                no space on the chain azureuser → default serves serviceb
                route-as   azureuser (from the host)
                service    serviceb
                tried      azureuser → default
                served by  nothing: the proxy would answer 404

                """)
    }

    @Test(
        "route --http2 explains an HTTP/2 stream as the proxy routes it, and a gRPC call no space serves as UNIMPLEMENTED"
    )
    func routeHTTP2() throws {
        let space = try Workspace()
        defer { space.remove() }
        _ = try space.run("init")
        let stream = try space.run(
            "route", "--http2", "http://servicea.localhost:8080/", "-H", "azds-route-as: azureuser")
        #expect(stream.status == 0)
        #expect(
            stream.stdout
                == """
                route-as   azureuser (from the azds-route-as header)
                as         an HTTP/2 stream
                service    servicea
                tried      azureuser
                served by  azureuser at 127.0.0.1:6001
                marked     bridged: the proxy adds route-as on the carriers it lacks
                forwarded  azds-route-as: azureuser
                           kubernetes-route-as: azureuser
                           baggage: azds-route-as=azureuser,okteto-divert=azureuser

                """)
        let call = try space.run(
            "route", "--http2", "http://cart.localhost:8080/", "-H", "content-type: application/grpc")
        #expect(call.status == 1)
        #expect(call.stdout.contains("as         a gRPC call on an HTTP/2 stream\n"))
        #expect(call.stdout.contains("served by  nothing: the proxy would answer UNIMPLEMENTED (12)\n"))
    }

    @Test(
        "route says which HTTP an instance is spoken to when it is not the client's, and a gRPC call its instance cannot take exits 1"
    )
    func routeUpstreamProtocol() throws {
        let space = try Workspace()
        defer { space.remove() }
        try space.write(
            """
            spaces:
              default:
                services:
                  greeter: { upstream: 127.0.0.1:50051, protocol: h2c }
                  legacy: { upstream: 127.0.0.1:8081, protocol: http1 }
            """)
        let plain = try space.run("route", "http://greeter.localhost/")
        #expect(plain.status == 0)
        #expect(
            plain.stdout.contains(
                "upstream   over h2c (HTTP/2 with prior knowledge): the instance says protocol: h2c\n"))
        let stream = try space.run("route", "--http2", "http://greeter.localhost/")
        #expect(!stream.stdout.contains("upstream "), "an HTTP/2 stream goes over h2c anyway")
        let call = try space.run(
            "route", "--http2", "http://legacy.localhost/", "-H", "content-type: application/grpc")
        #expect(call.status == 1)
        #expect(
            call.stdout.contains(
                "answer     the proxy would answer UNAVAILABLE (14): legacy@default at 127.0.0.1:8081 is configured `protocol: http1`"
            ))
        #expect(!call.stdout.contains("forwarded"))
    }

    @Test("route for a service no space runs says so first, offers the nearest names, and exits 1")
    func routeUnknownService() throws {
        let space = try Workspace()
        defer { space.remove() }
        _ = try space.run("init")
        let typo = try space.run("route", "servicaa")
        #expect(typo.status == 1)
        #expect(typo.stderr.isEmpty)
        #expect(
            typo.stdout
                == """
                no space runs 'servicaa'; did you mean servicea? (tried default)
                route-as   default (the default_space: the request names no space)
                service    servicaa
                tried      default
                served by  nothing: the proxy would answer 404

                """)
        let bare = try space.run("route", "not-a-url")
        #expect(bare.status == 1)
        #expect(
            bare.stdout.hasPrefix(
                "no space runs 'not-a-url'; the spaces run servicea, serviceb (tried default)\n"))
        let json = try space.run("route", "--json", "servicaa")
        #expect(json.status == 1)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(
            object["problem"] as? String == "no space runs 'servicaa'; did you mean servicea? (tried default)"
        )
        #expect(object["didYouMean"] as? [String] == ["servicea"])
        #expect(object["space"] is NSNull)
    }

    @Test("route --json prints the decision, or {error} with a non-zero exit")
    func routeJSON() throws {
        let space = try Workspace()
        defer { space.remove() }
        _ = try space.run("init")
        let run = try space.run("route", "--json", "http://azureuser.s.serviceb.localhost/")
        #expect(run.status == 0)
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(
            Set(object.keys) == [
                "routeAs", "unknownRouteAs", "routeAsSource", "routeAsCarrier", "conflicts", "traceId",
                "traceProblem", "service", "namespace", "tried", "space", "upstream", "upstreamProtocol",
                "propagation",
                "forwarded",
                "bridgeProblem", "skippedBaggage", "problem", "didYouMean",
            ])
        #expect(object["routeAs"] as? String == "azureuser")
        #expect(object["routeAsSource"] as? String == "host")
        #expect(object["service"] as? String == "serviceb")
        #expect(object["tried"] as? [String] == ["azureuser", "default"])
        #expect(object["space"] as? String == "default")
        #expect(object["upstream"] as? String == "127.0.0.1:5002")
        #expect(object["problem"] is NSNull)
        #expect(object["didYouMean"] as? [String] == [])
        let missing = try space.run("route", "--json", "servicec")
        #expect(missing.status == 1)
        let none = try #require(
            try JSONSerialization.jsonObject(with: Data(missing.stdout.utf8)) as? [String: Any])
        #expect(none["space"] is NSNull)
        #expect(none["upstream"] is NSNull)
        #expect(
            none["problem"] as? String
                == "no space runs 'servicec'; did you mean servicea or serviceb? (tried default)")
        let failed = try space.run("route", "--json", "http://servicea.example.com/")
        #expect(failed.status == 1)
        let error = try #require(
            try JSONSerialization.jsonObject(with: Data(failed.stdout.utf8)) as? [String: String])
        #expect(
            error == [
                "error":
                    "the proxy would answer 404: host 'servicea.example.com' is not under the domain 'localhost'"
            ])
        let bad = try space.run("route", "--json", "servicea", "-H", "azds-route-as: Not_A_Space")
        #expect(bad.status == 1)
        #expect(
            bad.stdout.contains(
                "the proxy would answer 400: route-as 'Not_A_Space' from the header azds-route-as is not a space name"
            ))
    }

    @Test("route says which carrier decided and what the forwarded request would carry, baggage and all")
    func routeCarriers() throws {
        let space = try Workspace()
        defer { space.remove() }
        _ = try space.run("init")
        let baggage = try space.run(
            "route", "servicea.localhost", "-H", "baggage: okteto-divert=azureuser;ttl=5, other=x%2Cy")
        #expect(baggage.status == 0, "\(baggage)")
        #expect(
            baggage.stdout
                == """
                route-as   azureuser (from the baggage member okteto-divert)
                service    servicea
                tried      azureuser
                served by  azureuser at 127.0.0.1:6001
                marked     bridged: the proxy adds route-as on the carriers it lacks
                forwarded  azds-route-as: azureuser
                           kubernetes-route-as: azureuser
                           baggage: okteto-divert=azureuser;ttl=5,other=x%2Cy,azds-route-as=azureuser

                """)

        // The header comes first in precedence; the baggage member that disagreed is named, and
        // on the way out it says what the header said.
        let conflict = try space.run(
            "route", "--json", "servicea", "-H", "kubernetes-route-as: azureuser", "-H",
            "baggage: azds-route-as=default, skip me")
        #expect(conflict.status == 0, "\(conflict)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(conflict.stdout.utf8)) as? [String: Any])
        #expect(object["routeAs"] as? String == "azureuser")
        #expect(object["routeAsSource"] as? String == "header")
        #expect(object["routeAsCarrier"] as? String == "kubernetes-route-as")
        #expect(
            object["conflicts"] as? [[String: String]] == [
                ["carrier": "baggage member azds-route-as", "value": "default"]
            ])
        #expect(object["propagation"] as? String == "bridged")
        #expect(
            object["skippedBaggage"] as? [[String: String]] == [
                ["member": "skip me", "problem": "its key is not followed by '='"]
            ])
        let forwarded = try #require(object["forwarded"] as? [String: Any])
        #expect(
            forwarded["headers"] as? [[String: String]] == [
                ["name": "kubernetes-route-as", "value": "azureuser"],
                ["name": "azds-route-as", "value": "azureuser"],
            ])
        #expect(forwarded["baggage"] as? [String] == ["azds-route-as=azureuser,okteto-divert=azureuser"])
        let text = try space.run(
            "route", "servicea", "-H", "kubernetes-route-as: azureuser", "-H",
            "baggage: azds-route-as=default")
        #expect(
            text.stdout.contains("\nconflicts  the baggage member azds-route-as said 'default'\n"), "\(text)")

        let invalid = try space.run("route", "--json", "servicea", "-H", "baggage: okteto-divert=Not_A_Space")
        #expect(invalid.status == 1)
        let error = try #require(
            try JSONSerialization.jsonObject(with: Data(invalid.stdout.utf8)) as? [String: String])
        #expect(
            error["error"]?.hasPrefix(
                "the proxy would answer 400: route-as 'Not_A_Space' from the baggage member okteto-divert")
                == true)
    }

    @Test(
        "route explains a trace memory decision: the trace restores the route, unless something decides first"
    )
    func routeTraceMemory() throws {
        let space = try Workspace()
        defer { space.remove() }
        _ = try space.run("init")
        let traceparent = "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let restored = try space.run("route", "servicea", "-H", traceparent, "--trace-known", "azureuser")
        #expect(restored.status == 0, "\(restored)")
        #expect(
            restored.stdout
                == """
                route-as   azureuser (the space its trace was routed as (trace memory))
                trace      4bf92f3577b34da6a3ce929d0e0e4736: trace memory knows it as azureuser
                service    servicea
                tried      azureuser
                served by  azureuser at 127.0.0.1:6001
                marked     restored: it carries no carrier, and trace memory routed it
                forwarded  azds-route-as: azureuser
                           kubernetes-route-as: azureuser
                           baggage: azds-route-as=azureuser,okteto-divert=azureuser

                """)
        let json = try space.run(
            "route", "--json", "servicea", "-H", traceparent, "--trace-known", "azureuser")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["routeAsSource"] as? String == "trace")
        #expect(object["traceId"] as? String == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(object["propagation"] as? String == "restored")

        let hostFirst = try space.run(
            "route", "default.servicea.localhost", "-H", traceparent, "--trace-known", "azureuser")
        #expect(hostFirst.stdout.hasPrefix("route-as   default (from the host)\n"), "\(hostFirst)")
        #expect(
            hostFirst.stdout.contains(
                "trace      4bf92f3577b34da6a3ce929d0e0e4736: trace memory knows it as azureuser, but the host decides first\n"
            ))

        let remembered = try space.run("route", "azureuser.s.default.servicea.localhost", "-H", traceparent)
        #expect(
            remembered.stdout.contains(
                "trace      4bf92f3577b34da6a3ce929d0e0e4736: the proxy remembers it as azureuser for 60 s, for calls that carry only traceparent\n"
            ), "\(remembered)")
        let unknown = try space.run("route", "servicea", "-H", traceparent)
        #expect(
            unknown.stdout.hasPrefix("route-as   default (the default_space: the request names no space)\n"))
        #expect(
            unknown.stdout.contains("trace      4bf92f3577b34da6a3ce929d0e0e4736\n"),
            "a request routed to default_space is not remembered: \(unknown)")

        let invalid = try space.run(
            "route", "servicea", "-H", "traceparent: 00-4BF9-01", "--trace-known", "azureuser")
        #expect(
            invalid.stdout.contains(
                "trace      none: '00-4BF9-01' is not a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>), so the proxy ignores it\n"
            ), "\(invalid)")
        #expect(invalid.stdout.hasPrefix("route-as   default (the default_space"))

        try space.write(
            try space.text().replacingOccurrences(
                of: "# propagation:\n", with: "propagation:\n  trace_memory: { seconds: 60, traces: 0 }\n"))
        let off = try space.run("route", "servicea", "-H", traceparent, "--trace-known", "azureuser")
        #expect(off.stdout.hasPrefix("route-as   default (the default_space"), "\(off)")
        #expect(
            off.stdout.contains(
                "trace      4bf92f3577b34da6a3ce929d0e0e4736 (trace memory is off in the spaces file)\n"))
    }

    @Test("override off and on change one word of the file and say who serves now")
    func overrideCommand() throws {
        let space = try Workspace()
        defer { space.remove() }
        _ = try space.run("init")
        let off = try space.run("override", "azureuser", "servicea", "off")
        #expect(off.status == 0)
        #expect(
            off.stdout
                == "servicea in azureuser is off: azureuser inherits it from default, at 127.0.0.1:5001\n")
        #expect(
            try space.text()
                == SpacesFile.starter.replacingOccurrences(of: "enabled: true", with: "enabled: false"))
        #expect(
            try space.run("route", "azureuser.s.servicea.localhost").stdout.contains("served by  default at"))
        let on = try space.run("override", "azureuser", "servicea", "on")
        #expect(on.stdout == "servicea in azureuser is on: azureuser serves it itself, at 127.0.0.1:6001\n")
        #expect(try space.text() == SpacesFile.starter)
        let root = try space.run("override", "default", "serviceb", "off")
        #expect(
            root.stdout
                == "serviceb in default is off: no space above default runs it, so its requests get 404\n")
        #expect(try space.names() == ["spaces.yaml"])
    }

    @Test("space create and delete change only their lines of the file")
    func spaceCommands() throws {
        let space = try Workspace()
        defer { space.remove() }
        _ = try space.run("init")
        let created = try space.run("space", "create", "alice", "--parent", "azureuser")
        #expect(created.status == 0)
        #expect(
            created.stdout
                == "created space alice under azureuser; it inherits every service from it\nnext: `spaceport service set alice SERVICE --upstream HOST:PORT` gives it its own\n"
        )
        #expect(
            try space.text() == SpacesFile.starter + "\n  alice:\n    parent: azureuser\n    services: {}\n")
        let root = try space.run("space", "create", "team2")
        #expect(root.stdout.hasPrefix("created space team2 as a new root\n"))
        #expect(try space.run("tree").stdout.hasSuffix("team2\n  (no services)\n"))
        let refused = try space.run("space", "delete", "azureuser")
        #expect(refused.status == 1)
        #expect(
            refused.stderr
                == "spaceport: error: spaces.yaml: space 'azureuser' has children (alice); delete them first or pass --recursive\n"
        )
        _ = try space.run("space", "delete", "team2")
        let deleted = try space.run("space", "delete", "azureuser", "--recursive")
        #expect(deleted.stdout == "deleted space azureuser and alice\n")
        let end = SpacesFile.starter.range(of: "\n\n  # A developer's space")!.lowerBound
        #expect(try space.text() == String(SpacesFile.starter[..<end]) + "\n")
    }

    @Test("service set adds an instance or moves one, keeping the file's comments")
    func serviceSet() throws {
        let space = try Workspace()
        defer { space.remove() }
        _ = try space.run("init")
        let added = try space.run("service", "set", "azureuser", "serviceb", "--upstream", "127.0.0.1:6002")
        #expect(
            added.stdout == "serviceb in azureuser now points at 127.0.0.1:6002: azureuser serves it itself\n"
        )
        let anchor = "egress: 127.0.0.1:7001 }\n"
        #expect(
            try space.text()
                == SpacesFile.starter.replacingOccurrences(
                    of: anchor, with: anchor + "      serviceb: { upstream: 127.0.0.1:6002 }\n"))
        _ = try space.run("override", "azureuser", "servicea", "off")
        let moved = try space.run("service", "set", "azureuser", "ServiceA", "--upstream", "[::1]:6001")
        #expect(
            moved.stdout
                == "servicea in azureuser now points at [::1]:6001, but is off: `spaceport override azureuser servicea on` turns it on\n"
        )
        #expect(try space.text().contains("servicea: { upstream: \"[::1]:6001\", enabled: false, egress"))
    }

    @Test("service remove takes the instance and its comment out of the file, and says who serves it now")
    func serviceRemove() throws {
        let space = try Workspace()
        defer { space.remove() }
        _ = try space.run("init")
        let removed = try space.run("service", "remove", "azureuser", "ServiceA")
        #expect(removed.status == 0, "\(removed)")
        #expect(
            removed.stdout
                == "removed servicea from azureuser: azureuser inherits it from default, at 127.0.0.1:5001\n")
        let instance = SpacesFile.starter.range(of: "      # enabled: false turns")!.lowerBound
        #expect(try space.text() == String(SpacesFile.starter[..<instance]))
        let again = try space.run("service", "remove", "azureuser", "servicea")
        #expect(again.status == 1)
        #expect(again.stderr.contains("space 'azureuser' has no instance of 'servicea'"), "\(again)")
        let last = try space.run("service", "remove", "default", "serviceb")
        #expect(
            last.stdout
                == "removed serviceb from default: no space on its chain runs it now, so its requests get 404\n"
        )
    }

    @Test("--spaces points every command at another file")
    func spacesOption() throws {
        let space = try Workspace()
        defer { space.remove() }
        let run = try space.run("init", "--spaces", "team.yaml")
        #expect(
            run.stdout.hasSuffix("next: `spaceport tree --spaces team.yaml` shows which space serves what\n"))
        #expect(try space.names() == ["team.yaml"])
        _ = try space.run("space", "create", "bob", "--parent", "default", "--spaces", "team.yaml")
        #expect(try space.run("tree", "--spaces", "team.yaml").stdout.contains("  bob\n"))
        let missing = try space.run("tree")
        #expect(missing.status == 1)
        #expect(
            missing.stderr
                == "spaceport: error: spaces.yaml: no such file; `spaceport init` writes a starter one\n")
    }

    @Test(
        "every error is one line on stderr, with a non-zero exit",
        arguments: [
            (
                ["override", "nobody", "servicea", "off"], 1,
                "spaces.yaml: there is no space 'nobody'; `spaceport tree` lists them"
            ),
            (
                ["override", "azureuser", "servicez", "on"], 1,
                "spaces.yaml: space 'azureuser' has no instance of 'servicez'; give it one with `spaceport service set azureuser servicez --upstream HOST:PORT`"
            ),
            (
                ["override", "azureuser", "servicea", "maybe"], 64,
                "'maybe' is not on or off; write `spaceport override azureuser servicea off`"
            ),
            (
                ["space", "create", "Bad"], 64,
                "bad space name: 'Bad' may hold only lowercase letters, digits and '-' (a DNS label)"
            ),
            (
                ["space", "create", "default"], 1,
                "spaces.yaml: space 'default' exists already; pick another name"
            ),
            (
                ["space", "create", "x", "--parent", "ghost"], 1,
                "spaces.yaml: there is no space 'ghost'; `spaceport tree` lists them"
            ),
            (
                ["space", "delete", "ghost"], 1,
                "spaces.yaml: there is no space 'ghost'; `spaceport tree` lists them"
            ),
            (
                ["service", "set", "default", "servicea", "--upstream", "nope"], 64,
                "--upstream 'nope' is not an address: expected HOST:PORT, for example 127.0.0.1:5001"
            ),
            (
                ["service", "set", "default", "bad_name", "--upstream", "127.0.0.1:1"], 64,
                "bad service name: 'bad_name' may hold only letters, digits and '-' (a DNS label)"
            ),
            (
                ["route", "ftp://servicea/"], 64,
                "'ftp://servicea/' is not an http:// URL; give one, or a bare host such as serviceb"
            ),
            (
                ["route", "servicea", "-H", "nonsense"], 64,
                "-H 'nonsense' is not a header; write it 'Name: value'"
            ),
            (
                ["route", "http:///path"], 64,
                "'http:///path' names no host; give one such as http://servicea.localhost:8080/"
            ),
            (
                ["route", "a.b.c.d.e.localhost"], 1,
                "the proxy would answer 404: host 'a.b.c.d.e.localhost' names no service; use <space>.s.<root>.<service>.<domain>, <space>.s.<service>.<domain>, <root>.<service>.<domain>, <service>.<domain>, a bare service name or a cluster name <service>.<namespace>.svc.cluster.local"
            ),
            (
                ["dash", "--sample-hops=-5"], 64,
                "--sample-hops takes 0 (every hop) or 1 to 1000000 hops a second; got -5"
            ),
            (
                ["route", "servicea", "--from", "Nope"], 64,
                "--from names no space: 'Nope' may hold only lowercase letters, digits and '-' (a DNS label)"
            ),
            (
                ["route", "servicea", "-H", "baggage: a=1\r\nHost: elsewhere"], 64,
                "-H 'baggage: …' holds a line break; give one header per -H"
            ),
            (
                ["route", "servicea", "--trace-known", "azureuser"], 64,
                "--trace-known needs the request's trace: add -H 'traceparent: 00-<32 hex trace id>-<16 hex parent id>-01'"
            ),
            (
                ["route", "servicea", "-H", "baggage: okteto-divert=Not_A_Space"], 1,
                "the proxy would answer 400: route-as 'Not_A_Space' from the baggage member okteto-divert is not a space name: 'Not_A_Space' may hold only lowercase letters, digits and '-' (a DNS label)"
            ),
        ])
    func errors(arguments: [String], status: Int32, message: String) throws {
        let space = try Workspace()
        defer { space.remove() }
        _ = try space.run("init")
        let run = try space.run(arguments)
        #expect(run.status == status, "\(run)")
        #expect(run.stderr == "spaceport: error: \(message)\n")
        #expect(run.stdout.isEmpty)
        #expect(try space.text() == SpacesFile.starter, "a refused command leaves the file alone")
    }

    @Test("a file error names the file, line and column")
    func fileErrors() throws {
        let space = try Workspace()
        defer { space.remove() }
        try space.write("spaces:\n  default:\n    services:\n      servicea: 127.0.0.1:99999\n")
        let run = try space.run("tree")
        #expect(run.status == 1)
        #expect(
            run.stderr
                == "spaceport: error: spaces.yaml:4:17: '127.0.0.1:99999' is not an address: the port must be a number from 1 to 65535\n"
        )
        let json = try space.run("tree", "--json")
        #expect(json.status == 1)
        #expect(json.stdout.contains("\"error\" : \"spaces.yaml:4:17: '127.0.0.1:99999' is not an address"))
        let edit = try space.run("override", "default", "servicea", "off")
        #expect(edit.status == 1)
        #expect(edit.stderr.hasPrefix("spaceport: error: spaces.yaml:4:17:"))
    }

    @Test("a layout that cannot be edited in place is rewritten whole, and the user is told")
    func rewriteNote() throws {
        let space = try Workspace()
        defer { space.remove() }
        try space.write(
            "# keep me\nspaces:\n  default:\n    services:\n      servicea:\n        upstream: >-\n          127.0.0.1:5001\n"
        )
        let run = try space.run("service", "set", "default", "servicea", "--upstream", "127.0.0.1:5009")
        #expect(run.status == 0)
        #expect(
            run.stderr
                == "spaceport: note: spaces.yaml was rewritten whole: its layout could not be changed in place, so its comments were lost (see README, \"What a save keeps\")\n"
        )
        #expect(try space.text().hasPrefix(SpacesFile.rewriteNotice))
        #expect(
            try SpacesFile.parse(text: try space.text(), file: "x").space("default")?.services.first?.upstream
                .port == 5009)
    }

    @Test("a save the kernel refuses, even to root, leaves the old file whole")
    func refusedSave() throws {
        let space = try Workspace()
        defer { space.remove() }
        _ = try space.run("init")
        // A file size limit of zero makes every write to a regular file fail, whoever runs it.
        let run = try space.run(
            ["override", "azureuser", "servicea", "off"],
            shell: "trap '' XFSZ; ulimit -f 0; exec \"$0\" \"$@\"")
        #expect(run.status == 1, "\(run)")
        #expect(
            run.stderr
                == "spaceport: error: spaces.yaml: could not be saved (File too large); the file is unchanged\n"
        )
        #expect(try space.text() == SpacesFile.starter)
        #expect(try space.names() == ["spaces.yaml"], "the temporary file is removed")
    }

    @Test("a writer killed with SIGKILL at any moment leaves the old file or the new one")
    func killedWriter() async throws {
        // Beside the build, on a disk where fsync takes real time (a tmpfs /tmp makes a save
        // too quick for a kill to land in).
        let space = try Workspace(under: try Binary.require().deletingLastPathComponent())
        defer { space.remove() }
        _ = try space.run("init")
        let on = SpacesFile.starter
        let off = on.replacingOccurrences(of: "enabled: true", with: "enabled: false")
        let loop =
            "while :; do \"$0\" override azureuser servicea off; \"$0\" override azureuser servicea on; done"
        var generator = SystemRandomNumberGenerator()
        var kills = 0
        // A temporary file left behind is a kill that landed mid-save; go on until a few did.
        var leftovers: [String] { ((try? space.names()) ?? []).filter { $0.hasSuffix(".tmp") } }
        while kills < 20 || (leftovers.count < 3 && kills < 300) {
            let process = try space.start([], shell: loop)
            // Foundation starts the child in its own process group, so one kill reaches the loop's command too.
            try #require(getpgid(process.processIdentifier) == process.processIdentifier)
            // A sleep that gives back its thread: this test runs alongside the others.
            try await Task.sleep(for: .milliseconds(Int.random(in: 20...250, using: &generator)))
            kill(-process.processIdentifier, SIGKILL)
            _ = space.finish(process)
            kills += 1
            let text = try space.text()
            #expect(text == on || text == off, "after kill \(kills) the file was:\n\(text)")
            #expect(try SpacesFile.parse(text: text, file: "spaces.yaml").contains("azureuser"))
        }
        #expect(!leftovers.isEmpty, "no kill in \(kills) landed while a save was under way")
        // A kill while the lock was held leaves its file, which the next edit takes and removes.
        let after = try space.run("override", "azureuser", "servicea", "on")
        #expect(after.status == 0, "\(after)")
        #expect(try space.names().filter { !$0.hasSuffix(".tmp") } == ["spaces.yaml"])
    }

    @Test(
        "twenty edit commands and twenty store edits at once, twenty times over: every change is in the file or was refused aloud"
    )
    func concurrentEdits() throws {
        let space = try Workspace()
        defer { space.remove() }
        let commands = (0..<20).map { "s\($0)" }
        let feed = (0..<20).map { "f\($0)" }
        try space.write(
            "# concurrent edits\nspaces:\n  azureuser:\n    services:\n"
                + (commands + feed).map { "      \($0): { upstream: 127.0.0.1:5001 }\n" }.joined())
        // As a running proxy's store, which its feed commands edit, all while the commands run.
        let store = try SpacesStore(path: space.spaces)
        for round in 0..<20 {
            let enabled = round % 2 == 1
            let processes = try commands.map {
                try space.start(["override", "azureuser", $0, enabled ? "on" : "off"])
            }
            let refused = Mutex<[String: String]>([:])
            DispatchQueue.concurrentPerform(iterations: feed.count) { number in
                do {
                    try store.apply(.override(space: "azureuser", service: feed[number], enabled: enabled))
                } catch {
                    refused.withLock { $0[feed[number]] = "\(error)" }
                }
            }
            let runs = processes.map(space.finish)
            let tree = try SpacesFile.load(path: space.spaces)
            for (service, run) in zip(commands, runs) {
                if run.status == 0 {
                    #expect(
                        tree.instance(service, in: "azureuser")?.enabled == enabled,
                        "round \(round): `override azureuser \(service)` said it was done, and the file lost it"
                    )
                } else {
                    #expect(run.stderr.hasPrefix("spaceport: error: "), "\(run)")
                }
                #expect(run.status == 0, "edits of different services do not conflict: \(run)")
            }
            for service in feed {
                let refusal = refused.withLock { $0[service] }
                #expect(refusal == nil, "round \(round): \(service): \(refusal ?? "")")
                #expect(
                    refusal != nil || tree.instance(service, in: "azureuser")?.enabled == enabled,
                    "round \(round): the store's edit of \(service) was lost")
            }
        }
        #expect(try space.text().hasPrefix("# concurrent edits\n"), "the edits kept the file's comments")
        #expect(try space.names() == ["spaces.yaml"])
    }

    @Test("a read-only spaces file is refused with a message, and an edit keeps the file's mode and owner")
    func modeAndOwner() throws {
        let space = try Workspace()
        defer { space.remove() }
        _ = try space.run("init")
        chmod(space.spaces, 0o444)
        let refused = try space.run("override", "azureuser", "servicea", "off")
        #expect(refused.status == 1)
        #expect(
            refused.stderr
                == "spaceport: error: spaces.yaml: is read-only (mode 444); make it writable (chmod u+w) to edit it; the file is unchanged\n"
        )
        #expect(try space.text() == SpacesFile.starter)
        chmod(space.spaces, 0o640)
        // Run as root (as CI does), the edit must hand the file back to its owner.
        let owner: (uid: uid_t, gid: gid_t) = geteuid() == 0 ? (65534, 65534) : (geteuid(), getegid())
        if geteuid() == 0 { try #require(chown(space.spaces, owner.uid, owner.gid) == 0) }
        let edited = try space.run("override", "azureuser", "servicea", "off")
        #expect(edited.status == 0, "\(edited)")
        var info = stat()
        try #require(stat(space.spaces, &info) == 0)
        #expect(info.st_mode & 0o7777 == 0o640)
        #expect(
            info.st_uid == owner.uid && info.st_gid == owner.gid, "owned by \(info.st_uid):\(info.st_gid)")
        #expect(try space.text().contains("enabled: false"))
    }

    @Test(
        "tree refuses a file that could not run: listeners sharing an address, a default_space naming no space"
    )
    func unrunnableFiles() throws {
        let space = try Workspace()
        defer { space.remove() }
        try space.write(
            "spaces:\n  default:\n    services:\n      servicea: { upstream: 127.0.0.1:5001, egress: 127.0.0.1:7001 }\n      serviceb: { upstream: 127.0.0.1:5002, listen: 127.0.0.1:7001 }\n"
        )
        let clash = try space.run("tree")
        #expect(clash.status == 1)
        #expect(
            clash.stderr
                == "spaceport: error: spaces.yaml:5:53: the listen address of serviceb in default is 127.0.0.1:7001, which is already the egress of servicea in default (line 4); two listeners cannot share an address, so give each its own\n"
        )
        let edit = try space.run("override", "default", "servicea", "off")
        #expect(edit.status == 1)
        #expect(edit.stderr.hasPrefix("spaceport: error: spaces.yaml:5:53: the listen address"))
        try space.write("default_space: nosuch\nspaces:\n  default: {}\n")
        let unknown = try space.run("tree")
        #expect(unknown.status == 1)
        #expect(
            unknown.stderr
                == "spaceport: error: spaces.yaml:1:16: default_space names 'nosuch', which is not a space here; create it or fix the name\n"
        )
    }

    @Test("tree of a file at the limits prints at once, and a file past them is refused at the line too many")
    func treeAtTheLimits() throws {
        let space = try Workspace()
        defer { space.remove() }
        // A space with the most services a space may, and children that list them all.
        var full = "spaces:\n  default:\n    services:\n"
        for number in 0..<SpaceTree.maxServicesPerSpace {
            full += "      s\(number): 127.0.0.1:\(1 + number)\n"
        }
        for number in 1..<10 { full += "  c\(number): { parent: default }\n" }
        try space.write(full)
        let tree = try space.run("tree")
        #expect(tree.status == 0)
        #expect(tree.stdout.split(separator: "\n").count == 10 * (SpaceTree.maxServicesPerSpace + 1))
        // The most spaces a file may hold, one service between them: this took over a minute before.
        var wide = "spaces:\n  default:\n    services:\n      app: 127.0.0.1:1\n"
        for number in 1..<SpaceTree.maxSpaces { wide += "  c\(number): { parent: default }\n" }
        try space.write(wide)
        let started = Date()
        let wideTree = try space.run("tree")
        let seconds = Date().timeIntervalSince(started)
        #expect(wideTree.status == 0)
        #expect(wideTree.stdout.split(separator: "\n").count == 2 * SpaceTree.maxSpaces)
        #expect(seconds < 20, "tree of \(SpaceTree.maxSpaces) spaces took \(seconds) s")
        try space.write(wide + "  one-more: {}\n")
        let refused = try space.run("tree")
        #expect(refused.status == 1)
        #expect(
            refused.stderr
                == "spaceport: error: spaces.yaml:\(SpaceTree.maxSpaces + 4):3: more than \(SpaceTree.maxSpaces) spaces; a spaces file holds at most \(SpaceTree.maxSpaces), so delete the ones no one uses\n"
        )
    }
}
