import Foundation
import Logging
import SpaceportCore
import Synchronization

/// What the cluster's spaces tell those who show them: problems as they change, and the
/// connection to the API.
public enum ClusterReport: Sendable, Equatable {
    /// Problems that were not there in the tree before, each said once.
    case problems([ClusterProblem])
    case connection(ClusterConnection)
}

/// A store whose tree is the cluster's: the source's first whole tree, then each one after,
/// swapped only whole and valid; edits made through the store patch the cluster. The proxy,
/// the feed and the dashboard read the store as they read a spaces file's.
public final class ClusterSpaces: Sendable {
    public let store: SpacesStore
    public let source: ClusterSource
    private let state: Mutex<State>
    private let reader = Mutex<Task<Void, Never>?>(nil)

    struct State {
        var problems: [ClusterProblem]
        var connection = ClusterConnection.live
        var listeners: [@Sendable (ClusterReport) -> Void] = []
    }

    private init(store: SpacesStore, source: ClusterSource, problems: [ClusterProblem]) {
        self.store = store
        self.source = source
        self.state = Mutex(State(problems: problems))
    }

    /// Problems the tree in effect leaves out.
    public var problems: [ClusterProblem] { state.withLock { $0.problems } }
    public var connection: ClusterConnection { state.withLock { $0.connection } }

    /// Calls `listener` with each report from now on.
    public func listen(_ listener: @escaping @Sendable (ClusterReport) -> Void) {
        state.withLock { $0.listeners.append(listener) }
    }

    /// Starts `source` and waits for its first whole, valid tree (or `wait` at most). One task
    /// takes every update in order: the first tree makes the store, the rest follow it.
    public static func start(source: ClusterSource, wait: Duration = .seconds(30)) async throws(KubeError)
        -> ClusterSpaces
    {
        let (updates, continuation) = AsyncStream<ClusterUpdate>.makeStream(bufferingPolicy: .unbounded)
        source.start { continuation.yield($0) }
        let outcome = FirstOutcome<Result<ClusterSpaces, KubeError>>()
        let finish = { @Sendable (result: Result<ClusterSpaces, KubeError>) in outcome.settle(result) }
        let lastReason = Shared("no answer yet")
        let reader = Task {
            var made: ClusterSpaces?
            let timer = Task {
                try? await Task.sleep(for: wait)
                // Cancelled: the first tree (or a refusal) came in time.
                guard !Task.isCancelled else { return }
                let reason = lastReason.value
                finish(
                    .failure(
                        .unreachable(
                            server: source.client.access.server, detail: "no tree within \(wait): \(reason)"))
                )
            }
            for await update in updates {
                if let made {
                    made.receive(update)
                    continue
                }
                switch update {
                case .tree(let tree, let problems):
                    let spaces = ClusterSpaces(
                        store: SpacesStore(tree: tree, editor: source), source: source, problems: problems)
                    made = spaces
                    finish(.success(spaces))
                    timer.cancel()
                case .refused(let problems):
                    timer.cancel()
                    finish(
                        .failure(
                            .badResponse(
                                path: "the cluster's spaces",
                                detail: problems.map(\.description).joined(separator: "; "))))
                    return
                case .connection(.reconnecting(let reason)): lastReason.value = reason
                case .connection: break
                }
            }
        }
        let result = await outcome.value
        switch result {
        case .success(let spaces):
            spaces.reader.withLock { $0 = reader }
            return spaces
        case .failure(let error):
            source.stop()
            reader.cancel()
            await source.client.shutdown()
            throw error
        }
    }

    /// Stops listening and watching, and closes the client's connections.
    public func stop() async {
        source.stop()
        reader.withLock { $0 }?.cancel()
        await source.client.shutdown()
    }

    func receive(_ update: ClusterUpdate) {
        var reports: [ClusterReport] = []
        switch update {
        case .tree(let tree, let problems):
            store.follow(tree)
            reports += fresh(problems)
        case .refused(let problems):
            reports += fresh(problems)
        case .connection(let connection):
            state.withLock { $0.connection = connection }
            reports.append(.connection(connection))
        }
        let listeners = state.withLock { $0.listeners }
        for report in reports {
            for listener in listeners { listener(report) }
        }
    }

    /// The problems not reported before; all are kept as the current set.
    private func fresh(_ problems: [ClusterProblem]) -> [ClusterReport] {
        let new = state.withLock { state -> [ClusterProblem] in
            defer { state.problems = problems }
            return problems.filter { !state.problems.contains($0) }
        }
        return new.isEmpty ? [] : [.problems(new)]
    }
}

/// A value set once by whoever comes first, awaited by one reader that may come before or after.
final class FirstOutcome<Value: Sendable>: Sendable {
    private enum Phase {
        case empty
        case waiting(CheckedContinuation<Value, Never>)
        case settled(Value)
    }

    private let phase = Mutex(Phase.empty)

    func settle(_ value: Value) {
        let waiter = phase.withLock { phase -> CheckedContinuation<Value, Never>? in
            switch phase {
            case .empty:
                phase = .settled(value)
                return nil
            case .waiting(let continuation):
                phase = .settled(value)
                return continuation
            case .settled:
                return nil
            }
        }
        waiter?.resume(returning: value)
    }

    var value: Value {
        get async {
            await withCheckedContinuation { continuation in
                let ready = phase.withLock { phase -> Value? in
                    if case .settled(let value) = phase { return value }
                    phase = .waiting(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}

/// A value several tasks read and write.
final class Shared<Value: Sendable>: Sendable {
    private let lock: Mutex<Value>

    init(_ value: Value) { lock = Mutex(value) }

    var value: Value {
        get { lock.withLock { $0 } }
        set { lock.withLock { $0 = newValue } }
    }
}
