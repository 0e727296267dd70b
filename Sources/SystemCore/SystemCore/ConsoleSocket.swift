#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSystemShim

/// The runc `--console-socket` protocol: a unix socket the runtime connects to, sending the
/// pty master of the process it starts with SCM_RIGHTS.
public struct ConsoleSocket: ~Copyable {
    public let path: String
    public let fd: Int32

    /// Listens at `path` (which must not exist).
    public init(path: String) throws(SystemCallError) {
        self.path = path
        self.fd = try sys("bind", path) { sl_unix_listen(path) }
    }

    /// The pty master, once the runtime sent it (within `timeoutMilliseconds`).
    public func receiveMaster(timeoutMilliseconds: Int32) throws(SystemCallError) -> Int32 {
        try sys("recvmsg", path) { sl_accept_receive_fd(fd, timeoutMilliseconds) }
    }

    /// Sets a terminal's window size.
    public static func resize(_ fd: Int32, rows: UInt16, columns: UInt16) throws(SystemCallError) {
        _ = try sys("ioctl(TIOCSWINSZ)", nil) { sl_set_winsize(fd, rows, columns) }
    }

    deinit {
        close(fd)
        unlink(path)
    }
}

/// Unix stream sockets.
public enum UnixSocket {
    /// Connects to the socket `name` in `directory` (any path length).
    public static func connect(directory: String, name: String) throws(SystemCallError) -> Int32 {
        try sys("connect", "\(directory)/\(name)") { sl_unix_connect_in(directory, name) }
    }
}
