import SpaceportCore
import SpaceportFeed
import SpaceportKube
import Yams

/// What runs Spaceport in a cluster, as `kubectl apply -f -` takes it: the namespace, its service
/// account and the least RBAC the cluster source needs, the settings, the feed's token, the proxy's
/// Deployment in `--kube` mode, its Service and an Ingress for `*.<domain>`.
public struct KubeManifests: Sendable {
    public var namespace: String
    public var settings: Settings
    public var image: String
    public var ingressPort: Int
    public var feedPort: Int
    public var adminPort: Int
    /// The token feed clients present (`dash --attach tcp://… --token-file`), and the admin listener's.
    public var feedToken: String
    public var adminToken: String

    public static let defaultNamespace = ClusterSettings.defaultNamespace
    public static let defaultImage = "spaceport:\(SpaceportVersion.current)"
    public static let name = "spaceport"
    public static let defaultIngressPort = 8080
    public static let defaultFeedPort = 7070
    public static let defaultAdminPort = 9090
    public static let settingsConfigMap = ClusterSettings.defaultName
    /// The ConfigMap's key: the top-level settings of a spaces file, with no `spaces:`.
    public static let settingsKey = ClusterSettings.dataKey
    public static let secret = "spaceport-tokens"
    public static let feedTokenKey = "feed-token"
    public static let adminTokenKey = "admin-token"
    /// A writable folder in a read-only container: the feed socket, the admin token copy.
    public static let runtimeFolder = "/run/spaceport"
    public static let user = 65532

    /// The rules of the ClusterRole, and of the Role on the settings: nothing beyond these.
    public static let clusterRules: [Rule] = [
        Rule(resources: ["namespaces"], verbs: ["get", "list", "watch"]),
        Rule(resources: ["services"], verbs: ["get", "list", "watch", "patch"]),
    ]
    public static let settingsRule = Rule(
        resources: ["configmaps"], verbs: ["get"], resourceNames: [settingsConfigMap])

    public struct Rule: Equatable, Sendable {
        public var resources: [String]
        public var verbs: [String]
        public var resourceNames: [String] = []
    }

    public init(
        namespace: String = defaultNamespace, settings: Settings = Settings(), image: String = defaultImage,
        ingressPort: Int = defaultIngressPort, feedPort: Int = defaultFeedPort,
        adminPort: Int = defaultAdminPort,
        feedToken: String = FeedToken.generate(), adminToken: String = FeedToken.generate()
    ) {
        self.namespace = namespace
        self.settings = settings
        self.image = image
        self.ingressPort = ingressPort
        self.feedPort = feedPort
        self.adminPort = adminPort
        self.feedToken = feedToken
        self.adminToken = adminToken
    }

    /// The container's arguments: `spaceport proxy` in `--kube` mode, on every address of the pod.
    public var proxyArguments: [String] {
        [
            "proxy", "--kube", "--ingress", "0.0.0.0:\(ingressPort)", "--feed-tcp", "0.0.0.0:\(feedPort)",
            "--admin", "0.0.0.0:\(adminPort)", "--admin-token-file", "\(Self.runtimeFolder)/admin-token",
        ]
    }

    /// Every document, in the order `kubectl apply` creates them.
    public var documents: [Node] {
        [
            object("v1", "Namespace", namespaced: false, []),
            object("v1", "ServiceAccount", []),
            object(
                "rbac.authorization.k8s.io/v1", "ClusterRole", namespaced: false,
                [("rules", rules(Self.clusterRules))]),
            binding("ClusterRoleBinding", role: "ClusterRole"),
            object(
                "rbac.authorization.k8s.io/v1", "Role", name: Self.settingsConfigMap,
                [("rules", rules([Self.settingsRule]))]),
            binding("RoleBinding", role: "Role", name: Self.settingsConfigMap),
            object(
                "v1", "ConfigMap", name: Self.settingsConfigMap,
                [("data", map([(Self.settingsKey, text(settingsText))]))]),
            secretDocument,
            deployment,
            service,
            ingress,
        ]
    }

