#if canImport(Glibc)
import Glibc
#endif
import SystemCore

/// The mount calls the snapshotter needs, through SystemCore's errno adapter.
enum Mounts {
    static let overlayMagic: Int64 = 0x794c_7630

    /// Mounts an overlayfs at `target`. `upper` and `work` nil means a read-only stack of lowers.
    static func mountOverlay(lowers: [String], upper: String?, work: String?, target: String, readOnly: Bool) throws(SystemCallError) {
        var options = "lowerdir=" + lowers.joined(separator: ":")
        if let upper, let work { options += ",upperdir=\(upper),workdir=\(work)" }
        // xino off and index off keep the mount valid when layer directories are re-used.
        options += ",index=off"
        guard options.utf8.count < 4000 else { throw SystemCallError("mount", target, errno: .argListTooLong) }
        let flags = UInt(readOnly ? MS_RDONLY : 0) | UInt(MS_NODEV)
        _ = try sys("mount", target) { mount("overlay", target, "overlay", flags, options) }
    }

    /// Lazily unmounts every overlay stacked at `target`; not mounted is fine.
    static func unmount(_ target: String) throws(SystemCallError) {
        // Bounded: SystemCore's unmount also accepts "not mounted", so a path that keeps looking
        // like an overlay root cannot spin here.
        for _ in 0..<16 where isOverlayMount(target) {
            try FileSystem.unmount(target)
        }
    }

    /// True when `path` is the root of an overlayfs mount: an overlayfs whose device differs from
    /// its parent directory's (so a store that itself lives on overlayfs is not mistaken for one).
    static func isOverlayMount(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard let type = try? Namespace.fileSystemType(fd: fd, path: path), type == overlayMagic else { return false }
        var own = stat(), parent = stat()
        guard fstat(fd, &own) == 0, stat(path + "/..", &parent) == 0 else { return false }
        return own.st_dev != parent.st_dev
    }
}
