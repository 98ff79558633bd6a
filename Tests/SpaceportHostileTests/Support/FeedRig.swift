import Foundation
import SpaceportCore
import SpaceportFeed
import SpaceportWire

/// A blocking client of a feed's Unix socket that speaks in lines, as any program would.
final class UnixLineClient: @unchecked Sendable {
    private let fd: Int32
    private var pending: [UInt8] = []
    private var closed = false

    init(_ path: String, timeoutSeconds: Int = 30, receiveBuffer: Int32? = nil) throws {
        fd = try Sockets.stream(AF_UNIX)
        Sockets.configure(fd, timeoutSeconds: timeoutSeconds, receiveBuffer: receiveBuffer)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            Glibc.close(fd)
            throw TestFailure("cannot connect to \(path): \(String(cString: strerror(errno)))")
        }
    }

    deinit { close() }

    func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }

    func send(_ line: String) throws { try send(Array((line.hasSuffix("\n") ? line : line + "\n").utf8)) }

    func send(_ bytes: [UInt8]) throws {
        try Sockets.sendAll(fd, bytes)
    }

    /// The next line without its newline, or nil once the server closed (or nothing came in time).
    func readLine() -> String? {
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeFirst(newline + 1)
                return line
            }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            pending += buffer[..<count]
        }
    }

    func readEvent() -> FeedEvent? { readLine().flatMap { try? FeedEvent.decode(line: $0) } }
}

/// A store on a temporary spaces file, a hub over it, and a feed server on a Unix socket
/// in a temporary folder.
struct FeedRig {
    static let yaml = """
        # spaces under attack
        spaces:
          default:
            services:
              app: { upstream: 127.0.0.1:5001 }
              other: { upstream: 127.0.0.1:5002 }
          alice:
            parent: default
            services:
              app: { upstream: 127.0.0.1:6001 }

        """

    let folder: String
    let spacesPath: String
    let store: SpacesStore
    let hub: FeedHub
    let server: FeedServer
    let listeners: FeedListeners

    var socketPath: String { listeners.socketPath }

    static func start(options: FeedServerOptions = FeedServerOptions()) async throws -> FeedRig {
        let folder = temporaryFolder("hf")
        let spacesPath = folder + "/spaces.yaml"
        try yaml.write(toFile: spacesPath, atomically: true, encoding: .utf8)
        let store = try SpacesStore(path: spacesPath)
        let hub = FeedHub(
            store: store, hello: FeedHello(proxy: "hostile", pid: Int(getpid()), version: "0", listeners: []))
        var settings = options
        settings.name = "h"
        settings.directory = folder + "/feed"
        let server = FeedServer(hub: hub, options: settings)
        let listeners = try await server.start()
        return FeedRig(
            folder: folder, spacesPath: spacesPath, store: store, hub: hub, server: server,
            listeners: listeners)
    }

    static func with(options: FeedServerOptions = FeedServerOptions(), _ body: (FeedRig) async throws -> Void)
        async throws
    {
        let rig = try await start(options: options)
        do {
            try await body(rig)
        } catch {
            await rig.stop()
            throw error
        }
        await rig.stop()
    }

    func stop() async {
        await server.shutdown()
        hub.close()
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Server-side connections on the socket: Linux lists each accepted one under the listener's path.
    func serverConnections() -> Int {
        guard let text = ProcessGauges.procText("/proc/net/unix") else { return -1 }
        return text.split(separator: "\n").dropFirst().count { line in
            let fields = line.split(separator: " ")
            return fields.count >= 8 && fields[5] == "03" && fields[7] == socketPath
        }
    }
}
