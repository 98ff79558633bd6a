import Foundation
import SpaceportCore
import SpaceportWire
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `spaceport dash` in a real terminal: tmux runs it, curl sends requests, capture-pane
/// reads the screen, send-keys presses keys. Without tmux they fail, saying how to install it.
@Suite("The dashboard in a real terminal", .serialized)
struct DashboardEndToEndTests {
    @Test(
        "dash shows curl's requests with the spaces that served them, and a key flips an override in the file and the route"
    )
    func dashboardInTmux() async throws {
        let curl = try RequiredTool.curl.path()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let upstreamDefaultA = try TestUpstream(answer: "servicea@default")
        let upstreamDefaultB = try TestUpstream(answer: "serviceb@default")
        let upstreamMine = try TestUpstream(answer: "servicea@azureuser")
        defer {
            upstreamDefaultA.stop()
            upstreamDefaultB.stop()
            upstreamMine.stop()
        }
        let spaces = folder.path("spaces.yaml")
        try """
        # written by the dashboard end-to-end test
        spaces:
          default:
            services:
              servicea: { upstream: 127.0.0.1:\(upstreamDefaultA.port) }
              serviceb: { upstream: 127.0.0.1:\(upstreamDefaultB.port) }
          azureuser:
            parent: default
            services:
              servicea: { upstream: 127.0.0.1:\(upstreamMine.port) }

        """.write(toFile: spaces, atomically: true, encoding: .utf8)

        let dash = try await DashInTmux.start(in: folder, name: "e2e", width: 120, height: 40)
        defer { dash.stop() }
        let (terminal, tail, port) = (dash.terminal, dash.tail, dash.port)

        let owned = try Curl.get(curl, "http://azureuser.s.default.servicea.localhost:\(port)/orders")
        #expect(owned.body == "servicea@azureuser")
        #expect(owned.route == "servicea@azureuser")
        let inherited = try Curl.get(curl, "http://azureuser.s.default.serviceb.localhost:\(port)/stock")
        #expect(inherited.body == "serviceb@default")
        let screen = try await eventually("both hops are on screen", terminal: terminal) { screen in
            screen.contains("servicea → azureuser") && screen.contains("serviceb → default ↑")
        }
        #expect(screen.contains("/orders"))
        #expect(screen.contains("/stock"))
        #expect(screen.contains("azureuser (host)"))
        try await eventually("spaceport tail sees the same hops", terminal: terminal) {
            tail.lines.contains { $0.contains("\"path\":\"/orders\"") }
                && tail.lines.contains { $0.contains("\"path\":\"/stock\"") }
        }

        try terminal.keys("j", "Tab")
        try await eventually("azureuser's services are focused", terminal: terminal) { screen in
            screen.contains("Services of azureuser") && screen.contains("● servicea owned")
        }
        try terminal.keys("Space")
        try await eventually("the override is off in the file", terminal: terminal) {
            ((try? String(contentsOfFile: spaces, encoding: .utf8)) ?? "").contains("enabled: false")
        }
        let file = try String(contentsOfFile: spaces, encoding: .utf8)
        #expect(file.contains("# written by the dashboard end-to-end test"))
        try await eventually("the services pane shows the override off", terminal: terminal) { screen in
            screen.contains("○ servicea inherited from default (own off)")
        }
        let after = try Curl.get(curl, "http://azureuser.s.default.servicea.localhost:\(port)/orders")
        #expect(after.body == "servicea@default")
        #expect(after.route == "servicea@default")
        try await eventually("the next hop shows the fallback", terminal: terminal) { screen in
            screen.contains("servicea → default ↑")
        }

        try terminal.keys("q")
        try await eventually("q ends the dashboard", terminal: terminal) {
            FileManager.default.fileExists(atPath: dash.exitFile)
        }
        let status = try String(contentsOfFile: dash.exitFile, encoding: .utf8).trimmingCharacters(
            in: .whitespacesAndNewlines)
        #expect(status == "0")
    }