    /// The manifests as one YAML stream, the documents split by `---`.
    public func yaml() throws -> String {
        try Yams.serialize(nodes: documents, explicitStart: true, sortKeys: false)
    }

    var settingsText: String {
        (try? Yams.serialize(node: SpacesFile.settingsNode(settings))) ?? ""
    }

    private var secretDocument: Node {
        let tokens = map([
            (Self.feedTokenKey, text(feedToken)),
            (Self.adminTokenKey, text(adminToken)),
        ])
        return object("v1", "Secret", name: Self.secret, [("type", text("Opaque")), ("stringData", tokens)])
    }

    private var labels: Node { map([("app.kubernetes.io/name", text(Self.name))]) }

    private var ports: [(name: String, port: Int)] {
        [("http", ingressPort), ("feed", feedPort), ("admin", adminPort)]
    }

    private var deployment: Node {
        let restricted = map([
            ("allowPrivilegeEscalation", flag(false)),
            ("readOnlyRootFilesystem", flag(true)),
            ("runAsNonRoot", flag(true)),
            ("capabilities", map([("drop", list([text("ALL")]))])),
            ("seccompProfile", map([("type", text("RuntimeDefault"))])),
        ])
        let runtime = map([("name", text("runtime")), ("mountPath", text(Self.runtimeFolder))])
        let tokens = map([
            ("name", text("tokens")), ("mountPath", text("/etc/spaceport/tokens")), ("readOnly", flag(true)),
        ])
        // The admin token file must be the proxy's own and closed to others, which a Secret
        // volume's file (root's) is not: an init container copies it, as the same user.
        let copyToken = map([
            ("name", text("admin-token")),
            ("image", text(image)),
            (
                "command",
                list(
                    [
                        "install", "-m", "0600", "/etc/spaceport/tokens/\(Self.adminTokenKey)",
                        "\(Self.runtimeFolder)/admin-token",
                    ].map(text))
            ),
            ("securityContext", restricted),
            ("volumeMounts", list([runtime, tokens])),
            ("resources", resources),
        ])
        let env = list([
            map([("name", text("XDG_RUNTIME_DIR")), ("value", text(Self.runtimeFolder))]),
            map([
                ("name", text(FeedToken.environmentVariable)),
                (
                    "valueFrom",
                    map([
                        (
                            "secretKeyRef",
                            map([("name", text(Self.secret)), ("key", text(Self.feedTokenKey))])
                        )
                    ])
                ),
            ]),
            map([
                ("name", text("POD_NAMESPACE")),
                ("valueFrom", map([("fieldRef", map([("fieldPath", text("metadata.namespace"))]))])),
            ]),
        ])
        let proxy = map([
            ("name", text("proxy")),
            ("image", text(image)),
            ("args", list(proxyArguments.map(text))),
            ("env", env),
            (
                "ports",
                list(ports.map { map([("name", text($0.name)), ("containerPort", number($0.port))]) })
            ),
            ("readinessProbe", probe("/readyz", period: 5)),
            ("livenessProbe", probe("/healthz", period: 10)),
            ("resources", resources),
            ("securityContext", restricted),
            ("volumeMounts", list([runtime, tokens])),
        ])
        let pod = map([
            ("serviceAccountName", text(Self.name)),
            (
                "securityContext",
                map([
                    ("runAsNonRoot", flag(true)),
                    ("runAsUser", number(Self.user)),
                    ("runAsGroup", number(Self.user)),
                    ("fsGroup", number(Self.user)),
                    ("seccompProfile", map([("type", text("RuntimeDefault"))])),
                ])
            ),
            ("initContainers", list([copyToken])),
            ("containers", list([proxy])),
            (
                "volumes",
                list([
                    map([("name", text("runtime")), ("emptyDir", map([("medium", text("Memory"))]))]),
                    map([
                        ("name", text("tokens")),
                        ("secret", map([("secretName", text(Self.secret)), ("defaultMode", number(0o440))])),
                    ]),
                ])
            ),
        ])
        return object(
            "apps/v1", "Deployment",
            [
                (
                    "spec",
                    map([
                        ("replicas", number(1)),
                        ("selector", map([("matchLabels", labels)])),
                        ("template", map([("metadata", map([("labels", labels)])), ("spec", pod)])),
                    ])
                )
            ])
    }

