import Prometheus
import SpaceportCore
import SpaceportProxy
import Synchronization

/// The proxy's metrics in the Prometheus text format. Every finished hop is counted as it
/// is published (an `EventSink` beside the feed hub, so a proxy without an admin listener
/// does none of this work); what the event loops, the feed and the spaces file count
/// themselves is read when Prometheus scrapes (`exposition`).
///
/// Label values come from the tree in effect (`MetricLabels`), and the request series are
/// bounded (`maxSeries`): past the bound, new label sets are counted under one series whose
/// labels all say `overflow`, so no traffic can grow the exposition without end.
public final class ProxyMetrics: EventSink, HopReader {
    public static let defaultMaxSeries = 5_000
    static let overflow = "overflow"

    /// Resolves 0.1–10 ms, where a proxy's hops mostly are, and reaches 10 s for slow upstreams.
    static let durationBuckets: [Duration] = [
        .microseconds(100), .microseconds(200), .microseconds(500), .milliseconds(1), .milliseconds(2),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    /// Every metric's name and help, spelled once: the README's table is held to this list by a test.
    public enum Name: String, CaseIterable, Sendable {
        case requests = "spaceport_requests_total"
        case duration = "spaceport_request_duration_seconds"
        case fallbacks = "spaceport_fallbacks_total"
        case noRoute = "spaceport_no_route_total"
        case marks = "spaceport_route_marks_total"
        case upstreamErrors = "spaceport_upstream_errors_total"
        case upstreamConnections = "spaceport_upstream_connections"
        case idleUpstreamConnections = "spaceport_upstream_idle_connections"
        case dials = "spaceport_upstream_dials_total"
        case clientConnections = "spaceport_client_connections"
        case feedSubscribers = "spaceport_feed_subscribers"
        case feedDropped = "spaceport_feed_events_dropped_total"
        case reloads = "spaceport_spaces_file_reloads_total"
        case rejectedReloads = "spaceport_spaces_file_rejected_total"
        case fileValid = "spaceport_spaces_file_valid"
        case buildInfo = "spaceport_build_info"

        /// The whole name is the metric name: the registry joins the empty unit to nothing.
        var descriptor: MetricNameDescriptor {
            MetricNameDescriptor(metricName: rawValue, unitName: "", helpText: help)
        }

        public var help: String {
            switch self {
            case .requests:
                "Requests finished, by the space routed as, the space and service that served them, listener, protocol and status class."
            case .duration: "How long requests took, by serving space and service."
            case .fallbacks: "Requests an ancestor of their route-as space served."
            case .noRoute: "Requests answered 404 because no space on their chain runs the service."
            case .marks: "What became of requests' route context: kept, bridged, restored or lost."
            case .upstreamErrors: "Requests an upstream failed: refused, reset, timeout or bad_response."
            case .upstreamConnections: "Upstream connections open or being dialled."
            case .idleUpstreamConnections: "Upstream connections idle in the pools."
            case .dials: "Upstream connections dialled."
            case .clientConnections: "Client connections open, on every listener."
            case .feedSubscribers: "Readers of the proxy's feed."
            case .feedDropped: "Feed events dropped because a reader's queue was full."
            case .reloads: "Times a changed spaces file was taken into effect."
            case .rejectedReloads:
                "Times a changed spaces file was refused, the last good tree staying in effect."
            case .fileValid:
                "1 while the spaces file on disk is valid, 0 while the last good tree stands in for it."
            case .buildInfo: "Always 1, labelled with the running version."
            }
        }
    }

    /// What a scrape reads from the rest of the process.
    public struct Gathered: Sendable {
        public var proxy: ProxyCounts
        public var feedSubscribers: Int
        public var feedDropped: Int

        public init(proxy: ProxyCounts, feedSubscribers: Int = 0, feedDropped: Int = 0) {
            self.proxy = proxy
            self.feedSubscribers = feedSubscribers
            self.feedDropped = feedDropped
        }
    }

    /// A hop's label values as the hop has them, before they are checked against the tree.
    struct HopKey: Hashable {
        var routeAs: String?
        var space: String?
        var service: String?
        var listener: String
        var `protocol`: HopProtocol
        var status: Int?
    }

    struct RequestKey: Hashable {
        var routeAs: String
        var space: String
        var service: String
        var listener: String
        var `protocol`: String
        var statusClass: String
    }

    /// One request label set's series, and those of the families it implies, made once each.
    final class RequestSeries {
        let key: RequestKey
        let requests: Counter
        let duration: DurationHistogram
        var fallbacks: Counter?
        var marks: [HopPropagation: Counter] = [:]

        init(key: RequestKey, requests: Counter, duration: DurationHistogram) {
            self.key = key
            self.requests = requests
            self.duration = duration
        }
    }

    struct State {
        var labels: MetricLabels
        var requests: [RequestKey: RequestSeries] = [:]
        /// Hops whose values are all the tree's own names, by those values: most hops find their
        /// series here in one lookup. Emptied when the tree changes; never holds a value the tree lacks.
        var known: [HopKey: RequestSeries] = [:]
        var noRoute: [String: Counter] = [:]
        /// The totals last added to the counters that are read at scrape time.
        var last = Gathered(proxy: ProxyCounts())

        mutating func follow(_ tree: SpaceTree) {
            labels = MetricLabels(tree)
            known.removeAll()
        }
    }

    public let registry = PrometheusCollectorRegistry()
    private let store: SpacesStore
    private let maxSeries: Int
    private let state: Mutex<State>
    private let observer = Mutex<SpacesStore.ObserverID?>(nil)
    private let reloads: Counter
    private let rejected: Counter

    public init(store: SpacesStore, maxSeries: Int = ProxyMetrics.defaultMaxSeries) {
        self.store = store
        self.maxSeries = max(1, maxSeries)
        state = Mutex(State(labels: MetricLabels(store.tree)))
        reloads = registry.makeCounter(descriptor: Name.reloads.descriptor)
        rejected = registry.makeCounter(descriptor: Name.rejectedReloads.descriptor)
        registry.makeGauge(
            descriptor: Name.buildInfo.descriptor, labels: [("version", SpaceportVersion.current)]
        ).set(Double(1))
        for fault in UpstreamFault.allCases { _ = upstreamErrors(fault) }
        let id = store.observe { [weak self] change in
            guard let self else { return }
            switch change {
            case .edited(_, let tree):
                state.withLock { $0.follow(tree) }
            case .reloaded(let tree, _):
                state.withLock { $0.follow(tree) }
                reloads.increment()
            case .rejected:
                rejected.increment()
            }
        }
        observer.withLock { $0 = id }
    }

    deinit { close() }

    /// Stops following the store.
    public func close() {
        if let id = observer.withLock({ id -> SpacesStore.ObserverID? in
            defer { id = nil }
            return id
        }) {
            store.removeObserver(id)
        }
    }

    // It counts finished hops only.
    public var isWatched: Bool { false }

    public func publish(_ event: FeedEvent) {
        if case .hop(let hop) = event { publish(hop: hop) }
    }

    public func publish(hop: consuming HopEvent) {
        read(hop)
    }

    /// Counts a finished hop; its start says nothing yet.
    public func read(_ hop: borrowing HopEvent) {
        guard hop.phase == .end else { return }
        let raw = HopKey(
            routeAs: hop.routeAs, space: hop.space, service: hop.service, listener: hop.listener,
            protocol: hop.protocol, status: hop.status)
        state.withLock { state in
            let series: RequestSeries
            if let known = state.known[raw] {
                series = known
            } else {
                let labels = state.labels
                let key = RequestKey(
                    routeAs: labels.space(raw.routeAs), space: labels.space(raw.space),
                    service: labels.service(raw.service), listener: labels.listener(raw.listener),
                    protocol: raw.protocol.rawValue, statusClass: MetricLabels.statusClass(raw.status))
                series = self.series(key, in: &state)
                let asIs = [(raw.routeAs, key.routeAs), (raw.space, key.space), (raw.service, key.service)]
                    .allSatisfy { $0.0 == nil || $0.0 == $0.1 }
                if asIs && key.listener == raw.listener && state.known.count < 4 * maxSeries {
                    state.known[raw] = series
                }
            }
            series.requests.increment()
            if let ms = hop.durationMs, ms.isFinite, ms >= 0 {
                series.duration.record(.nanoseconds(Int64(ms * 1_000_000)))
            }
            // Labels from the series' key: the overflow series' own, when the bound put the hop there.
            if hop.isFallback {
                if series.fallbacks == nil {
                    series.fallbacks = registry.makeCounter(
                        descriptor: Name.fallbacks.descriptor,
                        labels: [
                            ("route_as", series.key.routeAs), ("space", series.key.space),
                            ("service", series.key.service),
                        ])
                }
                series.fallbacks?.increment()
            }
            if let mark = hop.propagation {
                if series.marks[mark] == nil {
                    series.marks[mark] = registry.makeCounter(
                        descriptor: Name.marks.descriptor,
                        labels: [
                            ("mark", mark.rawValue), ("space", series.key.space),
                            ("service", series.key.service),
                        ])
                }
                series.marks[mark]?.increment()
            }
            if hop.space == nil && hop.status == 404 {
                // Bounded by the tree's spaces, as route-as always names one of them.
                let counter =
                    state.noRoute[series.key.routeAs]
                    ?? registry.makeCounter(
                        descriptor: Name.noRoute.descriptor, labels: [("route_as", series.key.routeAs)])
                state.noRoute[series.key.routeAs] = counter
                counter.increment()
            }
        }
    }

    /// The series of `key`, made on first use while fewer than `maxSeries` exist; past that, the overflow series.
    private func series(_ key: RequestKey, in state: inout State) -> RequestSeries {
        if let known = state.requests[key] { return known }
        var key = key
        if state.requests.count >= maxSeries {
            key = RequestKey(
                routeAs: Self.overflow, space: Self.overflow, service: Self.overflow, listener: Self.overflow,
                protocol: Self.overflow, statusClass: Self.overflow)
            if let overflow = state.requests[key] { return overflow }
        }
        let series = RequestSeries(
            key: key,
            requests: registry.makeCounter(
                descriptor: Name.requests.descriptor,
                labels: [
                    ("route_as", key.routeAs), ("space", key.space), ("service", key.service),
                    ("listener", key.listener), ("protocol", key.protocol), ("status_class", key.statusClass),
                ]),
            duration: registry.makeDurationHistogram(
                descriptor: Name.duration.descriptor,
                labels: [("space", key.space), ("service", key.service)],
                buckets: Self.durationBuckets))
        state.requests[key] = series
        return series
    }

    /// Request label sets counted so far (the overflow series included).
    public var requestSeriesCount: Int { state.withLock { $0.requests.count } }

    private func upstreamErrors(_ fault: UpstreamFault) -> Counter {
        registry.makeCounter(
            descriptor: Name.upstreamErrors.descriptor, labels: [("kind", fault.rawValue)])
    }

    /// Takes in what the rest of the process counted, then writes every metric in the text format.
    public func exposition(_ gathered: Gathered) -> [UInt8] {
        state.withLock { state in
            // Scrapes may gather at once and arrive here in either order: the larger total stands.
            let last = state.last
            func gauge(_ name: Name, _ value: Int) {
                registry.makeGauge(descriptor: name.descriptor).set(Double(value))
            }
            func counter(_ name: Name, grewFrom before: Int, to now: Int) {
                registry.makeCounter(descriptor: name.descriptor).increment(by: Int64(max(0, now - before)))
            }
            gauge(.clientConnections, gathered.proxy.clientConnections)
            gauge(.upstreamConnections, gathered.proxy.upstreamConnections)
            gauge(.idleUpstreamConnections, gathered.proxy.idleUpstreamConnections)
            gauge(.feedSubscribers, gathered.feedSubscribers)
            gauge(.fileValid, store.fileProblem == nil ? 1 : 0)
            counter(.dials, grewFrom: last.proxy.dials, to: gathered.proxy.dials)
            counter(.feedDropped, grewFrom: last.feedDropped, to: gathered.feedDropped)
            state.last.proxy.dials = max(last.proxy.dials, gathered.proxy.dials)
            state.last.feedDropped = max(last.feedDropped, gathered.feedDropped)
            for fault in UpstreamFault.allCases {
                let before = last.proxy.upstreamFaults[fault] ?? 0
                let now = gathered.proxy.upstreamFaults[fault] ?? 0
                upstreamErrors(fault).increment(by: Int64(max(0, now - before)))
                state.last.proxy.upstreamFaults[fault] = max(before, now)
            }
        }
        return registry.emitToBuffer()
    }
}
