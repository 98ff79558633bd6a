/// What a sampling reader (`sample-hops`) did not see one by one: every hop that started
/// since the previous tally, sent or not, counted by the space it was routed as and its service.
public struct HopTally: Codable, Equatable, Sendable {
    /// Hops counted for one route.
    public struct Route: Codable, Equatable, Sendable {
        /// The space the request was routed as (`HopEvent.routeAs`).
        public var routeAs: String
        public var service: String?
        public var hops: Int

        public init(routeAs: String, service: String?, hops: Int) {
            self.routeAs = routeAs
            self.service = service
            self.hops = hops
        }
    }

    /// Hops that started in this tally's span.
    public var hops: Int
    /// Of every hop counted, how many reached this reader (its start, its end, or both).
    public var sampled: Int
    /// Hops that ended with an error or a status of 500 or more in this span.
    public var failed: Int
    /// The span, from the first hop counted to the tally.
    public var seconds: Double
    /// `hops` by route, largest first; hops refused before routing are in `hops` only.
    public var routes: [Route]

    public init(hops: Int, sampled: Int, failed: Int, seconds: Double, routes: [Route]) {
        self.hops = hops
        self.sampled = sampled
        self.failed = failed
        self.seconds = seconds
        self.routes = routes
    }

    /// Hops this reader never saw, of those counted.
    public var leftOut: Int { max(0, hops - sampled) }
}
