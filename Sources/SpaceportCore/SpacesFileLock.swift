import Foundation

extension SpacesFile {
    /// How long a writer waits for another's edit before it gives up and says so.
    static let lockTimeout = Duration.seconds(10)

    /// Runs `body` while this process holds the spaces file's lock: an exclusive `flock` on
    /// `.<name>.lock` beside the file (beside a link's target), which every writer takes, in
    /// any process, so that each reads the file as it is now and saves on top of it.
    static func withLock<T>(
        _ path: String, timeout: Duration = lockTimeout, _ body: (LockedSpacesFile) throws(SpacesError) -> T
    ) throws(SpacesError) -> T {
        let file = try LockedSpacesFile.acquire(path, timeout: timeout)
        defer { file.release() }
        try file.checkTarget()
        return try body(file)
    }

    static func cannotWriteBeside(_ path: String, in folder: String, _ error: Int32) -> SpacesError {
        .io(
            "\(path): cannot write beside it in \(folder) (\(String(cString: strerror(error)))); the file is unchanged"
        )
    }
}

/// The spaces file while this process holds its lock, for one edit. A link is resolved once:
/// the edit reads and replaces that one file, and is refused if the link moves meanwhile.
struct LockedSpacesFile {
    /// The spaces file as the user named it, for messages.
    let path: String
    /// The file the name led to when the lock was taken: the spaces file, or a link's target.
    let target: String
    let lockPath: String
    private let fd: Int32

    /// The file `path` names now, through any links; the path itself while nothing is there.
    static func resolve(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else {
            return URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func acquire(_ path: String, timeout: Duration) throws(SpacesError) -> LockedSpacesFile {
        let target = resolve(path)
        let url = URL(fileURLWithPath: target)
        let folder = url.deletingLastPathComponent().path
        let lockPath = "\(folder)/.\(url.lastPathComponent).lock"
        let deadline = ContinuousClock.now + timeout
        var pauseMicroseconds: UInt32 = 1000
        var fd: Int32 = -1
        while true {
            if fd < 0 { fd = try open(lockPath, for: path, in: folder, like: target) }
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                // Each holder removes the lock file as it finishes: a lock on a removed one locks nothing.
                var held = stat()
                var named = stat()
                if fstat(fd, &held) == 0, stat(lockPath, &named) == 0, held.st_ino == named.st_ino,
                    held.st_dev == named.st_dev
                {
                    return LockedSpacesFile(path: path, target: target, lockPath: lockPath, fd: fd)
                }
                close(fd)
                fd = -1
                continue
            }
            let failure = errno
            guard failure == EWOULDBLOCK || failure == EINTR else {
                close(fd)
                throw .io(
                    "\(path): cannot be locked for editing (\(String(cString: strerror(failure)))); the file is unchanged"
                )
            }
            guard ContinuousClock.now < deadline else {
                close(fd)
                throw .io(
                    "\(path): another edit has held its lock (\(lockPath)) for \(timeout.components.seconds) s; try again when it is done (nothing was written)"
                )
            }
            usleep(pauseMicroseconds)
            pauseMicroseconds = min(pauseMicroseconds * 2, 4000)
        }
    }

    /// Opens the lock file, creating it for those who may write the spaces file (and owned as it is).
    private static func open(
        _ lockPath: String, for path: String, in folder: String, like target: String
    ) throws(SpacesError) -> Int32 {
        while true {
            let created = Foundation.open(lockPath, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if created >= 0 {
                var spaces = stat()
                if stat(target, &spaces) == 0 {
                    // Read and write for whoever may write the spaces file: a reader alone cannot hold edits up.
                    fchmod(created, (spaces.st_mode & 0o222) * 3)
                    // Its group too, so that a shared file's lock is shared; root gives it the owner as well.
                    fchown(created, geteuid() == 0 ? spaces.st_uid : uid_t.max, spaces.st_gid)
                }
                return created
            }
            guard errno == EEXIST else { throw SpacesFile.cannotWriteBeside(path, in: folder, errno) }
            let existing = Foundation.open(lockPath, O_RDWR | O_NOFOLLOW | O_CLOEXEC)
            if existing >= 0 { return existing }
            // Removed by its holder between the two opens: create it again.
            guard errno == ENOENT else {
                throw .io(
                    "\(path): cannot open its lock \(lockPath) (\(String(cString: strerror(errno)))); the file is unchanged"
                )
            }
        }
    }

    func release() {
        unlink(lockPath)
        close(fd)
    }

    /// Refuses when the name now leads to another file than the one this edit read.
    func checkTarget() throws(SpacesError) {
        let now = Self.resolve(path)
        guard now == target else {
            throw .io(
                "\(path): now leads to \(now), not \(target), which this edit read; nothing was written; run the edit again"
            )
        }
    }

    /// The file's text, or nil when there is none yet.
    func read() throws(SpacesError) -> String? {
        try SpacesFile.readIfPresent(path: target)
    }
}
