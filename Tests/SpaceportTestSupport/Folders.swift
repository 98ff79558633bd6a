import Foundation
import Synchronization

/// Folders the tests made, removed when the test process exits, so runs leave nothing in /tmp.
private let madeFolders = Mutex<[String]>([])

public func removeAtExit(_ folder: String) {
    let first = madeFolders.withLock { folders in
        folders.append(folder)
        return folders.count == 1
    }
    if first {
        atexit {
            for folder in madeFolders.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: folder) }
        }
    }
}

/// A fresh, short folder under /tmp (a Unix socket path must stay under ~104 bytes), mode
/// 0700, removed when the test process exits.
public func temporaryFolder(_ prefix: String = "st") -> String {
    var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "cannot create a temporary folder")
    let folder = String(cString: made!)
    removeAtExit(folder)
    return folder
}

/// Runs blocking work (sockets, processes) on a thread of its own, off the test's executor.
public func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try work() })
        }
    }
}
