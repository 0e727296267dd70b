#if canImport(Glibc)
import Glibc
#endif
import CSystemShim
import SystemCore

/// The host's cgroup v2 hierarchy: where the `cgroup2` filesystem is mounted.
///
/// On a pure v2 host that is `/sys/fs/cgroup`; on a hybrid host (v1 controllers plus a v2
/// hierarchy for process tracking) it is usually `/sys/fs/cgroup/unified`, often with no
/// controllers at all. Tests pass a temp directory standing in for cgroupfs.
public struct CgroupHierarchy: Sendable {
    /// Absolute path of the cgroup2 mount, without a trailing slash.
    public let mountPoint: String
    public let fileSystem: any CgroupFileSystem

    public init(mountPoint: String, fileSystem: any CgroupFileSystem = HostCgroupFileSystem()) {
        var trimmed = mountPoint
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.mountPoint = trimmed
        self.fileSystem = fileSystem
    }

    /// statfs f_type of a cgroup2 filesystem (CGROUP2_SUPER_MAGIC).
    static let cgroup2Magic: Int64 = 0x6367_7270

    /// Finds the cgroup2 mount of the calling process: `/sys/fs/cgroup` or, on a hybrid host,
    /// `/sys/fs/cgroup/unified` when statfs says they are cgroup2 (what runc checks too), else by
    /// reading the mount table. With `mountInfoPath` only that table is read.
    ///
    /// The statfs checks come first because the mount table grows with every container and
    /// volume on a node: parsing it cost 2.5M instructions with 26 mounts here, 46M with 132.
    public static func discover(
        mountInfoPath: String? = nil, fileSystem: any CgroupFileSystem = HostCgroupFileSystem()
    ) throws(RuntimeError) -> CgroupHierarchy {
        if mountInfoPath == nil {
            for candidate in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] where isCgroup2(candidate) {
                return CgroupHierarchy(mountPoint: candidate, fileSystem: fileSystem)
            }
        }
        let table = mountInfoPath ?? "/proc/self/mountinfo"
        let text = try RuntimeError.wrap("reading the mount table") { () throws(SystemCallError) in
            try FileSystem.readString(table)
        }
        guard let mountPoint = Cgroup2Mounts.preferred(Cgroup2Mounts.mountPoints(inMountInfo: text)) else {
            throw .unsupported("no cgroup2 filesystem is mounted (this runtime needs cgroup v2)")
        }
        return CgroupHierarchy(mountPoint: mountPoint, fileSystem: fileSystem)
    }

    /// True when `path` is a directory on a cgroup2 filesystem.
    static func isCgroup2(_ path: String) -> Bool {
        let fd = open(path, SL_O_PATH | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return (try? Namespace.fileSystemType(fd: fd, path: path)) == cgroup2Magic
    }

    /// The absolute directory of a cgroup given by its path relative to the hierarchy root
    /// (`"/"` or `""` is the root itself).
    public func directory(_ relativePath: String) -> String {
        // Appending, not joined(separator:), which costs a runtime conformance lookup per process.
        var result = mountPoint
        for component in relativePath.split(separator: "/", omittingEmptySubsequences: true) {
            result.append("/")
            result.append(contentsOf: component)
        }
        return result
    }

    /// The controllers listed in `cgroup.controllers` of a cgroup (relative path; default root):
    /// the ones its parent has enabled for it, i.e. the ones that may be enabled below it.
    public func availableControllers(at relativePath: String = "/") throws(RuntimeError) -> Set<String> {
        let path = directory(relativePath) + "/cgroup.controllers"
        let text = try RuntimeError.wrap("reading the available cgroup controllers") { () throws(SystemCallError) in
            try fileSystem.read(path)
        }
        return Self.controllerSet(text)
    }

    /// The controllers enabled for the children of a cgroup (`cgroup.subtree_control`).
    public func enabledControllers(at relativePath: String = "/") throws(RuntimeError) -> Set<String> {
        let path = directory(relativePath) + "/cgroup.subtree_control"
        let text = try RuntimeError.wrap("reading the enabled cgroup controllers") { () throws(SystemCallError) in
            try fileSystem.read(path)
        }
        return Self.controllerSet(text)
    }

    static func controllerSet(_ text: String) -> Set<String> {
        Set(text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init))
    }
}
