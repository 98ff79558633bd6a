import NIOCore
import SpaceportCore
import Synchronization

/// Publishes a listener's hops to the sink; knows the proxy's and listener's names.
struct HopReporter: Sendable {
    let proxy: String
    let listener: ListenerRole
    let sink: (any EventSink)?

    /// The longest flow id a hop carries: a client's `x-request-id` names the flow, and every
    /// event of the feed and every dashboard row would otherwise be as large as that header.
    static let maxFlowLength = 128

    /// A hop that has just arrived; nothing is published until `start`.
    func begin(flow: String?, method: String?, host: String?, path: String?, protocol: HopProtocol = .http)
        -> Hop
    {
        Hop(
            reporter: self,
            flow: flow.map { Printable.clip($0, max: Self.maxFlowLength) } ?? RequestID.make(),
            method: method, host: host.map { Printable.clip($0, max: 253) },
            path: path.map { Printable.clip($0, max: 512) }, protocol: `protocol`)
    }
}

/// One request through the proxy to one upstream: `start` when routed, `end` when done.
/// A class: the request, its exchange and a tunnel share one hop instead of copying its
/// twenty fields at every step.
final class Hop {
    let reporter: HopReporter
    /// The hop's event, until its end takes it to the sink. Written and read in place: each copy
    /// of the event retains and releases its strings, and passing the stored event on copied it.
    private var event: HopEvent?
    private let began = NIODeadline.now()
    private var started = false
    private var ended = false
    /// Body bytes from the client, and to it, so far.
    private(set) var bytesIn = 0
    private(set) var bytesOut = 0
    /// The event's id, kept apart: `HopEvent.idLength` characters, stored inside the string itself.
    let id = RequestID.make()

    fileprivate init(
        reporter: HopReporter, flow: String, method: String?, host: String?, path: String?,
        protocol: HopProtocol
    ) {
        self.reporter = reporter
        event = HopEvent(
            id: id, flow: flow, phase: .start, time: "", proxy: reporter.proxy,
            listener: reporter.listener.name, from: reporter.listener.caller, protocol: `protocol`,
            method: method, host: host, path: path)
    }

    /// Read before the hop ends: its fields leave with its end.
    var flow: String { event?.flow ?? "" }

    func routed(_ known: KnownRoute) { event?.record(known.route, upstream: known.upstreamText) }

    /// Records the route context: the trace, conflicting carriers, the mark, the bridge's trouble.
    func propagated(_ context: HopContext) {
        // Each field written through `event?`, in place: comparing the stored event with nil, or
        // unwrapping it with `!`, copied all of its fields (two copies a request).
        // A traced request's flow is its trace id already: the same string, not another copy.
        if context.traceID != nil {
            // Read first: reading the event while writing into it is an overlapping access.
            let flow = self.flow
            event?.traceId = flow
        }
        if !context.conflicts.isEmpty { event?.conflicts = context.conflicts }
        event?.bridgeProblem = context.bridge.baggageProblem
        event?.propagation = context.mark?.propagation
        if case .lost(let by, let expected)? = context.mark {
            event?.lostBy = HopCaller(space: by.space, service: by.service)
            event?.expected = expected
        }
    }

    func served(by instance: InstanceRef, upstream: Address) {
        event?.service = instance.service
        event?.space = instance.space
        event?.routeAs = instance.space
        event?.tried = [instance.space]
        event?.upstream = upstream.description
    }

    func setProtocol(_ value: HopProtocol) { event?.protocol = value }

    /// Records the HTTP spoken upstream when it is not the client's (`client`).
    func spoke(_ upstream: UpstreamProtocol, client: UpstreamProtocol) {
        if upstream != client { event?.upstreamProtocol = upstream }
    }

    /// Marks the hop a replay of hop `original`, sent again by the proxy for a feed client.
    func replays(_ original: String) { event?.replayOf = original }

    func setGRPCStatus(_ code: Int) { event?.grpcStatus = code }

    /// `<service>@<space>`, the value of `x-spaceport-route`, once a space serves the hop.
    var routeLabel: String? { event?.routeLabel }

    func countIn(_ bytes: Int) { bytesIn += bytes }
    func countOut(_ bytes: Int) { bytesOut += bytes }

    /// Publishes the start once; later calls, and calls after the end, do nothing.
    func start() {
        // `ended`, not `event != nil`: comparing the optional event with nil copies all of it.
        guard !started, !ended else { return }
        started = true
        guard let sink = reporter.sink, sink.isWatched else { return }
        sink.publishStart(id: id) {
            var start = self.event!
            start.phase = .start
            start.time = EventTime.now()
            return start
        }
    }

    /// Ends the hop with the bytes counted so far.
    func end(status: Int?, error: String? = nil) {
        end(status: status, bytesIn: bytesIn, bytesOut: bytesOut, error: error)
    }

    /// Publishes the end once; later calls do nothing. The event leaves the hop with it.
    func end(status: Int?, bytesIn: Int, bytesOut: Int, error: String? = nil) {
        guard !ended else { return }
        ended = true
        guard let sink = reporter.sink else { return }
        event?.phase = .end
        event?.time = EventTime.now()
        event?.status = status
        event?.bytesIn = bytesIn
        event?.bytesOut = bytesOut
        event?.error = error
        event?.durationMs = Double((NIODeadline.now() - began).nanoseconds / 1000) / 1000
        guard let end = event.take() else { return }
        sink.publish(hop: end)
    }

    /// A hop refused before it reached an upstream: its start (for a reader watching live) and
    /// its end, with the reason.
    func refuse(_ answer: ErrorAnswer) {
        start()
        end(status: Int(answer.status.code), bytesIn: 0, bytesOut: 0, error: answer.message)
    }
}

/// Request and hop ids: `HopEvent.idLength` hex digits, unique enough to group a flow and name a
/// hop, and short enough to be stored inside the string itself: no allocation for either id.
enum RequestID {
    private static let seed = UInt64.random(in: .min ... .max)
    private static let counter = Atomic<UInt64>(0)
    static let length = HopEvent.idLength

    static func make() -> String {
        // A counter scrambled by a bijection (splitmix64): unique in the process, unguessable
        // across processes, and no system call for randomness per id.
        var value = seed &+ counter.wrappingAdd(1, ordering: .relaxed).newValue &* 0x9E37_79B9_7F4A_7C15
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        value ^= value >> 31
        return String(unsafeUninitializedCapacity: length) { bytes in
            for index in stride(from: length - 1, through: 0, by: -1) {
                let digit = UInt8(value & 0xF)
                bytes[index] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
                value >>= 4
            }
            return length
        }
    }
}
