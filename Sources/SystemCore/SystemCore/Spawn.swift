#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSystemShim
import SystemPackage

/// How a child process ended.
public enum ExitStatus: Sendable, Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    /// Decodes a wait(2) status word.
    public init(waitStatus status: Int32) {
        if status & 0x7f == 0 { self = .exited((status >> 8) & 0xff) } else { self = .signaled(status & 0x7f) }
    }

    /// The shell's convention: the exit code, or 128 + signal.
    public var code: Int32 {
        switch self {
        case .exited(let code): return code
        case .signaled(let signal): return 128 + signal
        }
    }

    public var description: String {
        switch self {
        case .exited(let code): return "exit status \(code)"
        case .signaled(let signal): return "killed by signal \(signal)"
        }
    }
}

/// posix_spawn (vfork + exec, safe from a multi-threaded process: nothing runs between the two
/// but the file actions) and the waits that go with it.
public enum Spawn {
    /// Starts `path` with `arguments` (argv[0] included). `stdin`/`stdout`/`stderr` are dup'ed
    /// onto 0/1/2 (nil: /dev/null); every other descriptor is closed in the child.
    /// `newSession` puts the child in a session (and process group) of its own.
    public static func start(
        _ path: String, arguments: [String], environment: [String]? = nil,
        stdin: Int32? = nil, stdout: Int32? = nil, stderr: Int32? = nil, newSession: Bool = false
    ) throws(SystemCallError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (fd, target) in [(stdin, Int32(0)), (stdout, 1), (stderr, 2)] {
            if let fd {
                posix_spawn_file_actions_adddup2(&actions, fd, target)
            } else {
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", target == 0 ? O_RDONLY : O_WRONLY, 0)
            }
        }
        sl_spawn_file_actions_addclosefrom(&actions, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGCHLD, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        let flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF) | (newSession ? Int32(sl_spawn_setsid_flag()) : 0)
        posix_spawnattr_setflags(&attributes, Int16(flags))
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        let env: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup($0) } + [nil] }
        defer { env?.forEach { free($0) } }
        var pid: pid_t = 0
        let rc: Int32
        if let env {
            rc = posix_spawn(&pid, path, &actions, &attributes, argv, env)
        } else {
            rc = posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        }
        if rc != 0 { throw SystemCallError("posix_spawn", path, errno: Errno(rawValue: rc)) }
        return pid
    }

    /// Blocks until `pid` ends (retrying EINTR).
    public static func wait(_ pid: pid_t) throws(SystemCallError) -> ExitStatus {
        var status: Int32 = 0
        _ = try sys("waitpid", "\(pid)") { waitpid(pid, &status, 0) }
        return ExitStatus(waitStatus: status)
    }

    /// Sends `signal` to `pid`.
    public static func signal(_ pid: pid_t, _ signal: Int32) throws(SystemCallError) {
        _ = try sys("kill", "\(pid)") { kill(pid, signal) }
    }

    /// Whether a process with this pid exists (a zombie counts).
    public static func isAlive(_ pid: pid_t) -> Bool {
        kill(pid, 0) == 0 || currentErrno() == EPERM
    }

    /// A pipe (read end, write end), both close-on-exec.
    public static func pipe() throws(SystemCallError) -> (Int32, Int32) {
        var fds: [Int32] = [-1, -1]
        _ = try sys("pipe2", nil) { fds.withUnsafeMutableBufferPointer { sl_pipe_cloexec($0.baseAddress!) } }
        return (fds[0], fds[1])
    }

    /// An anonymous in-memory file (memfd, close-on-exec) for a child's input or output.
    public static func anonymousFile(name: String) throws(SystemCallError) -> Int32 {
        try sys("memfd_create", name) { sl_memfd_create(name, SL_MFD_CLOEXEC) }
    }

    /// Everything written to `fd` so far (from offset 0), at most `limit` bytes.
    public static func contents(of fd: Int32, limit: Int = 16 << 20) throws(SystemCallError) -> [UInt8] {
        _ = try sys("lseek", nil) { lseek(fd, 0, SEEK_SET) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while result.count < limit {
            let n = try sys("read", nil) { chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
            if n == 0 { break }
            result.append(contentsOf: chunk[0..<min(n, limit - result.count)])
        }
        return result
    }
}
