import Foundation
import Logging
import SpaceportCore
import SpaceportProxy
import Synchronization
import Testing

/// Waits, within a generous bound, until `condition` holds.
private func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
    for _ in 0..<300 {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return false
}

@Suite("A live spaces file")
struct LiveSpacesTests {
    @Test("an edit of the spaces file applies to new requests while the proxy runs")
    func fileChangeLive() async throws {
        let path = temporaryPath("spaces.yaml")
        try await Walkthrough.with(path: path) { w in
            let url = w.proxy.url("azureuser.s.servicea.localhost")
            #expect(try await Curl.run([url]).header("x-spaceport-route") == "servicea@azureuser")
            let text = try String(contentsOfFile: path, encoding: .utf8)
            try text.replacingOccurrences(
                of: "egress: 127.0.0.1:0 }", with: "egress: 127.0.0.1:0, enabled: false }"
            )
            .write(toFile: path, atomically: true, encoding: .utf8)
            let moved = try await eventually {
                try await Curl.run([url]).header("x-spaceport-route") == "servicea@default"
            }
            #expect(moved)
        }
    }

    @Test("an invalid edit is refused and reported, and the last good spaces stay in effect")
    func invalidChangeRefused() async throws {
        let path = temporaryPath("spaces.yaml")
        try await Walkthrough.with(path: path) { w in
            let rejected = Mutex<SpacesError?>(nil)
            let observer = w.proxy.store.observe { change in
                if case .rejected(let error) = change { rejected.withLock { $0 = error } }
            }
            defer { w.proxy.store.removeObserver(observer) }
            let text = try String(contentsOfFile: path, encoding: .utf8)
            try text.replacingOccurrences(of: "parent: default", with: "parent: nowhere")
                .write(toFile: path, atomically: true, encoding: .utf8)
            let reported = try await eventually { rejected.withLock { $0 } != nil }
            #expect(reported)
            #expect(rejected.withLock { $0 }?.description.contains("nowhere") == true)
            let response = try await Curl.run([w.proxy.url("azureuser.s.servicea.localhost")])
            #expect(response.header("x-spaceport-route") == "servicea@azureuser")
        }
    }

    @Test("an instance that gains an egress address in the file gets a listener, and loses it again")
    func listenersFollowTheFile() async throws {
        let path = temporaryPath("spaces.yaml")
        try await Walkthrough.with(path: path) { w in
            #expect(w.proxy.proxy.listeners?.egress(space: "default", service: "serviceb") == nil)
            let text = try String(contentsOfFile: path, encoding: .utf8)
            let withEgress = text.replacingOccurrences(
                of: "serviceb: { upstream: \(w.bDefault.address) }",
                with: "serviceb: { upstream: \(w.bDefault.address), egress: 127.0.0.1:0 }")
            try withEgress.write(toFile: path, atomically: true, encoding: .utf8)
            let bound = try await eventually {
                w.proxy.proxy.listeners?.egress(space: "default", service: "serviceb") != nil
            }
            #expect(bound)
            let egress = try #require(w.proxy.proxy.listeners?.egress(space: "default", service: "serviceb"))
            let call = try await Curl.run(["-x", "http://\(egress)", "http://servicea/"])
            #expect(call.header("x-spaceport-route") == "servicea@default")
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let gone = try await eventually {
                w.proxy.proxy.listeners?.egress(space: "default", service: "serviceb") == nil
            }
            #expect(gone)
        }
    }
}

@Suite("Starting and stopping")
struct LifecycleTests {
    @Test("shutting down lets a download in flight finish, then closes its listeners")
    func drain() async throws {
        let upstream = try await TestUpstream.start("app")
        let running = try await RunningProxy.start(
            """
            spaces:
              default:
                services:
                  app: { upstream: \(upstream.address) }
            """)
        let size = 20_000_000
        async let download = Curl.download([
            "--limit-rate", "10M", running.url("app.localhost", "/bytes/\(size)"),
        ])
        _ = try await running.hops.hopStarted()
        await running.proxy.shutdown(drainMs: 30_000)
        let result = try await download
        #expect(result.status == 200)
        #expect(result.bytes == size)
        // Not a connection attempt: another test may already have been given the freed port.
        #expect(running.proxy.listeners == nil)
        await upstream.stop()
    }

    @Test("an address in use stops the start with an error that names it")
    func addressInUse() async throws {
        let upstream = try await TestUpstream.start("app")
        let store = SpacesStore(
            tree: try SpacesFile.parse(
                text: "spaces:\n  default:\n    services:\n      app: { upstream: \(upstream.address) }\n",
                file: "test.yaml"))
        let proxy = RoutingProxy(store: store, ingress: upstream.address)
        await #expect {
            _ = try await proxy.start()
        } throws: { error in
            "\(error)".contains("cannot listen on \(upstream.address)") && "\(error)".contains("in use")
        }
        await upstream.stop()
    }
}

@Suite("Listening where others can reach")
struct ExposureTests {
    @Test("a listener on an address other machines can reach is logged as a warning")
    func nonLoopbackWarning() async throws {
        let lines = CapturingLogHandler.Lines()
        let logger = Logger(label: "test") { _ in CapturingLogHandler(lines: lines) }
        let store = SpacesStore(
            tree: try SpacesFile.parse(
                text: "spaces:\n  default:\n    services:\n      app: { upstream: 127.0.0.1:9 }\n",
                file: "t.yaml"))
        let proxy = RoutingProxy(store: store, ingress: Address(host: "0.0.0.0", port: 0), logger: logger)
        let listeners = try await proxy.start()
        await proxy.shutdown(drainMs: 1000)
        #expect(
            lines.all.contains {
                $0.level == .warning && $0.message.contains("0.0.0.0:\(listeners.ingress.port)")
                    && $0.message.contains("other machines can reach")
            })
    }
}
