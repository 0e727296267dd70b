import CRuntimeShim

/// Linux capability names ("CAP_SYS_ADMIN") to the bit masks the C stage applies.
public enum Capabilities {
    /// The mask for `names`; an unknown name is an error naming `field`.
    public static func mask(_ names: [String]?, field: String) throws(RuntimeError) -> UInt64 {
        var mask: UInt64 = 0
        for (index, name) in (names ?? []).enumerated() {
            guard let number = number(of: name) else {
                throw .invalidConfig(field: "\(field)[\(index)]", reason: "unknown capability \"\(name)\"")
            }
            // Capabilities this kernel does not know cannot be granted; runc ignores them too.
            if number <= Int(sl_cap_last_cap()) && number < 64 { mask |= 1 << UInt64(number) }
        }
        return mask
    }

    /// The capability number for a name like "CAP_NET_ADMIN" (case-insensitive), or nil.
    public static func number(of name: String) -> Int? {
        let upper = name.uppercased()
        guard upper.hasPrefix("CAP_") else { return nil }
        let value = sl_cap_from_name(upper.lowercased())
        return value >= 0 ? Int(value) : known[upper]
    }

    /// Every capability the running kernel has, as names.
    public static var all: [String] {
        (0...Int(sl_cap_last_cap())).compactMap { name(of: $0) }
    }

    public static func name(of number: Int) -> String? {
        known.first { $0.value == number }?.key
    }

    /// Names for numbers (libcap's cap_to_name returns lower-case names; this keeps the OCI spelling).
    static let known: [String: Int] = [
        "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3, "CAP_FSETID": 4,
        "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_LINUX_IMMUTABLE": 9,
        "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11, "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13,
        "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15, "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18,
        "CAP_SYS_PTRACE": 19, "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
        "CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27, "CAP_LEASE": 28,
        "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31, "CAP_MAC_OVERRIDE": 32,
        "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35, "CAP_BLOCK_SUSPEND": 36,
        "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39, "CAP_CHECKPOINT_RESTORE": 40,
    ]
}
