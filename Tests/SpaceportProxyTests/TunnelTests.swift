import Foundation
import NIOCore
import NIOWebSocket
import SpaceportCore
import SpaceportProxy
import Testing

@Suite("Tunnels: WebSocket, upgrades and raw TCP")
struct TunnelTests {
    @Test("a WebSocket echo works through the proxy, routed like any request, its frames intact both ways")
    func webSocketEcho() async throws {
        let server = try await WebSocketEchoServer.start()
        try await RunningProxy.with(
            """
            spaces:
              default:
                services:
                  chat: { upstream: \(server.address) }
            """
        ) { proxy in
            let client = try await WebSocketClient.connect(
                to: proxy.listeners.ingress, host: "chat.localhost:\(proxy.port)", path: "/room")
            let long = String(repeating: "x", count: 100_000)
            let binary = ByteBuffer(bytes: (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            let sent: [(WebSocketOpcode, ByteBuffer)] =
                ["hello", "through", "spaceport", long].map { (.text, ByteBuffer(string: $0)) } + [
                    (.binary, binary)
                ]
            let frames = try await client.exchange(sent, expecting: 1 + sent.count)
            #expect(
                frames.allSatisfy { $0.fin && $0.maskKey == nil }, "whole, unmasked frames from the server")
            #expect(frames.map(\.opcode) == [.text, .text, .text, .text, .text, .binary])
            let texts = frames.filter { $0.opcode == .text }.map { String(buffer: $0.data) }
            #expect(texts == [WebSocketEchoServer.greeting, "hello", "through", "spaceport", long])
            #expect(frames.last?.data == binary)
            let hop = try await proxy.hops.end()
            #expect(hop.protocol == .websocket)
            #expect(hop.status == 101)
            #expect(hop.space == "default")
            #expect(hop.path == "/room")
            #expect(hop.bytesIn > 100_000)
            #expect(hop.bytesOut > 100_000)
        }
        await server.stop()
    }

    @Test("bytes that arrive together with the 101 reach the client, then bytes flow raw both ways")
    func bytesWithSwitch() async throws {
        let server = try await UpgradeServer.start()
        try await RunningProxy.with(
            """
            spaces:
              default:
                services:
                  echo: { upstream: \(server.address) }
            """
        ) { proxy in
            let client = try RawClient(proxy.listeners.ingress)
            let response = try await blocking {
                try client.send(
                    "GET /switch HTTP/1.1\r\nHost: echo.localhost\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n"
                )
                return try client.readResponse()
            }
            #expect(response.status == 101)
            #expect(response.headers["x-spaceport-route"] == "echo@default")
            #expect(response.headers["upgrade"] == "echo")
            let greeting = try await blocking { client.read(count: UpgradeServer.greeting.utf8.count) }
            #expect(String(decoding: greeting, as: UTF8.self) == UpgradeServer.greeting)
            let echoed = try await blocking {
                try client.send("ping\u{0}\u{1}pong")
                return client.read(count: 10)
            }
            #expect(echoed == Array("ping\u{0}\u{1}pong".utf8))
        }
        await server.stop()
    }

    @Test(
        "at the listen address of an instance that speaks tcp, even an HTTP request passes through untouched")
    func rawInstance() async throws {
        let echo = try await EchoServer.start()
        try await RunningProxy.with(
            """
            spaces:
              default:
                services:
                  db: { upstream: \(echo.address), listen: 127.0.0.1:0, protocol: tcp }
            """
        ) { proxy in
            let listen = try #require(proxy.listeners.listen(space: "default", service: "db"))
            let request = "GET / HTTP/1.1\r\nHost: db\r\n\r\n"
            let echoed = try await blocking {
                let client = try RawClient(listen)
                try client.send(request)
                client.shutdownWrite()
                return client.readToEnd()
            }
            // Routed, it would have been answered with a response; relayed, it comes back as it went.
            #expect(String(decoding: echoed, as: UTF8.self) == request)
            let hop = try await proxy.hops.end()
            #expect(hop.protocol == .tcp)
        }
        await echo.stop()
    }

    @Test("bytes that are not HTTP pass through a listen address unmodified, both ways")
    func rawEcho() async throws {
        let echo = try await EchoServer.start()
        try await RunningProxy.with(
            """
            spaces:
              default:
                services:
                  db: { upstream: \(echo.address), listen: 127.0.0.1:0 }
            """
        ) { proxy in
            let listen = try #require(proxy.listeners.listen(space: "default", service: "db"))
            var payload: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0xFF, 0x0D, 0x0A]
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<1_000_000 { payload.append(UInt8.random(in: 0...255, using: &generator)) }
            let sent = payload
            let echoed = try await blocking {
                let client = try RawClient(listen)
                try client.send(sent)
                client.shutdownWrite()
                return client.readToEnd()
            }
            #expect(echoed.count == payload.count)
            #expect(echoed == payload)
            let hop = try await proxy.hops.end()
            #expect(hop.protocol == .tcp)
            #expect(hop.listener == "listen:default/db")
            #expect(hop.bytesIn == payload.count)
            #expect(hop.bytesOut == payload.count)
        }
        await echo.stop()
    }

    @Test("an HTTP request at a listen address is routed as that instance's space")
    func httpAtListen() async throws {
        let own = try await TestUpstream.start("servicea-azureuser")
        let parent = try await TestUpstream.start("servicea-default")
        try await RunningProxy.with(
            """
            spaces:
              default:
                services:
                  servicea: { upstream: \(parent.address) }
              azureuser:
                parent: default
                services:
                  servicea: { upstream: \(own.address), listen: 127.0.0.1:0 }
            """
        ) { proxy in
            let listen = try #require(proxy.listeners.listen(space: "azureuser", service: "servicea"))
            let direct = try await Curl.run(["http://\(listen)/hello"])
            #expect(direct.header("x-spaceport-route") == "servicea@azureuser")
            #expect(try direct.seen().header("azds-route-as") == "azureuser")
            try proxy.store.apply(.override(space: "azureuser", service: "servicea", enabled: false))
            let inherited = try await Curl.run(["http://\(listen)/hello"])
            #expect(inherited.header("x-spaceport-route") == "servicea@default")
            let hop = try await proxy.hops.end { $0.space == "default" }
            #expect(hop.listener == "listen:azureuser/servicea")
        }
        await own.stop()
        await parent.stop()
    }
}

/// Reads a process's output line by line, off the test's executor.
final class LineReader: @unchecked Sendable {
    private let handle: FileHandle
    private var buffer = Data()

    init(_ handle: FileHandle) {
        self.handle = handle
    }

    func next() async throws -> String {
        try await blocking { [self] in
            while true {
                if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: buffer[..<newline], as: UTF8.self)
                    buffer = Data(buffer[(newline + 1)...])
                    return line
                }
                let chunk = handle.availableData
                guard !chunk.isEmpty else { throw TestFailure("the process ended before a line") }
                buffer += chunk
            }
        }
    }
}
