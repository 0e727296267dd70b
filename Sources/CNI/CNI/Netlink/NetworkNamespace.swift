#if canImport(Glibc)
import Glibc
#endif
import SystemCore

/// An open network namespace (a file descriptor from /proc/<pid>/ns/net or a bind mount of one).
///
/// Entering it with setns(2) changes only the calling thread; the plugin is single-threaded and
/// synchronous, and `perform` always returns to the original namespace before it returns.
public final class NetworkNamespace {
    public let path: String
    public let fd: Int32

    public enum OpenError: Error {
        /// The path does not exist (the container is gone).
        case missing(SystemCallError)
        /// The path exists but is not a network namespace.
        case notANamespace(String)
        case other(SystemCallError)
    }

    public init(path: String) throws(OpenError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            let error = SystemCallError("open", path, errno: .init(rawValue: currentErrno()))
            if currentErrno() == ENOENT { throw .missing(error) }
            throw .other(error)
        }
        let magic: Int64
        do {
            magic = try Namespace.fileSystemType(fd: fd, path: path)
        } catch {
            close(fd)
            throw .other(error)
        }
        guard magic == Namespace.nsfsMagic || magic == Namespace.procMagic else {
            close(fd)
            throw .notANamespace("\(path) is not a namespace file (nsfs)")
        }
        self.fd = fd
    }

    /// The calling thread's current network namespace.
    public static func current() throws(OpenError) -> NetworkNamespace {
        try NetworkNamespace(path: "/proc/thread-self/ns/net")
    }

    deinit { close(fd) }

    /// Checks the namespace type by entering it and coming straight back.
    public func validate(returningTo home: NetworkNamespace) throws(OpenError) {
        do {
            try Namespace.enterNetwork(fd: fd, path: path)
        } catch {
            if error.errno == .invalidArgument { throw .notANamespace("\(path) is not a network namespace") }
            throw .other(error)
        }
        do {
            try Namespace.enterNetwork(fd: home.fd, path: home.path)
        } catch {
            throw .other(error)
        }
    }

    /// Runs `body` inside this namespace and returns to `home` afterwards, even when it throws.
    public func perform<T, E: Error>(returningTo home: NetworkNamespace, _ body: () throws(E) -> T) throws -> T {
        try Namespace.enterNetwork(fd: fd, path: path)
        defer {
            // Failing to get back would leave the rest of the plugin acting on the container's
            // namespace; stopping is the only safe answer.
            do {
                try Namespace.enterNetwork(fd: home.fd, path: home.path)
            } catch {
                fatalError("returning to the host network namespace failed: \(error)")
            }
        }
        return try body()
    }
}
