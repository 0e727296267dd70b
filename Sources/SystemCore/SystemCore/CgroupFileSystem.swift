#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The handful of operations the runtime's and the kubelet's cgroup code perform on cgroupfs,
/// behind a protocol so that unit tests can run the real logic against a temp directory that
/// imitates the kernel (creating interface files on mkdir, honouring `cgroup.subtree_control`)
/// without root (`FakeCgroupFileSystem` in the `CgroupTestSupport` test target).
///
/// Paths are absolute host paths. Every method reports failures as the `SystemCallError` of the
/// call that failed, naming the file; callers add context.
public protocol CgroupFileSystem: Sendable {
    /// Reads a whole interface file.
    func read(_ path: String) throws(SystemCallError) -> String
    /// Writes `value` to an existing interface file in one write(2). Never creates the file:
    /// a missing file must fail with ENOENT (that is how a missing controller shows).
    func write(_ path: String, _ value: String) throws(SystemCallError)
    /// mkdir(2) of one directory; EEXIST is reported, not swallowed.
    func makeDirectory(_ path: String) throws(SystemCallError)
    /// rmdir(2) of one cgroup directory. The kernel answers EBUSY while the cgroup has live
    /// children or processes (its interface files do not count).
    func removeDirectory(_ path: String) throws(SystemCallError)
    /// Whether `path` exists (no symlinks are followed).
    func exists(_ path: String) -> Bool
    /// The names of the child cgroups (directories) of `path`.
    func subdirectories(_ path: String) throws(SystemCallError) -> [String]
    /// kill(2), for kernels without `cgroup.kill` (before 5.14).
    func signal(_ pid: Int32, _ signal: Int32) throws(SystemCallError)
    /// Sleeps; a test double may return at once.
    func pause(milliseconds: Int)
}

/// The real cgroupfs, through plain system calls.
public struct HostCgroupFileSystem: CgroupFileSystem {
    public init() {}

    public func read(_ path: String) throws(SystemCallError) -> String {
        try FileSystem.readString(path)
    }

    public func write(_ path: String, _ value: String) throws(SystemCallError) {
        try FileSystem.writeExisting(path, value)
    }

    public func makeDirectory(_ path: String) throws(SystemCallError) {
        _ = try sys("mkdir", path) { mkdir(path, 0o755) }
    }

    public func removeDirectory(_ path: String) throws(SystemCallError) {
        _ = try sys("rmdir", path) { rmdir(path) }
    }

    public func exists(_ path: String) -> Bool {
        FileSystem.exists(path)
    }

    public func subdirectories(_ path: String) throws(SystemCallError) -> [String] {
        try FileSystem.listSubdirectories(path)
    }

    public func signal(_ pid: Int32, _ signal: Int32) throws(SystemCallError) {
        _ = try sys("kill", String(pid)) { kill(pid, signal) }
    }

    public func pause(milliseconds: Int) {
        usleep(UInt32(max(0, milliseconds)) * 1000)
    }
}
