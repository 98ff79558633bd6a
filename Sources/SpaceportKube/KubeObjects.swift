import Foundation

/// The parts of the Kubernetes API's objects the cluster source reads, decoded from the
/// JSON the API serves (core/v1 Namespace, Service, their lists, WatchEvent, meta/v1 Status).
public struct ObjectMeta: Codable, Equatable, Sendable {
    public var name: String
    public var namespace: String?
    public var resourceVersion: String?
    public var labels: [String: String]?
    public var annotations: [String: String]?

    public init(
        name: String, namespace: String? = nil, resourceVersion: String? = nil,
        labels: [String: String]? = nil,
        annotations: [String: String]? = nil
    ) {
        self.name = name
        self.namespace = namespace
        self.resourceVersion = resourceVersion
        self.labels = labels
        self.annotations = annotations
    }
}

public struct ListMeta: Codable, Equatable, Sendable {
    public var resourceVersion: String?
}

public struct Namespace: Codable, Equatable, Sendable {
    public var metadata: ObjectMeta

    public init(metadata: ObjectMeta) { self.metadata = metadata }
}

public struct ServicePort: Codable, Equatable, Sendable {
    public var name: String?
    public var port: Int
    public var `protocol`: String?
    public var appProtocol: String?

    public init(name: String? = nil, port: Int, protocol: String? = nil, appProtocol: String? = nil) {
        self.name = name
        self.port = port
        self.protocol = `protocol`
        self.appProtocol = appProtocol
    }

    /// The API's default protocol is TCP.
    public var isTCP: Bool { (self.protocol ?? "TCP") == "TCP" }
}

public struct ServiceSpec: Codable, Equatable, Sendable {
    public var clusterIP: String?
    public var ports: [ServicePort]?
    public var type: String?

    public init(clusterIP: String? = nil, ports: [ServicePort]? = nil, type: String? = nil) {
        self.clusterIP = clusterIP
        self.ports = ports
        self.type = type
    }
}

public struct Service: Codable, Equatable, Sendable {
    public var metadata: ObjectMeta
    public var spec: ServiceSpec?

    public init(metadata: ObjectMeta, spec: ServiceSpec? = nil) {
        self.metadata = metadata
        self.spec = spec
    }

    public var namespace: String { metadata.namespace ?? "default" }
}

/// NamespaceList and ServiceList: the items and the list's resourceVersion, to watch from.
public struct ObjectList<Item: Codable & Sendable>: Codable, Sendable {
    public var metadata: ListMeta?
    public var items: [Item]?
}

/// meta/v1 Status, the body of every error the API answers.
public struct Status: Codable, Equatable, Sendable {
    public struct Details: Codable, Equatable, Sendable {
        public var name: String?
        public var group: String?
        public var kind: String?
    }

    public var status: String?
    public var message: String?
    public var reason: String?
    public var details: Details?
    public var code: Int?

    public init(status: String?, message: String?, reason: String?, details: Details? = nil, code: Int?) {
        self.status = status
        self.message = message
        self.reason = reason
        self.details = details
        self.code = code
    }
}

/// One line of a watch stream: `{"type": "ADDED", "object": {...}}`.
public enum WatchEvent<Object: Sendable>: Sendable {
    case added(Object)
    case modified(Object)
    case deleted(Object)
    /// Only the resourceVersion is meaningful: everything up to it has been sent.
    case bookmark(resourceVersion: String)
    case error(Status)
}

/// Reads the envelope first, then the object as what the type says it is.
struct WatchLine<Object: Decodable & Sendable>: Decodable {
    let event: WatchEvent<Object>

    private enum Keys: String, CodingKey {
        case type
        case object
    }

    private struct BookmarkObject: Decodable {
        var metadata: ListMeta
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        let type = try container.decode(String.self, forKey: .type)
        switch type {
        case "ADDED": event = .added(try container.decode(Object.self, forKey: .object))
        case "MODIFIED": event = .modified(try container.decode(Object.self, forKey: .object))
        case "DELETED": event = .deleted(try container.decode(Object.self, forKey: .object))
        case "BOOKMARK":
            let object = try container.decode(BookmarkObject.self, forKey: .object)
            event = .bookmark(resourceVersion: object.metadata.resourceVersion ?? "")
        case "ERROR": event = .error(try container.decode(Status.self, forKey: .object))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: container, debugDescription: "unknown watch event type '\(type)'")
        }
    }
}

/// The kinds the cluster source lists and watches.
public protocol KubeResource: Codable, Equatable, Sendable {
    /// The collection's path: `/api/v1/namespaces`.
    static var path: String { get }
    /// The resource as RBAC names it, for a 403's advice.
    static var resource: String { get }
    var metadata: ObjectMeta { get }
}

extension KubeResource {
    /// Namespace/name for namespaced objects, the name alone for the rest.
    public var key: String {
        metadata.namespace.map { "\($0)/\(metadata.name)" } ?? metadata.name
    }
}

extension Namespace: KubeResource {
    public static let path = "/api/v1/namespaces"
    public static let resource = "namespaces"
}

extension Service: KubeResource {
    public static let path = "/api/v1/services"
    public static let resource = "services"
}

/// core/v1 ConfigMap: the settings a spaces file would hold, under `settings.yaml`.
public struct ConfigMap: Codable, Equatable, Sendable {
    public var metadata: ObjectMeta
    public var data: [String: String]?
}
