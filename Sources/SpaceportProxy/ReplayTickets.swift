import Synchronization

/// The connections the proxy opened to its own ingress to replay a request, by the address they
/// come from: the request that arrives on one is marked a replay of the hop it names. Nothing in
/// the request says so, so no client can pass its request off as a replay. Shared by every loop;
/// while no replay is on its way the ingress reads one atomic and nothing else.
final class ReplayTickets: Sendable {
    private let tickets = Mutex<[Peer: String]>([:])
    private let waiting = Atomic<Int>(0)

    struct Peer: Hashable, Sendable {
        var ip: String
        var port: Int
    }

    /// The next request from `peer` replays hop `hop`.
    func issue(_ peer: Peer, hop: String) {
        tickets.withLock { $0[peer] = hop }
        waiting.add(1, ordering: .relaxed)
    }

    /// The hop the request from `peer` replays, once: nil for every other request.
    func claim(ip: String?, port: Int?) -> String? {
        guard waiting.load(ordering: .relaxed) > 0, let ip, let port else { return nil }
        guard let hop = tickets.withLock({ $0.removeValue(forKey: Peer(ip: ip, port: port)) }) else {
            return nil
        }
        waiting.subtract(1, ordering: .relaxed)
        return hop
    }

    /// The replay's connection ended: a ticket it did not use goes with it.
    func withdraw(_ peer: Peer) {
        if tickets.withLock({ $0.removeValue(forKey: peer) }) != nil {
            waiting.subtract(1, ordering: .relaxed)
        }
    }
}
