#if canImport(Glibc)
import Glibc
#endif
import SystemCore

/// A validated, resolved config.json: everything the C stage needs, with host paths made
/// absolute and names turned into numbers. Building it is the validation: every rule that can
/// fail names the JSON field.
public struct ContainerPlan: Sendable {
    public struct PlannedMount: Sendable, Equatable {
        public var source: String?
        public var destination: String
        public var type: String
        public var options: MountOptions
        public var sourceIsDirectory: Bool
    }

    public var bundle: String
    public var rootfs: String
    public var readonlyRoot: Bool
    public var newNamespaces: Int32 = 0
    /// Namespaces to join, by kind, from a path.
    public var joinNamespaces: [(kind: NamespaceKind, path: String)] = []
    public var uidMap: String?
    public var gidMap: String?
    public var timeOffsets: String?
    public var mounts: [PlannedMount] = []
    public var devices: [Spec.Device] = []
    public var bindDevices = false
    public var maskedPaths: [String] = []
    public var readonlyPaths: [String] = []
    public var hostname: String?
    public var domainname: String?
    public var sysctls: [(String, String)] = []
    public var rootPropagation: UInt = 0
    public var rootfsPropagation: UInt = 0
    public var process: ProcessPlan
    public var cgroupsPath: String?
    public var spec: Spec

    /// Resolves and validates `spec` for a container in `bundle` (absolute).
    public init(spec: Spec, bundle: String) throws(RuntimeError) {
        self.spec = spec
        self.bundle = bundle
        guard spec.ociVersion.hasPrefix("1.") else {
            throw .invalidConfig(field: "ociVersion", reason: "unsupported version \"\(spec.ociVersion)\" (this runtime implements \(Spec.version))")
        }
        guard let root = spec.root, !root.path.isEmpty else {
            throw .invalidConfig(field: "root.path", reason: "required field is missing")
        }
        let rootPath = root.path.hasPrefix("/") ? root.path : bundle + "/" + root.path
        guard let resolved = Self.realPath(rootPath), FileSystem.isDirectory(resolved) else {
            throw .invalidConfig(field: "root.path", reason: "\(rootPath) does not exist or is not a directory")
        }
        rootfs = resolved
        readonlyRoot = root.readonly ?? false
        guard let process = spec.process else {
            throw .invalidConfig(field: "process", reason: "required field is missing")
        }
        let linux = spec.linux ?? Spec.Linux()
        self.process = try ProcessPlan(process, field: "process", spec: spec)
        try planNamespaces(linux)
        if newNamespaces & NamespaceKind.user.cloneFlag != 0 || joinNamespaces.contains(where: { $0.kind == .user }) {
            bindDevices = true
        }
        try planMounts(spec.mounts ?? [])
        try planDevices(linux.devices ?? [])
        maskedPaths = try absolutePaths(linux.maskedPaths, field: "linux.maskedPaths")
        readonlyPaths = try absolutePaths(linux.readonlyPaths, field: "linux.readonlyPaths")
        try planNames(spec)
        try planSysctls(linux.sysctl ?? [:])
        if let propagation = linux.rootfsPropagation {
            let flags = try MountOptions.propagation(propagation, field: "linux.rootfsPropagation")
            // pivot_root refuses a shared new root: shared/unbindable are applied after it.
            if flags & UInt(MS_SHARED | MS_UNBINDABLE) != 0 {
                rootfsPropagation = flags
            } else {
                rootPropagation = flags
            }
        }
        if let path = linux.cgroupsPath, !path.isEmpty { cgroupsPath = path }
        for (name, hooks) in [("prestart", spec.hooks?.prestart), ("createRuntime", spec.hooks?.createRuntime),
                              ("createContainer", spec.hooks?.createContainer), ("startContainer", spec.hooks?.startContainer),
                              ("poststart", spec.hooks?.poststart), ("poststop", spec.hooks?.poststop)] {
            for (index, hook) in (hooks ?? []).enumerated() {
                guard hook.path.hasPrefix("/") else {
                    throw .invalidConfig(field: "hooks.\(name)[\(index)].path", reason: "must be an absolute path, got \"\(hook.path)\"")
                }
                if let timeout = hook.timeout, timeout <= 0 {
                    throw .invalidConfig(field: "hooks.\(name)[\(index)].timeout", reason: "must be greater than zero")
                }
            }
        }
    }

