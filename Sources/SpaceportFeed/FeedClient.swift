import Foundation
import NIOCore
import NIOPosix
import SpaceportCore
import SpaceportWire
import Synchronization

/// Attaches to one or more feeds and merges them into one stream of `events`.
///
/// A feed counts as connected once its `hello` arrives. A feed that goes away is tried
/// again with backoff; with `.auto`, sockets that appear in the runtime folder are
/// attached and those removed are let go. Call `stop()` when done.
public final class FeedClient: Sendable {
    public struct Backoff: Sendable {
        public var initialMs: Int
        public var maxMs: Int

        public init(initialMs: Int = 100, maxMs: Int = 2000) {
            self.initialMs = initialMs
            self.maxMs = maxMs
        }
    }

    /// The merged events, for a single reader. When that reader falls more than
    /// `bufferLimit` events behind, it reads `dropped {count}` instead of what it missed.
    /// Empty when the client was made with `deliver`.
    public let events: AsyncStream<FeedClientEvent>
    public let targets: [FeedTarget]
    private let continuation: AsyncStream<FeedClientEvent>.Continuation
    private let deliver: (@Sendable (consuming FeedClientEvent) -> Void)?
    private let token: String?
    private let directory: String
    private let group: EventLoopGroup
    private let backoff: Backoff
    private let discoveryIntervalMs: Int
    private let shaping: HopShaping
    private let state = Mutex(State())

    static let maxLineBytes = 16 * 1024 * 1024
    public static let defaultBufferLimit = 16384

    struct State {
        var links: [String: Link] = [:]
        var pending: [String: Pending] = [:]
        var nextCommand = 0
        var dropped = 0
        var droppedInAll = 0
        var watcher: Task<Void, Never>?
        var stopped = false
    }

    struct Link {
        var task: Task<Void, Never>?
        var writer: NIOAsyncChannelOutboundWriter<ByteBuffer>?
    }

    struct Pending {
        var source: String
        /// Resumed with the answer: an `ack`, or the event a command asked for.
        var continuation: CheckedContinuation<Result<FeedEvent, FeedClientError>, Never>
        var timer: Task<Void, Never>? = nil
    }

    /// A client for `targets`; `token` is sent to TCP feeds, `directory` is where `.auto`
    /// and proxy names look (`FeedPaths.directory()` when nil). `deliver`, when given, hears
    /// each event on the task reading its feed instead of through `events`, with no task
    /// switch per event; it must not block, and it bounds its own backlog. `shaping` asks each
    /// proxy to send a hop that has already ended as its end alone (`coalesce-hops`), for
    /// readers that merge a hop's phases anyway, and at most so many hops a second with exact
    /// tallies (`sample-hops`), for readers that show rates.
    public init(
        targets: [FeedTarget], token: String? = nil, directory: String? = nil,
        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton, backoff: Backoff = Backoff(),
        discoveryIntervalMs: Int = 500, bufferLimit: Int = FeedClient.defaultBufferLimit,
        shaping: HopShaping = .none,
        deliver: (@Sendable (consuming FeedClientEvent) -> Void)? = nil
    ) {
        self.deliver = deliver
        self.shaping = shaping
        self.targets = targets
        self.token = token
        self.directory = directory ?? FeedPaths.directory()
        self.group = group
        self.backoff = backoff
        self.discoveryIntervalMs = discoveryIntervalMs
        (events, continuation) = AsyncStream.makeStream(
            bufferingPolicy: .bufferingOldest(max(1, bufferLimit)))
    }

    /// Makes a first attempt at every target and returns once each has answered or failed.
    /// Throws `.noFeed` (and stops) when `requireFeed` and none answered; otherwise the
    /// client keeps trying in the background.
    public func start(requireFeed: Bool = true) async throws(FeedClientError) {
        var sources = targets.filter { $0 != .auto }.map { ($0.description, $0, false) }
        let auto = targets.contains(.auto)
        if auto { sources += FeedPaths.sockets(in: directory).map { ($0, FeedTarget.unix($0), true) } }
        let failures = await withTaskGroup(of: String?.self) { group in
            for (source, target, discovered) in sources {
                group.addTask {
                    await withCheckedContinuation { first in
                        self.launch(source, target: target, discovered: discovered, first: first)
                    }
                }
            }
            var failures: [String] = []
            for await failure in group { if let failure { failures.append(failure) } }
            return failures
        }
        if auto {
            let watcher = Task { await self.discover() }
            state.withLock { $0.watcher = watcher }
        }
        if requireFeed && failures.count == sources.count {
            await stop()
            var reasons = failures.sorted()
            let discovered = sources.contains { $0.2 }
            if auto && !discovered {
                reasons.insert("no proxy feed socket in \(directory)", at: 0)
            } else if reasons.isEmpty {
                reasons = ["no feed was named"]
            }
            throw .noFeed(reasons)
        }
    }

