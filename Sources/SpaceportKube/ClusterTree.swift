import SpaceportCore

/// The labelled namespaces and the Services of a cluster at one moment, whole.
public struct ClusterSnapshot: Equatable, Sendable {
    public var namespaces: [Namespace]
    public var services: [Service]

    public init(namespaces: [Namespace], services: [Service]) {
        self.namespaces = namespaces.sorted { $0.metadata.name < $1.metadata.name }
        self.services = services.sorted { $0.key < $1.key }
    }
}

/// Something in the cluster the tree leaves out, said so the user can fix it.
public enum ClusterProblem: Error, Equatable, Sendable, CustomStringConvertible {
    case missingParent(namespace: String, parent: String)
    case parentLeftOut(namespace: String, parent: String)
    case tooDeep(namespace: String, chain: [String])
    case cycle(namespace: String, chain: [String])
    case badParent(namespace: String, parent: String, problem: String)
    case headless(service: String, namespace: String)
    case noUsablePort(service: String, namespace: String, ports: [String])
    case annotatedPortMissing(service: String, namespace: String, port: String)
    case badEnabled(service: String, namespace: String, value: String)
    case badServiceName(service: String, namespace: String, problem: String)
    case invalidTree(String)

    public var description: String {
        switch self {
        case .missingParent(let namespace, let parent):
            return
                "namespace \(namespace): its \(ClusterTree.parentLabel) '\(parent)' is no namespace labelled \(ClusterTree.spaceLabel)=true; label it, or fix the label (\(namespace) is left out)"
        case .parentLeftOut(let namespace, let parent):
            return "namespace \(namespace): its parent \(parent) is left out, so it is too"
        case .tooDeep(let namespace, let chain):
            return
                "namespace \(namespace): \(chain.joined(separator: " → ")) is a fourth level; spaces go at most root → child → grandchild (\(namespace) is left out)"
        case .cycle(let namespace, let chain):
            return
                "namespace \(namespace): its parents go round (\(chain.joined(separator: " → "))); point one \(ClusterTree.parentLabel) at a root (\(namespace) is left out)"
        case .badParent(let namespace, let parent, let problem):
            return
                "namespace \(namespace): \(ClusterTree.parentLabel) '\(parent)': \(problem) (\(namespace) is left out)"
        case .headless(let service, let namespace):
            return
                "Service \(namespace)/\(service) is headless (clusterIP: None): it has no one address to route to; give it a cluster IP (it is left out)"
        case .noUsablePort(let service, let namespace, let ports):
            let list = ports.isEmpty ? "no ports" : "ports \(ports.joined(separator: ", "))"
            return
                "Service \(namespace)/\(service) has \(list), none named http or grpc…; annotate \(ClusterTree.portAnnotation): NAME with the one to route to (it is left out)"
        case .annotatedPortMissing(let service, let namespace, let port):
            return
                "Service \(namespace)/\(service): \(ClusterTree.portAnnotation) names '\(port)', which is none of its TCP ports; fix the annotation (it is left out)"
        case .badEnabled(let service, let namespace, let value):
            return
                "Service \(namespace)/\(service): \(ClusterTree.enabledAnnotation) is '\(value)', not \"true\" or \"false\"; taken as \"true\""
        case .badServiceName(let service, let namespace, let problem):
            return "Service \(namespace)/\(service): \(problem) (it is left out)"
        case .invalidTree(let problem):
            return
                "the cluster's spaces are not a valid tree (\(problem)); the last good tree stays in effect"
        }
    }
}

/// How an instance's upstream host is named: the Service's cluster DNS name (the default), or
/// its cluster IP, which needs no lookup.
public enum UpstreamNaming: Sendable, Equatable {
    case clusterDNS(domain: String)
    case clusterIP

    public static let standard = UpstreamNaming.clusterDNS(domain: "cluster.local")
}

/// Turns a cluster's namespaces and Services into Spaceport's tree, and says what it left out.
public enum ClusterTree {
    public static let spaceLabel = "azds.io/space"
    public static let parentLabel = "azds.io/parent-space"
    public static let enabledAnnotation = "spaceport.dev/enabled"
    public static let portAnnotation = "spaceport.dev/port"
    /// The namespaces that are spaces, as the API selects them.
    public static let spaceSelector = "\(spaceLabel)=true"