    private var resources: Node {
        map([
            ("requests", map([("cpu", text("100m")), ("memory", text("64Mi"))])),
            ("limits", map([("cpu", text("1")), ("memory", text("256Mi"))])),
        ])
    }

    private func probe(_ path: String, period: Int) -> Node {
        map([
            ("httpGet", map([("path", text(path)), ("port", text("admin"))])),
            ("periodSeconds", number(period)),
            ("failureThreshold", number(3)),
        ])
    }

    private var service: Node {
        let ports = list(
            ports.map {
                map([
                    ("name", text($0.name)), ("port", number($0.port)), ("targetPort", text($0.name)),
                    ("protocol", text("TCP")),
                ])
            })
        return object("v1", "Service", [("spec", map([("selector", labels), ("ports", ports)]))])
    }

    private var ingress: Node {
        let backend = map([
            ("service", map([("name", text(Self.name)), ("port", map([("name", text("http"))]))]))
        ])
        let path = map([("path", text("/")), ("pathType", text("Prefix")), ("backend", backend)])
        let rule = map([
            ("host", text("*.\(settings.domain)")),
            ("http", map([("paths", list([path]))])),
        ])
        return object("networking.k8s.io/v1", "Ingress", [("spec", map([("rules", list([rule]))]))])
    }

    private func binding(_ kind: String, role: String, name: String = KubeManifests.name) -> Node {
        object(
            "rbac.authorization.k8s.io/v1", kind, name: name, namespaced: kind == "RoleBinding",
            [
                (
                    "roleRef",
                    map([
                        ("apiGroup", text("rbac.authorization.k8s.io")), ("kind", text(role)),
                        ("name", text(name)),
                    ])
                ),
                (
                    "subjects",
                    list([
                        map([
                            ("kind", text("ServiceAccount")), ("name", text(Self.name)),
                            ("namespace", text(namespace)),
                        ])
                    ])
                ),
            ])
    }

    private func rules(_ rules: [Rule]) -> Node {
        list(
            rules.map { rule in
                var fields = [
                    ("apiGroups", list([text("")])),
                    ("resources", list(rule.resources.map(text))),
                ]
                if !rule.resourceNames.isEmpty {
                    fields.append(("resourceNames", list(rule.resourceNames.map(text))))
                }
                fields.append(("verbs", list(rule.verbs.map(text))))
                return map(fields)
            })
    }

    /// A document: its kind, its metadata (named `name`, in the namespace unless it is cluster-wide) and `fields`.
    private func object(
        _ apiVersion: String, _ kind: String, name: String? = nil, namespaced: Bool = true,
        _ fields: [(String, Node)]
    ) -> Node {
        var metadata = [("name", text(kind == "Namespace" ? namespace : name ?? Self.name))]
        if namespaced { metadata.append(("namespace", text(namespace))) }
        metadata.append(("labels", labels))
        return map(
            [("apiVersion", text(apiVersion)), ("kind", text(kind)), ("metadata", map(metadata))] + fields)
    }

    private func map(_ pairs: [(String, Node)]) -> Node { Node(pairs.map { (Node($0.0), $0.1) }) }
    private func list(_ nodes: [Node]) -> Node { Node(nodes) }
    private func number(_ value: Int) -> Node { Node(String(value), Tag(.int)) }
    private func flag(_ value: Bool) -> Node { Node(String(value), Tag(.bool)) }

    /// A string, quoted when YAML would read it plain as something else (`8080`, `true`, `null`),
    /// and a block of lines (the settings) as a literal block, as a person would write it.
    private func text(_ value: String) -> Node {
        if value.contains("\n") { return Node(value, Tag(.str), .literal) }
        let plain = Node(value)
        return Resolver.default.resolveTag(of: plain) == .str ? plain : Node(value, Tag(.str), .doubleQuoted)
    }
}