    /// Events lost so far because the reader of `events` fell behind.
    public var droppedEvents: Int { state.withLock { $0.droppedInAll } }

    /// The feeds connected now.
    public var connectedSources: [String] {
        state.withLock { $0.links.filter { $0.value.writer != nil }.keys.sorted() }
    }

    /// Sends `edit` to `source` (or to the only connected feed) and waits for its `ack`;
    /// throws `.rejected` with the proxy's message when it answers `error`.
    public func send(_ edit: SpaceEdit, to source: String? = nil, timeout: Duration = .seconds(10))
        async throws(FeedClientError)
    {
        _ = try await command(to: source, timeout: timeout) { .edit(id: $0, edit) }
    }

    /// Asks `source`'s proxy to send hop `hop`'s request again routed as `space`, and waits for
    /// its `ack`, which comes once the replay's response begins.
    public func replay(
        hop: String, as space: String, to source: String? = nil, timeout: Duration = .seconds(70)
    )
        async throws(FeedClientError)
    {
        _ = try await command(to: source, timeout: timeout) { .replay(id: $0, hop: hop, space: space) }
    }

    /// The request hop `hop` kept in `source`'s proxy, sensitive values left out.
    public func request(hop: String, from source: String? = nil, timeout: Duration = .seconds(10))
        async throws(FeedClientError) -> KeptRequestView
    {
        let answer = try await command(to: source, timeout: timeout) { .request(id: $0, hop: hop) }
        guard case .request(_, let view) = answer else {
            throw .rejected("the proxy answered without the request")
        }
        return view
    }

    /// Sends the command `make` builds with an id of this client's, and waits for its answer.
    private func command(
        to source: String?, timeout: Duration, _ make: (String) -> FeedCommand
    ) async throws(FeedClientError) -> FeedEvent {
        let (writer, chosen, id) = try state.withLock {
            state throws(FeedClientError) -> (NIOAsyncChannelOutboundWriter<ByteBuffer>, String, String) in
            guard !state.stopped else { throw .stopped }
            let connected = state.links.filter { $0.value.writer != nil }
            let chosen: String
            if let source {
                chosen = source
            } else if connected.count == 1 {
                chosen = connected.first!.key
            } else if connected.isEmpty {
                throw .notConnected(nil)
            } else {
                throw .ambiguous(connected.keys.sorted())
            }
            guard let writer = connected[chosen]?.writer else { throw .notConnected(chosen) }
            state.nextCommand += 1
            return (writer, chosen, "c\(state.nextCommand)")
        }
        let line = ByteBuffer(string: make(id).jsonLine())
        let result = await withCheckedContinuation { continuation in
            let accepted = state.withLock { state in
                guard !state.stopped else { return false }
                state.pending[id] = Pending(source: chosen, continuation: continuation)
                return true
            }
            guard accepted else {
                continuation.resume(returning: .failure(.stopped))
                return
            }
            let timer = Task {
                try? await Task.sleep(for: timeout)
                if !Task.isCancelled { self.resolve(id, .failure(.timedOut(chosen))) }
            }
            state.withLock { $0.pending[id]?.timer = timer }
            Task {
                do {
                    try await writer.write(line)
                } catch {
                    self.resolve(id, .failure(.disconnected(chosen)))
                }
            }
        }
        return try result.get()
    }

    /// Detaches from every feed and ends `events`.
    public func stop() async {
        let tasks = state.withLock { state -> [Task<Void, Never>] in
            state.stopped = true
            return state.links.values.compactMap(\.task) + [state.watcher].compactMap { $0 }
        }
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
        let pending = state.withLock { state -> [Pending] in
            defer { state.pending = [:] }
            return Array(state.pending.values)
        }
        for waiting in pending {
            waiting.timer?.cancel()
            waiting.continuation.resume(returning: .failure(.stopped))
        }
        continuation.finish()
    }

    private func launch(
        _ source: String, target: FeedTarget, discovered: Bool,
        first: CheckedContinuation<String?, Never>?
    ) {
        let added = state.withLock { state in
            guard !state.stopped, state.links[source] == nil else { return false }
            state.links[source] = Link()
            return true
        }
        guard added else {
            first?.resume(returning: "\(source): already attached")
            return
        }
        let task = Task {
            await self.run(source: source, target: target, discovered: discovered, first: first)
            _ = self.state.withLock { $0.links.removeValue(forKey: source) }
        }
        state.withLock { $0.links[source]?.task = task }
    }