    @Test(
        "under more traffic than --sample-hops lets through, the status bar says the list is a sample and the rates still count every request"
    )
    func sampledUnderLoad() async throws {
        let curl = try RequiredTool.curl.path()
        let folder = try TemporaryFolder()
        defer { folder.remove() }
        let upstream = try TestUpstream(answer: "servicea@default")
        defer { upstream.stop() }
        try """
        spaces:
          default:
            services:
              servicea: { upstream: 127.0.0.1:\(upstream.port) }

        """.write(toFile: folder.path("spaces.yaml"), atomically: true, encoding: .utf8)
        let dash = try await DashInTmux.start(
            in: folder, name: "sampled", arguments: ["--sample-hops", "2"], width: 140,
            height: 30)
        defer { dash.stop() }
        let (terminal, tail, port) = (dash.terminal, dash.tail, dash.port)

        // 100 requests in one curl, as fast as it sends them: far past 2 hops a second.
        let urls = (0..<100).map { "http://default.servicea.localhost:\(port)/load/\($0)" }
        let (status, _) = try Tools.run(curl, ["-s", "-o", "/dev/null", "--max-time", "60"] + urls)
        #expect(status == 0)
        // The piece appears only while the proxy leaves hops out; the tree's rate for the default
        // space counts all 100 requests over the seconds its window covers (at most five): 20/s
        // or more, where the 2 hops a second of the sample would make 2/s at most.
        try await eventually(
            "the status bar says the list is a sample, and the rate counts all 100", terminal: terminal
        ) {
            screen in
            let tree = screen.split(separator: "\n").first { $0.hasPrefix("│default") }?.split(separator: "│")
                .first
            let rate = tree?.split(separator: " ").last { $0.hasSuffix("/s") }.flatMap {
                Double($0.dropLast(2))
            }
            return screen.contains("sampled") && (20...100).contains(rate ?? 0)
        }
        try await eventually(
            "spaceport tail, which did not ask for a sample, sees every hop", terminal: terminal
        ) {
            tail.lines.filter { $0.contains("\"phase\":\"end\"") && $0.contains("/load/") }.count == 100
        }
        try terminal.keys("q")
    }
}

extension DashboardEndToEndTests {
    /// A spaces file with default's servicea and serviceb and azureuser's own servicea (with a comment).
    private static func spaces(default a: Int, _ b: Int, mine: Int) -> String {
        """
        spaces:
          default:
            services:
              servicea: { upstream: 127.0.0.1:\(a) }
              serviceb: { upstream: 127.0.0.1:\(b) }
          azureuser:
            parent: default
            services:
              # my build of servicea
              servicea: { upstream: 127.0.0.1:\(mine) }

        """
    }

    /// tmux and curl, which these tests need, and a folder with `spaces` as its spaces.yaml.
    private static func setUp(spaces: String) throws -> (curl: String, folder: TemporaryFolder) {
        _ = try RequiredTool.tmux.path()
        let curl = try RequiredTool.curl.path()
        let folder = try TemporaryFolder()
        try spaces.write(toFile: folder.path("spaces.yaml"), atomically: true, encoding: .utf8)
        return (curl, folder)
    }

