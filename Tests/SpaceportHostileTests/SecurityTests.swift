import Foundation
import SpaceportCore
import SpaceportFeed
import SpaceportProxy
import SpaceportWire
import Testing

@Suite("Security checks")
struct SecurityTests {
    @Test("every listener binds loopback unless the spaces file or the caller says otherwise")
    func loopbackByDefault() throws {
        #expect(RoutingProxy.defaultIngress.isLoopback)
        #expect(Settings().ingress == nil, "no ingress in the file means the loopback default")
        let starter = try SpacesFile.parse(text: SpacesFile.starter, file: "starter.yaml")
        #expect(starter.settings.ingress?.isLoopback == true, "the starter file binds beyond loopback")
        #expect(FeedServerOptions().tcp == nil, "the feed serves TCP without being asked")
    }

    @Test("a listener bound beyond loopback says so plainly in the log, and a loopback one does not")
    func nonLoopbackWarns() async throws {
        let upstream = try await RecordingUpstream.start()
        let open = try await HostileProxy.start(
            appTree(upstream.address), ingress: Address(host: "0.0.0.0", port: 0))
        let warnings = open.log.all.filter { $0.level == .warning }.map(\.message)
        await open.stop()
        #expect(
            warnings.contains { $0.contains("0.0.0.0") && $0.contains("other machines can reach") },
            "warnings: \(warnings)")
        let closed = try await HostileProxy.start(appTree(upstream.address))
        let quiet = closed.log.all.filter { $0.level >= .warning }.map(\.message)
        await closed.stop()
        #expect(quiet.isEmpty, "a loopback proxy warned: \(quiet)")
        await upstream.stop()
    }

    @Test("an egress listener bound beyond loopback warns too")
    func egressWarns() async throws {
        let upstream = try await RecordingUpstream.start()
        let proxy = try await HostileProxy.start(
            """
            spaces:
              default:
                services:
                  app: { upstream: \(upstream.address), egress: "0.0.0.0:0" }
            """)
        let warnings = proxy.log.all.filter { $0.level == .warning }.map(\.message)
        await proxy.stop()
        #expect(warnings.contains { $0.contains("egress") && $0.contains("other machines can reach") })
        await upstream.stop()
    }

    @Test("the feed folder is 0700 and its socket 0600")
    func feedModes() async throws {
        try await FeedRig.with { rig in
            var folder = stat()
            var socket = stat()
            #expect(lstat(rig.folder + "/feed", &folder) == 0)
            #expect(lstat(rig.socketPath, &socket) == 0)
            #expect(folder.st_mode & 0o777 == 0o700)
            #expect(socket.st_mode & 0o777 == 0o600)
            #expect(socket.st_mode & S_IFMT == S_IFSOCK)
        }
    }

    @Test("a feed folder owned by another user, or a symbolic link in its place, is refused")
    func foreignFeedFolder() async throws {
        try #require(geteuid() == 0, "changing a folder's owner needs root")
        let parent = temporaryFolder("hx")
        defer { try? FileManager.default.removeItem(atPath: parent) }
        let store = SpacesStore(tree: try SpacesFile.parse(text: FeedRig.yaml, file: "s.yaml"))
        let hub = FeedHub(store: store, hello: FeedHello(proxy: "x", pid: 1, version: "0", listeners: []))
        defer { hub.close() }
        let foreign = parent + "/foreign"
        #expect(mkdir(foreign, 0o700) == 0)
        #expect(chown(foreign, 65534, 65534) == 0)
        let server = FeedServer(hub: hub, options: FeedServerOptions(name: "x", directory: foreign))
        await #expect(throws: FeedServerError.folderNotOwned(foreign, owner: 65534, me: 0)) {
            _ = try await server.start()
        }
        #expect(!FileManager.default.fileExists(atPath: foreign + "/x.sock"))
        let real = parent + "/real"
        let link = parent + "/link"
        #expect(mkdir(real, 0o700) == 0)
        #expect(symlink(real, link) == 0)
        let linked = FeedServer(hub: hub, options: FeedServerOptions(name: "x", directory: link))
        do {
            _ = try await linked.start()
            Issue.record("a symbolic link was taken as the feed folder")
            await linked.shutdown()
        } catch let error as FeedServerError {
            #expect(error.description.contains("not a folder"), "\(error)")
        }
    }

    /// Reads lines until the server closes the connection.
    private static func linesUntilClosed(_ client: RawClient) -> [String] {
        String(decoding: client.readToEnd(), as: UTF8.self).split(separator: "\n").map(String.init)
    }

    @Test("the TCP feed refuses a missing, wrong or partial token, and a client that never authenticates")
    func tcpToken() async throws {
        let token = "s3cret-feed-token"
        let options = FeedServerOptions(
            tcp: Address(host: "127.0.0.1", port: 0), token: token, authTimeoutMs: 300)
        try await FeedRig.with(options: options) { rig in
            let tcp = try #require(rig.listeners.tcp)
            let tree = rig.store.tree
            let attempts = [
                ("wrong", #"{"cmd":"auth","token":"guess"}"#),
                ("prefix", #"{"cmd":"auth","token":"s3cret"}"#),
                ("longer", #"{"cmd":"auth","token":"s3cret-feed-token-and-more"}"#),
                ("empty", #"{"cmd":"auth","token":""}"#),
                ("missing", #"{"cmd":"override","space":"alice","service":"app","enabled":false,"id":"1"}"#),
                ("garbage", "\u{1B}[2J not json"),
            ]
            for (name, line) in attempts {
                let lines = try await blocking {
                    let client = try RawClient(tcp)
                    try client.send(line + "\n")
                    return Self.linesUntilClosed(client)
                }
                #expect(lines.count == 1, "\(name): \(lines)")
                guard let first = lines.first,
                    case .error(let message, _) = try? FeedEvent.decode(line: first)
                else {
                    Issue.record("\(name): no error line before the close: \(lines)")
                    continue
                }
                #expect(message.contains("token") || message.contains("authenticate"), "\(name): \(message)")
            }
            let silent = try await blocking { Self.linesUntilClosed(try RawClient(tcp)) }
            #expect(silent.count == 1 && silent[0].contains("no auth line"), "\(silent)")
            #expect(rig.store.tree == tree, "an unauthenticated client changed the spaces")
            let greeted = try await blocking {
                let client = try RawClient(tcp)
                try client.send(#"{"cmd":"auth","token":"s3cret-feed-token"}"# + "\n")
                return String(decoding: client.readSome() ?? [], as: UTF8.self)
            }
            #expect(greeted.hasPrefix(#"{"#) && greeted.contains(#""type":"hello""#))
        }
    }

    @Test("a TCP feed given no token makes its own, in a file only its owner may read, and takes only that")
    func tcpMakesItsToken() async throws {
        let options = FeedServerOptions(tcp: Address(host: "127.0.0.1", port: 0), authTimeoutMs: 300)
        try await FeedRig.with(options: options) { rig in
            let file = try #require(rig.listeners.tokenFile)
            #expect(file == rig.socketPath.replacingOccurrences(of: ".sock", with: ".token"))
            var info = stat()
            #expect(stat(file, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o600, "mode \(String(info.st_mode & 0o777, radix: 8))")
            #expect(info.st_uid == geteuid())
            let token = try FeedToken.read(file: file)
            #expect(token.count == 64 && token.allSatisfy(\.isHexDigit), "\(token)")
            let tcp = try #require(rig.listeners.tcp)
            let refused = try await blocking {
                let client = try RawClient(tcp)
                try client.send(#"{"cmd":"auth","token":"guess"}"# + "\n")
                return Self.linesUntilClosed(client)
            }
            #expect(refused.count == 1 && refused[0].contains("wrong token"), "\(refused)")
            let greeted = try await blocking {
                let client = try RawClient(tcp)
                try client.send(#"{"cmd":"auth","token":"\#(token)"}"# + "\n")
                return String(decoding: client.readSome() ?? [], as: UTF8.self)
            }
            #expect(greeted.contains(#""type":"hello""#))
            await rig.server.shutdown()
            #expect(access(file, F_OK) != 0, "the token file goes when the feed stops")
        }
    }
}