    public static func build(
        _ snapshot: ClusterSnapshot, settings: Settings = Settings(), naming: UpstreamNaming = .standard
    ) -> (tree: SpaceTree?, problems: [ClusterProblem]) {
        var problems: [ClusterProblem] = []
        let labelled = snapshot.namespaces.filter { $0.metadata.labels?[spaceLabel] == "true" }
        let parents = Dictionary(
            labelled.map {
                ($0.metadata.name, $0.metadata.labels?[parentLabel].flatMap { $0.isEmpty ? nil : $0 })
            },
            uniquingKeysWith: { first, _ in first })
        // Each namespace's chain up to its root, or why it has none.
        var kept: [String: [String]] = [:]
        for namespace in labelled.map(\.metadata.name) {
            var chain = [namespace]
            var problem: ClusterProblem?
            while let parent = parents[chain.last!] ?? nil {
                if chain.contains(parent) {
                    problem = .cycle(namespace: namespace, chain: (chain + [parent]).reversed())
                    break
                }
                if let bad = Names.problem(with: parent) {
                    problem = .badParent(namespace: chain.last!, parent: parent, problem: bad)
                    break
                }
                guard parents.keys.contains(parent) else {
                    problem =
                        chain.count == 1
                        ? .missingParent(namespace: namespace, parent: parent)
                        : .parentLeftOut(namespace: namespace, parent: chain[1])
                    break
                }
                chain.append(parent)
            }
            if problem == nil, chain.count > SpaceTree.maxDepth {
                problem =
                    chain.count == SpaceTree.maxDepth + 1
                    ? .tooDeep(namespace: namespace, chain: chain.reversed())
                    : .parentLeftOut(namespace: namespace, parent: chain[1])
            }
            if let problem { problems.append(problem) } else { kept[namespace] = chain }
        }
        var spaces: [Space] = []
        let byNamespace = Dictionary(grouping: snapshot.services, by: \.namespace)
        for namespace in labelled.map(\.metadata.name) where kept[namespace] != nil {
            var instances: [Instance] = []
            for service in byNamespace[namespace] ?? [] {
                switch instance(of: service, naming: naming) {
                case .success(let (instance, warning)):
                    instances.append(instance)
                    if let warning { problems.append(warning) }
                case .failure(let problem): problems.append(problem)
                }
            }
            spaces.append(Space(name: namespace, parent: parents[namespace] ?? nil, services: instances))
        }
        do {
            return (try SpaceTree(settings: settings, spaces: spaces), problems)
        } catch {
            return (nil, problems + [.invalidTree(error.description)])
        }
    }

    /// A Service as an instance, with a warning it may carry, or why it cannot be one.
    static func instance(
        of service: Service, naming: UpstreamNaming
    ) -> Result<(Instance, ClusterProblem?), ClusterProblem> {
        let name = service.metadata.name
        let namespace = service.namespace
        if let problem = Names.serviceProblem(with: name) {
            return .failure(.badServiceName(service: name, namespace: namespace, problem: problem))
        }
        let clusterIP = service.spec?.clusterIP
        if clusterIP == "None" { return .failure(.headless(service: name, namespace: namespace)) }
        let port: ServicePort
        switch self.port(of: service) {
        case .success(let chosen): port = chosen
        case .failure(let problem): return .failure(problem)
        }
        let host: String
        switch naming {
        case .clusterDNS(let domain): host = "\(name).\(namespace).svc.\(domain)"
        case .clusterIP:
            guard let clusterIP, !clusterIP.isEmpty else {
                return .failure(.headless(service: name, namespace: namespace))
            }
            host = clusterIP
        }
        var warning: ClusterProblem?
        var enabled = true
        switch service.metadata.annotations?[enabledAnnotation] {
        case nil, "true": break
        case "false": enabled = false
        case let other?: warning = .badEnabled(service: name, namespace: namespace, value: other)
        }
        var instance = Instance(
            service: name, upstream: Address(host: host, port: port.port), enabled: enabled)
        // gRPC and kubernetes.io/h2c ports speak HTTP/2 with prior knowledge: so does the proxy to them.
        if port.appProtocol == "kubernetes.io/h2c" || (port.name ?? "").hasPrefix("grpc") {
            instance.upstreamProtocol = .h2c
        }
        return .success((instance, warning))
    }

    /// The port named http or grpc… (or whose appProtocol says HTTP), else the only TCP
    /// port, else the one the port annotation names.
    static func port(of service: Service) -> Result<ServicePort, ClusterProblem> {
        let name = service.metadata.name
        let namespace = service.namespace
        let tcp = (service.spec?.ports ?? []).filter(\.isTCP)
        let named = tcp.filter { port in
            let portName = port.name ?? ""
            return portName == "http" || portName.hasPrefix("grpc") || port.appProtocol == "http"
                || port.appProtocol == "kubernetes.io/h2c"
        }
        if named.count == 1 { return .success(named[0]) }
        if named.isEmpty, tcp.count == 1 { return .success(tcp[0]) }
        if let wanted = service.metadata.annotations?[portAnnotation] {
            guard let port = tcp.first(where: { $0.name == wanted || String($0.port) == wanted }) else {
                return .failure(.annotatedPortMissing(service: name, namespace: namespace, port: wanted))
            }
            return .success(port)
        }
        let ports = tcp.map { port in port.name.map { "\($0) (\(port.port))" } ?? "\(port.port)" }
        return .failure(.noUsablePort(service: name, namespace: namespace, ports: ports))
    }
}
