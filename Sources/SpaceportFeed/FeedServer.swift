import Dispatch
import Foundation
import Logging
import NIOCore
import NIOPosix
import SpaceportCore
import Synchronization

/// How a proxy serves its feed.
public struct FeedServerOptions: Sendable {
    /// Names the socket file: `<directory>/<name>.sock`.
    public var name: String
    /// The socket folder; nil for `FeedPaths.directory()`.
    public var directory: String?
    /// Also serve on TCP here, to clients that present `token` first. Without a token the
    /// server makes one and writes it, mode 0600, beside its socket (`FeedListeners.tokenFile`).
    public var tcp: Address?
    public var token: String?
    public var queueLimit: Int
    public var maxSubscribers: Int
    /// Longest command line accepted; a longer one gets an `error` and the connection closes.
    public var maxLineBytes: Int
    public var authTimeoutMs: Int

    public init(
        name: String = FeedPaths.defaultName, directory: String? = nil, tcp: Address? = nil,
        token: String? = nil, queueLimit: Int = FeedHub.defaultQueueLimit, maxSubscribers: Int = 256,
        maxLineBytes: Int = 64 * 1024, authTimeoutMs: Int = 10_000
    ) {
        self.name = name
        self.directory = directory
        self.tcp = tcp
        self.token = token
        self.queueLimit = queueLimit
        self.maxSubscribers = maxSubscribers
        self.maxLineBytes = maxLineBytes
        self.authTimeoutMs = authTimeoutMs
    }
}

/// Where a started feed server listens.
public struct FeedListeners: Sendable, Equatable {
    public var socketPath: String
    /// The bound TCP address (its real port when 0 was asked for).
    public var tcp: Address?
    /// Where the token the server made for its TCP feed is; nil when it was given one.
    public var tokenFile: String?
}

/// Serves a hub on a Unix socket (and optionally TCP) as newline-delimited JSON.
public final class FeedServer: Sendable {
    public let hub: FeedHub
    public let options: FeedServerOptions
    private let group: EventLoopGroup
    private let logger: Logger
    private let commands = DispatchQueue(label: "spaceport.feed.commands")
    private let running = Mutex<Running?>(nil)
    private let children = ChildChannels()

    struct Running {
        var claim: SocketClaim
        var listeners: [Channel]
        var tokenFile: String?
    }

    public init(
        hub: FeedHub, options: FeedServerOptions = FeedServerOptions(),
        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: SpaceportLog.label)
    ) {
        self.hub = hub
        self.options = options
        self.group = group
        self.logger = logger
    }

    /// Claims the socket (replacing a stale one, refusing a live one) and starts serving.
    public func start() async throws -> FeedListeners {
        if let problem = Names.problem(with: options.name) {
            throw FeedServerError.badName(options.name, problem: problem)
        }
        let directory = options.directory ?? FeedPaths.directory()
        let path = FeedPaths.socket(name: options.name, in: directory)
        guard path.utf8.count <= FeedPaths.maxSocketPathBytes else { throw FeedServerError.pathTooLong(path) }
        try FeedPaths.prepare(directory: directory)
        let claim = try SocketClaim.acquire(socketPath: path)
        var listeners: [Channel] = []
        var tokenFile: String? = nil
        do {
            do {
                listeners.append(try await bootstrap(token: nil).bind(unixDomainSocketPath: path).get())
            } catch {
                throw FeedServerError.bind(path, problem: Self.problem(error))
            }
            guard chmod(path, 0o600) == 0 else {
                throw FeedServerError.folder(
                    path, problem: "cannot make the socket 0600: \(FeedPaths.lastError())")
            }
            var bound: Address? = nil
            if let tcp = options.tcp {
                var token = options.token ?? ""
                if token.isEmpty {
                    // Written only once the socket is ours, so a running proxy's file is never replaced.
                    token = FeedToken.generate()
                    let file = FeedPaths.tokenFile(forSocket: path)
                    do {
                        try FeedToken.write(token, to: file)
                    } catch {
                        throw FeedServerError.token(error)
                    }
                    tokenFile = file
                }
                let channel: Channel
                do {
                    channel = try await bootstrap(token: token).bind(host: tcp.host, port: tcp.port)
                        .get()
                } catch {
                    throw FeedServerError.bind(tcp.description, problem: Self.problem(error))
                }
                listeners.append(channel)
                bound = tcp
                if let port = channel.localAddress?.port { bound?.port = port }
            }
            running.withLock { $0 = Running(claim: claim, listeners: listeners, tokenFile: tokenFile) }
            logger.debug("feed on \(path)\(bound.map { " and tcp \($0)" } ?? "")")
            return FeedListeners(socketPath: path, tcp: bound, tokenFile: tokenFile)
        } catch {
            for channel in listeners { try? await channel.close() }
            if let tokenFile { unlink(tokenFile) }
            claim.release()
            throw error
        }
    }

    /// Stops listening, disconnects every client and removes the socket file.
    public func shutdown() async {
        guard
            let current = running.withLock({ running -> Running? in
                defer { running = nil }
                return running
            })
        else { return }
        for channel in current.listeners { try? await channel.close() }
        for channel in children.all { try? await channel.close() }
        if let tokenFile = current.tokenFile { unlink(tokenFile) }
        current.claim.release()
    }

    private static func problem(_ error: Error) -> String {
        guard let error = error as? IOError else { return "\(error)" }
        return String(cString: strerror(error.errnoCode))
    }

    private func bootstrap(token: String?) -> ServerBootstrap {
        let settings = FeedConnectionHandler.Settings(
            token: token, queueLimit: options.queueLimit, maxSubscribers: options.maxSubscribers,
            authTimeout: .milliseconds(Int64(options.authTimeoutMs)))
        let maxLine = options.maxLineBytes
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 32 * 1024, high: 64 * 1024))
            .childChannelInitializer { [hub, commands, logger, children] channel in
                children.track(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(LineFrameDecoder(maxLength: maxLine)),
                        FeedConnectionHandler(
                            hub: hub, settings: settings, commands: commands, logger: logger))
                }
            }
    }
}

/// The connections a server accepted, so shutdown can close them.
final class ChildChannels: Sendable {
    private let channels = Mutex<[ObjectIdentifier: Channel]>([:])

    func track(_ channel: Channel) {
        let key = ObjectIdentifier(channel)
        channels.withLock { $0[key] = channel }
        channel.closeFuture.whenComplete { [self] _ in _ = channels.withLock { $0.removeValue(forKey: key) } }
    }

    var all: [Channel] { channels.withLock { Array($0.values) } }
}
