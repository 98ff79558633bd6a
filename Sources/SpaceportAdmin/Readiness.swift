import SpaceportCore
import SpaceportProxy

/// `/readyz`'s answer: ready while the proxy runs (every listener bound, a valid tree in
/// effect: a store holds one from the start, and keeps the last good one through a bad
/// reload, which the answer names); not ready while it starts, drains or has stopped.
struct Readiness: Equatable {
    var ready: Bool
    var text: String

    init(phase: RoutingProxy.Phase, fileProblem: String?) {
        switch phase {
        case .running:
            ready = true
            if let fileProblem {
                text = "ready; the spaces file is invalid, the last good tree stays in effect: \(fileProblem)"
            } else {
                text = "ready"
            }
        case .notStarted, .starting:
            ready = false
            text = "not ready: the proxy is starting; its listeners are not bound yet"
        case .draining:
            ready = false
            text = "not ready: the proxy is draining; it takes no new connections"
        case .stopped:
            ready = false
            text = "not ready: the proxy has stopped"
        }
    }
}
