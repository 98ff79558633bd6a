import Foundation
import SpaceportCore

/// Where feed sockets live: `$XDG_RUNTIME_DIR/spaceport/<name>.sock`, else
/// `/tmp/spaceport-<uid>/<name>.sock`, in a folder only its owner may enter.
public enum FeedPaths {
    public static let defaultName = "spaceport"
    public static let socketSuffix = ".sock"
    /// `sun_path` holds 108 bytes on Linux and 104 on macOS, the terminating NUL included.
    public static let maxSocketPathBytes = 103

    public static func directory(environment: [String: String] = ProcessInfo.processInfo.environment)
        -> String
    {
        if let runtime = environment["XDG_RUNTIME_DIR"], runtime.hasPrefix("/") {
            return (runtime.hasSuffix("/") ? String(runtime.dropLast()) : runtime) + "/spaceport"
        }
        return "/tmp/spaceport-\(geteuid())"
    }

    /// The socket of the proxy named `name` in `directory`.
    public static func socket(name: String, in directory: String) -> String {
        directory + "/" + name + socketSuffix
    }

    /// The file beside a socket that names the process serving it and is locked while it runs.
    static func pidFile(forSocket socket: String) -> String {
        (socket.hasSuffix(socketSuffix) ? String(socket.dropLast(socketSuffix.count)) : socket) + ".pid"
    }

    /// The file beside a socket that holds the token its TCP feed made for itself.
    static func tokenFile(forSocket socket: String) -> String {
        (socket.hasSuffix(socketSuffix) ? String(socket.dropLast(socketSuffix.count)) : socket) + ".token"
    }

    /// The socket files in `directory` (their paths), sorted; empty when the folder is absent.
    public static func sockets(in directory: String) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.filter { $0.hasSuffix(socketSuffix) }.sorted().compactMap { name in
            let path = directory + "/" + name
            var info = stat()
            guard lstat(path, &info) == 0, info.st_mode & S_IFMT == S_IFSOCK else { return nil }
            return path
        }
    }

    /// Creates `directory` (mode 0700) or checks that it is ours and closed to others,
    /// narrowing its mode when it is ours but wider.
    static func prepare(directory: String) throws(FeedServerError) {
        var info = stat()
        if lstat(directory, &info) != 0 {
            guard errno == ENOENT else { throw .folder(directory, problem: lastError()) }
            if mkdir(directory, 0o700) != 0 && errno != EEXIST {
                throw .folder(directory, problem: "cannot create it: \(lastError())")
            }
            guard lstat(directory, &info) == 0 else { throw .folder(directory, problem: lastError()) }
        }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw .folder(directory, problem: "it is not a folder; remove it")
        }
        guard info.st_uid == geteuid() else {
            throw .folderNotOwned(directory, owner: Int(info.st_uid), me: Int(geteuid()))
        }
        if info.st_mode & 0o077 != 0 && chmod(directory, 0o700) != 0 {
            throw .folderOpen(directory, mode: Int(info.st_mode & 0o777), problem: lastError())
        }
    }

    static func lastError() -> String { String(cString: strerror(errno)) }
}