    @Test(
        "dash --attach lists the hops a proxy handled before it attached, but its rates count only the requests made while it watches"
    )
    func attachedRatesCountLiveTrafficOnly() async throws {
        let binary = try #require(Tools.spaceport, "no spaceport binary beside the tests")
        let upstream = try TestUpstream(answer: "servicea@default")
        defer { upstream.stop() }
        let (curl, folder) = try Self.setUp(
            spaces: Self.spaces(default: upstream.port, upstream.port, mine: upstream.port))
        defer { folder.remove() }
        let runtime = folder.path("run")
        let proxy = try Child(
            "/bin/sh",
            [
                "-c",
                "cd \(folder.root) && XDG_RUNTIME_DIR=\(runtime) exec \(binary) proxy --quiet --name watched --ingress 127.0.0.1:0",
            ], output: nil)
        defer { proxy.terminate() }
        let terminal = Tmux(socket: folder.path("tmux.sock"))
        defer { terminal.killServer() }
        let socket = runtime + "/spaceport/watched.sock"
        try await eventually("the proxy's feed socket appears", terminal: terminal) {
            FileManager.default.fileExists(atPath: socket)
        }
        let tail = try TailReader(binary: binary, socket: socket, output: folder.path("tail.jsonl"))
        defer { tail.stop() }
        let port = try await tail.ingressPort()
        let urls = (0..<100).map { "http://default.servicea.localhost:\(port)/before/\($0)" }
        #expect(try Tools.run(curl, ["-s", "-o", "/dev/null", "--max-time", "60"] + urls).status == 0)
        try await eventually("the proxy has handled all 100", terminal: terminal) {
            tail.lines.filter { $0.contains("\"phase\":\"end\"") && $0.contains("/before/") }.count == 100
        }

        try terminal.start(
            command:
                "cd \(folder.root) && env LANG=C.UTF-8 XDG_RUNTIME_DIR=\(runtime) \(binary) dash --attach watched",
            width: 120, height: 30)
        try await eventually("the replayed hops are listed", terminal: terminal) { $0.contains("/before/99") }
        // Before, the 100 replayed hops counted as if they had just happened: 20/s for five seconds.
        let start = Date()
        while Date().timeIntervalSince(start) < 3 {
            let screen = try terminal.capture()
            let tree = screen.split(separator: "\n").filter {
                $0.hasPrefix("│default") || $0.hasPrefix("│└─azureuser")
            }
            #expect(
                tree.allSatisfy { !$0.contains("/s") }, "a rate for hops made before attaching:\n\(screen)")
            try await Task.sleep(for: .milliseconds(300))
        }
        let live = (0..<10).map { "http://default.servicea.localhost:\(port)/live/\($0)" }
        #expect(try Tools.run(curl, ["-s", "-o", "/dev/null", "--max-time", "60"] + live).status == 0)
        try await eventually("the requests made while watching have a rate", terminal: terminal) { screen in
            screen.split(separator: "\n").contains { $0.hasPrefix("│default") && $0.contains("/s") }
        }
        try terminal.keys("q")
    }

    @Test(
        "p pauses and f resumes and follows; / opens on the filter, Ctrl-W and Ctrl-U edit it and Esc puts it back; Esc on the list clears it and never quits; Ctrl-C quits"
    )
    func keys() async throws {
        let upstream = try TestUpstream(answer: "servicea@default")
        defer { upstream.stop() }
        let (curl, folder) = try Self.setUp(
            spaces: Self.spaces(default: upstream.port, upstream.port, mine: upstream.port))
        defer { folder.remove() }
        let dash = try await DashInTmux.start(in: folder, name: "keys", width: 120, height: 30)
        defer { dash.stop() }
        let (terminal, port) = (dash.terminal, dash.port)
        func bar(_ screen: String) -> String { String(screen.split(separator: "\n").last ?? "") }

        _ = try Curl.get(curl, "http://default.servicea.localhost:\(port)/orders")
        _ = try Curl.get(curl, "http://default.servicez.localhost:\(port)/missing")
        try await eventually("both hops are listed", terminal: terminal) {
            $0.contains("/orders") && $0.contains("/missing")
        }
        try terminal.keys("p")
        try await eventually("the list is paused", terminal: terminal) { bar($0).contains("PAUSED") }
        _ = try Curl.get(curl, "http://default.servicea.localhost:\(port)/while-paused")
        try await Task.sleep(for: .seconds(1))
        #expect(try !terminal.capture().contains("/while-paused"), "a paused list took a new hop")
        try terminal.keys("f")
        try await eventually("f resumes the list and follows the newest hop", terminal: terminal) { screen in
            screen.contains("/while-paused") && !bar(screen).contains("PAUSED")
                && bar(screen).contains("following")
        }

        try terminal.keys("/", "4xx", "Enter")
        try await eventually("the filter applies", terminal: terminal) { screen in
            bar(screen).contains("filter 4xx") && screen.contains("/missing") && !screen.contains("/orders")
        }
        try terminal.keys("/")
        try await eventually("the prompt opens on the filter in force", terminal: terminal) {
            $0.contains("> 4xx_")
        }
        try terminal.keys(" path:/mi")
        try await eventually("typing adds to it", terminal: terminal) { $0.contains("> 4xx path:/mi_") }
        try terminal.keys("C-w")
        try await eventually("Ctrl-W erases the last word", terminal: terminal) { $0.contains("> 4xx _") }
        try terminal.keys("C-u")
        try await eventually("Ctrl-U erases the line, and the list shows every hop again", terminal: terminal)
        {
            screen in
            screen.contains("> _") && screen.contains("/orders")
        }
        try terminal.keys("Escape")
        try await eventually(
            "Esc closes the prompt and puts back the filter it opened on", terminal: terminal
        ) {
            screen in
            !screen.contains("> _") && bar(screen).contains("filter 4xx") && !screen.contains("/orders")
        }
        try terminal.keys("Escape")
        try await eventually("Esc on the list clears the filter", terminal: terminal) { screen in
            !bar(screen).contains("filter 4xx") && screen.contains("/orders")
        }
        try terminal.keys("Escape")
        try await Task.sleep(for: .seconds(1))
        #expect(!FileManager.default.fileExists(atPath: dash.exitFile), "Esc ended the dashboard")
        #expect(try terminal.capture().contains("/orders"))
        try terminal.keys("C-c")
        try await eventually("Ctrl-C ends the dashboard", terminal: terminal) {
            FileManager.default.fileExists(atPath: dash.exitFile)
        }
        let status = try String(contentsOfFile: dash.exitFile, encoding: .utf8)
        #expect(status.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    @Test(
        "a request whose upstream refuses shows its error in the list at 250 columns, and opened, its space as chosen and failed, and why, under the id tail prints"
    )
    func failedHop() async throws {
        let refusing = try RefusingPort()
        let (curl, folder) = try Self.setUp(
            spaces: Self.spaces(default: refusing.port, refusing.port, mine: refusing.port))
        defer { folder.remove() }
        let dash = try await DashInTmux.start(in: folder, name: "failed", width: 250, height: 40)
        defer { dash.stop() }
        let (terminal, tail, port) = (dash.terminal, dash.tail, dash.port)

        _ = try Curl.get(curl, "http://default.servicea.localhost:\(port)/broken")
        let error = "could not be reached: connection refused"
        try await eventually("the list shows the 502 with its whole error", terminal: terminal) { screen in
            screen.split(separator: "\n").contains {
                $0.contains("/broken") && $0.contains("502") && $0.contains(error)
            }
        }
        func ids() -> [String] {
            tail.lines.compactMap { line in
                guard case .hop(let hop)? = try? FeedEvent.decode(line: line), hop.phase == .end else {
                    return nil
                }
                return hop.id
            }
        }
        try await eventually("tail prints the hop", terminal: terminal) { !ids().isEmpty }
        let id = try #require(ids().first)
        #expect(id.count == HopEvent.idLength)
        try terminal.keys("Tab", "Tab", "Enter")
        let detail = try await eventually("the hop opens", terminal: terminal) { $0.contains("Chain tried") }
        #expect(detail.contains("Hop \(id) (Esc back)"), "the detail names the hop as tail does:\n\(detail)")
        #expect(detail.contains("default  ✗ chosen, and failed at 127.0.0.1:\(refusing.port)"), "\(detail)")
        #expect(detail.contains("why: servicea@default at 127.0.0.1:\(refusing.port) \(error)"), "\(detail)")
        #expect(!detail.contains("✓ served"))
        try terminal.keys("Escape")
        try await eventually("Esc closes the detail", terminal: terminal) { !$0.contains("Chain tried") }
        try terminal.keys("q")
    }

    @Test(
        "d on a service asks, then removes the space's own instance from the file, and the space inherits it")
    func removeInstance() async throws {
        let upstreamA = try TestUpstream(answer: "servicea@default")
        let mine = try TestUpstream(answer: "servicea@azureuser")
        defer {
            upstreamA.stop()
            mine.stop()
        }
        let (curl, folder) = try Self.setUp(
            spaces: Self.spaces(default: upstreamA.port, upstreamA.port, mine: mine.port))
        defer { folder.remove() }
        let spaces = folder.path("spaces.yaml")
        let dash = try await DashInTmux.start(in: folder, name: "remove", width: 120, height: 30)
        defer { dash.stop() }
        let (terminal, port) = (dash.terminal, dash.port)

        try terminal.keys("j", "Tab")
        try await eventually("azureuser's services are focused", terminal: terminal) { screen in
            screen.contains("Services of azureuser") && screen.contains("● servicea owned")
        }
        try terminal.keys("d")
        try await eventually(
            "d asks first, naming the instance, the file and what follows", terminal: terminal
        ) {
            screen in
            screen.contains("Remove azureuser's own servicea (127.0.0.1:\(mine.port)) from")
                && screen.contains("y yes, n no")
        }
        try terminal.keys("n")
        try await Task.sleep(for: .milliseconds(500))
        #expect(try String(contentsOfFile: spaces, encoding: .utf8).contains("\(mine.port)"), "n removed it")
        try terminal.keys("d")
        try await eventually("the question is back", terminal: terminal) { $0.contains("y yes, n no") }
        try terminal.keys("y")
        try await eventually("the instance and its comment are gone from the file", terminal: terminal) {
            let text = (try? String(contentsOfFile: spaces, encoding: .utf8)) ?? ""
            return !text.contains("\(mine.port)") && !text.contains("# my build of servicea")
        }
        try await eventually("the services pane shows servicea inherited", terminal: terminal) { screen in
            screen.contains("servicea inherited from default")
        }
        #expect(
            try Curl.get(curl, "http://azureuser.s.default.servicea.localhost:\(port)/").body
                == "servicea@default")
        try terminal.keys("q")
    }
}

