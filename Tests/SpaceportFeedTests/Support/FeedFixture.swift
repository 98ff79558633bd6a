import Foundation
import NIOPosix
import SpaceportCore

@testable import SpaceportFeed

/// A real store on a temporary spaces file, a hub over it and a server on a Unix socket
/// in a temporary folder; `stop` removes it all.
struct FeedFixture: Sendable {
    let folder: String
    let spacesPath: String
    let store: SpacesStore
    let hub: FeedHub
    let server: FeedServer
    let listeners: FeedListeners

    var socketPath: String { listeners.socketPath }

    static func start(
        name: String = "t", folder: String? = nil, options: FeedServerOptions = FeedServerOptions()
    ) async throws -> FeedFixture {
        let folder = folder ?? Samples.temporaryFolder()
        mkdir(folder, 0o700)
        let spacesPath = folder + "/spaces.yaml"
        if !FileManager.default.fileExists(atPath: spacesPath) {
            try Samples.spacesYAML.write(toFile: spacesPath, atomically: true, encoding: .utf8)
        }
        let store = try SpacesStore(path: spacesPath)
        let hub = FeedHub(store: store, hello: Samples.hello)
        var settings = options
        settings.name = name
        settings.directory = folder
        let server = FeedServer(hub: hub, options: settings)
        let listeners = try await server.start()
        return FeedFixture(
            folder: folder, spacesPath: spacesPath, store: store, hub: hub, server: server,
            listeners: listeners)
    }

    func spacesFileText() throws -> String { try String(contentsOfFile: spacesPath, encoding: .utf8) }

    func stop(removingFolder: Bool = true) async {
        await server.shutdown()
        hub.close()
        if removingFolder { try? FileManager.default.removeItem(atPath: folder) }
    }
}

/// Runs `body` with a started fixture and always stops it.
func withFeed(
    name: String = "t", options: FeedServerOptions = FeedServerOptions(),
    _ body: (FeedFixture) async throws -> Void
) async throws {
    let fixture = try await FeedFixture.start(name: name, options: options)
    do {
        try await body(fixture)
    } catch {
        await fixture.stop()
        throw error
    }
    await fixture.stop()
}

extension FeedServerOptions {
    /// A TCP feed on 127.0.0.1:0 with `token`, whose wait for the auth line outlasts any test:
    /// a test about what an unauthenticated command gets must not meet the auth timeout
    /// instead when a loaded machine delays its first write.
    static func tcpForTests(token: String) throws -> FeedServerOptions {
        FeedServerOptions(tcp: try Address(parsing: "127.0.0.1:0"), token: token, authTimeoutMs: 600_000)
    }
}
