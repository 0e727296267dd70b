#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CRuntimeShim
import SystemCore

extension ContainerCgroup {
    /// Attaches the device filter built from `rules` to the cgroup, replacing an earlier one.
    ///
    /// Pass the config's `linux.resources.devices` followed by `CgroupDeviceFilter.defaultRules`
    /// (runc appends its defaults after the user's rules, so they cannot be denied). Needs root
    /// (CAP_SYS_ADMIN, or CAP_BPF + CAP_NET_ADMIN) and a real cgroup2 directory; does not go
    /// through `CgroupFileSystem`. Works on a v2 hierarchy without controllers: device control is
    /// not a controller on v2.
    public func applyDeviceRules(_ rules: [Spec.DeviceRule]) throws(RuntimeError) {
        let filter = try CgroupDeviceFilter(rules: rules)
        let dir = directory
        let fd: Int32
        do {
            fd = try sys("open", dir) { open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        } catch {
            throw .system(context: "opening cgroup \(path) for the device filter", error)
        }
        defer { close(fd) }
        var log = [CChar](repeating: 0, count: 4096)
        let raw = filter.raw
        let result = raw.withUnsafeBufferPointer { insns in
            log.withUnsafeMutableBufferPointer { buffer in
                sl_bpf_attach_device_filter(fd, insns.baseAddress, UInt32(insns.count), buffer.baseAddress, UInt32(buffer.count))
            }
        }
        if result != 0 {
            let code = currentErrno()
            let message = String(decoding: log.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let context = message.isEmpty
                ? "attaching the device filter to cgroup \(path)"
                : "attaching the device filter to cgroup \(path) (verifier: \(message.split(separator: "\n").last(where: { !$0.hasPrefix("processed ") }) ?? ""))"
            throw .system(context: context, SystemCallError("bpf", dir, errno: .init(rawValue: code)))
        }
    }
}
