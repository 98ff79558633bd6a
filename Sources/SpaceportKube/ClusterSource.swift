import Foundation
import Logging
import SpaceportCore
import Synchronization

/// What the cluster source tells its owner.
public enum ClusterUpdate: Sendable, Equatable {
    /// The tree changed: whole, valid, with what it left out.
    case tree(SpaceTree, problems: [ClusterProblem])
    /// The cluster's spaces are no valid tree: the last good one stays.
    case refused(problems: [ClusterProblem])
    case connection(ClusterConnection)
}

/// The tree from a cluster: labelled namespaces and their Services, listed and watched, mapped
/// to a `SpaceTree` and published only whole and only when it changed. Overrides are made on
/// the Services (`TreeEditor`), and come back through the watch.
public final class ClusterSource: TreeEditor, Sendable {
    public struct Options: Sendable {
        /// How long the API keeps a watch open before ending it (it is then started again).
        public var timeoutSeconds = 300
        public var backoff = Backoff()
        public var naming = UpstreamNaming.standard

        public init() {}
    }

    public let client: KubeClient
    public let settings: Settings
    let options: Options
    let logger: Logger
    private let state = Mutex(Combined())
    private let task = Mutex<Task<Void, Never>?>(nil)

    struct Combined {
        var namespaces: [String: Namespace]?
        var services: [String: Service]?
        var namespaceConnection = ClusterConnection.connecting
        var serviceConnection = ClusterConnection.connecting
        var published: ClusterSnapshot?
        var connection = ClusterConnection.connecting
    }

    public init(client: KubeClient, settings: Settings, options: Options = Options(), logger: Logger) {
        self.client = client
        self.settings = settings
        self.options = options
        self.logger = logger
    }

    /// Lists both kinds once: the tree as it is now, for `tree --kube` and `route --kube`.
    public func once() async throws(KubeError) -> (tree: SpaceTree?, problems: [ClusterProblem]) {
        let namespaces = try await client.list(Namespace.self, labelSelector: ClusterTree.spaceSelector)
        let services = try await client.list(Service.self)
        let snapshot = ClusterSnapshot(namespaces: namespaces.items, services: services.items)
        return ClusterTree.build(snapshot, settings: settings, naming: options.naming)
    }

    /// Starts listing and watching; `updates` hears each whole new tree and each change of the
    /// connection, one at a time.
    public func start(updates: @escaping @Sendable (ClusterUpdate) -> Void) {
        let namespaces = Informer<Namespace>(
            client: client, labelSelector: ClusterTree.spaceSelector, timeoutSeconds: options.timeoutSeconds,
            backoff: options.backoff)
        let services = Informer<Service>(
            client: client, labelSelector: nil, timeoutSeconds: options.timeoutSeconds,
            backoff: options.backoff)
        let running = Task { [self] in
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    await namespaces.run(
                        update: { objects in self.change(telling: updates) { $0.namespaces = objects } },
                        connection: { state in
                            self.change(telling: updates) { $0.namespaceConnection = state }
                        })
                }
                group.addTask {
                    await services.run(
                        update: { objects in self.change(telling: updates) { $0.services = objects } },
                        connection: { state in self.change(telling: updates) { $0.serviceConnection = state }
                        })
                }
            }
        }
        task.withLock { $0 = running }
    }

    public func stop() {
        task.withLock { $0 }?.cancel()
    }

    /// Applies a change to the combined state and tells `updates` what it brought. Called by
    /// both informers; told under the lock, so what they publish stays in order.
    private func change(
        telling updates: @Sendable (ClusterUpdate) -> Void, _ change: (inout Combined) -> Void
    ) {
        state.withLock { combined in
            change(&combined)
            var news: [ClusterUpdate] = []
            let connection: ClusterConnection
            switch (combined.namespaceConnection, combined.serviceConnection) {
            case (.reconnecting(let why), _), (_, .reconnecting(let why)): connection = .reconnecting(why)
            case (.live, .live): connection = .live
            default: connection = .connecting
            }
            if connection != combined.connection {
                combined.connection = connection
                news.append(.connection(connection))
            }
            if let namespaces = combined.namespaces, let services = combined.services {
                let snapshot = ClusterSnapshot(
                    namespaces: Array(namespaces.values), services: Array(services.values))
                if snapshot != combined.published {
                    combined.published = snapshot
                    let built = ClusterTree.build(snapshot, settings: settings, naming: options.naming)
                    if let tree = built.tree {
                        news.append(.tree(tree, problems: built.problems))
                    } else {
                        news.append(.refused(problems: built.problems))
                    }
                }
            }
            for update in news { updates(update) }
        }
    }

    /// An override is the Service's `spaceport.dev/enabled` annotation: "false" turns the
    /// instance off, no annotation leaves it on. Other edits belong to the cluster's own tools.
    public func apply(_ edit: SpaceEdit, to tree: SpaceTree) async throws(SpacesError) {
        guard case .override(let space, let service, let enabled) = edit else {
            throw .refusedBySource(
                "the spaces come from the cluster (\(client.access.summary)): \(edit) is made there, with kubectl (label namespaces \(ClusterTree.spaceSelector), create Services); only overrides are made from here"
            )
        }
        let name = tree.instance(service, in: space)?.service ?? service
        do {
            try await client.annotateService(
                namespace: space, name: name, key: ClusterTree.enabledAnnotation,
                value: enabled ? nil : "false")
            logger.info(
                "override \(name) in \(space) \(enabled ? "on" : "off"): Service annotated, waiting for the watch"
            )
        } catch {
            throw .refusedBySource(error.description)
        }
    }
}

/// Which cluster, and how to read it: what `--kube`, `--context`, `--kubeconfig` and
/// `--settings-configmap` say.
public struct ClusterTarget: Sendable {
    public var kubeconfig: String?
    public var context: String?
    /// `NS/NAME`; nil takes `spaceport-settings` in the proxy's namespace.
    public var settingsConfigMap: String?
    public var options = ClusterSource.Options()

    public init(kubeconfig: String? = nil, context: String? = nil, settingsConfigMap: String? = nil) {
        self.kubeconfig = kubeconfig
        self.context = context
        self.settingsConfigMap = settingsConfigMap
    }
}

extension ClusterSource {
    /// Finds the cluster's access, reads the settings ConfigMap, and makes the source (not started).
    public static func open(
        _ target: ClusterTarget, environment: [String: String] = ProcessInfo.processInfo.environment,
        logger: Logger
    ) async throws(KubeError) -> ClusterSource {
        let access = try ClusterAccess.find(
            kubeconfig: target.kubeconfig, context: target.context, environment: environment)
        let place = try ClusterSettings.location(flag: target.settingsConfigMap, access: access)
        let client = KubeClient(access: access, logger: logger)
        let settings: Settings
        do {
            let read = try await ClusterSettings.read(
                client: client, namespace: place.namespace, name: place.name)
            if !read.found {
                logger.notice(
                    "no ConfigMap \(place.namespace)/\(place.name): the default settings are in effect (`spaceport kube manifests` makes one)"
                )
            }
            settings = read.settings
        } catch {
            await client.shutdown()
            throw error
        }
        return ClusterSource(client: client, settings: settings, options: target.options, logger: logger)
    }
}
