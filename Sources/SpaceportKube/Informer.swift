import Foundation

/// How long to wait before the next try after `failures` failures in a row: doubling from
/// `base` up to `cap`, each wait drawn between half and all of that, so that many proxies
/// that lost the API at once do not come back at once.
public struct Backoff: Sendable, Equatable {
    public var base: Duration
    public var cap: Duration

    public init(base: Duration = .milliseconds(500), cap: Duration = .seconds(30)) {
        self.base = base
        self.cap = cap
    }

    public func delay(after failures: Int, draw: Double = Double.random(in: 0.5...1)) -> Duration {
        guard failures > 0 else { return .zero }
        let doubled = base * Int(1 << min(failures - 1, 20))
        return min(doubled, cap) * draw
    }
}

/// One kind's list-then-watch as a state machine fed what happened, returning what to do
/// next: the objects as last listed and watched, and the resourceVersion to watch from.
public struct InformerState<Object: KubeResource>: Sendable {
    public private(set) var objects: [String: Object] = [:]
    /// Where the next watch starts; nil lists first.
    public private(set) var resourceVersion: String?
    public private(set) var failures = 0

    public enum Step: Equatable, Sendable {
        case list
        case watch(from: String)
    }

    /// What an event did to the objects.
    public enum Outcome: Equatable, Sendable {
        case changed
        case unchanged
        /// The resourceVersion is too old (an ERROR event with a 410 Status): list again.
        case relist(String)
        /// Another ERROR event: the stream is of no more use; watch again.
        case failed(String)
    }

    public init() {}

    public var next: Step { resourceVersion.map { .watch(from: $0) } ?? .list }

    /// A list replaces every object at once; true when that changed them.
    @discardableResult
    public mutating func listed(_ items: [Object], resourceVersion: String) -> Bool {
        let fresh = Dictionary(items.map { ($0.key, $0) }, uniquingKeysWith: { _, last in last })
        let changed = fresh != objects
        objects = fresh
        self.resourceVersion = resourceVersion
        failures = 0
        return changed
    }

    public mutating func apply(_ event: WatchEvent<Object>) -> Outcome {
        failures = 0
        switch event {
        case .added(let object), .modified(let object):
            if let version = object.metadata.resourceVersion { resourceVersion = version }
            guard objects[object.key] != object else { return .unchanged }
            objects[object.key] = object
            return .changed
        case .deleted(let object):
            if let version = object.metadata.resourceVersion { resourceVersion = version }
            return objects.removeValue(forKey: object.key) == nil ? .unchanged : .changed
        case .bookmark(let version):
            if !version.isEmpty { resourceVersion = version }
            return .unchanged
        case .error(let status):
            let said = status.message ?? status.reason ?? "an ERROR event"
            if status.code == 410 || status.reason == "Expired" || status.reason == "Gone" {
                resourceVersion = nil
                return .relist(said)
            }
            return .failed(said)
        }
    }

    /// The list or watch failed: a 410 lists again at once, anything else waits its turn and
    /// then watches from the last resourceVersion seen (or lists, if there is none yet).
    public mutating func failed(_ error: KubeError, backoff: Backoff) -> Duration {
        if case .gone = error {
            resourceVersion = nil
            return .zero
        }
        failures += 1
        return backoff.delay(after: failures)
    }

    /// The API closed the watch after its timeoutSeconds: watch again at once.
    public mutating func watchEnded() { failures = 0 }
}

/// Whether the cluster source hears the API: live, or trying again and why.
public enum ClusterConnection: Equatable, Sendable, CustomStringConvertible {
    case connecting
    case live
    case reconnecting(String)

    public var description: String {
        switch self {
        case .connecting: return "connecting"
        case .live: return "live"
        case .reconnecting(let reason): return "reconnecting: \(reason)"
        }
    }
}

/// Runs one kind's list-then-watch until cancelled, telling `update` of each change of its
/// objects (whole) and `connection` of each change of state.
struct Informer<Object: KubeResource>: Sendable {
    var client: KubeClient
    var labelSelector: String?
    var timeoutSeconds: Int
    var backoff: Backoff

    func run(
        update: @Sendable ([String: Object]) -> Void, connection: @Sendable (ClusterConnection) -> Void
    ) async {
        var state = InformerState<Object>()
        while !Task.isCancelled {
            do throws(KubeError) {
                switch state.next {
                case .list:
                    let listed = try await client.list(Object.self, labelSelector: labelSelector)
                    // Told even when unchanged: the first list of an empty kind says the kind is known.
                    state.listed(listed.items, resourceVersion: listed.resourceVersion)
                    update(state.objects)
                    connection(.live)
                case .watch(let from):
                    try await client.watch(
                        Object.self, labelSelector: labelSelector, from: from, timeoutSeconds: timeoutSeconds,
                        opened: { connection(.live) },
                        handle: { event throws(KubeError) in
                            switch state.apply(event) {
                            case .changed: update(state.objects)
                            case .unchanged: break
                            case .relist(let why): throw KubeError.gone(path: "\(Object.path) (\(why))")
                            case .failed(let why):
                                throw KubeError.streamEnded(path: Object.path, detail: "ERROR event: \(why)")
                            }
                        })
                    state.watchEnded()
                }
            } catch {
                if Task.isCancelled { return }
                let wait = state.failed(error, backoff: backoff)
                connection(.reconnecting(Self.reason(error)))
                if wait > .zero { try? await Task.sleep(for: wait) }
            }
        }
    }

    /// Short, for the status bar: "410 Gone, listing again", "watch silent", "connection refused".
    static func reason(_ error: KubeError) -> String {
        switch error {
        case .gone: return "\(Object.resource): 410 Gone, listing again"
        case .streamEnded(_, let detail): return "\(Object.resource) watch ended (\(detail))"
        default: return error.description
        }
    }
}
