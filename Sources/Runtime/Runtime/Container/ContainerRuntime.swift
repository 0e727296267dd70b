#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import SystemCore
import CSystemShim
import CRuntimeShim

/// Settings shared by every runtime command (the CLI's global flags).
public struct RuntimeOptions: Sendable {
    public var root: String
    /// Run without resource limits where the host's cgroup v2 hierarchy lacks a controller
    /// (each such container gets a warning). Off by default: missing controllers are an error.
    public var enforceResources: Bool
    /// Where root may not lower oom_score_adj (no CAP_SYS_RESOURCE), use the runtime's own value.
    public var clampOOMScoreAdj: Bool
    public var log: RuntimeLog

    public init(root: String, enforceResources: Bool = true, clampOOMScoreAdj: Bool = false, log: RuntimeLog = RuntimeLog()) {
        self.root = root
        self.enforceResources = enforceResources
        self.clampOOMScoreAdj = clampOOMScoreAdj
        self.log = log
    }
}

/// The OCI runtime's operations, one method per CLI verb. Holds no state of its own: the state
/// store on disk and the kernel are the truth.
public struct ContainerRuntime: Sendable {
    public let options: RuntimeOptions
    public let store: StateStore

    public init(options: RuntimeOptions) throws(RuntimeError) {
        self.options = options
        store = try StateStore(root: options.root)
    }

    public func state(_ id: String) throws(RuntimeError) -> ContainerStateDocument {
        try StateStore.validate(id: id)
        return store.document(for: try store.load(id))
    }

    public func list() throws(RuntimeError) -> [ContainerStateDocument] {
        try store.ids().compactMap { id in try? store.document(for: store.load(id)) }
    }

    /// Sends `signal` to the init process, or to every process of the container with `all`.
    public func kill(_ id: String, signal: Int32, all: Bool) throws(RuntimeError) {
        try StateStore.validate(id: id)
        try store.withLock(id) { () throws(RuntimeError) in
            let record = try store.load(id)
            let status = store.status(of: record)
            guard status == .created || status == .running else {
                throw .wrongState(id: id, state: status.rawValue, operation: "kill")
            }
            if all, let cgroup = record.cgroupPath {
                for pid in ContainerCgroupHandle(path: cgroup).processes() where pid > 0 { Glibc.kill(pid, signal) }
                return
            }
            // A pidfd pins the process we checked, so a recycled pid is never signalled.
            let pidfd = sl_pidfd_open(record.pid, 0)
            if pidfd >= 0 {
                defer { close(pidfd) }
                guard ProcessTable.isAlive(record.pid, startTime: record.initStartTime) else {
                    throw .wrongState(id: id, state: "stopped", operation: "kill")
                }
                if sl_pidfd_send_signal(pidfd, signal) != 0 {
                    throw .system(context: "signalling container \(id)", SystemCallError("pidfd_send_signal", String(record.pid), errno: .init(rawValue: currentErrno())))
                }
            } else if Glibc.kill(record.pid, signal) != 0 {
                throw .system(context: "signalling container \(id)", SystemCallError("kill", String(record.pid), errno: .init(rawValue: currentErrno())))
            }
        }
    }

    /// Pids of the container's processes (its cgroup; the init alone without one).
    public func processes(_ id: String) throws(RuntimeError) -> [Int32] {
        try StateStore.validate(id: id)
        let record = try store.load(id)
        guard store.status(of: record) != .stopped else { return [] }
        if let cgroup = record.cgroupPath {
            let pids = ContainerCgroupHandle(path: cgroup).processes()
            if !pids.isEmpty { return pids }
        }
        return [record.pid]
    }

    /// The runtime-spec state JSON passed to hooks (sorted keys, as JSONEncoder wrote it before;
    /// by hand for the reason given in ContainerState+JSON.swift).
    func hookState(_ id: String, pid: Int32, status: ContainerStatus, bundle: String, annotations: [String: String]?) -> [UInt8] {
        var out = "{\"annotations\":{"
        let map = annotations ?? [:]
        for (index, name) in map.keys.sorted().enumerated() {
            if index > 0 { out += "," }
            JSONString.append(name, to: &out)
            out += ":"
            JSONString.append(map[name] ?? "", to: &out)
        }
        out += "},\"bundle\":"
        JSONString.append(bundle, to: &out)
        out += ",\"id\":"
        JSONString.append(id, to: &out)
        out += ",\"ociVersion\":"
        JSONString.append(Spec.version, to: &out)
        out += ",\"pid\":" + String(pid) + ",\"status\":"
        JSONString.append(status.rawValue, to: &out)
        out += "}"
        return Array(out.utf8)
    }

    /// Runs runtime-side hooks; a failure is an error.
    func runHooks(_ hooks: [Spec.Hook]?, name: String, state: [UInt8]) throws(RuntimeError) {
        for hook in hooks ?? [] {
            if let message = Self.runHook(hook, name: name, state: state) {
                throw .hookFailed(hook: name, path: hook.path, reason: message)
            }
        }
    }

    /// Runs hooks whose failure the spec says only to log (poststart, poststop).
    func runHooksWarning(_ hooks: [Spec.Hook]?, name: String, state: [UInt8]) {
        for hook in hooks ?? [] {
            if let message = Self.runHook(hook, name: name, state: state) {
                options.log.warning("\(name) hook \(hook.path) failed: \(message)")
            }
        }
    }

    static func runHook(_ hook: Spec.Hook, name: String, state: [UInt8]) -> String? {
        let config = CConfig()
        var converted = sl_hook(
            path: config.string(hook.path), argv: config.stringArray(hook.args ?? [hook.path]),
            envp: config.stringArray(hook.env ?? []), timeout: Int32(hook.timeout ?? 0), name: config.string(name))
        var error = [CChar](repeating: 0, count: 512)
        let result = state.withUnsafeBufferPointer { bytes in
            bytes.withMemoryRebound(to: CChar.self) { chars in
                sl_run_hook(&converted, chars.baseAddress, chars.count, &error, error.count)
            }
        }
        return result == 0 ? nil : String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
