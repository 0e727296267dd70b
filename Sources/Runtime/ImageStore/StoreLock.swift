#if canImport(Glibc)
import Glibc
#endif
import SystemCore

/// An flock(2) on a lock file, shared or exclusive, released when the value is dropped.
///
/// The store's on-disk state is shared by processes (the CLI, the CRI daemon): every change to
/// metadata happens under `root/lock` (exclusive); pulls and imports hold `root/gc.lock` shared
/// while they add content, and garbage collection takes it exclusive, so GC never deletes a blob
/// a running pull has fetched but not yet recorded.
final class StoreLock: Sendable {
    private let fd: Int32
    let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    private static func open(_ path: String) throws(SystemCallError) -> Int32 {
        try sys("open", path) { Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
    }

    /// Blocks until the lock is held.
    static func acquire(_ path: String, shared: Bool = false) throws(SystemCallError) -> StoreLock {
        let fd = try open(path)
        do {
            _ = try sys("flock", path) { flock(fd, shared ? LOCK_SH : LOCK_EX) }
        } catch {
            close(fd)
            throw error
        }
        return StoreLock(fd: fd, path: path)
    }

    /// Takes the lock if free; nil if another holder has it.
    static func tryAcquire(_ path: String, shared: Bool = false) throws(SystemCallError) -> StoreLock? {
        let fd = try open(path)
        if flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0 { return StoreLock(fd: fd, path: path) }
        let code = currentErrno()
        close(fd)
        if code == EWOULDBLOCK { return nil }
        throw SystemCallError("flock", path, errno: .init(rawValue: code))
    }

    /// Waits for the lock without blocking a thread of the cooperative pool (polls every 10 ms).
    static func acquireAsync(_ path: String, shared: Bool = false) async throws -> StoreLock {
        while true {
            if let lock = try tryAcquire(path, shared: shared) { return lock }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
    }
}
