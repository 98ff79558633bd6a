import SpaceportCore

/// An instance named by its space and service; services match without case.
public struct InstanceRef: Hashable, Sendable, CustomStringConvertible {
    public var space: String
    /// As written in the spaces file.
    public var service: String

    public init(space: String, service: String) {
        self.space = space
        self.service = service
    }

    public static func == (a: InstanceRef, b: InstanceRef) -> Bool {
        a.space == b.space && Names.serviceKey(a.service) == Names.serviceKey(b.service)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(space)
        hasher.combine(Names.serviceKey(service))
    }

    public var description: String { "\(space)/\(service)" }
}

/// Where a running proxy listens, with ports the system picked filled in.
public struct ProxyListeners: Equatable, Sendable {
    public var ingress: Address
    /// Each instance's outbound proxy, by instance.
    public var egress: [InstanceRef: Address]
    /// Each instance's inbound address, by instance.
    public var listen: [InstanceRef: Address]

    public init(ingress: Address, egress: [InstanceRef: Address] = [:], listen: [InstanceRef: Address] = [:])
    {
        self.ingress = ingress
        self.egress = egress
        self.listen = listen
    }

    public func egress(space: String, service: String) -> Address? {
        egress[InstanceRef(space: space, service: service)]
    }

    public func listen(space: String, service: String) -> Address? {
        listen[InstanceRef(space: space, service: service)]
    }

    /// One line per listener, as the feed's hello lists them: `ingress 127.0.0.1:8080`,
    /// `egress:azureuser/servicea 127.0.0.1:7001`.
    public var descriptions: [String] {
        let egressLines = egress.map { "\(ListenerRole.egress($0.key).name) \($0.value)" }.sorted()
        let listenLines = listen.map { "\(ListenerRole.listen($0.key).name) \($0.value)" }.sorted()
        return ["\(ListenerRole.ingress.name) \(ingress)"] + egressLines + listenLines
    }
}

/// What a listener is for; it decides how a request there is routed and how hops name it.
enum ListenerRole: Hashable, Sendable {
    /// Requests from outside, routed by Host.
    case ingress
    /// An instance's outbound proxy: hops know their caller.
    case egress(InstanceRef)
    /// An instance's inbound address: HTTP is routed as its space, anything else goes to its upstream.
    case listen(InstanceRef)

    /// `ingress`, `egress:<space>/<service>` or `listen:<space>/<service>`.
    var name: String {
        switch self {
        case .ingress: return "ingress"
        case .egress(let instance): return "egress:\(instance)"
        case .listen(let instance): return "listen:\(instance)"
        }
    }

    /// The instance whose egress a request came through, for the hop's `from`.
    var caller: HopCaller? {
        guard case .egress(let instance) = self else { return nil }
        return HopCaller(space: instance.space, service: instance.service)
    }

    /// Every listener a tree asks for beyond ingress, with the address it names.
    static func instanceListeners(of tree: SpaceTree) -> [ListenerRole: Address] {
        var roles: [ListenerRole: Address] = [:]
        for space in tree.spaces {
            for instance in space.services {
                let ref = InstanceRef(space: space.name, service: instance.service)
                if let egress = instance.egress { roles[.egress(ref)] = egress }
                if let listen = instance.listen { roles[.listen(ref)] = listen }
            }
        }
        return roles
    }
}
