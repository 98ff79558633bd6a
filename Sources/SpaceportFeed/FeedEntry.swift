import NIOCore
import SpaceportCore
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
                line = HopJSON.line(hop)
            } else {
                line = ByteBuffer(string: event.jsonLine())
            }
            cached = line
            return line
        }
    }
}
