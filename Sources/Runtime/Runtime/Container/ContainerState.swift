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
public struct ContainerRecord: Codable, Sendable, Equatable {
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
        guard pid > 0, let bytes = try? FileSystem.readBytes("/proc/\(pid)/stat") else { return nil }
        return parseStat(bytes)
    }

    /// (state, start time) from /proc/<pid>/stat text, read as bytes (every verb checks its init
    /// this way; String splitting cost ~0.2M instructions a call).
    static func parseStat(_ bytes: [UInt8]) -> (state: Character, startTime: UInt64)? {
        // The command (field 2) may hold spaces and parentheses: fields 3... follow the last ")".
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        var field = 2
        var state: UInt8?
        var start: UInt64 = 0
        var index = close + 1
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: " ") {
                field += 1
                if field > 22 { break }
                continue
            }
            switch field {
            case 3: state = state ?? byte
            case 22:
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                let (times10, overflow) = start.multipliedReportingOverflow(by: 10)
                guard !overflow else { return nil }
                start = times10 + UInt64(byte - UInt8(ascii: "0"))
            default: continue
            }
        }
        guard field >= 22, let state else { return nil }
        return (Character(Unicode.Scalar(state)), start)
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
