import SystemCore

/// /proc/sys/net writes. procfs resolves net sysctls in the calling thread's network namespace,
/// so a write made while inside the container's namespace lands there.
enum Sysctl {
    /// Writes `value` unless the file already holds it; a missing file (IPv6 disabled) is ignored.
    static func set(_ key: String, _ value: String) throws(SystemCallError) {
        let path = "/proc/sys/" + key
        let current: String
        do {
            current = try FileSystem.readString(path)
        } catch {
            if error.errno == .noSuchFileOrDirectory { return }
            throw error
        }
        if current.trimmingWhitespace == value { return }
        try FileSystem.writeExisting(path, value)
    }
}
