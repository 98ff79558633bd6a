import Foundation
import SpaceportCore
@_exported import SpaceportTestSupport
import SpaceportWire
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Polls `condition` with the screen until it holds, for up to two minutes by default (a
/// loaded machine is slow).
@discardableResult
func eventually(
    _ what: String, terminal: Tmux, within seconds: TimeInterval = 120,
    sourceLocation: Testing.SourceLocation = #_sourceLocation,
    _ condition: (String) throws -> Bool
) async throws -> String {
    let deadline = Date().addingTimeInterval(seconds)
    var screen = ""
    while Date() < deadline {
        screen = (try? terminal.capture()) ?? ""
        if try condition(screen) { return screen }
        try await Task.sleep(for: .milliseconds(150))
    }
    Issue.record(
        "timed out waiting until \(what); the screen was:\n\(screen)", sourceLocation: sourceLocation)
    throw TimedOut()
}

func eventually(
    _ what: String, terminal: Tmux, sourceLocation: Testing.SourceLocation = #_sourceLocation,
    _ condition: () throws -> Bool
) async throws {
    try await eventually(what, terminal: terminal, sourceLocation: sourceLocation) { _ in try condition()
    }
}

struct TimedOut: Error {}

enum Tools {
    /// The `spaceport` built beside this test bundle, or SPACEPORT_BINARY.
    static let spaceport = BuiltSpaceport.path

    /// Runs a program to its end and returns what it printed.
    @discardableResult
    static func run(_ program: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let output = NSTemporaryDirectory() + "spaceport-e2e-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let child = try Child(program, arguments, output: output)
        let status = child.wait()
        return (status, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }
}

/// A program started with posix_spawn and waited for with waitpid: Foundation's Process
/// can miss the exit of a program that leaves a daemon behind, as tmux does.
final class Child: @unchecked Sendable {
    let pid: pid_t

    private typealias CloseFrom =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let closeFrom: CloseFrom? = dlsym(
        UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np"
    ).map { unsafeBitCast($0, to: CloseFrom.self) }

    /// Starts `program`; its standard output goes to the file `output` (else nowhere).
    init(_ program: String, _ arguments: [String], output: String?) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(
            &actions, 1, output ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // Nothing else of the test process's goes along: SwiftNIO opens its sockets without
        // close-on-exec, and a tmux server, which outlives its command, would otherwise keep
        // open the proxy and upstream sockets that other suites are closing meanwhile.
        // (glibc has the call since 2.34; Swift's Glibc module does not show it.)
        if let closeFrom = Self.closeFrom { _ = closeFrom(&actions, 3) }
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let envp = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv + envp { free(pointer) }
        }
        // The program starts with no signal blocked and each at its default: posix_spawn passes on
        // the calling thread's mask, and the test runner's threads block nearly every signal, so a
        // tmux server started from one never saw its pane's SIGCHLD nor its own SIGTERM and
        // outlived `kill-server`.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)
        var defaults = sigset_t()
        sigfillset(&defaults)
        sigdelset(&defaults, SIGKILL)
        sigdelset(&defaults, SIGSTOP)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let result = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
        try #require(result == 0, "could not start \(program): \(String(cString: strerror(result)))")
        self.pid = pid
    }

    /// Waits for the program to end and returns its exit status.
    @discardableResult
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return -1 }
        }
        return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    func terminate() {
        kill(pid, SIGTERM)
        wait()
    }
}

/// A private tmux server on a socket in the test's folder, so the test never touches the user's sessions.
struct Tmux {
    let socket: String

    /// - Parameter keepsPane: the pane stays, dead, after `command` ends, so its last screen can
    ///   still be read. (A shell left sleeping in it instead outlived `kill-server` whenever the
    ///   tests ran with SIGHUP ignored, which every child then inherits.)
    func start(command: String, width: Int, height: Int, keepsPane: Bool = false) throws {
        var arguments = [
            "-S", socket, "new-session", "-d", "-s", "dash", "-x", "\(width)", "-y", "\(height)", command,
        ]
        // In the same invocation, so the option is set before the command can end.
        if keepsPane { arguments += [";", "set-option", "-t", "dash", "remain-on-exit", "on"] }
        let result = try Tools.run(try RequiredTool.tmux.path(), arguments)
        try #require(result.status == 0, "tmux could not start a session")
    }

    func capture() throws -> String {
        try Tools.run(try RequiredTool.tmux.path(), ["-S", socket, "capture-pane", "-p", "-t", "dash"]).output
    }

