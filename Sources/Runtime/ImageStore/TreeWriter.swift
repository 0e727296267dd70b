#if canImport(Glibc)
import Glibc
#endif
import CArchive
import SystemCore

/// The text of the calling thread's errno.
func errnoText(_ code: Int32 = currentErrno()) -> String { String(cString: strerror(code)) }

/// Writes tar entries below one directory, never outside it (see `LayerUnpacker`).
final class TreeWriter {
    typealias Failure = LayerUnpacker.Failure

    let root: String
    let rootfd: Int32
    let options: LayerUnpacker.Options
    /// Directory modification times, applied at the end (children change them while unpacking).
    private var directoryTimes: [(path: [String], time: timespec)] = []
    /// The last parent directory opened: consecutive entries mostly share it.
    private var cachedParent: (path: [String], fd: Int32)?

    init(root: String, rootfd: Int32, options: LayerUnpacker.Options) {
        self.root = root
        self.rootfd = rootfd
        self.options = options
    }

    func close() {
        if let cached = cachedParent { Glibc.close(cached.fd) }
        cachedParent = nil
        Glibc.close(rootfd)
    }

    /// `path` split into components; refuses absolute paths and `..`.
    static func clean(_ path: String, what: String) throws(Failure) -> [String] {
        if path.hasPrefix("/") { throw Failure(reason: "\(what) \"\(path)\" is an absolute path") }
        var parts: [String] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { throw Failure(reason: "\(what) \"\(path)\" contains \"..\"") }
            parts.append(String(part))
        }
        if path.utf8.contains(0) { throw Failure(reason: "\(what) contains a NUL byte") }
        return parts
    }

    /// Writes one entry; returns the bytes of regular-file content written.
    func write(entry: OpaquePointer, from archive: OpaquePointer) throws(Failure) -> UInt64 {
        guard let cPath = archive_entry_pathname(entry) else { throw Failure(reason: "entry without a path name") }
        let path = String(cString: cPath)
        let parts = try Self.clean(path, what: "entry")
        guard let name = parts.last else { return 0 }   // "./": the layer root itself
        let parentPath = Array(parts.dropLast())

        // OCI whiteouts → overlayfs whiteouts.
        if name.hasPrefix(".wh.") {
            let parent = try openParent(parentPath, entry: path)
            if name == ".wh..wh..opq" {
                if XAttr.set(fd: parent, name: "trusted.overlay.opaque", value: "y") != 0 {
                    throw Failure(reason: "entry \"\(path)\": marking directory opaque: \(errnoText())")
                }
            } else if !name.hasPrefix(".wh..wh.") {
                let hidden = String(name.dropFirst(4))
                guard !hidden.isEmpty, hidden != ".", hidden != ".." else { throw Failure(reason: "entry \"\(path)\": bad whiteout name") }
                try removeExisting(parent, hidden, keepDirectory: false, entry: path)
                if mknodat(parent, hidden, S_IFCHR | 0o000, makeDevice(0, 0)) != 0 {
                    throw Failure(reason: "entry \"\(path)\": creating whiteout: \(errnoText())")
                }
            }
            return 0
        }

        let parent = try openParent(parentPath, entry: path)
        let type = archive_entry_filetype(entry)
        let mode = archive_entry_perm(entry) & 0o7777
        let uid = uid_t(truncatingIfNeeded: archive_entry_uid(entry))
        let gid = gid_t(truncatingIfNeeded: archive_entry_gid(entry))
        let mtime = timespec(tv_sec: archive_entry_mtime(entry), tv_nsec: archive_entry_mtime_nsec(entry))
        var written: UInt64 = 0

        if let cLink = archive_entry_hardlink(entry) {
            let target = String(cString: cLink)
            let targetParts = try Self.clean(target, what: "hardlink target of \"\(path)\"")
            guard let targetName = targetParts.last else { throw Failure(reason: "entry \"\(path)\": hardlink to the layer root") }
            let targetParent = try openDirectory(Array(targetParts.dropLast()), create: false, entry: path)
            defer { Glibc.close(targetParent) }
            try removeExisting(parent, name, keepDirectory: false, entry: path)
            if linkat(targetParent, targetName, parent, name, 0) != 0 {
                throw Failure(reason: "entry \"\(path)\": hardlink to \"\(target)\": \(errnoText())")
            }
            return 0
        }

        switch type {
        case S_IFREG:
            let fd = try creating(parent, name, entry: path) {
                openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            }
            defer { Glibc.close(fd) }
            written = try copyData(from: archive, to: fd, entry: path)
            let size = archive_entry_size(entry)
            // Sparse files end in a hole the data blocks do not cover.
            if size > 0, UInt64(size) > written, ftruncate(fd, off_t(size)) != 0 {
                throw Failure(reason: "entry \"\(path)\": truncate: \(errnoText())")
            }
            try applyOwnerAndMode(fd: fd, uid: uid, gid: gid, mode: mode, entry: path)
            try applyXattrs(entry, fd: fd, path: path)
            var times = [mtime, mtime]
            futimens(fd, &times)
        case S_IFDIR:
            if mkdirat(parent, name, 0o700) != 0 {
                guard currentErrno() == EEXIST else { throw Failure(reason: "entry \"\(path)\": mkdir: \(errnoText())") }
                // An existing directory is kept (its metadata updated); anything else is replaced.
                try removeExisting(parent, name, keepDirectory: true, entry: path)
                if mkdirat(parent, name, 0o700) != 0 && currentErrno() != EEXIST {
                    throw Failure(reason: "entry \"\(path)\": mkdir: \(errnoText())")
                }
            }
            let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw Failure(reason: "entry \"\(path)\": open directory: \(errnoText())") }
            defer { Glibc.close(fd) }
            try applyOwnerAndMode(fd: fd, uid: uid, gid: gid, mode: mode, entry: path)
            try applyXattrs(entry, fd: fd, path: path)
            directoryTimes.append((parts, mtime))
        case S_IFLNK:
            guard let cTarget = archive_entry_symlink(entry) else { throw Failure(reason: "entry \"\(path)\": symlink without target") }
            _ = try creating(parent, name, entry: path) { symlinkat(cTarget, parent, name) }
            if options.preserveOwners, fchownat(parent, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0 {
                throw Failure(reason: "entry \"\(path)\": chown: \(errnoText())")
            }
            var times = [mtime, mtime]
            utimensat(parent, name, &times, AT_SYMLINK_NOFOLLOW)
        case S_IFCHR, S_IFBLK, S_IFIFO:
            if type != S_IFIFO && !options.devicesOutsideDev && parts.first != "dev" {
                throw Failure(reason: "entry \"\(path)\": device node outside dev/ is not allowed")
            }
            try removeExisting(parent, name, keepDirectory: false, entry: path)
            let device = makeDevice(UInt32(truncatingIfNeeded: archive_entry_rdevmajor(entry)),
                                 UInt32(truncatingIfNeeded: archive_entry_rdevminor(entry)))
            if mknodat(parent, name, type | mode, device) != 0 {
                throw Failure(reason: "entry \"\(path)\": mknod: \(errnoText())")
            }
            if options.preserveOwners, fchownat(parent, name, uid, gid, AT_SYMLINK_NOFOLLOW) != 0 {
                throw Failure(reason: "entry \"\(path)\": chown: \(errnoText())")
            }
            if fchmodat(parent, name, mode, 0) != 0 { throw Failure(reason: "entry \"\(path)\": chmod: \(errnoText())") }
        default:
            // Sockets and unknown types are skipped, like docker and containerd do.
            break
        }
        return written
    }

    /// Sets directory times once every entry is written.
    func finish() throws(Failure) {
        for (path, time) in directoryTimes.reversed() {
            let fd = try openDirectory(path, create: false, entry: path.joined(separator: "/"))
            var times = [time, time]
            futimens(fd, &times)
            Glibc.close(fd)
        }
    }

    private func copyData(from archive: OpaquePointer, to fd: Int32, entry: String) throws(Failure) -> UInt64 {
        var total: UInt64 = 0
        while true {
            var buffer: UnsafeRawPointer?
            var size = 0
            var offset: la_int64_t = 0
            let status = archive_read_data_block(archive, &buffer, &size, &offset)
            if status == ARCHIVE_EOF { return total }
            guard status == ARCHIVE_OK || status == ARCHIVE_WARN else {
                throw Failure(reason: "entry \"\(entry)\": corrupt or truncated data: \(LayerUnpacker.errorString(archive))")
            }
            var done = 0
            while done < size {
                let n = pwrite(fd, buffer! + done, size - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if currentErrno() == EINTR { continue }
                    throw Failure(reason: "entry \"\(entry)\": write: \(errnoText())")
                }
                done += n
            }
            total += UInt64(size)
        }
    }

    private func applyOwnerAndMode(fd: Int32, uid: uid_t, gid: gid_t, mode: mode_t, entry: String) throws(Failure) {
        if options.preserveOwners, fchown(fd, uid, gid) != 0 { throw Failure(reason: "entry \"\(entry)\": chown: \(errnoText())") }
        // After chown, which clears set-id bits.
        if fchmod(fd, mode) != 0 { throw Failure(reason: "entry \"\(entry)\": chmod: \(errnoText())") }
    }

    private func applyXattrs(_ entry: OpaquePointer, fd: Int32, path: String) throws(Failure) {
        guard archive_entry_xattr_reset(entry) > 0 else { return }
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK, let name {
            let key = String(cString: name)
            // overlayfs reads trusted.overlay.*: a layer must not forge whiteouts or redirects.
            if key.hasPrefix("trusted.overlay.") { continue }
            if !options.preserveOwners && !key.hasPrefix("user.") { continue }
            if XAttr.set(fd: fd, name: name, value: value, size: size) != 0 {
                let code = currentErrno()
                if code == ENOTSUP { continue }
                throw Failure(reason: "entry \"\(path)\": xattr \(key): \(errnoText(code))")
            }
        }
    }

    /// Runs a create call (-1 and errno on failure); when the name exists already (a later entry
    /// of the same layer replaces an earlier one), removes it and tries once more.
    private func creating(_ parent: Int32, _ name: String, entry: String, _ create: () -> Int32) throws(Failure) -> Int32 {
        var result = create()
        if result < 0 && currentErrno() == EEXIST {
            try removeExisting(parent, name, keepDirectory: false, entry: entry)
            result = create()
        }
        guard result >= 0 else { throw Failure(reason: "entry \"\(entry)\": create: \(errnoText())") }
        return result
    }

    /// Removes what is at `name` unless it is a directory and `keepDirectory`.
    private func removeExisting(_ parent: Int32, _ name: String, keepDirectory: Bool, entry: String) throws(Failure) {
        var st = stat()
        guard fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            if keepDirectory { return }
            if unlinkat(parent, name, AT_REMOVEDIR) != 0 {
                throw Failure(reason: "entry \"\(entry)\": replacing a non-empty directory: \(errnoText())")
            }
            invalidateCache()
        } else if unlinkat(parent, name, 0) != 0 {
            throw Failure(reason: "entry \"\(entry)\": replacing: \(errnoText())")
        }
    }

    private func invalidateCache() {
        if let cached = cachedParent { Glibc.close(cached.fd) }
        cachedParent = nil
    }

    /// The directory fd for `path` (cached, owned by the writer), creating missing directories.
    private func openParent(_ path: [String], entry: String) throws(Failure) -> Int32 {
        if path.isEmpty { return rootfd }
        if let cached = cachedParent, cached.path == path { return cached.fd }
        let fd = try openDirectory(path, create: true, entry: entry)
        invalidateCache()
        cachedParent = (path, fd)
        return fd
    }

    /// Opens `path` below the root one component at a time, never following a symlink. The
    /// caller closes the fd.
    func openDirectory(_ path: [String], create: Bool, entry: String) throws(Failure) -> Int32 {
        var current = dup(rootfd)
        guard current >= 0 else { throw Failure(reason: "dup: \(errnoText())") }
        for component in path {
            var next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if next < 0 && currentErrno() == ENOENT && create {
                if mkdirat(current, component, 0o755) != 0 && currentErrno() != EEXIST {
                    let text = errnoText()
                    Glibc.close(current)
                    throw Failure(reason: "entry \"\(entry)\": mkdir \(component): \(text)")
                }
                next = openat(current, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            }
            if next < 0 {
                let code = currentErrno()
                Glibc.close(current)
                if code == ELOOP || code == ENOTDIR {
                    throw Failure(reason: "entry \"\(entry)\": path goes through \"\(component)\", which is a symlink or not a directory")
                }
                throw Failure(reason: "entry \"\(entry)\": open \(component): \(errnoText(code))")
            }
            Glibc.close(current)
            current = next
        }
        return current
    }
}
