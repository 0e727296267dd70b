/// Finding the cgroup v2 hierarchy in a mount table: shared by the runtime and the kubelet, which
/// must agree on where pod and container cgroups live.
public enum Cgroup2Mounts {
    /// The mount points of every `cgroup2` filesystem in a mountinfo text, in table order.
    ///
    /// Format (proc(5)): `id parent maj:min root mountpoint options [optional...] - fstype source superoptions`.
    /// Mount points escape space, tab, newline and backslash as `\ooo` octal.
    public static func mountPoints(inMountInfo text: String) -> [String] {
        var result: [String] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let dash = fields.firstIndex(of: "-"), dash >= 5, dash + 1 < fields.count else { continue }
            if fields[dash + 1] == "cgroup2" {
                result.append(unescape(String(fields[4])))
            }
        }
        return result
    }

    /// `/sys/fs/cgroup` if it is a cgroup2 mount, else `/sys/fs/cgroup/unified` (hybrid layout),
    /// else the first cgroup2 mount found.
    public static func preferred(_ candidates: [String]) -> String? {
        for preferred in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] where candidates.contains(preferred) {
            return preferred
        }
        return candidates.first
    }

    /// Undoes mountinfo's `\ooo` octal escapes.
    static func unescape(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var bytes: [UInt8] = []
        let source = Array(field.utf8)
        var i = 0
        while i < source.count {
            if source[i] == UInt8(ascii: "\\"), i + 3 < source.count {
                let digits = source[(i + 1)...(i + 3)]
                if digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "7") }) {
                    let value = digits.reduce(0) { $0 * 8 + Int($1 - UInt8(ascii: "0")) }
                    if value < 256 {
                        bytes.append(UInt8(value))
                        i += 4
                        continue
                    }
                }
            }
            bytes.append(source[i])
            i += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
