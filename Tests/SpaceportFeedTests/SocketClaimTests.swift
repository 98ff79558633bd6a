import Foundation
import SpaceportCore
import Testing

@testable import SpaceportFeed

@Suite("Claiming the feed socket")
struct SocketClaimTests {
    /// Leaves a socket file nobody listens on, as a proxy that crashed would.
    private func leaveStaleSocket(at path: String) throws {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8))
            raw[path.utf8.count] = 0
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        close(descriptor)
        try #require(bound == 0)
    }

    @Test("a stale socket file left by a dead proxy is replaced")
    func staleSocketIsReplaced() async throws {
        let folder = Samples.temporaryFolder()
        try leaveStaleSocket(at: folder + "/t.sock")
        try "999999\n".write(toFile: folder + "/t.pid", atomically: true, encoding: .utf8)
        let feed = try await FeedFixture.start(folder: folder)
        let client = try await LineSocket.unix(feed.socketPath)
        #expect(Samples.greeting(try await client.nextEvent()) == Samples.hello)
        await client.close()
        await feed.stop()
    }

    @Test("a live feed socket is never taken over, and the error names the pid that holds it")
    func liveSocketIsKept() async throws {
        try await withFeed { feed in
            let second = FeedServer(
                hub: feed.hub, options: FeedServerOptions(name: "t", directory: feed.folder))
            await #expect(throws: FeedServerError.inUse(feed.socketPath, pid: Int(getpid()))) {
                _ = try await second.start()
            }
            let error = FeedServerError.inUse(feed.socketPath, pid: Int(getpid()))
            #expect(
                error.description.contains("process \(getpid()) is serving the feed at \(feed.socketPath)"))
            let client = try await LineSocket.unix(feed.socketPath)
            #expect(try await client.nextEvent().type == "hello")
            await client.close()
        }
    }

    @Test("a socket that answers is not taken over even when its pid file was removed")
    func liveSocketWithoutPidFile() async throws {
        try await withFeed { feed in
            try FileManager.default.removeItem(atPath: feed.folder + "/t.pid")
            let second = FeedServer(
                hub: feed.hub, options: FeedServerOptions(name: "t", directory: feed.folder))
            await #expect(throws: FeedServerError.inUse(feed.socketPath, pid: Int(getpid()))) {
                _ = try await second.start()
            }
            let client = try await LineSocket.unix(feed.socketPath)
            #expect(try await client.nextEvent().type == "hello")
            await client.close()
        }
    }

    @Test("a feed folder open to others is closed to 0700")
    func openFolderIsNarrowed() async throws {
        let folder = Samples.temporaryFolder()
        chmod(folder, 0o755)
        let feed = try await FeedFixture.start(folder: folder)
        var info = stat()
        #expect(stat(folder, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o700)
        await feed.stop()
    }

    @Test("a feed folder that belongs to someone else is refused with a clear error")
    func foreignFolderIsRefused() async throws {
        let parent = Samples.temporaryFolder()
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let folder = parent + "/f"
        #expect(mkdir(folder, 0o700) == 0)
        let stranger: uid_t = geteuid() == 0 ? 65534 : 0
        if geteuid() == 0 { #expect(chown(folder, stranger, gid_t(65534)) == 0) }
        let directory = geteuid() == 0 ? folder : "/"
        let hub = FeedHub(
            store: SpacesStore(tree: try SpacesFile.parse(text: Samples.spacesYAML, file: "s")),
            hello: Samples.hello)
        let server = FeedServer(hub: hub, options: FeedServerOptions(name: "t", directory: directory))
        do {
            _ = try await server.start()
            Issue.record("a folder of uid \(stranger) was accepted")
            await server.shutdown()
        } catch let error as FeedServerError {
            #expect(error == .folderNotOwned(directory, owner: Int(stranger), me: Int(geteuid())))
            #expect(error.description.contains("belongs to uid \(stranger), not to you"))
        }
    }

    @Test("a proxy name that is not a DNS label cannot name a socket")
    func badName() async throws {
        let hub = FeedHub(
            store: SpacesStore(tree: try SpacesFile.parse(text: Samples.spacesYAML, file: "s")),
            hello: Samples.hello)
        let server = FeedServer(hub: hub, options: FeedServerOptions(name: "../etc", directory: "/tmp"))
        await #expect(throws: FeedServerError.self) { _ = try await server.start() }
    }

    @Test("the runtime folder follows XDG_RUNTIME_DIR, else /tmp/spaceport-<uid>")
    func runtimeFolder() {
        #expect(
            FeedPaths.directory(environment: ["XDG_RUNTIME_DIR": "/run/user/1000"])
                == "/run/user/1000/spaceport")
        #expect(FeedPaths.directory(environment: [:]) == "/tmp/spaceport-\(geteuid())")
        #expect(
            FeedPaths.directory(environment: ["XDG_RUNTIME_DIR": "relative"]) == "/tmp/spaceport-\(geteuid())"
        )
        #expect(
            FeedPaths.socket(name: "spaceport", in: "/run/user/1000/spaceport")
                == "/run/user/1000/spaceport/spaceport.sock")
    }
}
