#if canImport(Glibc)
import Glibc
#endif

/// A mount's `options` split into what mount(2) takes: flags, propagation and fs data.
public struct MountOptions: Equatable, Sendable {
    public var flags: UInt = 0
    /// Flags the options explicitly turned off (`rw`, `suid`, ...), so a remount does not keep them.
    public var clearFlags: UInt = 0
    public var propagation: UInt = 0
    public var isBind = false
    public var recursive = false
    /// Options mount(2) passes to the filesystem ("mode=755", "size=64k", ...).
    public var data: [String] = []

    public init() {}

    /// Parses the options of `mounts[index]`.
    public init(_ options: [String], field: String) throws(RuntimeError) {
        for option in options {
            if let (set, flag) = Self.flagOptions[option] {
                if set {
                    flags |= flag
                    clearFlags &= ~flag
                } else {
                    flags &= ~flag
                    clearFlags |= flag
                }
            } else if let value = Self.propagationOptions[option] {
                propagation = value
            } else if option == "bind" {
                isBind = true
            } else if option == "rbind" {
                isBind = true
                recursive = true
            } else if Self.ignored.contains(option) {
                continue
            } else if option.isEmpty {
                throw .invalidConfig(field: field, reason: "empty mount option")
            } else {
                data.append(option)
            }
        }
    }

    static let flagOptions: [String: (Bool, UInt)] = [
        "ro": (true, UInt(MS_RDONLY)), "rw": (false, UInt(MS_RDONLY)),
        "nosuid": (true, UInt(MS_NOSUID)), "suid": (false, UInt(MS_NOSUID)),
        "nodev": (true, UInt(MS_NODEV)), "dev": (false, UInt(MS_NODEV)),
        "noexec": (true, UInt(MS_NOEXEC)), "exec": (false, UInt(MS_NOEXEC)),
        "sync": (true, UInt(MS_SYNCHRONOUS)), "async": (false, UInt(MS_SYNCHRONOUS)),
        "dirsync": (true, UInt(MS_DIRSYNC)),
        "mand": (true, UInt(MS_MANDLOCK)), "nomand": (false, UInt(MS_MANDLOCK)),
        "noatime": (true, UInt(MS_NOATIME)), "atime": (false, UInt(MS_NOATIME)),
        "nodiratime": (true, UInt(MS_NODIRATIME)), "diratime": (false, UInt(MS_NODIRATIME)),
        "relatime": (true, UInt(MS_RELATIME)), "norelatime": (false, UInt(MS_RELATIME)),
        "strictatime": (true, UInt(MS_STRICTATIME)), "nostrictatime": (false, UInt(MS_STRICTATIME)),
        "silent": (true, UInt(MS_SILENT)), "loud": (false, UInt(MS_SILENT)),
    ]

    static let propagationOptions: [String: UInt] = [
        "private": UInt(MS_PRIVATE), "rprivate": UInt(MS_PRIVATE | MS_REC),
        "shared": UInt(MS_SHARED), "rshared": UInt(MS_SHARED | MS_REC),
        "slave": UInt(MS_SLAVE), "rslave": UInt(MS_SLAVE | MS_REC),
        "unbindable": UInt(MS_UNBINDABLE), "runbindable": UInt(MS_UNBINDABLE | MS_REC),
    ]

    /// Options that only matter to other runtimes or to features this one does not implement.
    static let ignored: Set<String> = ["tmpcopyup", "defaults", "remount"]

    /// rootfsPropagation values.
    public static func propagation(_ value: String, field: String) throws(RuntimeError) -> UInt {
        guard let flag = propagationOptions[value] else {
            throw .invalidConfig(
                field: field,
                reason: "unknown propagation \"\(value)\" (want one of \(propagationOptions.keys.sorted().joined(separator: ", ")))")
        }
        return flag
    }
}
