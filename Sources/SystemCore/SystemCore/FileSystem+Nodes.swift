#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// Mount points, device nodes and single directory entries.
extension FileSystem {
    /// Detaches the mount at `path` (MNT_DETACH). Not mounted (EINVAL) or absent (ENOENT) is not
    /// an error.
    public static func unmount(_ path: String) throws(SystemCallError) {
        if umount2(path, Int32(MNT_DETACH)) == 0 { return }
        let code = currentErrno()
        if code == EINVAL || code == ENOENT { return }
        throw SystemCallError("umount2", path, errno: Errno(rawValue: code))
    }

    /// Removes a file or an empty directory; absent is not an error.
    public static func removeEntry(_ path: String) throws(SystemCallError) {
        if remove(path) == 0 { return }
        let code = currentErrno()
        if code == ENOENT { return }
        throw SystemCallError("remove", path, errno: Errno(rawValue: code))
    }

    /// A device node's type ("c" or "b"), major and minor number.
    public static func deviceNumbers(_ path: String) throws(SystemCallError) -> (type: String, major: Int64, minor: Int64) {
        var info = stat()
        _ = try sys("stat", path) { stat(path, &info) }
        let kind = info.st_mode & S_IFMT
        guard kind == S_IFCHR || kind == S_IFBLK else { throw SystemCallError("stat", path, errno: Errno(rawValue: ENODEV)) }
        let dev = UInt64(info.st_rdev)
        let major = Int64(((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff))
        let minor = Int64((dev & 0xff) | ((dev >> 12) & ~0xff))
        return (kind == S_IFCHR ? "c" : "b", major, minor)
    }

    /// Creates an empty regular file (a bind-mount target) if nothing is at `path`.
    public static func touch(_ path: String, mode: mode_t = 0o644) throws(SystemCallError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, mode)
        if fd < 0 { throw SystemCallError("open", path, errno: Errno(rawValue: currentErrno())) }
        close(fd)
    }

    /// Creates a symbolic link at `path` pointing to `target`.
    public static func symlink(_ target: String, at path: String) throws(SystemCallError) {
        _ = try sys("symlink", path) { Glibc.symlink(target, path) }
    }
}
