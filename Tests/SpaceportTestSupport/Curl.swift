import Foundation

/// What `curl -i` prints for `arguments`: the head and the body.
public func curl(_ arguments: [String]) async throws -> String {
    let tool = try RequiredTool.curl.path()
    return try await blocking {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["-sS", "-i", "--max-time", "20"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