extension DashboardEndToEndTests {
    @Test(
        "a service that calls the next through its egress without passing the route on shows as lost: marked in the list, explained in its detail, counted in the services pane, and printed by tail"
    )
    func lostRoute() async throws {
        let serviceb = try TestUpstream(answer: "serviceb@default")
        let hotfixb = try TestUpstream(answer: "serviceb@hotfix")
        let egress = Egress()
        let servicea = try TestUpstream { "servicea@default\n" + egress.call("serviceb") }
        defer {
            serviceb.stop()
            hotfixb.stop()
            servicea.stop()
        }
        // hotfix runs its own serviceb; a request routed as hotfix should reach it, through
        // default's servicea, which forwards no route carrier on its call.
        let (curl, folder) = try Self.setUp(
            spaces: """
                spaces:
                  default:
                    services:
                      servicea: { upstream: 127.0.0.1:\(servicea.port), egress: "127.0.0.1:0" }
                      serviceb: { upstream: 127.0.0.1:\(serviceb.port) }
                  hotfix:
                    parent: default
                    services:
                      serviceb: { upstream: 127.0.0.1:\(hotfixb.port) }

                """)
        defer { folder.remove() }
        let dash = try await DashInTmux.start(in: folder, name: "lost", width: 120, height: 40)
        defer { dash.stop() }
        let (terminal, port) = (dash.terminal, dash.port)
        let egressPort = try await dash.tail.listenerPort("egress:default/servicea")
        egress.port.withLock { $0 = egressPort }
        let binary = try #require(Tools.spaceport)
        let text = folder.path("tail.txt")
        let tail = try Child(
            binary, ["tail", "--feed", folder.path("run") + "/spaceport/lost.sock"], output: text)
        defer { tail.terminate() }

        let answer = try Curl.get(curl, "http://hotfix.s.default.servicea.localhost:\(port)/")
        #expect(answer.body == "servicea@default\nserviceb@default", "the call left hotfix")
        let list = try await eventually("the lost hop is marked in the list", terminal: terminal) { screen in
            screen.split(separator: "\n").contains {
                $0.contains("default (caller)") && $0.contains("serviceb → default ⚠")
            }
        }
        #expect(list.contains("servicea owned  ⚠ dropped 1"), "the services pane counts the drop:\n\(list)")
        try await eventually("tail prints the mark", terminal: terminal) {
            let printed = (try? String(contentsOfFile: text, encoding: .utf8)) ?? ""
            return printed.contains(
                "serviceb → default  lost (dropped by servicea@default, expected hotfix)  200")
        }

        try terminal.keys("/", "lost", "Enter", "Tab", "Tab", "Enter")
        let detail = try await eventually("the lost hop opens", terminal: terminal) {
            $0.contains("Route context  ⚠ lost")
        }
        for line in [
            "servicea@default called serviceb without azds-route-as, kubernetes-route-as or baggage: forward one of them",
            "its flow was routed as hotfix; without a carrier this call went as default",
            "caller: servicea in default",
        ] {
            #expect(detail.contains(line), "\(line) is missing from:\n\(detail)")
        }
        try terminal.keys("Escape", "q")
    }
}

