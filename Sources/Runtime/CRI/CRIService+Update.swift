import CRIProto
import Foundation
import Logging
import Runtime
import SystemCore

/// UpdateContainerResources: the new limits go into the container's cgroup v2 files and its
/// bundle (so a restart of the daemon reports them). Where the cgroup v2 hierarchy lacks the
/// controller, that is an error unless the config disabled cgroup enforcement (then the limits
/// are recorded and a warning is logged, as the runtime does at create).
extension CRIService {
    /// The cgroup v2 files and values for a resources message (pure; unit-tested).
    static func cgroupWrites(_ r: Runtime_V1_LinuxContainerResources, field: String = "linux") throws -> [(file: String, value: String)] {
        var writes: [(String, String)] = []
        guard r.memoryLimitInBytes >= 0 else { throw CRIError.invalidArgument(field: "\(field).memory_limit_in_bytes", reason: "must not be negative") }
        guard r.cpuShares >= 0 else { throw CRIError.invalidArgument(field: "\(field).cpu_shares", reason: "must not be negative") }
        guard r.cpuPeriod >= 0 else { throw CRIError.invalidArgument(field: "\(field).cpu_period", reason: "must not be negative") }
        if r.memoryLimitInBytes > 0 { writes.append(("memory.max", "\(r.memoryLimitInBytes)")) }
        if r.cpuShares > 0 {
            // The conversion runc and the kubelet use: shares 2..262144 → weight 1..10000.
            let shares = min(max(r.cpuShares, 2), 262_144)
            writes.append(("cpu.weight", "\(1 + ((shares - 2) * 9999) / 262_142)"))
        }
        if r.cpuQuota != 0 || r.cpuPeriod > 0 {
            let period = r.cpuPeriod > 0 ? r.cpuPeriod : 100_000
            writes.append(("cpu.max", r.cpuQuota > 0 ? "\(r.cpuQuota) \(period)" : "max \(period)"))
        }
        if !r.cpusetCpus.isEmpty { writes.append(("cpuset.cpus", r.cpusetCpus)) }
        if !r.cpusetMems.isEmpty { writes.append(("cpuset.mems", r.cpusetMems)) }
        for key in r.unified.keys.sorted() {
            guard !key.contains("/"), !key.hasPrefix(".") else {
                throw CRIError.invalidArgument(field: "\(field).unified[\(key)]", reason: "not a cgroup file name")
            }
            writes.append((key, r.unified[key] ?? ""))
        }
        return writes
    }

    /// Writes cgroup files under `cgroup` (relative to the v2 root). A file the hierarchy lacks
    /// (no controller) is an error unless cgroup enforcement is off (then a warning).
    private func apply(_ writes: [(file: String, value: String)], to cgroup: String, field: String, owner: Logger.Metadata) throws {
        let directory = "\(cgroupRoot)\(cgroup)"
        guard FileSystem.isDirectory(directory) else {
            throw CRIError.failedPrecondition("cgroup \(cgroup) does not exist")
        }
        var skipped: [String] = []
        for (file, value) in writes {
            let path = "\(directory)/\(file)"
            guard FileSystem.exists(path) else {
                skipped.append(file)
                continue
            }
            do { try FileSystem.writeExisting(path, value) } catch {
                throw CRIError.invalidArgument(field: field, reason: "writing \(value) to \(path): \(error)")
            }
        }
        if !skipped.isEmpty {
            guard !config.cgroupEnforcement else {
                throw CRIError.failedPrecondition(
                    "the cgroup v2 hierarchy has no controller for \(skipped.joined(separator: ", ")); set cgroup_enforcement: false to run without limits")
            }
            var metadata = owner
            metadata["files"] = "\(skipped)"
            logger.warning("resource limits not enforced: no cgroup controller", metadata: metadata)
        }
    }

    /// UpdatePodSandboxResources: the pod's total resources (the kubelet's sum of its containers'
    /// plus the overhead) go to the pod cgroup, above every container's.
    func updateSandboxResources(_ request: Runtime_V1_UpdatePodSandboxResourcesRequest) async throws {
        guard let record = try await state.sandbox(request.podSandboxID) else {
            throw CRIError.notFound(kind: "pod sandbox", id: request.podSandboxID)
        }
        guard request.hasResources else { return }
        let writes = try Self.cgroupWrites(request.resources, field: "resources")
        if request.hasOverhead { _ = try Self.cgroupWrites(request.overhead, field: "overhead") }
        try await locks.with(record.id) {
            guard let current = try await state.sandbox(record.id), current.state == .ready else {
                throw CRIError.failedPrecondition("pod sandbox \(record.id) is not ready")
            }
            try apply(writes, to: current.cgroupPath, field: "resources", owner: ["sandbox": "\(current.id)"])
        }
        logger.info("pod resources updated", metadata: ["sandbox": "\(record.id)", "files": "\(writes.map(\.file))"])
    }

    func updateResources(_ request: Runtime_V1_UpdateContainerResourcesRequest) async throws {
        guard var record = try await state.container(request.containerID) else {
            throw CRIError.notFound(kind: "container", id: request.containerID)
        }
        record = try await refresh(record)
        guard record.state != .exited else { throw CRIError.failedPrecondition("container \(record.id) has exited") }
        guard request.hasLinux else { return }
        let writes = try Self.cgroupWrites(request.linux)
        let bundle = containerBundle(record.id)
        var spec: Spec
        do { spec = try Spec.load(bundle: bundle) } catch { throw CRIError.runtime("reading the bundle of \(record.id): \(error)") }
        try apply(writes, to: spec.linux?.cgroupsPath ?? "", field: "linux", owner: ["container": "\(record.id)"])
        // Keep the bundle in step, so the limits are visible to a restarted daemon and `state`.
        let r = request.linux
        var linux = spec.linux ?? Spec.Linux()
        var resources = linux.resources ?? Spec.Resources()
        if r.memoryLimitInBytes > 0 { resources.memory = Spec.Memory(limit: r.memoryLimitInBytes) }
        if r.cpuShares > 0 || r.cpuQuota != 0 || r.cpuPeriod > 0 || !r.cpusetCpus.isEmpty {
            resources.cpu = Spec.CPU(
                shares: r.cpuShares > 0 ? UInt64(r.cpuShares) : nil, quota: r.cpuQuota != 0 ? r.cpuQuota : nil,
                period: r.cpuPeriod > 0 ? UInt64(r.cpuPeriod) : nil, cpus: r.cpusetCpus.isEmpty ? nil : r.cpusetCpus,
                mems: r.cpusetMems.isEmpty ? nil : r.cpusetMems)
        }
        if !r.unified.isEmpty { resources.unified = r.unified }
        linux.resources = resources
        spec.linux = linux
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do { try FileSystem.writeAtomically("\(bundle)/config.json", Array(try encoder.encode(spec)), durable: false) } catch let error as SystemCallError {
            throw CRIError.system(context: "writing \(bundle)/config.json", error)
        }
        // The config the container status reports.
        var config = try Runtime_V1_ContainerConfig(serializedBytes: record.config)
        config.linux.resources = r
        let bytes: Data = try config.serializedBytes()
        guard try await state.updateContainer(record.id, { stored in
            stored.config = bytes
            return true
        }) != nil else { throw CRIError.notFound(kind: "container", id: record.id) }
    }
}
