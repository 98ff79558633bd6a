import Foundation
import SpaceportCore
import SpaceportProxy
import Testing

/// A WebSocket echo server and a client in one Python process (Debian's python3-websockets):
/// it prints the server's port, reads the proxy's URL, sends messages through the proxy
/// and prints what came back.
private let webSocketScript = #"""
    import asyncio, sys, websockets

    async def echo(socket):
        async for message in socket:
            await socket.send(message)

    async def main():
        async with websockets.serve(echo, "127.0.0.1", 0, compression=None) as server:
            print(server.sockets[0].getsockname()[1], flush=True)
            url = sys.stdin.readline().strip()
            async with websockets.connect(url, host="127.0.0.1", compression=None) as client:
                for message in ["hello", "through", "spaceport", "x" * 100000]:
                    await client.send(message)
                    reply = await client.recv()
                    print(reply if len(reply) < 100 else "long:%d" % len(reply), flush=True)

    asyncio.run(main())
    """#

@Suite("Tunnels: WebSocket, upgrades and raw TCP")
struct TunnelTests {
    @Test("a WebSocket echo works through the proxy, routed like any request")
    func webSocketEcho() async throws {
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        python.arguments = ["-c", webSocketScript]
        let output = Pipe()
        let input = Pipe()
        python.standardOutput = output
        python.standardInput = input
        try python.run()
        defer { if python.isRunning { python.terminate() } }
        let lines = LineReader(output.fileHandleForReading)
        let port = try #require(Int(try await lines.next()))
        try await RunningProxy.with(
            """
            spaces:
              default:
                services:
                  chat: { upstream: 127.0.0.1:\(port) }
            """
        ) { proxy in
            input.fileHandleForWriting.write(Data("ws://chat.localhost:\(proxy.port)/room\n".utf8))
            var replies: [String] = []
            for _ in 0..<4 { replies.append(try await lines.next()) }
            #expect(replies == ["hello", "through", "spaceport", "long:100000"])
            let hop = try await proxy.hops.end()
            #expect(hop.protocol == .websocket)
            #expect(hop.status == 101)
            #expect(hop.space == "default")
            #expect(hop.bytesIn > 100_000)
            #expect(hop.bytesOut > 100_000)
        }
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
