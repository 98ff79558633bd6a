/// What a Host header says about routing (routing rules 1 and 3, docs/routing.md). The forms, under `domain`:
/// `<space>.s.<root>.<service>`, `<space>.s.<service>`, `<root>.<service>`, `<service>`,
/// and a bare `<service>` with no domain (as in `http://serviceb/`). A host outside the domain
/// may be a Kubernetes cluster name: `<service>.<namespace>`, `<service>.<namespace>.svc` or
/// `<service>.<namespace>.svc.cluster.local`.
public struct HostRoute: Equatable, Sendable {
    public var service: String
    /// The space the host routes as, if it names one.
    public var space: String?
    /// The root named by the four-label form.
    public var root: String?
    /// The namespace of a cluster name, which never names route-as.
    public var namespace: String?

    public init(service: String, space: String? = nil, root: String? = nil, namespace: String? = nil) {
        self.service = service
        self.space = space
        self.root = root
        self.namespace = namespace
    }

    /// What follows `<service>.<namespace>` in the longer cluster names, as cluster DNS writes them.
    public static let clusterSuffixes: [[Substring]] = [[], ["svc"], ["svc", "cluster", "local"]]

    /// Parses a Host value (port stripped, case ignored). Throws when the host names no
    /// service or holds a label that cannot be a space or service name.
    public static func parse(_ host: String, domain: String) throws(HostRouteError) -> HostRoute {
        let lowercase = host.utf8.allSatisfy {
            $0 < 0x80 && !($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z"))
        }
        var name = Substring(lowercase ? host : host.lowercased())
        if name.hasPrefix("[") { throw .notAServiceHost(host) }
        if let colon = name.lastIndex(of: ":") {
            let port = name[name.index(after: colon)...]
            guard port.allSatisfy(\.isASCIIDigit) else { throw .notAServiceHost(host) }
            name = name[..<colon]
        }
        if name.hasSuffix(".") { name = name.dropLast() }
        guard !name.isEmpty else { throw .notAServiceHost(host) }
        let domain = domain.lowercased()
        var labels: [Substring]
        if name == domain {
            throw .notAServiceHost(host)
        } else if !domain.isEmpty, name.hasSuffix("." + domain) {
            labels = name.dropLast(domain.count + 1).split(separator: ".", omittingEmptySubsequences: false)
        } else if !name.utf8.contains(UInt8(ascii: ".")) {
            labels = [name]
        } else {
            // Outside the domain only a cluster name routes; the domain is tried first, so
            // `serviceb.localhost` stays `<service>.<domain>`.
            labels = name.split(separator: ".", omittingEmptySubsequences: false)
            guard labels.count >= 2, clusterSuffixes.contains(Array(labels[2...])) else {
                throw .notUnderDomain(host, domain: domain)
            }
            for label in labels[..<2] where Names.problem(with: String(label)) != nil {
                throw .badLabel(String(label), host: host)
            }
            return HostRoute(service: String(labels[0]), namespace: String(labels[1]))
        }
        for label in labels where Names.problem(with: String(label)) != nil {
            throw .badLabel(String(label), host: host)
        }
        switch labels.count {
        case 4 where labels[1] == "s":
            return HostRoute(service: String(labels[3]), space: String(labels[0]), root: String(labels[2]))
        case 3 where labels[1] == "s":
            return HostRoute(service: String(labels[2]), space: String(labels[0]))
        case 2:
            return HostRoute(service: String(labels[1]), space: String(labels[0]), root: String(labels[0]))
        case 1:
            return HostRoute(service: String(labels[0]))
        default:
            throw .notAServiceHost(host)
        }
    }
}

public enum HostRouteError: Error, Equatable, Sendable, CustomStringConvertible {
    case notAServiceHost(String)
    case notUnderDomain(String, domain: String)
    case badLabel(String, host: String)

    public var description: String {
        switch self {
        case .notAServiceHost(let host):
            return
                "host '\(Printable.clip(host))' names no service; use <space>.s.<root>.<service>.<domain>, <space>.s.<service>.<domain>, <root>.<service>.<domain>, <service>.<domain>, a bare service name or a cluster name <service>.<namespace>.svc.cluster.local"
        case .notUnderDomain(let host, let domain):
            return "host '\(Printable.clip(host))' is not under the domain '\(domain)'"
        case .badLabel(let label, let host):
            return
                "host '\(Printable.clip(host))' has '\(Printable.clip(label))', which cannot be a space or service name"
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
