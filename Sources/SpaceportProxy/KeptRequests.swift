import NIOCore
import SpaceportCore

/// A request as the proxy kept it to send again: its head's bytes as the client wrote them,
/// sensitive fields and all (they never leave the proxy but in a replay), and its body when
/// the spaces file lets bodies be kept.
struct KeptRequest: Sendable {
    /// The hop the request was.
    let hop: String
    let head: [UInt8]
    let body: Body

    enum Body: Equatable, Sendable {
        case none
        case kept([UInt8])
        /// It had a body, not kept: why, as a user reads it.
        case notKept(String)
    }
}

/// One event loop's share of the requests kept for replay: the latest `replay_requests` heads
/// (its share of them), taking at most its share of `replay_bytes`, the oldest let go first.
/// Touched only on its loop, so the request path takes no lock; a replay asks each loop in turn.
/// A slot's storage is reused by the request that takes it over, so keeping a head allocates
/// nothing once the slots have filled.
final class KeptRequests {
    private struct Slot {
        var hop = ""
        var head: [UInt8] = []
        var body: [UInt8] = []
        var bodyState = BodyState.none
        /// The body's length, counted from the start so its bytes always fit the share.
        var reserved = 0
        var size: Int { head.count + reserved }
    }

    private enum BodyState {
        case none
        /// Bytes of the body still to come.
        case keeping(remaining: Int)
        case kept
        case notKept(String)
    }

    /// Storage a slot keeps between requests; a larger one is given back.
    static let reusedCapacity = 8 * 1024

    private let loops: Int
    private var slots: [Slot] = []
    /// The oldest kept slot, and how many are kept from it on.
    private var first = 0
    private var count = 0
    private var bytes = 0
    /// Bumped each time a slot changes hands, so a body part for a request since let go is dropped.
    private var generations: [Int] = []

    init(loops: Int) {
        self.loops = max(1, loops)
    }

    /// A kept request's place, for its body parts.
    struct Ticket {
        fileprivate let slot: Int
        fileprivate let generation: Int
    }

    /// Keeps `head` as hop `hop`'s request; nil when the limits keep nothing, or this head alone
    /// is larger than the loop's share of bytes.
    func keep(hop: String, head: ClientHead, limits: Limits) -> Ticket? {
        guard limits.keepsRequests else {
            clear()
            return nil
        }
        let capacity = (limits.replayRequests + loops - 1) / loops
        let byteShare = (limits.replayBytes + loops - 1) / loops
        let headSize = head.bytes.readableBytes
        guard headSize <= byteShare else { return nil }
        var bodyState: BodyState
        switch head.framing {
        case .none, .length(0): bodyState = .none
        case .length(let length) where length <= limits.replayBodyBytes:
            bodyState = .keeping(remaining: length)
        case .length(let length):
            bodyState = .notKept(
                limits.replayBodyBytes == 0
                    ? "its body (\(length) bytes) was not kept: the spaces file's limits.replay_body_bytes is 0"
                    : "its body (\(length) bytes) was larger than limits.replay_body_bytes (\(limits.replayBodyBytes))"
            )
        case .chunked, .untilClose:
            bodyState = .notKept("its body came in chunks of no stated length, which are not kept")
        }
        var reserved = 0
        if case .keeping(let length) = bodyState {
            if headSize + length <= byteShare {
                reserved = length
            } else {
                bodyState = .notKept("its body (\(length) bytes) did not fit in limits.replay_bytes")
            }
        }
        let size = headSize + reserved
        if slots.count != capacity { resize(to: capacity) }
        while count > 0 && (count == capacity || bytes + size > byteShare) { dropOldest() }
        let index = (first + count) % capacity
        count += 1
        generations[index] += 1
        var slot = Slot()
        swap(&slot, &slots[index])
        slot.hop = hop
        Self.reuse(&slot.head)
        Self.reuse(&slot.body)
        head.bytes.withUnsafeReadableBytes { slot.head.append(contentsOf: $0) }
        slot.bodyState = bodyState
        slot.reserved = reserved
        bytes += slot.size
        swap(&slot, &slots[index])
        return Ticket(slot: index, generation: generations[index])
    }

    /// A part of the body of the request `ticket` kept.
    func body(_ part: ByteBuffer, for ticket: Ticket) {
        guard ticket.slot < slots.count, generations[ticket.slot] == ticket.generation,
            case .keeping(let remaining) = slots[ticket.slot].bodyState
        else { return }
        let taken = min(remaining, part.readableBytes)
        part.withUnsafeReadableBytes { slots[ticket.slot].body.append(contentsOf: $0.prefix(taken)) }
        slots[ticket.slot].bodyState = remaining == taken ? .kept : .keeping(remaining: remaining - taken)
    }

    /// The request kept as hop `hop`, copied out, or nil when it is no longer kept.
    func request(hop: String) -> KeptRequest? {
        for offset in 0..<count {
            let slot = slots[(first + offset) % slots.count]
            guard slot.hop == hop else { continue }
            let body: KeptRequest.Body
            switch slot.bodyState {
            case .none: body = .none
            case .kept: body = .kept(slot.body)
            case .keeping: body = .notKept("its body had not all arrived")
            case .notKept(let reason): body = .notKept(reason)
            }
            return KeptRequest(hop: hop, head: slot.head, body: body)
        }
        return nil
    }

    /// Requests kept now, and the bytes they take.
    var usage: (requests: Int, bytes: Int) { (count, bytes) }

    private func dropOldest() {
        bytes -= slots[first].size
        slots[first].hop = ""
        Self.reuse(&slots[first].head)
        Self.reuse(&slots[first].body)
        slots[first].bodyState = .none
        slots[first].reserved = 0
        generations[first] += 1
        first = (first + 1) % slots.count
        count -= 1
    }

    /// The limits changed: start again with slots for the new share.
    private func resize(to capacity: Int) {
        clear()
        slots = Array(repeating: Slot(), count: capacity)
        generations = Array(repeating: 0, count: capacity)
    }

    private func clear() {
        guard !slots.isEmpty else { return }
        slots = []
        generations = []
        first = 0
        count = 0
        bytes = 0
    }

    private static func reuse(_ storage: inout [UInt8]) {
        if storage.capacity > reusedCapacity {
            storage = []
        } else {
            storage.removeAll(keepingCapacity: true)
        }
    }
}
