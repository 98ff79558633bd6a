import NIOCore
import SpaceportCore
import SpaceportWire
import Synchronization

/// One event as every subscriber shares it: queues hold a reference, and its JSON line
/// is encoded once, by the first writer that needs it, not by the proxy that published it.
final class FeedEntry: Sendable {
    let event: FeedEvent
    private let encoded = Mutex<ByteBuffer?>(nil)

    init(_ event: FeedEvent) {
        self.event = event
    }

    var line: ByteBuffer {
        encoded.withLock { cached in
            if let cached { return cached }
            let line: ByteBuffer
            if case .hop(let hop) = event {
                line = Self.hopLine(hop)
            } else {
                line = ByteBuffer(string: event.jsonLine())
            }
            cached = line
            return line
        }
    }

    /// A hop's line written straight into its buffer by `HopJSON`, Foundation's when it declines.
    static func hopLine(_ hop: HopEvent) -> ByteBuffer {
        var out = ByteBuffer()
        var written = true
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: HopJSON.bound(hop)) { raw in
            guard let count = HopJSON.write(hop, into: raw) else {
                written = false
                return 0
            }
            return count
        }
        return written ? out : ByteBuffer(string: FeedEvent.hop(hop).jsonLine())
    }
}