    func keys(_ keys: String...) throws {
        try Tools.run(try RequiredTool.tmux.path(), ["-S", socket, "send-keys", "-t", "dash"] + keys)
    }

    func killServer() {
        _ = try? Tools.run(try RequiredTool.tmux.path(), ["-S", socket, "kill-server"])
    }
}

struct TemporaryFolder {
    let root: String

    init() throws {
        // Short, so the feed socket's path stays under the 104-byte limit.
        root = "/tmp/spaceport-dash-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: root + "/run", withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { root + "/" + name }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}

/// `spaceport tail --json` on the dashboard's feed: the hello names the ingress port, and
/// the hops that follow are what another terminal would see.
final class TailReader: @unchecked Sendable {
    private let child: Child
    private let output: String

    init(binary: String, socket: String, output: String) throws {
        self.output = output
        child = try Child(binary, ["tail", "--json", "--feed", socket], output: output)
    }

    /// The complete lines printed so far.
    var lines: [String] {
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }

    func ingressPort() async throws -> Int { try await listenerPort("ingress") }

    /// The port of the listener the hello names `name` (`egress:default/servicea`).
    func listenerPort(_ name: String) async throws -> Int {
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline {
            for line in lines {
                guard case .hello(let hello)? = try? FeedEvent.decode(line: line) else { continue }
                for listener in hello.listeners where listener.hasPrefix(name + " ") {
                    if let port = Int(listener.split(separator: ":").last ?? "") { return port }
                }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("spaceport tail never printed a hello naming \(name); it printed: \(lines)")
        throw TimedOut()
    }

    func stop() { child.terminate() }
}

enum Curl {
    struct Answer {
        var body: String
        var route: String?
    }

    static func get(_ curl: String, _ url: String) throws -> Answer {
        let (_, output) = try Tools.run(curl, ["-s", "-S", "--max-time", "60", "-D", "-", url])
        let parts = output.components(separatedBy: "\r\n\r\n")
        let headers = parts.first ?? ""
        let route = headers.components(separatedBy: "\r\n").first {
            $0.lowercased().hasPrefix("x-spaceport-route:")
        }
        return Answer(
            body: parts.dropFirst().joined(separator: "\r\n\r\n").trimmingCharacters(
                in: .whitespacesAndNewlines),
            route: route.map {
                String($0.dropFirst("x-spaceport-route:".count)).trimmingCharacters(in: .whitespaces)
            })
    }
}

/// An upstream on 127.0.0.1:0 that answers every request with its own name, or with what
/// `answering` says at the time.
final class TestUpstream: @unchecked Sendable {
    let port: Int
    private let listener: Int32

    convenience init(answer: String) throws {
        try self.init { answer }
    }

    init(answering answer: @escaping @Sendable () -> String) throws {
        let fd = Loopback.socket()
        let bound = Loopback.bind(fd, port: 0)
        try #require(bound != nil && listen(fd, 64) == 0, "a test upstream could not listen")
        listener = fd
        port = bound ?? 0
        let thread = Thread { [listener] in Self.serve(listener, answer: answer) }
        thread.start()
    }

    private static func serve(_ listener: Int32, answer: @Sendable () -> String) {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            var request = [UInt8]()
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !request.suffix(4).elementsEqual([13, 10, 13, 10]) && request.count < 65536 {
                let count = read(client, &buffer, buffer.count)
                if count <= 0 { break }
                request += buffer[0..<count]
            }
            // The dashboard's health check connects and says nothing: no request, no answer.
            guard !request.isEmpty else {
                close(client)
                continue
            }
            let body = answer() + "\n"
            let response =
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
            _ = response.withCString { write(client, $0, strlen($0)) }
            close(client)
        }
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }
}

/// A port bound on 127.0.0.1 but not listening: a connection to it is refused.
final class RefusingPort: @unchecked Sendable {
    let port: Int
    private let fd = Loopback.socket()

    init() throws {
        port = try #require(Loopback.bind(fd, port: 0), "could not bind a port on 127.0.0.1")
    }

    deinit { close(fd) }
}

/// Holds 127.0.0.1:`port` listening, when it is free, so a program that prefers it must move.
final class PortHolder: @unchecked Sendable {
    private let fd = Loopback.socket()

    init(port: Int) {
        if Loopback.bind(fd, port: port) != nil { listen(fd, 1) }
    }

    deinit { close(fd) }
}

enum Loopback {
    static func socket() -> Int32 {
        Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
    }

    /// Binds `fd` to 127.0.0.1:`port` (0: any free port) and returns the port it got, or nil.
    static func bind(_ fd: Int32, port: Int) -> Int? {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { return nil }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
