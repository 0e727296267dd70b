#if canImport(Glibc)
import Glibc
#endif
import SystemCore

/// The runtime-spec lifecycle states.
public enum ContainerStatus: String, Codable, Sendable {
    case creating, created, running, stopped
}

/// What the runtime keeps on disk for one container (`<root>/<id>/state.json`); the full config
/// is beside it in `config.json`, read only by the commands that need it (exec), so the
/// per-container verbs decode a few hundred bytes, not the whole spec.
/// Owner: the runtime commands, under the container's lock. `status` is never stored: it is
/// derived from the init process (alive? same start time?) and the exec fifo each time.
public struct ContainerRecord: Codable, Sendable {
    public var id: String
    public var pid: Int32
    /// Start time of the init process (clock ticks since boot), so a reused pid is not mistaken for it.
    public var initStartTime: UInt64
    public var bundle: String
    public var rootfs: String
    public var created: String
    public var owner: String
    public var cgroupPath: String?
    public var annotations: [String: String]?
    /// The config's hooks: start runs poststart ones, delete poststop ones.
    public var hooks: Spec.Hooks?
}

/// The state document of `runc state`.
public struct ContainerStateDocument: Codable, Sendable {
    public var ociVersion: String
    public var id: String
    public var pid: Int32
    public var status: ContainerStatus
    public var bundle: String
    public var rootfs: String
    public var created: String
    public var owner: String
    public var annotations: [String: String]?
}

/// Facts about a process from /proc/<pid>/stat.
public enum ProcessTable {
    /// (state letter, start time) of `pid`, or nil if it does not exist.
    public static func stat(_ pid: Int32) -> (state: Character, startTime: UInt64)? {
        guard pid > 0, let text = try? FileSystem.readString("/proc/\(pid)/stat"),
              let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is the state (field 3); start time is field 22, i.e. fields[19].
        guard fields.count > 19, let state = fields[0].first, let start = UInt64(fields[19]) else { return nil }
        return (state, start)
    }

    /// True when `pid` is alive (not a zombie) and still the process that started at `startTime`.
    public static func isAlive(_ pid: Int32, startTime: UInt64) -> Bool {
        guard let info = stat(pid) else { return false }
        return info.startTime == startTime && info.state != "Z" && info.state != "X"
    }
}

/// Time stamps as RFC 3339 with nanoseconds, UTC.
public enum Timestamp {
    public static func now() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var seconds = ts.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        let nanos = String(ts.tv_nsec)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + String(repeating: "0", count: 9 - nanos.count) + nanos + "Z"
    }
}
