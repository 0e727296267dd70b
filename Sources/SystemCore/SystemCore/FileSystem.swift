#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import SystemPackage

/// Typed wrappers for the file operations every subsystem needs.
public enum FileSystem {
    /// Reads a whole file. Works for procfs/cgroupfs files whose size is reported as 0.
    public static func readBytes(_ path: String) throws(SystemCallError) -> [UInt8] {
        let fd = try sys("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while true {
            let n = try sys("read", path) { chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
            if n == 0 { break }
            result.append(contentsOf: chunk[0..<n])
        }
        return result
    }

    public static func readString(_ path: String) throws(SystemCallError) -> String {
        String(decoding: try readBytes(path), as: UTF8.self)
    }

    /// The target of a symbolic link (readlink(2)), e.g. `/proc/self/exe`.
    public static func readLink(_ path: String) throws(SystemCallError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = try sys("readlink", path) {
            buffer.withUnsafeMutableBufferPointer { b -> Int in
                guard let base = b.baseAddress else { return -1 }
                return readlink(path, base, b.count - 1)
            }
        }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Writes `contents` to an existing file in one write(2) (sysfs, procfs and cgroupfs want that).
    public static func writeExisting(_ path: String, _ contents: String) throws(SystemCallError) {
        let fd = try sys("open", path) { open(path, O_WRONLY | O_CLOEXEC) }
        defer { close(fd) }
        var bytes = Array(contents.utf8)
        _ = try sys("write", path) { bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) } }
    }

    /// Writes a file atomically: temp file in the same directory, fsync, rename, fsync the directory.
    /// With `durable: false` the fsyncs are skipped: readers still never see a partial file, but
    /// a power loss may lose the write (right for state under /run, which a reboot clears anyway).
    public static func writeAtomically(_ path: String, _ bytes: [UInt8], mode: mode_t = 0o600, durable: Bool = true) throws(SystemCallError) {
        let dir = FilePath(path).removingLastComponent().string
        let temp = "\(path).tmp.\(getpid())"
        let fd = try sys("open", temp) { open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode) }
        do {
            var offset = 0
            while offset < bytes.count {
                let n = try sys("write", temp) {
                    bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
                }
                offset += n
            }
            if durable { _ = try sys("fsync", temp) { fsync(fd) } }
            close(fd)
            _ = try sys("rename", path) { rename(temp, path) }
        } catch {
            close(fd)
            unlink(temp)
            throw error
        }
        guard durable else { return }
        let dirfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
    }

    public static func writeAtomically(_ path: String, _ string: String, mode: mode_t = 0o600, durable: Bool = true) throws(SystemCallError) {
        try writeAtomically(path, Array(string.utf8), mode: mode, durable: durable)
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// mkdir -p. Existing directories are fine; an existing non-directory is ENOTDIR.
    public static func createDirectories(_ path: String, mode: mode_t = 0o755) throws(SystemCallError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/", omittingEmptySubsequences: true) {
            prefix += "/" + component
            if mkdir(prefix, mode) == 0 { continue }
            let code = Errno(rawValue: currentErrno())
            if code == .fileExists {
                if isDirectory(prefix) { continue }
                throw SystemCallError("mkdir", prefix, errno: .notDirectory)
            }
            throw SystemCallError("mkdir", prefix, errno: code)
        }
    }

    /// Names in a directory, without "." and "..".
    public static func listDirectory(_ path: String) throws(SystemCallError) -> [String] {
        var names: [String] = []
        try forEachEntry(path) { name, _ in names.append(name) }
        return names
    }

    /// The names of the directories directly inside `path` (no symlinks followed). Uses the
    /// entry type readdir reports and stats only where the filesystem leaves it unknown.
    public static func listSubdirectories(_ path: String) throws(SystemCallError) -> [String] {
        var names: [String] = []
        try forEachEntry(path) { name, type in
            if type == UInt8(DT_DIR) {
                names.append(name)
            } else if type == UInt8(DT_UNKNOWN) {
                var st = stat()
                if lstat(path + "/" + name, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR { names.append(name) }
            }
        }
        return names
    }

    /// Calls `body` with the name and readdir type (DT_*) of every entry but "." and "..".
    private static func forEachEntry(_ path: String, _ body: (String, UInt8) -> Void) throws(SystemCallError) {
        let dir = try sysPointer("opendir", path) { opendir(path) }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { body(name, entry.pointee.d_type) }
        }
    }

    /// rm -rf for state directories the caller owns. Does not follow symlinks; stays on one device.
    public static func removeTree(_ path: String) throws(SystemCallError) {
        var st = stat()
        if lstat(path, &st) != 0 {
            if currentErrno() == ENOENT { return }
            throw SystemCallError("lstat", path, errno: Errno(rawValue: currentErrno()))
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for name in try listDirectory(path) { try removeTree(path + "/" + name) }
            _ = try sys("rmdir", path) { rmdir(path) }
        } else {
            _ = try sys("unlink", path) { unlink(path) }
        }
    }
}
