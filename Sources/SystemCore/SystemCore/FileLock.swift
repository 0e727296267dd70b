#if canImport(Glibc)
import Glibc
#endif

/// An exclusive flock(2) on a file, held until `unlock()` or process exit.
public struct FileLock: ~Copyable {
    private let fd: Int32

    /// Opens (creating if needed) `path` and blocks until the exclusive lock is held.
    public init(path: String) throws(SystemCallError) {
        fd = try sys("open", path) { open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0o600) }
        do {
            _ = try sys("flock", path) { flock(fd, LOCK_EX) }
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }
}
