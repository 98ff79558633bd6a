import NIOCore

extension ChannelHandlerContext {
    /// Writes `last` (nothing when nil), flushes, and closes once everything written so far has
    /// gone out: writes complete in order, so the close waits for all of them. A half-close
    /// (`.output`) that the channel refuses becomes a full one.
    func closeAfterWrites(_ last: ByteBuffer? = nil, mode: CloseMode = .all) {
        writeAndFlush(NIOAny(last ?? channel.allocator.buffer(capacity: 0))).assumeIsolated().whenComplete {
            _ in
            if mode == .all {
                // Nothing to fall back to: no future to make and watch (a connection closed per
                // request pays for each).
                self.close(promise: nil)
            } else {
                self.close(mode: mode).assumeIsolated().whenFailure { _ in self.close(promise: nil) }
            }
        }
    }
}
