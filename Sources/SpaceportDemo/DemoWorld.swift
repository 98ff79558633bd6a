import Foundation
import NIOCore
import NIOPosix
import SpaceportCore

/// The built-in world of `spaceport demo`: three levels of spaces and a running service
/// behind every instance, so every kind of fallback is on screen at once, and a gRPC greeter
/// in the root and in azureuser.
public final class DemoWorld: Sendable {
    /// One instance of the demo: where it lives and the ports it prefers.
    struct Plan {
        var space: String
        var service: String
        var calls: String?
        var port: Int
        var egressPort: Int
    }

    static let plans = [
        Plan(space: "default", service: "servicea", calls: "serviceb", port: 5001, egressPort: 7001),
        Plan(space: "default", service: "serviceb", calls: "servicec", port: 5002, egressPort: 7002),
        Plan(space: "default", service: "servicec", calls: nil, port: 5003, egressPort: 7003),
        Plan(space: "azureuser", service: "servicea", calls: "serviceb", port: 6001, egressPort: 7004),
        Plan(space: "hotfix", service: "serviceb", calls: "servicec", port: 6002, egressPort: 7005),
    ]
    /// The gRPC greeter's instances: one in the root, and azureuser's own, which hotfix inherits.
    static let greeterPlans = [(space: "default", port: 5004), (space: "azureuser", port: 6003)]
    static let parents = ["default": nil, "azureuser": "default", "hotfix": "azureuser"] as [String: String?]
    /// The service that forgets the route: azureuser's servicea, which serves the requests routed
    /// as hotfix too (hotfix has no servicea of its own), so its call to serviceb, routed as its
    /// own space when it carries nothing, misses hotfix's serviceb. (An instance of the
    /// grandchild could not lose the route: its calls, through its egress, route as hotfix anyway.)
    public static let forgetful = (space: "azureuser", service: "servicea")
    /// What the forgetful service passes on when the demo starts: nothing, so a `lost` hop
    /// shows within seconds of the first request routed as hotfix.
    public static let forgetfulStarts = DemoForwarding.nothing
    public static let preferredIngress = Address(host: "127.0.0.1", port: 8080)

    public let tree: SpaceTree
    public let services: [DemoService]
    public let greeters: [DemoGreeter]

    init(tree: SpaceTree, services: [DemoService], greeters: [DemoGreeter]) {
        self.tree = tree
        self.services = services
        self.greeters = greeters
        forgetfulService.forwarding = Self.forgetfulStarts
    }

    /// The service that forgets the route, `forgetful`.
    public var forgetfulService: DemoService {
        services.first { $0.space == Self.forgetful.space && $0.service == Self.forgetful.service }!
    }

    /// Moves the forgetful service on to the next way of passing the route on; returns it.
    @discardableResult
    public func cycleForwarding() -> DemoForwarding {
        forgetfulService.state.withLock { state in
            state.forwarding = state.forwarding.next
            return state.forwarding
        }
    }

    /// Starts every demo service on its documented port when free (any free port when not)
    /// and returns the world with its spaces tree pointing at them.
    public static func start(group: any EventLoopGroup, ingress: Address = preferredIngress) async throws
        -> DemoWorld
    {
        let settings = Settings()
        var services: [DemoService] = []
        var spaces: [Space] = ["default", "azureuser", "hotfix"].map {
            Space(name: $0, parent: parents[$0] ?? nil)
        }
        for plan in plans {
            let service = DemoService(
                service: plan.service, space: plan.space, calls: plan.calls,
                routeHeader: settings.routeHeader, group: group)
            let upstream = try await service.start(preferredPort: plan.port)
            let egress = Address(host: "127.0.0.1", port: PortProbe.free(preferred: plan.egressPort))
            service.callThrough(egress)
            services.append(service)
            let position = spaces.firstIndex { $0.name == plan.space }!
            spaces[position].services.append(
                Instance(service: plan.service, upstream: upstream, egress: egress))
        }
        var greeters: [DemoGreeter] = []
        for plan in greeterPlans {
            let greeter = DemoGreeter(space: plan.space, routeHeader: settings.routeHeader, group: group)
            let upstream = try await greeter.start(preferredPort: plan.port)
            greeters.append(greeter)
            let position = spaces.firstIndex { $0.name == plan.space }!
            spaces[position].services.append(Instance(service: DemoGreeter.service, upstream: upstream))
        }
        var withIngress = settings
        withIngress.ingress = ingress
        return DemoWorld(
            tree: try SpaceTree(settings: withIngress, spaces: spaces), services: services, greeters: greeters
        )
    }

    /// The documented ports that were taken, lowest first, each with the port used instead:
    /// services' upstreams and their egress listeners.
    public var movedPorts: [(preferred: Int, actual: Int)] {
        var moved: [(preferred: Int, actual: Int)] = []
        for plan in Self.plans {
            guard let instance = tree.space(plan.space)?.instance(plan.service) else { continue }
            moved.append((plan.port, instance.upstream.port))
            if let egress = instance.egress { moved.append((plan.egressPort, egress.port)) }
        }
        for plan in Self.greeterPlans {
            guard let instance = tree.space(plan.space)?.instance(DemoGreeter.service) else { continue }
            moved.append((plan.port, instance.upstream.port))
        }
        return moved.filter { $0.preferred != $0.actual }.sorted { $0.preferred < $1.preferred }
    }

    public func stop() async {
        for service in services { await service.stop() }
        for greeter in greeters { await greeter.stop() }
    }
}

extension ServerBootstrap {
    /// Binds `preferred` on loopback when it is free, else a port the kernel picks.
    func bindLoopback(preferring preferred: Int) async throws -> any Channel {
        do {
            return try await bind(host: "127.0.0.1", port: preferred).get()
        } catch {
            return try await bind(host: "127.0.0.1", port: 0).get()
        }
    }
}

/// Finds a port to bind: the preferred one when nothing holds it, else one the kernel picks.
public enum PortProbe {
    public static func free(preferred: Int) -> Int {
        if canBind(preferred) { return preferred }
        return canBindAny() ?? preferred
    }

    static func canBind(_ port: Int) -> Bool { bind(port) != nil }
    static func canBindAny() -> Int? { bind(0) }

    private static func bind(_ port: Int) -> Int? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { return nil }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { return nil }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
