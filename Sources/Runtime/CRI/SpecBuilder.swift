import CRIProto
import Foundation
import ImageStore
import Runtime

/// Builds the OCI config of an app container from a CRI `ContainerConfig`, its pod's
/// `PodSandboxConfig` and the image's config, merged the Kubernetes way. Pure: every file it
/// would read (passwd, group, seccomp profiles, device nodes) comes in through `Environment`.
struct SpecBuilder {
    /// What the builder needs from the pod and the host.
    struct Environment {
        var rootfs: String
        /// The sandbox's namespaces: nil network path means the host's network.
        var netnsPath: String?
        var infraPid: Int32
        var etcHosts: String
        var resolvConf: String
        var etcHostname: String
        var cgroupsPath: String
        /// /etc/passwd and /etc/group of the image (nil: absent).
        var passwd: String?
        var group: String?
        /// Reads a file of the host (seccomp Localhost profiles).
        var readHostFile: (String) throws -> Data
        /// A host device's type and numbers.
        var device: (String) throws -> (type: String, major: Int64, minor: Int64)
    }

    /// Capabilities a container gets by default (containerd's and CRI-O's set).
    static let defaultCapabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
        "CAP_AUDIT_WRITE",
    ]

    static let defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// argv: the container's command replaces the image's entrypoint (and then its cmd too);
    /// the container's args replace the image's cmd.
    static func arguments(config: Runtime_V1_ContainerConfig, image: ImageConfig) throws -> [String] {
        var argv: [String]
        if !config.command.isEmpty {
            argv = config.command + config.args
        } else {
            argv = image.entrypoint + (config.args.isEmpty ? image.cmd : config.args)
        }
        guard let first = argv.first, !first.isEmpty else {
            throw CRIError.invalidArgument(field: "config.command", reason: "no command: neither the container nor the image sets one")
        }
        return argv
    }

    /// Environment: the image's, then the container's (a key set by both takes the container's
    /// value, in the image's position); PATH defaulted when neither sets it.
    static func environment(config: Runtime_V1_ContainerConfig, image: ImageConfig) throws -> [String] {
        var order: [String] = []
        var values: [String: String] = [:]
        func put(_ key: String, _ value: String) {
            if values[key] == nil { order.append(key) }
            values[key] = value
        }
        for entry in image.env {
            let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            put(String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
        for (index, kv) in config.envs.enumerated() {
            guard !kv.key.isEmpty, !kv.key.contains("=") else {
                throw CRIError.invalidArgument(field: "config.envs[\(index)].key", reason: "must be non-empty and contain no '='")
            }
            put(kv.key, String(decoding: kv.value, as: UTF8.self))
        }
        if values["PATH"] == nil { order.insert("PATH", at: 0); values["PATH"] = String(defaultPath.dropFirst(5)) }
        return order.map { "\($0)=\(values[$0] ?? "")" }
    }

    /// The process user: runAsUser/runAsUsername, else the image's USER (name or uid[:gid],
    /// resolved through the image's /etc/passwd and /etc/group), with runAsGroup and
    /// supplementalGroups applied.
    static func user(config: Runtime_V1_ContainerConfig, image: ImageConfig, passwd: String?, group: String?) throws -> Spec.User {
        let sc = config.linux.securityContext
        var uid: UInt32 = 0
        var gid: UInt32? = nil
        var userName: String? = nil
        func lookupUser(_ name: String, field: String) throws -> (UInt32, UInt32) {
            for line in (passwd ?? "").split(separator: "\n") {
                let f = line.split(separator: ":", omittingEmptySubsequences: false)
                if f.count >= 4, f[0] == name, let u = UInt32(f[2]), let g = UInt32(f[3]) { return (u, g) }
            }
            throw CRIError.invalidArgument(field: field, reason: "user \"\(name)\" not found in the image's /etc/passwd")
        }
        if sc.hasRunAsUser {
            guard sc.runAsUser.value >= 0, sc.runAsUser.value <= Int64(UInt32.max - 1) else {
                throw CRIError.invalidArgument(field: "config.linux.security_context.run_as_user", reason: "\(sc.runAsUser.value) is not a valid uid")
            }
            uid = UInt32(sc.runAsUser.value)
            if let line = (passwd ?? "").split(separator: "\n").first(where: { $0.split(separator: ":", omittingEmptySubsequences: false).count >= 4 && $0.split(separator: ":", omittingEmptySubsequences: false)[2] == "\(uid)" }) {
                let f = line.split(separator: ":", omittingEmptySubsequences: false)
                gid = UInt32(f[3])
                userName = String(f[0])
            }
        } else if !sc.runAsUsername.isEmpty {
            (uid, _) = try lookupUser(sc.runAsUsername, field: "config.linux.security_context.run_as_username")
            let found = try lookupUser(sc.runAsUsername, field: "config.linux.security_context.run_as_username")
            gid = found.1
            userName = sc.runAsUsername
        } else if let imageUser = image.user, !imageUser.isEmpty {
            let parts = imageUser.split(separator: ":", maxSplits: 1).map(String.init)
            if let numeric = UInt32(parts[0]) { uid = numeric } else {
                let found = try lookupUser(parts[0], field: "image.config.User")
                uid = found.0
                gid = found.1
                userName = parts[0]
            }
            if parts.count == 2 {
                if let numeric = UInt32(parts[1]) { gid = numeric } else {
                    guard let g = lookupGroup(parts[1], group: group) else {
                        throw CRIError.invalidArgument(field: "image.config.User", reason: "group \"\(parts[1])\" not found in the image's /etc/group")
                    }
                    gid = g
                }
            }
        }
        if sc.hasRunAsGroup {
            guard sc.runAsGroup.value >= 0, sc.runAsGroup.value <= Int64(UInt32.max - 1) else {
                throw CRIError.invalidArgument(field: "config.linux.security_context.run_as_group", reason: "\(sc.runAsGroup.value) is not a valid gid")
            }
            gid = UInt32(sc.runAsGroup.value)
        }
        var additional: [UInt32] = []
        if let userName {
            // Groups that list the user as a member (what initgroups would give).
            for line in (group ?? "").split(separator: "\n") {
                let f = line.split(separator: ":", omittingEmptySubsequences: false)
                if f.count >= 4, let g = UInt32(f[2]), f[3].split(separator: ",").contains(where: { $0 == userName }) {
                    additional.append(g)
                }
            }
        }
        for (index, g) in sc.supplementalGroups.enumerated() {
            guard g >= 0, g <= Int64(UInt32.max - 1) else {
                throw CRIError.invalidArgument(field: "config.linux.security_context.supplemental_groups[\(index)]", reason: "\(g) is not a valid gid")
            }
            if !additional.contains(UInt32(g)) { additional.append(UInt32(g)) }
        }
        return Spec.User(uid: uid, gid: gid ?? 0, additionalGids: additional.isEmpty ? nil : additional)
    }

    static func lookupGroup(_ name: String, group: String?) -> UInt32? {
        for line in (group ?? "").split(separator: "\n") {
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            if f.count >= 3, f[0] == name, let g = UInt32(f[2]) { return g }
        }
        return nil
    }

    /// Normalizes a capability name ("NET_ADMIN" or "CAP_NET_ADMIN") and checks it exists.
    static func capability(_ name: String, field: String) throws -> String {
        let upper = name.uppercased()
        let full = upper.hasPrefix("CAP_") ? upper : "CAP_\(upper)"
        guard Capabilities.number(of: full) != nil else {
            throw CRIError.invalidArgument(field: field, reason: "unknown capability \"\(name)\"")
        }
        return full
    }

    /// The capability set after add/drop ("ALL" allowed in both), in a stable order.
    static func capabilities(_ sc: Runtime_V1_LinuxContainerSecurityContext) throws -> [String] {
        if sc.privileged { return Capabilities.all }
        var set = defaultCapabilities
        let field = "config.linux.security_context.capabilities"
        let drops = sc.capabilities.dropCapabilities
        let adds = sc.capabilities.addCapabilities
        if drops.contains(where: { $0.uppercased() == "ALL" }) { set = [] } else {
            for (i, name) in drops.enumerated() {
                let cap = try capability(name, field: "\(field).drop_capabilities[\(i)]")
                set.removeAll { $0 == cap }
            }
        }
        if adds.contains(where: { $0.uppercased() == "ALL" }) {
            set = Capabilities.all
            for (i, name) in drops.enumerated() where name.uppercased() != "ALL" {
                let cap = try capability(name, field: "\(field).drop_capabilities[\(i)]")
                set.removeAll { $0 == cap }
            }
        } else {
            for (i, name) in adds.enumerated() {
                let cap = try capability(name, field: "\(field).add_capabilities[\(i)]")
                if !set.contains(cap) { set.append(cap) }
            }
        }
        return set
    }

    /// The seccomp filter the security context asks for (nil: unconfined, the CRI default).
    static func seccomp(_ sc: Runtime_V1_LinuxContainerSecurityContext, capabilities: [String], readHostFile: (String) throws -> Data) throws -> Spec.Seccomp? {
        if sc.privileged { return nil }
        let field = "config.linux.security_context.seccomp"
        var profile = sc.seccomp
        if !sc.hasSeccomp && sc.seccompProfilePath.isEmpty { return nil }  // unset: unconfined
        if !sc.hasSeccomp {
            // The deprecated string form.
            switch sc.seccompProfilePath {
            case "runtime/default", "docker/default": profile.profileType = .runtimeDefault
            case "unconfined": profile.profileType = .unconfined
            default:
                profile.profileType = .localhost
                profile.localhostRef = sc.seccompProfilePath.hasPrefix("localhost/") ? String(sc.seccompProfilePath.dropFirst(10)) : sc.seccompProfilePath
            }
        }
        switch profile.profileType {
        case .unconfined: return nil
        case .runtimeDefault: return Spec.Seccomp.runtimeDefault(capabilities: Set(capabilities))
        case .localhost:
            guard profile.localhostRef.hasPrefix("/") else {
                throw CRIError.invalidArgument(field: "\(field).localhost_ref", reason: "must be an absolute path, got \"\(profile.localhostRef)\"")
            }
            let data: Data
            do { data = try readHostFile(profile.localhostRef) } catch {
                throw CRIError.invalidArgument(field: "\(field).localhost_ref", reason: "cannot read \(profile.localhostRef): \(error)")
            }
            do { return try JSONDecoder().decode(Spec.Seccomp.self, from: data) } catch {
                throw CRIError.invalidArgument(field: "\(field).localhost_ref", reason: "\(profile.localhostRef) is not a seccomp profile: \(error)")
            }
        case .UNRECOGNIZED(let value):
            throw CRIError.invalidArgument(field: "\(field).profile_type", reason: "unknown profile type \(value)")
        }
    }

    /// `Spec.DeviceRule` has no public memberwise init: made through its Codable form.
    static func deviceRule(allow: Bool, type: String?, major: Int64?, minor: Int64?, access: String) throws -> Spec.DeviceRule {
        var object: [String: Any] = ["allow": allow, "access": access]
        if let type { object["type"] = type }
        if let major { object["major"] = major }
        if let minor { object["minor"] = minor }
        return try JSONDecoder().decode(Spec.DeviceRule.self, from: JSONSerialization.data(withJSONObject: object))
    }

    /// The whole OCI config.
    static func build(config: Runtime_V1_ContainerConfig, sandbox: Runtime_V1_PodSandboxConfig, image: ImageConfig, env: Environment) throws -> Spec {
        let sc = config.linux.securityContext
        var spec = Spec.defaultConfig()
        let caps = try capabilities(sc)
        let user = try user(config: config, image: image, passwd: env.passwd, group: env.group)
        let workingDir = !config.workingDir.isEmpty ? config.workingDir : (image.workingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/")
        guard workingDir.hasPrefix("/") else {
            throw CRIError.invalidArgument(field: "config.working_dir", reason: "must be an absolute path, got \"\(workingDir)\"")
        }
        let capSet = Spec.Capabilities(
            bounding: caps, effective: caps, inheritable: nil, permitted: caps, ambient: nil)
        spec.process = Spec.Process(
            terminal: config.tty, user: user, args: try arguments(config: config, image: image),
            env: try environment(config: config, image: image), cwd: workingDir, capabilities: capSet,
            rlimits: nil, noNewPrivileges: sc.noNewPrivs && !sc.privileged)
        if config.linux.hasResources, config.linux.resources.oomScoreAdj != 0 {
            spec.process?.oomScoreAdj = Int(config.linux.resources.oomScoreAdj)
        }
        spec.root = Spec.Root(path: env.rootfs, readonly: sc.readonlyRootfs)
        spec.hostname = nil
        spec.annotations = config.annotations.isEmpty ? nil : config.annotations

        var linux = spec.linux ?? Spec.Linux()
        // Namespaces: the pod's network, IPC and UTS; PID per namespace_options.
        var namespaces: [Spec.Namespace] = [Spec.Namespace(type: "mount")]
        if let netns = env.netnsPath { namespaces.append(Spec.Namespace(type: "network", path: netns)) }
        namespaces.append(Spec.Namespace(type: "ipc", path: "/proc/\(env.infraPid)/ns/ipc"))
        namespaces.append(Spec.Namespace(type: "uts", path: "/proc/\(env.infraPid)/ns/uts"))
        let podPID = sandbox.linux.securityContext.namespaceOptions.pid
        switch sc.namespaceOptions.pid {
        case .pod where podPID != .node: namespaces.append(Spec.Namespace(type: "pid", path: "/proc/\(env.infraPid)/ns/pid"))
        case .container: namespaces.append(Spec.Namespace(type: "pid"))
        case .target:
            throw CRIError.invalidArgument(field: "config.linux.security_context.namespace_options.pid", reason: "TARGET is not supported")
        default: break  // NODE: the host's
        }
        namespaces.append(Spec.Namespace(type: "cgroup"))
        linux.namespaces = namespaces
        linux.cgroupsPath = env.cgroupsPath

        if sc.privileged {
            linux.maskedPaths = nil
            linux.readonlyPaths = nil
        } else {
            linux.maskedPaths = sc.maskedPaths.isEmpty ? Spec.defaultMaskedPaths : sc.maskedPaths
            linux.readonlyPaths = sc.readonlyPaths.isEmpty ? Spec.defaultReadonlyPaths : sc.readonlyPaths
        }
        linux.seccomp = try seccomp(sc, capabilities: caps, readHostFile: env.readHostFile)

        // Devices.
        var resources = linux.resources ?? Spec.Resources()
        var deviceRules = sc.privileged ? [try deviceRule(allow: true, type: nil, major: nil, minor: nil, access: "rwm")]
            : (resources.devices ?? [])
        var devices: [Spec.Device] = []
        for (index, device) in config.devices.enumerated() {
            let field = "config.devices[\(index)]"
            guard device.containerPath.hasPrefix("/") else {
                throw CRIError.invalidArgument(field: "\(field).container_path", reason: "must be an absolute path")
            }
            let node: (type: String, major: Int64, minor: Int64)
            do { node = try env.device(device.hostPath) } catch {
                throw CRIError.invalidArgument(field: "\(field).host_path", reason: "\(device.hostPath) is not a device node: \(error)")
            }
            let permissions = device.permissions.isEmpty ? "rwm" : device.permissions
            guard permissions.allSatisfy({ "rwm".contains($0) }) else {
                throw CRIError.invalidArgument(field: "\(field).permissions", reason: "\"\(permissions)\" is not a subset of rwm")
            }
            devices.append(Spec.Device(type: node.type, path: device.containerPath, major: node.major, minor: node.minor, fileMode: 0o666, uid: 0, gid: 0))
            deviceRules.append(try deviceRule(allow: true, type: node.type, major: node.major, minor: node.minor, access: permissions))
        }
        linux.devices = devices.isEmpty ? nil : devices
        resources.devices = deviceRules

        // Resources.
        if config.linux.hasResources {
            let r = config.linux.resources
            let field = "config.linux.resources"
            guard r.memoryLimitInBytes >= 0 else { throw CRIError.invalidArgument(field: "\(field).memory_limit_in_bytes", reason: "must not be negative") }
            guard r.cpuShares >= 0 else { throw CRIError.invalidArgument(field: "\(field).cpu_shares", reason: "must not be negative") }
            guard r.cpuPeriod >= 0 else { throw CRIError.invalidArgument(field: "\(field).cpu_period", reason: "must not be negative") }
            if r.memoryLimitInBytes > 0 {
                resources.memory = Spec.Memory(limit: r.memoryLimitInBytes, swap: r.memorySwapLimitInBytes > 0 ? r.memorySwapLimitInBytes : nil)
            }
            if r.cpuShares > 0 || r.cpuQuota != 0 || r.cpuPeriod > 0 || !r.cpusetCpus.isEmpty || !r.cpusetMems.isEmpty {
                resources.cpu = Spec.CPU(
                    shares: r.cpuShares > 0 ? UInt64(r.cpuShares) : nil, quota: r.cpuQuota != 0 ? r.cpuQuota : nil,
                    period: r.cpuPeriod > 0 ? UInt64(r.cpuPeriod) : nil,
                    cpus: r.cpusetCpus.isEmpty ? nil : r.cpusetCpus, mems: r.cpusetMems.isEmpty ? nil : r.cpusetMems)
            }
            if !r.unified.isEmpty { resources.unified = r.unified }
        }
        linux.resources = resources
        spec.linux = linux

        // Mounts: the defaults, the pod's /etc files, then the requested binds (which win).
        var mounts = spec.mounts ?? []
        if sc.privileged {
            mounts = mounts.map { m in
                var m = m
                if m.destination == "/sys" || m.destination == "/sys/fs/cgroup" { m.options = m.options?.filter { $0 != "ro" } }
                return m
            }
        }
        let requested = Set(config.mounts.map(\.containerPath))
        for (destination, source) in [("/etc/hosts", env.etcHosts), ("/etc/resolv.conf", env.resolvConf), ("/etc/hostname", env.etcHostname)]
        where !requested.contains(destination) {
            mounts.append(Spec.Mount(destination: destination, type: "bind", source: source, options: ["rbind", "rprivate", sc.readonlyRootfs ? "ro" : "rw"]))
        }
        for (index, mount) in config.mounts.enumerated() {
            let field = "config.mounts[\(index)]"
            guard mount.containerPath.hasPrefix("/") else {
                throw CRIError.invalidArgument(field: "\(field).container_path", reason: "must be an absolute path, got \"\(mount.containerPath)\"")
            }
            guard mount.hostPath.hasPrefix("/") else {
                throw CRIError.invalidArgument(field: "\(field).host_path", reason: "must be an absolute path, got \"\(mount.hostPath)\"")
            }
            let propagation: String
            switch mount.propagation {
            case .propagationPrivate: propagation = "rprivate"
            case .propagationHostToContainer: propagation = "rslave"
            case .propagationBidirectional:
                guard sc.privileged else {
                    throw CRIError.invalidArgument(field: "\(field).propagation", reason: "bidirectional propagation needs a privileged container")
                }
                propagation = "rshared"
            case .UNRECOGNIZED(let v): throw CRIError.invalidArgument(field: "\(field).propagation", reason: "unknown value \(v)")
            }
            mounts.removeAll { $0.destination == mount.containerPath }
            var options = ["rbind", propagation, mount.readonly ? "ro" : "rw"]
            if mount.recursiveReadOnly {
                guard mount.readonly else {
                    throw CRIError.invalidArgument(field: "\(field).recursive_read_only", reason: "needs readonly")
                }
                options.append("rro")
            }
            mounts.append(Spec.Mount(destination: mount.containerPath, type: "bind", source: mount.hostPath, options: options))
        }
        spec.mounts = mounts
        return spec
    }
}
