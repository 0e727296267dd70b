#if canImport(Glibc)
import Glibc
#endif

/// An exclusive flock(2) on a file, held until the value is dropped or the process exits.
public struct FileLock: ~Copyable {
    private let fd: Int32

    /// Opens (creating if needed) `path` and blocks until the exclusive lock is held.
    public init(path: String) throws(SystemCallError) {
        let fd = try sys("open", path) { open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0o600) }
        if flock(fd, LOCK_EX) != 0 {
            let error = SystemCallError("flock", path, errno: .init(rawValue: currentErrno()))
            close(fd)
            throw error
        }
        self.fd = fd
    }

    deinit { close(fd) }
}
