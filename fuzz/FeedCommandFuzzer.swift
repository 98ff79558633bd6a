import SpaceportCore
import SpaceportWire

/// Input: one line a feed client might send, or a line a feed might print. A command decodes
/// to one that encodes back to itself, or to an error; an event line likewise.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFeedCommand(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let line = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    do {
        let command = try FeedCommand.decode(line: line)
        let again = try? FeedCommand.decode(line: command.jsonLine())
        precondition(again == command, "\(command) did not survive its own JSON: \(command.jsonLine())")
    } catch {
        precondition(!error.message.isEmpty)
    }
    if let event = try? FeedEvent.decode(line: line) {
        let again = try? FeedEvent.decode(line: event.jsonLine())
        precondition(again == event, "\(event.type) did not survive its own JSON: \(event.jsonLine())")
    }
    return 0
}
