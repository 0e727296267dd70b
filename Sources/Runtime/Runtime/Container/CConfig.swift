#if canImport(Glibc)
import Glibc
#endif
import CRuntimeShim

/// Owns the C memory behind an `sl_config` built from a plan; freed when released.
/// The forked children read it as-is (copy-on-write), so it only has to outlive `sl_spawn`.
final class CConfig {
    private var allocations: [UnsafeMutableRawPointer] = []
    var config = sl_config()

    deinit { allocations.forEach { free($0) } }

    func string(_ value: String?) -> UnsafePointer<CChar>? {
        guard let value else { return nil }
        guard let copy = strdup(value) else { return nil }
        allocations.append(UnsafeMutableRawPointer(copy))
        return UnsafePointer(copy)
    }

    /// A NULL-terminated `char *const *` array.
    func stringArray(_ values: [String]?) -> UnsafePointer<UnsafeMutablePointer<CChar>?>? {
        guard let values else { return nil }
        let array = buffer(of: UnsafeMutablePointer<CChar>?.self, count: values.count + 1)
        for (index, value) in values.enumerated() { array[index] = UnsafeMutablePointer(mutating: string(value)) }
        array[values.count] = nil
        return UnsafePointer(array)
    }

    func constStringArray(_ values: [String]) -> UnsafePointer<UnsafePointer<CChar>?>? {
        let array = buffer(of: UnsafePointer<CChar>?.self, count: max(values.count, 1))
        for (index, value) in values.enumerated() { array[index] = string(value) }
        return UnsafePointer(array)
    }

    func buffer<T>(of: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let raw = calloc(max(count, 1), MemoryLayout<T>.stride)!
        allocations.append(raw)
        return raw.bindMemory(to: T.self, capacity: max(count, 1))
    }

    func array<T>(_ values: [T]) -> UnsafePointer<T>? {
        let pointer = buffer(of: T.self, count: values.count)
        for (index, value) in values.enumerated() { (pointer + index).initialize(to: value) }
        return UnsafePointer(pointer)
    }

    func bytes(_ values: [UInt8]) -> UnsafeRawPointer {
        let pointer = buffer(of: UInt8.self, count: values.count)
        pointer.update(from: values, count: values.count)
        return UnsafeRawPointer(pointer)
    }

    func hooks(_ hooks: [Spec.Hook]?, name: String) -> (UnsafePointer<sl_hook>?, Int) {
        let list = hooks ?? []
        let converted = list.map { hook in
            sl_hook(
                path: string(hook.path), argv: stringArray(hook.args ?? [hook.path]), envp: stringArray(hook.env ?? []),
                timeout: Int32(hook.timeout ?? 0), name: string(name))
        }
        return (array(converted), converted.count)
    }

    /// Fills `config.process` from a process plan.
    func setProcess(_ plan: ProcessPlan, consoleSocket: Int32, preserveFDs: Int) {
        var p = sl_process()
        p.path = nil
        p.argv = stringArray(plan.args)
        p.envp = stringArray(plan.env)
        p.cwd = string(plan.cwd)
        p.uid = plan.uid
        p.gid = plan.gid
        p.groups = array(plan.additionalGids)
        p.n_groups = plan.additionalGids.count
        p.set_groups = 1
        if let umask = plan.umask {
            p.set_umask = 1
            p.umask = umask
        }
        if let caps = plan.capabilities {
            p.set_caps = 1
            p.cap_bounding = caps.bounding
            p.cap_effective = caps.effective
            p.cap_permitted = caps.permitted
            p.cap_inheritable = caps.inheritable
            p.cap_ambient = caps.ambient
        }
        let limits = plan.rlimits.map { sl_rlimit(resource: $0.resource, soft: $0.soft, hard: $0.hard) }
        p.rlimits = array(limits)
        p.n_rlimits = limits.count
        p.no_new_privs = plan.noNewPrivileges ? 1 : 0
        if let adj = plan.oomScoreAdj {
            p.set_oom_score_adj = 1
            p.oom_score_adj = Int32(adj)
        }
        if let personality = plan.personality {
            p.set_personality = 1
            p.personality = personality
        }
        p.terminal = plan.terminal ? 1 : 0
        p.console_socket_fd = consoleSocket
        p.console_rows = UInt16(clamping: plan.consoleSize?.height ?? 0)
        p.console_cols = UInt16(clamping: plan.consoleSize?.width ?? 0)
        if let seccomp = plan.seccomp, !seccomp.instructions.isEmpty {
            p.seccomp_filter = seccomp.instructions.withUnsafeBytes { bytes(Array($0)) }
            p.seccomp_len = UInt16(clamping: seccomp.instructions.count)
            p.seccomp_flags = seccomp.flags
        }
        p.preserve_fds = Int32(preserveFDs)
        config.process = p
    }

