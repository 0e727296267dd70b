import CRIProto
import Foundation
import Runtime
import SystemCore

/// Container and sandbox statistics from the cgroup v2 files (cpu.stat always exists; memory.*
/// only where the memory controller is enabled) and the image store's snapshot use.
extension CRIService {
    func stats(_ record: ContainerRecord) throws -> Runtime_V1_ContainerStats {
        let config = try Runtime_V1_ContainerConfig(serializedBytes: record.config)
        var stats = Runtime_V1_ContainerStats()
        stats.attributes.id = record.id
        stats.attributes.metadata = config.metadata
        stats.attributes.labels = config.labels
        stats.attributes.annotations = config.annotations
        let now = nowNanos()
        let sandbox = "\(cgroupRoot)"
        if let spec = try? Spec.load(bundle: containerBundle(record.id)), let path = spec.linux?.cgroupsPath {
            (stats.cpu, stats.memory) = usage(cgroup: "\(sandbox)\(path)", now: now)
        }
        stats.writableLayer.timestamp = now
        stats.writableLayer.fsID.mountpoint = config.image.image
        return stats
    }

    func sandboxStats(_ record: SandboxRecord) async throws -> Runtime_V1_PodSandboxStats {
        let config = try Runtime_V1_PodSandboxConfig(serializedBytes: record.config)
        var stats = Runtime_V1_PodSandboxStats()
        stats.attributes.id = record.id
        stats.attributes.metadata = config.metadata
        stats.attributes.labels = config.labels
        stats.attributes.annotations = config.annotations
        let now = nowNanos()
        (stats.linux.cpu, stats.linux.memory) = usage(cgroup: "\(cgroupRoot)\(record.cgroupPath)", now: now)
        stats.linux.process.timestamp = now
        stats.linux.process.processCount.value = UInt64(cgroupProcessCount("\(cgroupRoot)\(record.cgroupPath)"))
        for container in await state.containers(inSandbox: record.id) {
            stats.linux.containers.append(try self.stats(container))
        }
        return stats
    }

    private func usage(cgroup: String, now: Int64) -> (Runtime_V1_CpuUsage, Runtime_V1_MemoryUsage) {
        var cpu = Runtime_V1_CpuUsage()
        var memory = Runtime_V1_MemoryUsage()
        cpu.timestamp = now
        memory.timestamp = now
        if let text = try? FileSystem.readString("\(cgroup)/cpu.stat") {
            for line in text.split(separator: "\n") where line.hasPrefix("usage_usec ") {
                if let usec = UInt64(line.split(separator: " ").last ?? "") { cpu.usageCoreNanoSeconds.value = usec * 1000 }
            }
        }
        if let text = try? FileSystem.readString("\(cgroup)/memory.current"), let bytes = UInt64(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            memory.usageBytes.value = bytes
            memory.workingSetBytes.value = bytes
        }
        return (cpu, memory)
    }

    /// Processes in a cgroup and its children.
    private func cgroupProcessCount(_ path: String) -> Int {
        var count = (try? FileSystem.readString("\(path)/cgroup.procs"))?.split(separator: "\n").count ?? 0
        for child in (try? FileSystem.listDirectory(path)) ?? [] where FileSystem.isDirectory("\(path)/\(child)") {
            count += cgroupProcessCount("\(path)/\(child)")
        }
        return count
    }
}
