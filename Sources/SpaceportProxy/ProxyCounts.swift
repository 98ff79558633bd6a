import NIOCore

/// How an upstream failed a request: it refused the connection (or could not be reached), closed
/// or reset it before the response was whole, did not accept or answer in time, or answered
/// with bytes that are not HTTP/1.1. A busy upstream (the limits' 503s) is none of these.
public enum UpstreamFault: String, CaseIterable, Sendable {
    case refused, reset, timeout
    case badResponse = "bad_response"

    /// What a failed dial says of the upstream; nil when the pool refused it (busy, shutting down).
    init?(dialing error: any Error) {
        if error is UpstreamPool.Refusal { return nil }
        if let channelError = error as? ChannelError, case .connectTimeout = channelError {
            self = .timeout
        } else {
            self = .refused
        }
    }
}

/// What the proxy's event loops count for the admin listener, summed over the loops when read.
/// Each loop counts its own with plain integers, so the requests pay no atomic for them.
public struct ProxyCounts: Equatable, Sendable {
    /// Client connections open now, on every listener.
    public var clientConnections = 0
    /// Upstream connections open or being dialled now, and how many of them idle in the pools.
    public var upstreamConnections = 0
    public var idleUpstreamConnections = 0
    /// Upstream connections dialled since the proxy started.
    public var dials = 0
    /// Requests an upstream failed since the proxy started, by how.
    public var upstreamFaults: [UpstreamFault: Int] = [:]

    public init() {}

    static func + (a: ProxyCounts, b: ProxyCounts) -> ProxyCounts {
        var sum = ProxyCounts()
        sum.clientConnections = a.clientConnections + b.clientConnections
        sum.upstreamConnections = a.upstreamConnections + b.upstreamConnections
        sum.idleUpstreamConnections = a.idleUpstreamConnections + b.idleUpstreamConnections
        sum.dials = a.dials + b.dials
        sum.upstreamFaults = a.upstreamFaults.merging(b.upstreamFaults, uniquingKeysWith: +)
        return sum
    }
}
