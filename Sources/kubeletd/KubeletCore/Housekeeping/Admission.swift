import Foundation
import SystemCore

/// CPU (millicores) and memory (bytes): what admission counts.
public struct NodeResources: Sendable, Hashable, CustomStringConvertible {
    public var cpuMillis: Int64
    public var memoryBytes: Int64

    public init(cpuMillis: Int64, memoryBytes: Int64) {
        self.cpuMillis = cpuMillis
        self.memoryBytes = memoryBytes
    }

    public static let zero = NodeResources(cpuMillis: 0, memoryBytes: 0)

    public static func + (a: NodeResources, b: NodeResources) -> NodeResources {
        NodeResources(cpuMillis: a.cpuMillis + b.cpuMillis, memoryBytes: a.memoryBytes + b.memoryBytes)
    }

    /// Per resource, the larger of the two.
    public func max(_ other: NodeResources) -> NodeResources {
        NodeResources(cpuMillis: Swift.max(cpuMillis, other.cpuMillis), memoryBytes: Swift.max(memoryBytes, other.memoryBytes))
    }

    public var description: String { "cpu=\(cpuMillis)m memory=\(memoryBytes)" }

    /// The machine: online CPUs and MemTotal from /proc/meminfo (what cAdvisor reports upstream).
    public static func machineCapacity() -> NodeResources {
        let cpus = Int64(ProcessInfo.processInfo.activeProcessorCount)
        var memory = Int64(clamping: ProcessInfo.processInfo.physicalMemory)
        if let meminfo = try? FileSystem.readString("/proc/meminfo"), let total = memTotal(meminfo) { memory = total }
        return NodeResources(cpuMillis: cpus * 1000, memoryBytes: memory)
    }

    /// `MemTotal:       16318412 kB` → bytes.
    static func memTotal(_ meminfo: String) -> Int64? {
        for line in meminfo.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let kib = Int64(fields[1]) else { return nil }
            return kib * 1024
        }
        return nil
    }
}

/// Node allocatable, like upstream: capacity minus kubeReserved, systemReserved and (memory only)
/// the hard eviction threshold `memory.available` (a quantity, or a percentage of capacity).
public enum NodeAllocatable {
    public static func compute(capacity: NodeResources, config: KubeletConfiguration) -> NodeResources {
        func reserved(_ resource: String) -> Quantity? {
            let values = [config.kubeReserved[resource], config.systemReserved[resource]].compactMap { $0 }
            return values.compactMap { try? Quantity(parsing: $0) }.reduce(nil) { sum, q in sum.map { $0 + q } ?? q }
        }
        var cpu = capacity.cpuMillis - (reserved("cpu")?.milliValue ?? 0)
        var memory = capacity.memoryBytes - (reserved("memory")?.value ?? 0)
        if let threshold = config.evictionHard["memory.available"] {
            if threshold.hasSuffix("%"), let percent = Double(threshold.dropLast()) {
                memory -= Int64(Double(capacity.memoryBytes) * percent / 100)
            } else if let q = try? Quantity(parsing: threshold) {
                memory -= q.value
            }
        }
        cpu = max(cpu, 0)
        memory = max(memory, 0)
        return NodeResources(cpuMillis: cpu, memoryBytes: memory)
    }
}

/// What a pod asks the node for, like upstream's `PodRequests`: app containers and sidecars add
/// up; each regular init container runs alone beside the sidecars started before it; the pod
/// needs the larger of the two.
public enum PodRequests {
    static func requests(_ container: Container) -> NodeResources {
        let requests = container.resources?.requests ?? [:]
        // Defaulting copies limits to missing requests; do the same for undefaulted pods.
        let limits = container.resources?.limits ?? [:]
        let cpu = requests["cpu"] ?? limits["cpu"]
        let memory = requests["memory"] ?? limits["memory"]
        return NodeResources(cpuMillis: cpu?.milliValue ?? 0, memoryBytes: memory?.value ?? 0)
    }

    public static func of(_ pod: Pod) -> NodeResources {
        var total = pod.spec.containers.map(requests).reduce(.zero, +)
        var sidecars = NodeResources.zero
        var initPeak = NodeResources.zero
        for container in pod.spec.initContainers ?? [] {
            let r = requests(container)
            if container.isSidecar {
                sidecars = sidecars + r
                initPeak = initPeak.max(sidecars)
            } else {
                initPeak = initPeak.max(sidecars + r)
            }
        }
        total = total + sidecars
        return total.max(initPeak)
    }
}

/// Why a pod was refused, with upstream's reason (`OutOfpods`, `OutOfcpu`, `OutOfmemory`) and
/// message (`Node didn't have enough resource: cpu, requested: 3000, used: 500, capacity: 1900`).
public struct AdmissionRejection: Sendable, Hashable, Error {
    public var reason: String
    public var message: String
}

/// The admission decision for a new pod beside the ones already admitted (terminal pods excluded
/// by the caller): maxPods first, then cpu, then memory against allocatable.
public struct PodAdmission: Sendable {
    public var maxPods: Int
    public var allocatable: NodeResources

    public init(maxPods: Int, allocatable: NodeResources) {
        self.maxPods = maxPods
        self.allocatable = allocatable
    }

    /// Counts pods only (the setting before allocatable was known).
    public init(maxPods: Int) {
        self.init(maxPods: maxPods, allocatable: NodeResources(cpuMillis: .max, memoryBytes: .max))
    }

    public init(config: KubeletConfiguration, capacity: NodeResources = .machineCapacity()) {
        self.init(maxPods: Int(config.maxPods), allocatable: NodeAllocatable.compute(capacity: capacity, config: config))
    }

    public func check(_ pod: Pod, beside admitted: [Pod]) -> AdmissionRejection? {
        func insufficient(_ resource: String, requested: Int64, used: Int64, capacity: Int64) -> AdmissionRejection {
            AdmissionRejection(
                reason: "OutOf\(resource)",
                message: "Node didn't have enough resource: \(resource), requested: \(requested), used: \(used), capacity: \(capacity)")
        }
        if admitted.count + 1 > maxPods {
            return insufficient("pods", requested: 1, used: Int64(admitted.count), capacity: Int64(maxPods))
        }
        let wanted = PodRequests.of(pod)
        let used = admitted.map(PodRequests.of).reduce(.zero, +)
        if wanted.cpuMillis > 0, used.cpuMillis + wanted.cpuMillis > allocatable.cpuMillis {
            return insufficient("cpu", requested: wanted.cpuMillis, used: used.cpuMillis, capacity: allocatable.cpuMillis)
        }
        if wanted.memoryBytes > 0, used.memoryBytes + wanted.memoryBytes > allocatable.memoryBytes {
            return insufficient("memory", requested: wanted.memoryBytes, used: used.memoryBytes, capacity: allocatable.memoryBytes)
        }
        return nil
    }
}
