/// The addresses a tree asks the proxy to listen on: its ingress and every instance's egress
/// and listen. Two that would take the same socket make a tree that validates but cannot
/// run, so the tree refuses them where the second is written.
enum ListenerAddresses {
    private struct Owner {
        var what: String
        var at: SourceLocation?
    }

    /// Who has each port so far: by host, and whoever took it on every host.
    private struct Port {
        var byHost: [String: Owner] = [:]
        var wildcard: Owner?
    }

    static func check(settings: Settings, spaces: [Space]) throws(SpacesError) {
        var ports: [Int: Port] = [:]
        func claim(_ address: Address, by owner: Owner) throws(SpacesError) {
            // Port 0 asks the system for a free port: never the same one twice.
            guard address.port != 0 else { return }
            let host = address.host.lowercased()
            let everyHost = host == "0.0.0.0" || host == "::"
            var port = ports[address.port] ?? Port()
            let taken =
                everyHost ? port.wildcard ?? port.byHost.values.first : port.wildcard ?? port.byHost[host]
            if let taken {
                throw .listenerClash(
                    address, listener: owner.what, other: taken.what, otherAt: taken.at, at: owner.at)
            }
            if everyHost { port.wildcard = owner } else { port.byHost[host] = owner }
            ports[address.port] = port
        }
        if let ingress = settings.ingress {
            try claim(ingress, by: Owner(what: "the ingress", at: settings.ingressLocation))
        }
        if let admin = settings.admin {
            try claim(admin, by: Owner(what: "the admin listener", at: settings.adminLocation))
        }
        for space in spaces {
            for instance in space.services {
                let name = "\(instance.service) in \(space.name)"
                if let egress = instance.egress {
                    try claim(
                        egress,
                        by: Owner(
                            what: "the egress of \(name)", at: instance.egressLocation ?? instance.location))
                }
                if let listen = instance.listen {
                    try claim(
                        listen,
                        by: Owner(
                            what: "the listen address of \(name)",
                            at: instance.listenLocation ?? instance.location))
                }
            }
        }
    }
}
