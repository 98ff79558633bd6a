/// Which HTTP an instance is spoken to (`protocol:` in the spaces file): `auto`, the client's
/// own, or one forced for every exchange. A hop carries the one it used when it was not the
/// client's.
public enum UpstreamProtocol: String, Codable, Sendable, CaseIterable {
    /// The client's: an HTTP/2 client's streams over h2c, an HTTP/1.1 client's requests over HTTP/1.1.
    case auto
    /// HTTP/1.1: an HTTP/2 client's streams are translated to requests on pooled connections.
    case http1
    /// HTTP/2 with prior knowledge: an HTTP/1.1 client's requests become streams.
    case h2c

    /// The one place that decides what an exchange speaks upstream, given what its client
    /// speaks (`.http1` or `.h2c`): never `.auto`.
    public func towards(client: UpstreamProtocol) -> UpstreamProtocol {
        self == .auto ? client : self
    }

    /// Whether a gRPC call can reach an instance spoken to this way: gRPC needs HTTP/2's
    /// trailers and streams, which HTTP/1.1 cannot carry.
    public var carriesGRPC: Bool { self != .http1 }
}