    private func discover() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(discoveryIntervalMs))
            for path in FeedPaths.sockets(in: directory) {
                launch(path, target: .unix(path), discovered: true, first: nil)
            }
        }
    }

    /// One feed's life: connect, read until it closes, then wait and try again.
    private func run(
        source: String, target: FeedTarget, discovered: Bool, first: CheckedContinuation<String?, Never>?
    ) async {
        var first = first
        var delay = backoff.initialMs
        while !Task.isCancelled {
            var greeted = false
            var refused = false
            var reason = "the proxy closed the feed"
            do {
                let channel = try await connect(target)
                try await channel.executeThenClose { inbound, outbound in
                    if case .tcp = target {
                        try await outbound.write(
                            ByteBuffer(string: FeedCommand.auth(token: token ?? "").jsonLine()))
                    }
                    for command in shaping.commands {
                        try await outbound.write(ByteBuffer(string: command.jsonLine()))
                    }
                    for try await line in inbound {
                        guard let event = line.withUnsafeReadableBytes({ try? FeedEvent.decode(bytes: $0) })
                        else { continue }
                        if !greeted {
                            if case .error(let message, _) = event {
                                reason = "\(source): \(Printable.clip(message, max: 200))"
                                refused = true
                                break
                            }
                            guard case .hello = event else { continue }
                            greeted = true
                            delay = backoff.initialMs
                            state.withLock { $0.links[source]?.writer = outbound }
                            yield(.connected(source: source))
                            first?.resume(returning: nil)
                            first = nil
                        }
                        resolveReply(to: event)
                        yield(.event(source: source, event))
                    }
                }
            } catch {
                reason = describe(error, source: source, target: target)
            }
            forget(source)
            // Detaching on purpose (stop) is not a lost feed.
            let stopping = Task.isCancelled || state.withLock { $0.stopped }
            if greeted && !stopping { yield(.disconnected(source: source, reason: reason)) }
            first?.resume(returning: reason)
            first = nil
            if refused || (discovered && !exists(target)) { return }
            try? await Task.sleep(for: .milliseconds(delay))
            delay = min(delay * 2, backoff.maxMs)
        }
    }

    private func connect(_ target: FeedTarget) async throws -> NIOAsyncChannel<ByteBuffer, ByteBuffer> {
        let bootstrap = ClientBootstrap(group: group).connectTimeout(.seconds(5))
        let initializer: @Sendable (Channel) -> EventLoopFuture<NIOAsyncChannel<ByteBuffer, ByteBuffer>> = {
            channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(
                    ByteToMessageHandler(LineFrameDecoder(maxLength: FeedClient.maxLineBytes)))
                return try NIOAsyncChannel(wrappingChannelSynchronously: channel)
            }
        }
        switch target {
        case .unix(let path):
            return try await bootstrap.connect(unixDomainSocketPath: path, channelInitializer: initializer)
        case .tcp(let host, let port):
            return try await bootstrap.connect(host: host, port: port, channelInitializer: initializer)
        case .auto:
            throw FeedClientError.notConnected("auto")
        }
    }

    private func exists(_ target: FeedTarget) -> Bool {
        guard case .unix(let path) = target else { return true }
        return access(path, F_OK) == 0
    }

    private func describe(_ error: Error, source: String, target: FeedTarget) -> String {
        if case .unix(let path) = target, !exists(target) { return "no feed socket at \(path)" }
        if let error = error as? IOError {
            return "\(source): \(String(cString: strerror(error.errnoCode)))"
        }
        if let error = error as? NIOConnectionError,
            let first = error.connectionErrors.first?.error as? IOError
        {
            return "\(source): \(String(cString: strerror(first.errnoCode)))"
        }
        return "\(source): \(error)"
    }

    private func yield(_ event: consuming FeedClientEvent) {
        guard let deliver else { return enqueue(event) }
        deliver(event)
    }

    private func enqueue(_ event: FeedClientEvent) {
        state.withLock { state in
            if state.dropped > 0 {
                let source: String
                switch event {
                case .connected(let name), .event(let name, _), .disconnected(let name, _): source = name
                }
                guard
                    case .enqueued = continuation.yield(
                        .event(source: source, .dropped(count: state.dropped)))
                else {
                    state.dropped += 1
                    state.droppedInAll += 1
                    return
                }
                state.dropped = 0
            }
            if case .dropped = continuation.yield(event) {
                state.dropped += 1
                state.droppedInAll += 1
            }
        }
    }

    private func resolveReply(to event: FeedEvent) {
        switch event {
        case .ack(let id), .request(let id, _): resolve(id, .success(event))
        case .error(let message, let id?): resolve(id, .failure(.rejected(message)))
        default: break
        }
    }

    private func resolve(_ id: String, _ result: Result<FeedEvent, FeedClientError>) {
        let waiting = state.withLock { $0.pending.removeValue(forKey: id) }
        waiting?.timer?.cancel()
        waiting?.continuation.resume(returning: result)
    }

    /// The feed is gone: it takes no more commands, and those awaiting it fail.
    private func forget(_ source: String) {
        let orphans = state.withLock { state -> [String] in
            state.links[source]?.writer = nil
            return state.pending.filter { $0.value.source == source }.map(\.key)
        }
        for id in orphans { resolve(id, .failure(.disconnected(source))) }
    }
}
