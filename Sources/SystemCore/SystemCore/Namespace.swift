import CSystemShim

/// Typed wrappers for the namespace calls glibc hides behind _GNU_SOURCE.
public enum Namespace {
    /// nsfs, where /proc/<pid>/ns/* and their bind mounts live.
    public static let nsfsMagic: Int64 = 0x6e73_6673
    /// procfs (an ns file opened through /proc on old kernels).
    public static let procMagic: Int64 = 0x9fa0

    /// Moves the calling thread into the network namespace open at `fd`.
    public static func enterNetwork(fd: Int32, path: String) throws(SystemCallError) {
        _ = try sys("setns", path) { sl_setns_net(fd) }
    }

    /// The file system type (statfs f_type) of an open file.
    public static func fileSystemType(fd: Int32, path: String) throws(SystemCallError) -> Int64 {
        var type: Int64 = 0
        _ = try sys("fstatfs", path) { sl_fstatfs_type(fd, &type) }
        return type
    }
}
