import NIOCore

/// A head being written into a buffer's spare room in one go: each piece a copy into memory
/// reserved once, where a `ByteBuffer` write per piece (a head has thirty or more) paid the
/// buffer's capacity and uniqueness checks every time, about a sixth of a small request's
/// instructions (`Benchmarks/instructions`).
struct HeadBytes {
    private let room: UnsafeMutableRawBufferPointer
    private(set) var count = 0

    fileprivate init(_ room: UnsafeMutableRawBufferPointer) {
        self.room = room
    }

    mutating func put(_ bytes: UnsafeRawBufferPointer) {
        // The room is reserved from a bound on the whole head; passing it is a bug, never input.
        precondition(bytes.count <= room.count - count, "a head outgrew the room reserved for it")
        guard let source = bytes.baseAddress, let base = room.baseAddress else { return }
        (base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    mutating func put(_ bytes: Slice<UnsafeRawBufferPointer>) {
        put(UnsafeRawBufferPointer(rebasing: bytes))
    }

    mutating func put(_ text: StaticString) {
        put(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func put(_ text: String) {
        let copied: Void? = text.utf8.withContiguousStorageIfAvailable { put(UnsafeRawBufferPointer($0)) }
        if copied == nil { Array(text.utf8).withUnsafeBytes { put($0) } }
    }

    /// One field line: `name: value` and its CRLF.
    mutating func field(_ name: String, _ value: String) {
        put(name)
        put(": ")
        put(value)
        put("\r\n")
    }

    /// One field line copied from a received head's bytes.
    mutating func field(_ raw: UnsafeRawBufferPointer, _ name: Range<Int>, _ value: Range<Int>) {
        put(raw[name])
        put(": ")
        put(raw[value])
        put("\r\n")
    }
}

extension ByteBuffer {
    /// Writes a head of at most `bound` bytes through `body`.
    mutating func writeHead(atMost bound: Int, _ body: (inout HeadBytes) -> Void) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { room in
            var head = HeadBytes(room)
            body(&head)
            return head.count
        }
    }
}