/// An app's outbound proxy (its `HTTP_PROXY`), used as plain code does: a call through it
/// passes on nothing of the request the app is serving.
final class Egress: Sendable {
    /// Known once the proxy listens: the app starts before it, as its upstream.
    let port = Mutex<Int?>(nil)

    /// What `service` answered, through the egress listener.
    func call(_ service: String) -> String {
        guard let port = port.withLock({ $0 }) else { return "no egress yet" }
        do {
            let client = try RawClient(Address(host: "127.0.0.1", port: port), timeoutSeconds: 30)
            try client.send(
                "GET http://\(service)/ HTTP/1.1\r\nHost: \(service)\r\nConnection: close\r\n\r\n")
            return try client.readResponse().text.trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            return "call failed: \(error)"
        }
    }
}

/// `spaceport dash` on `spaces.yaml` in `folder`, its proxy embedded, in a private tmux server,
/// and `spaceport tail` reading the same feed, which also tells the ingress port it chose.
struct DashInTmux {
    let terminal: Tmux
    let tail: TailReader
    let port: Int
    /// Where the dashboard's exit status is written once it ends.
    let exitFile: String

    static func start(
        in folder: TemporaryFolder, name: String, arguments: [String] = [], width: Int, height: Int
    ) async throws -> DashInTmux {
        let binary = try #require(
            Tools.spaceport,
            "no spaceport binary beside the tests; run `swift build --product spaceport` first")
        let terminal = Tmux(socket: folder.path("tmux.sock"))
        let runtime = folder.path("run")
        let exitFile = folder.path("exit-status")
        let options = (["--spaces", "spaces.yaml", "--ingress", "127.0.0.1:0", "--name", name] + arguments)
            .joined(separator: " ")
        do {
            try terminal.start(
                command:
                    "cd \(folder.root) && env LANG=C.UTF-8 XDG_RUNTIME_DIR=\(runtime) \(binary) dash \(options); echo $? > \(exitFile)",
                width: width, height: height)
            let socket = runtime + "/spaceport/\(name).sock"
            try await eventually("the feed socket \(socket) appears", terminal: terminal) {
                FileManager.default.fileExists(atPath: socket)
            }
            let tail = try TailReader(binary: binary, socket: socket, output: folder.path("tail.jsonl"))
            do {
                return DashInTmux(
                    terminal: terminal, tail: tail, port: try await tail.ingressPort(), exitFile: exitFile)
            } catch {
                tail.stop()
                throw error
            }
        } catch {
            terminal.killServer()
            throw error
        }
    }

    func stop() {
        tail.stop()
        terminal.killServer()
    }
}