    /// Fills the filesystem and namespace part of `config` from a container plan.
    func setContainer(_ plan: ContainerPlan) {
        config.is_exec = 0
        config.ns_clone_flags = plan.newNamespaces
        config.timens_offsets = string(plan.timeOffsets)
        config.rootfs = string(plan.rootfs)
        config.rootfs_readonly = plan.readonlyRoot ? 1 : 0
        config.root_propagation = plan.rootPropagation
        config.rootfs_propagation = plan.rootfsPropagation
        config.new_mount_ns = 1
        let mounts = plan.mounts.map { mount in
            sl_mount(
                source: string(mount.source), destination: string(mount.destination), type: string(mount.type),
                data: mount.options.data.isEmpty ? nil : string(mount.options.data.joined(separator: ",")),
                flags: mount.options.flags, clear_flags: mount.options.clearFlags, propagation: mount.options.propagation,
                kind: Int32(mount.options.isBind ? SL_MOUNT_BIND.rawValue : SL_MOUNT_FS.rawValue),
                recursive: mount.options.recursive ? 1 : 0, source_is_dir: mount.sourceIsDirectory ? 1 : 0)
        }
        config.mounts = array(mounts)
        config.n_mounts = mounts.count
        let devices = plan.devices.map { device in
            sl_device(
                path: string(device.path), type: CChar(UInt8(ascii: device.type == "b" ? "b" : device.type == "p" ? "p" : "c")),
                major: device.major ?? 0, minor: device.minor ?? 0, mode: device.fileMode ?? 0o666,
                uid: device.uid ?? 0, gid: device.gid ?? 0)
        }
        config.devices = array(devices)
        config.n_devices = devices.count
        config.bind_devices = plan.bindDevices ? 1 : 0
        config.dev_symlinks = 1
        config.masked_paths = constStringArray(plan.maskedPaths)
        config.n_masked_paths = plan.maskedPaths.count
        config.readonly_paths = constStringArray(plan.readonlyPaths)
        config.n_readonly_paths = plan.readonlyPaths.count
        config.hostname = string(plan.hostname)
        config.domainname = string(plan.domainname)
        config.sysctl_keys = constStringArray(plan.sysctls.map(\.0))
        config.sysctl_values = constStringArray(plan.sysctls.map(\.1))
        config.n_sysctls = plan.sysctls.count
        let hooks = plan.spec.hooks
        (config.create_container_hooks, config.n_create_container_hooks) = self.hooks(hooks?.createContainer, name: "createContainer")
        (config.start_container_hooks, config.n_start_container_hooks) = self.hooks(hooks?.startContainer, name: "startContainer")
        config.wait_hooks = 1
        config.deathsig = SIGKILL
    }

    /// Sets every join fd to -1, then the given ones.
    func setJoins(_ fds: [(NamespaceKind, Int32)]) {
        withUnsafeMutableBytes(of: &config.ns_join_fds) { raw in
            let slots = raw.bindMemory(to: Int32.self)
            for index in slots.indices { slots[index] = -1 }
            for (kind, fd) in fds { slots[kind.index] = fd }
        }
    }
}
