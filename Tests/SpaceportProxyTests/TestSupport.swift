import Foundation
import Logging
import NIOCore
import NIOPosix
import SpaceportCore
import SpaceportProxy
@_exported import SpaceportTestSupport
import Synchronization

/// A proxy on 127.0.0.1:0 over a tree written as YAML.
struct RunningProxy {
    let proxy: RoutingProxy
    let store: SpacesStore
    let listeners: ProxyListeners
    let hops: HopCollector

    /// Starts a proxy, runs `body` against it, and shuts it down whether or not `body` threw.
    static func with(
        _ yaml: String, path: String? = nil, hops: HopCollector = HopCollector(),
        _ body: (RunningProxy) async throws -> Void
    ) async throws {
        let running = try await start(yaml, path: path, hops: hops)
        do {
            try await body(running)
        } catch {
            await running.stop()
            throw error
        }
        await running.stop()
    }

    static func start(_ yaml: String, path: String? = nil, hops: HopCollector = HopCollector()) async throws
        -> RunningProxy
    {
        let store: SpacesStore
        if let path {
            try yaml.write(toFile: path, atomically: true, encoding: .utf8)
            store = try SpacesStore(path: path)
        } else {
            store = SpacesStore(tree: try SpacesFile.parse(text: yaml, file: "test.yaml"))
        }
        var logger = Logger(label: "test-proxy")
        logger.logLevel = .error
        let proxy = RoutingProxy(
            store: store, name: "test", ingress: Address(host: "127.0.0.1", port: 0), sink: hops,
            logger: logger)
        let listeners = try await proxy.start()
        return RunningProxy(proxy: proxy, store: store, listeners: listeners, hops: hops)
    }

    var port: Int { listeners.ingress.port }

    func url(_ host: String, _ path: String = "/") -> String { "http://\(host):\(port)\(path)" }

    func stop() async { await proxy.shutdown(drainMs: 2000) }
}

/// What curl printed: the final response's status, headers and body.
struct CurlResponse {
    var status: Int
    var headers: [(name: String, value: String)]
    var body: Data

    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var text: String { String(decoding: body, as: UTF8.self) }

    func seen() throws -> TestUpstream.Seen { try JSONDecoder().decode(TestUpstream.Seen.self, from: body) }
}

enum Curl {
    /// Runs curl with `-i`; interim (1xx) responses are skipped.
    static func run(_ arguments: [String], stdin: Data? = nil, stdinFile: String? = nil) async throws
        -> CurlResponse
    {
        let result = try await Run.process(
            try RequiredTool.curl.path(), ["-sS", "-i", "--max-time", "120"] + arguments, stdin: stdin,
            stdinFile: stdinFile)
        guard result.status == 0 else {
            throw TestFailure("curl \(arguments) failed: \(String(decoding: result.stderr, as: UTF8.self))")
        }
        var rest = result.stdout[...]
        while true {
            guard let end = rest.firstRange(of: Data("\r\n\r\n".utf8)) else {
                throw TestFailure("curl printed no response head: \(String(decoding: rest, as: UTF8.self))")
            }
            let lines = String(decoding: rest[..<end.lowerBound], as: UTF8.self).components(
                separatedBy: "\r\n")
            let status = Int(lines[0].split(separator: " ")[1]) ?? 0
            rest = rest[end.upperBound...]
            if status >= 200 || status == 101 {
                let headers = lines.dropFirst().compactMap { line -> (name: String, value: String)? in
                    guard let colon = line.firstIndex(of: ":") else { return nil }
                    return (
                        String(line[..<colon]),
                        line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                    )
                }
                return CurlResponse(status: status, headers: headers, body: Data(rest))
            }
        }
    }
}

extension Curl {
    /// Fetches a body without keeping it: the status and how many bytes arrived.
    static func download(_ arguments: [String]) async throws -> (status: Int, bytes: Int) {
        let result = try await Run.process(
            try RequiredTool.curl.path(),
            ["-sS", "--max-time", "120", "-o", "/dev/null", "-w", "%{http_code} %{size_download}"] + arguments
        )
        let words = String(decoding: result.stdout, as: UTF8.self).split(separator: " ")
        guard result.status == 0, words.count == 2, let status = Int(words[0]), let bytes = Int(words[1])
        else {
            throw TestFailure("curl \(arguments) failed: \(String(decoding: result.stderr, as: UTF8.self))")
        }
        return (status, bytes)
    }
}

/// A file of `size` zero bytes that takes no room on disk, removed by `remove()`.
struct SparseFile {
    let path: String

    init(size: Int) throws {
        path = NSTemporaryDirectory() + "spaceport-\(UUID().uuidString).bin"
        guard FileManager.default.createFile(atPath: path, contents: nil),
            truncate(path, off_t(size)) == 0
        else { throw TestFailure("cannot create \(path)") }
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A temporary folder for spaces files.
func temporaryPath(_ name: String) -> String {
    let folder = NSTemporaryDirectory() + "spaceport-tests-\(UUID().uuidString)"
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    removeAtExit(folder)
    return folder + "/" + name
}
enum Run {
    struct Result: Sendable {
        var status: Int32
        var stdout: Data
        var stderr: Data
    }

    /// Runs a program to its end on a thread of its own, off the test's executor; its
    /// input is `stdin`, or the file at `stdinFile`, or nothing.
    static func process(
        _ path: String, _ arguments: [String], stdin: Data? = nil, stdinFile: String? = nil
    ) async throws -> Result {
        try await blocking {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: path)
            process.arguments = arguments
            let out = Pipe()
            let err = Pipe()
            let input = Pipe()
            process.standardOutput = out
            process.standardError = err
            if let stdinFile {
                process.standardInput = FileHandle(forReadingAtPath: stdinFile)
            } else {
                process.standardInput = stdin == nil ? FileHandle.nullDevice : input
            }
            try process.run()
            if let stdin {
                input.fileHandleForWriting.write(stdin)
                try input.fileHandleForWriting.close()
            }
            let errData = Mutex(Data())
            let group = DispatchGroup()
            group.enter()
            DispatchQueue.global().async {
                let data = err.fileHandleForReading.readDataToEndOfFile()
                errData.withLock { $0 = data }
                group.leave()
            }
            let outData = out.fileHandleForReading.readDataToEndOfFile()
            group.wait()
            process.waitUntilExit()
            return Result(status: process.terminationStatus, stdout: outData, stderr: errData.withLock { $0 })
        }
    }
}

/// The test process's resident memory, in bytes, as the kernel reports it.
func residentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
        let kilobytes = Int(line.split(separator: " ")[1])
    else { return 0 }
    return kilobytes * 1024
}

/// Samples resident memory until stopped and keeps the peak.
final class PeakMemory: Sendable {
    private let peak = Atomic<Int>(0)
    private let running = Atomic<Bool>(true)

    init() {
        Thread.detachNewThread { [self] in
            while running.load(ordering: .relaxed) {
                let now = residentBytes()
                if now > peak.load(ordering: .relaxed) { peak.store(now, ordering: .relaxed) }
                usleep(20_000)
            }
        }
    }

    func stop() -> Int {
        running.store(false, ordering: .relaxed)
        return peak.load(ordering: .relaxed)
    }
}

/// `bytes` in pieces of `step` bytes, as a socket might deliver them (0: all at once).
func pieces(of bytes: [UInt8], step: Int) -> [ArraySlice<UInt8>] {
    step == 0
        ? [bytes[...]]
        : stride(from: 0, to: bytes.count, by: step).map { bytes[$0..<min($0 + step, bytes.count)] }
}
