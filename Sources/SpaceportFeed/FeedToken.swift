import Foundation

/// The shared secret a TCP client must present first. It is never taken from a command
/// line, which every local user can read (`ps`): from a file only its owner can read, or
/// from `SPACEPORT_FEED_TOKEN`; a proxy given neither makes one and writes it beside its socket.
public enum FeedToken {
    public static let environmentVariable = "SPACEPORT_FEED_TOKEN"
    /// Longer than any token a person writes; a bigger file is not a token file.
    static let maxFileBytes = 4096

    /// Compares in time that depends only on the expected token's length, so a wrong
    /// guess cannot learn how many of its first bytes were right.
    public static func matches(_ given: String, expected: String) -> Bool {
        let given = Array(given.utf8)
        let expected = Array(expected.utf8)
        var difference: UInt8 = given.count == expected.count ? 0 : 1
        for index in expected.indices {
            difference |= (index < given.count ? given[index] : 0) ^ expected[index]
        }
        return difference == 0 && !expected.isEmpty
    }

    /// The token from `file` when one is named, else from the environment; nil when neither has one.
    public static func resolve(
        file: String?, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(FeedTokenError) -> String? {
        if let file { return try read(file: file) }
        return fromEnvironment(environment)
    }

    /// The token in `SPACEPORT_FEED_TOKEN`, nil when it is unset or empty.
    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String? {
        guard let value = environment[environmentVariable], !value.isEmpty else { return nil }
        return value
    }

    /// The token in `path`, its first line without surrounding spaces. Refused unless the file
    /// is yours and neither your group nor others may read or write it.
    public static func read(file path: String) throws(FeedTokenError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        guard fd >= 0 else { throw .unreadable(path, problem: String(cString: strerror(errno))) }
        defer { close(fd) }
        // The checks are on the file opened, not the name, so a swap after them changes nothing.
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw .unreadable(path, problem: String(cString: strerror(errno)))
        }
        guard info.st_mode & S_IFMT == S_IFREG else { throw .notAFile(path) }
        guard info.st_uid == geteuid() else {
            throw .notYours(path, owner: Int(info.st_uid), me: Int(geteuid()))
        }
        guard info.st_mode & 0o077 == 0 else { throw .open(path, mode: Int(info.st_mode & 0o777)) }
        var bytes = [UInt8](repeating: 0, count: maxFileBytes + 1)
        var count = 0
        while count < bytes.count {
            let got = bytes.withUnsafeMutableBytes {
                Foundation.read(fd, $0.baseAddress! + count, $0.count - count)
            }
            if got < 0 && errno == EINTR { continue }
            guard got >= 0 else { throw .unreadable(path, problem: String(cString: strerror(errno))) }
            if got == 0 { break }
            count += got
        }
        guard count <= maxFileBytes else { throw .tooLong(path) }
        let text = String(decoding: bytes[..<count], as: UTF8.self)
        let token = text.split(whereSeparator: \.isNewline).first.map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard let token, !token.isEmpty else { throw .empty(path) }
        return token
    }

    /// A new token: 32 bytes from the system's random generator, as 64 hex digits.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined()
    }

    /// Writes `token` to a new file at `path`, mode 0600, replacing what was there.
    static func write(_ token: String, to path: String) throws(FeedTokenError) {
        unlink(path)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .cannotWrite(path, problem: String(cString: strerror(errno))) }
        defer { close(fd) }
        let line = Array((token + "\n").utf8)
        let written = line.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        guard written == line.count, fchmod(fd, 0o600) == 0 else {
            let problem = String(cString: strerror(errno))
            unlink(path)
            throw .cannotWrite(path, problem: problem)
        }
    }
}

/// Why a token could not be had. The description is the sentence a user reads.
public enum FeedTokenError: Error, Equatable, Sendable, CustomStringConvertible {
    case unreadable(String, problem: String)
    case notAFile(String)
    case notYours(String, owner: Int, me: Int)
    case open(String, mode: Int)
    case tooLong(String)
    case empty(String)
    case cannotWrite(String, problem: String)
    /// A token was given as an argument, where `ps` shows it to every local user.
    case onCommandLine(flag: String, fileFlag: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let problem):
            return "cannot read the token file \(path): \(problem)"
        case .notAFile(let path):
            return "the token file \(path) is not a regular file; write the token in a file of its own"
        case .notYours(let path, let owner, let me):
            return
                "the token file \(path) belongs to uid \(owner), not to you (uid \(me)); use a token file of your own"
        case .open(let path, let mode):
            return
                "the token file \(path) may be read by others (mode \(String(mode, radix: 8))); run `chmod 600 \(path)`, or write a new token"
        case .tooLong(let path):
            return
                "the token file \(path) is longer than \(FeedToken.maxFileBytes) bytes; put the token alone in it"
        case .empty(let path):
            return "the token file \(path) holds no token; write one on its first line"
        case .cannotWrite(let path, let problem):
            return "cannot write the feed token to \(path): \(problem)"
        case .onCommandLine(let flag, let fileFlag):
            return
                "\(flag) would show the token to every user of this machine (ps lists arguments); put it in a file only you can read and pass \(fileFlag) FILE, or set \(FeedToken.environmentVariable)"
        }
    }
}