    private mutating func planNamespaces(_ linux: Spec.Linux) throws(RuntimeError) {
        var seen: Int32 = 0  // clone flags of the kinds listed so far (a Set costs a conformance lookup)
        for (index, namespace) in (linux.namespaces ?? []).enumerated() {
            let field = "linux.namespaces[\(index)]"
            guard let kind = NamespaceKind(rawValue: namespace.type) else {
                throw .invalidConfig(
                    field: field + ".type",
                    reason: "unknown namespace \"\(namespace.type)\" (want one of \(NamespaceKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            defer { seen |= kind.cloneFlag }
            guard seen & kind.cloneFlag == 0 else {
                throw .invalidConfig(field: field + ".type", reason: "namespace \"\(kind.rawValue)\" is listed twice")
            }
            if let path = namespace.path, !path.isEmpty {
                guard path.hasPrefix("/") else {
                    throw .invalidConfig(field: field + ".path", reason: "must be an absolute path, got \"\(path)\"")
                }
                guard FileSystem.exists(path) else {
                    throw .invalidConfig(field: field + ".path", reason: "\(path) does not exist")
                }
                if kind == .mount {
                    throw .invalidConfig(field: field + ".path", reason: "joining a mount namespace is not supported; the container needs its own")
                }
                joinNamespaces.append((kind, path))
            } else {
                newNamespaces |= kind.cloneFlag
            }
        }
        guard newNamespaces & NamespaceKind.mount.cloneFlag != 0 else {
            throw .invalidConfig(field: "linux.namespaces", reason: "a new mount namespace is required")
        }
        let userNew = newNamespaces & NamespaceKind.user.cloneFlag != 0
        if userNew {
            guard let uids = linux.uidMappings, !uids.isEmpty else {
                throw .invalidConfig(field: "linux.uidMappings", reason: "required with a new user namespace")
            }
            guard let gids = linux.gidMappings, !gids.isEmpty else {
                throw .invalidConfig(field: "linux.gidMappings", reason: "required with a new user namespace")
            }
            uidMap = try Self.idMap(uids, field: "linux.uidMappings")
            gidMap = try Self.idMap(gids, field: "linux.gidMappings")
        } else if !(linux.uidMappings ?? []).isEmpty || !(linux.gidMappings ?? []).isEmpty {
            throw .invalidConfig(field: "linux.uidMappings", reason: "mappings need a new user namespace in linux.namespaces")
        }
        if let offsets = linux.timeOffsets, !offsets.isEmpty {
            guard newNamespaces & NamespaceKind.time.cloneFlag != 0 else {
                throw .invalidConfig(field: "linux.timeOffsets", reason: "needs a new time namespace in linux.namespaces")
            }
            var lines: [String] = []
            for (clock, offset) in offsets.sorted(by: { $0.key < $1.key }) {
                guard clock == "monotonic" || clock == "boottime" else {
                    throw .invalidConfig(field: "linux.timeOffsets.\(clock)", reason: "unknown clock (want monotonic or boottime)")
                }
                lines.append("\(clock) \(offset.secs ?? 0) \(offset.nanosecs ?? 0)")
            }
            timeOffsets = lines.joined(separator: "\n") + "\n"
        }
    }

    static func idMap(_ mappings: [Spec.IDMapping], field: String) throws(RuntimeError) -> String {
        var lines: [String] = []
        for (index, mapping) in mappings.enumerated() {
            guard mapping.size > 0 else { throw .invalidConfig(field: "\(field)[\(index)].size", reason: "must be greater than zero") }
            lines.append("\(mapping.containerID) \(mapping.hostID) \(mapping.size)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private mutating func planMounts(_ mounts: [Spec.Mount]) throws(RuntimeError) {
        for (index, mount) in mounts.enumerated() {
            let field = "mounts[\(index)]"
            guard mount.destination.hasPrefix("/") else {
                throw .invalidConfig(field: field + ".destination", reason: "must be an absolute path, got \"\(mount.destination)\"")
            }
            if mount.destination.split(separator: "/").contains("..") {
                throw .invalidConfig(field: field + ".destination", reason: "must not contain \"..\"")
            }
            var options = try MountOptions(mount.options ?? [], field: field + ".options")
            var type = mount.type ?? ""
            if type == "bind" { options.isBind = true }
            if options.isBind {
                guard let source = mount.source, !source.isEmpty else {
                    throw .invalidConfig(field: field + ".source", reason: "a bind mount needs a source")
                }
                let absolute = source.hasPrefix("/") ? source : bundle + "/" + source
                var st = stat()
                guard stat(absolute, &st) == 0 else {
                    throw .invalidConfig(field: field + ".source", reason: "\(absolute) does not exist")
                }
                self.mounts.append(PlannedMount(
                    source: absolute, destination: mount.destination, type: "bind", options: options,
                    sourceIsDirectory: (st.st_mode & S_IFMT) == S_IFDIR))
            } else {
                guard !type.isEmpty else {
                    throw .invalidConfig(field: field + ".type", reason: "required for a mount that is not a bind mount")
                }
                // This runtime is cgroup v2 only: a "cgroup" mount is the container's cgroup2 view.
                if type == "cgroup" { type = "cgroup2" }
                self.mounts.append(PlannedMount(
                    source: mount.source, destination: mount.destination, type: type, options: options,
                    sourceIsDirectory: true))
            }
        }
    }

    /// Without a cgroup namespace, a fresh cgroup2 mount would show the host's whole hierarchy
    /// (and costs ~10 ms on some kernels): bind the container's own cgroup directory there
    /// instead, with the mount's flags (ro, nosuid, ...). With a cgroup namespace the fresh
    /// mount is kept: it is rooted at the namespace's root, the container's cgroup.
    public mutating func bindCgroupMounts(to cgroupDirectory: String) {
        let hasCgroupNamespace = newNamespaces & NamespaceKind.cgroup.cloneFlag != 0
            || joinNamespaces.contains(where: { $0.kind == .cgroup })
        guard !hasCgroupNamespace else { return }
        for index in mounts.indices where mounts[index].type == "cgroup2" {
            mounts[index].source = cgroupDirectory
            mounts[index].type = "bind"
            mounts[index].options.isBind = true
            mounts[index].sourceIsDirectory = true
        }
    }

    /// The devices every container gets (runtime-spec "Default Devices").
    static let defaultDevices: [Spec.Device] = [
        .init(type: "c", path: "/dev/null", major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0),
        .init(type: "c", path: "/dev/zero", major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0),
        .init(type: "c", path: "/dev/full", major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0),
        .init(type: "c", path: "/dev/random", major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0),
        .init(type: "c", path: "/dev/urandom", major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0),
        .init(type: "c", path: "/dev/tty", major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0),
    ]

    private mutating func planDevices(_ configured: [Spec.Device]) throws(RuntimeError) {
        var byPath: [String: Spec.Device] = [:]
        var order: [String] = []
        for device in Self.defaultDevices {
            byPath[device.path] = device
            order.append(device.path)
        }
        for (index, device) in configured.enumerated() {
            let field = "linux.devices[\(index)]"
            guard device.path.hasPrefix("/dev/"), !device.path.split(separator: "/").contains("..") else {
                throw .invalidConfig(field: field + ".path", reason: "must be an absolute path under /dev, got \"\(device.path)\"")
            }
            guard ["c", "b", "u", "p"].contains(device.type) else {
                throw .invalidConfig(field: field + ".type", reason: "unknown device type \"\(device.type)\" (want c, b, u or p)")
            }
            if device.type != "p" && (device.major == nil || device.minor == nil) {
                throw .invalidConfig(field: field + ".major", reason: "major and minor are required for type \(device.type)")
            }
            var device = device
            if device.type == "u" { device.type = "c" }
            if byPath[device.path] == nil { order.append(device.path) }
            byPath[device.path] = device
        }
        devices = order.compactMap { byPath[$0] }
    }

    private func absolutePaths(_ paths: [String]?, field: String) throws(RuntimeError) -> [String] {
        for (index, path) in (paths ?? []).enumerated() where !path.hasPrefix("/") {
            throw .invalidConfig(field: "\(field)[\(index)]", reason: "must be an absolute path, got \"\(path)\"")
        }
        return paths ?? []
    }

    private func hasNamespace(_ kind: NamespaceKind) -> Bool {
        newNamespaces & kind.cloneFlag != 0 || joinNamespaces.contains { $0.kind == kind }
    }

    private mutating func planNames(_ spec: Spec) throws(RuntimeError) {
        if let hostname = spec.hostname, !hostname.isEmpty {
            guard hasNamespace(.uts) else {
                throw .invalidConfig(field: "hostname", reason: "setting a hostname needs a uts namespace in linux.namespaces")
            }
            guard hostname.utf8.count <= 64 else { throw .invalidConfig(field: "hostname", reason: "longer than 64 bytes") }
            self.hostname = hostname
        }
        if let domainname = spec.domainname, !domainname.isEmpty {
            guard hasNamespace(.uts) else {
                throw .invalidConfig(field: "domainname", reason: "setting a domainname needs a uts namespace in linux.namespaces")
            }
            guard domainname.utf8.count <= 64 else { throw .invalidConfig(field: "domainname", reason: "longer than 64 bytes") }
            self.domainname = domainname
        }
        if let personality = spec.linux?.personality {
            guard let domain = ["LINUX": UInt(0), "LINUX32": UInt(0x0008)][personality.domain] else {
                throw .invalidConfig(field: "linux.personality.domain", reason: "unknown domain \"\(personality.domain)\" (want LINUX or LINUX32)")
            }
            process.personality = domain
        }
    }

    static let ipcSysctls: Set<String> = [
        "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
        "kernel.shmmni", "kernel.shm_rmid_forced",
    ]

    private mutating func planSysctls(_ sysctls: [String: String]) throws(RuntimeError) {
        for (key, value) in sysctls.sorted(by: { $0.key < $1.key }) {
            let field = "linux.sysctl.\(key)"
            guard !key.isEmpty, !key.contains("/"), !key.split(separator: ".").contains("..") else {
                throw .invalidConfig(field: field, reason: "not a sysctl name")
            }
            let needed: NamespaceKind
            if Self.ipcSysctls.contains(key) || key.hasPrefix("fs.mqueue.") {
                needed = .ipc
            } else if key.hasPrefix("net.") {
                needed = .network
            } else if key == "kernel.hostname" || key == "kernel.domainname" {
                needed = .uts
            } else {
                throw .invalidConfig(field: field, reason: "not a namespaced sysctl: setting it would change the host")
            }
            guard hasNamespace(needed) else {
                throw .invalidConfig(field: field, reason: "needs a \(needed.rawValue) namespace in linux.namespaces")
            }
            self.sysctls.append((key, value))
        }
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

/// The namespace kinds of the runtime-spec, in the C stage's order.
public enum NamespaceKind: String, CaseIterable, Sendable {
    case user, mount, pid, network, ipc, uts, cgroup, time

    public var cloneFlag: Int32 {
        switch self {
        case .user: 0x1000_0000
        case .mount: 0x0002_0000
        case .pid: 0x2000_0000
        case .network: 0x4000_0000
        case .ipc: 0x0800_0000
        case .uts: 0x0400_0000
        case .cgroup: 0x0200_0000
        case .time: 0x0000_0080
        }
    }

    /// The name under /proc/<pid>/ns/.
    public var procName: String {
        switch self {
        case .mount: "mnt"
        case .network: "net"
        default: rawValue
        }
    }

    /// Index into sl_config.ns_join_fds.
    var index: Int {
        switch self {
        case .user: 0
        case .mount: 1
        case .pid: 2
        case .network: 3
        case .ipc: 4
        case .uts: 5
        case .cgroup: 6
        case .time: 7
        }
    }
}
