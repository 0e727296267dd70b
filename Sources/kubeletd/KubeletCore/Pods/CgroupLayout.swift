/// The kubepods cgroup hierarchy (cgroupfs driver) and the cgroup v2 values for pods and containers.
///
/// Names: Guaranteed pods sit at `kubepods/pod<uid>`, the others at
/// `kubepods/burstable/pod<uid>` and `kubepods/besteffort/pod<uid>`, all under `cgroupRoot`.
public struct CgroupLayout: Sendable, Hashable {
    public var root: String

    public init(cgroupRoot: String = "/") { root = cgroupRoot }

    static func join(_ parts: String...) -> String {
        let joined = parts.flatMap { $0.split(separator: "/") }.joined(separator: "/")
        return "/" + joined
    }

    public var kubepods: String { CgroupLayout.join(root, "kubepods") }

    public func qosParent(_ qos: QOSClass) -> String {
        switch qos {
        case .guaranteed: return kubepods
        case .burstable: return CgroupLayout.join(kubepods, "burstable")
        case .bestEffort: return CgroupLayout.join(kubepods, "besteffort")
        }
    }

    public func pod(uid: String, qos: QOSClass) -> String {
        CgroupLayout.join(qosParent(qos), "pod\(uid)")
    }
}

/// cgroup v2 values derived from resources, using upstream's conversions.
public struct CgroupResources: Sendable, Hashable {
    /// cpu.weight (1...10000).
    public var cpuWeight: UInt64
    /// cpu.max quota in µs, nil for "max".
    public var cpuQuota: Int64?
    public var cpuPeriod: UInt64 = CgroupResources.defaultPeriod
    /// memory.max in bytes, nil for "max".
    public var memoryMax: Int64?

    public static let defaultPeriod: UInt64 = 100_000
    static let minShares: UInt64 = 2
    static let maxShares: UInt64 = 262_144
    static let minQuota: Int64 = 1000

    public var cpuMaxValue: String { "\(cpuQuota.map(String.init) ?? "max") \(cpuPeriod)" }
    public var memoryMaxValue: String { memoryMax.map(String.init) ?? "max" }

    /// cpu shares from milli-CPU (`MilliCPUToShares`): 0 → 2 (the minimum).
    public static func shares(milliCPU: Int64) -> UInt64 {
        if milliCPU <= 0 { return minShares }
        let shares = UInt64(milliCPU) * 1024 / 1000
        return min(max(shares, minShares), maxShares)
    }

    /// cgroup v1 shares → v2 weight (`CpuSharesToCpuWeight`): 2 → 1, 1024 → 39, 262144 → 10000.
    public static func weight(shares: UInt64) -> UInt64 {
        1 + ((shares - 2) * 9999) / 262_142
    }

    /// `MilliCPUToQuota`: nil (unlimited) for 0, at least 1 ms.
    public static func quota(milliCPU: Int64, period: UInt64 = defaultPeriod) -> Int64? {
        if milliCPU <= 0 { return nil }
        return max(milliCPU * Int64(period) / 1000, minQuota)
    }

    /// One container's values.
    public init(container: Container) {
        let requestCPU = container.resources?.requests?["cpu"]?.milliValue ?? 0
        let limitCPU = container.resources?.limits?["cpu"]?.milliValue ?? 0
        cpuWeight = CgroupResources.weight(shares: CgroupResources.shares(milliCPU: requestCPU))
        cpuQuota = CgroupResources.quota(milliCPU: limitCPU)
        memoryMax = container.resources?.limits?["memory"].flatMap { $0.isZero ? nil : $0.value }
    }

    /// The pod-level values: the effective requests/limits over init, sidecar and app containers
    /// (upstream `PodRequests`/`PodLimits`); a pod-level limit only when every container has one.
    public init(pod: Pod) {
        let qos = QOSClass(pod: pod)
        let effective = PodResources(pod: pod)
        if qos == .bestEffort {
            cpuWeight = CgroupResources.weight(shares: CgroupResources.minShares)
        } else {
            cpuWeight = CgroupResources.weight(shares: CgroupResources.shares(milliCPU: effective.requestMilliCPU))
        }
        cpuQuota = effective.allHaveCPULimit ? CgroupResources.quota(milliCPU: effective.limitMilliCPU) : nil
        memoryMax = effective.allHaveMemoryLimit ? effective.limitMemory : nil
    }
}

/// A pod's effective requests and limits: max(sum of app containers and sidecars, the largest init
/// container plus the sidecars started before it).
public struct PodResources: Sendable, Hashable {
    public var requestMilliCPU: Int64 = 0
    public var requestMemory: Int64 = 0
    public var limitMilliCPU: Int64 = 0
    public var limitMemory: Int64 = 0
    public var allHaveCPULimit = true
    public var allHaveMemoryLimit = true

    public init(pod: Pod) {
        func req(_ c: Container, _ r: String) -> Int64 {
            r == "cpu" ? c.resources?.requests?[r]?.milliValue ?? 0 : c.resources?.requests?[r]?.value ?? 0
        }
        func lim(_ c: Container, _ r: String) -> Int64? {
            guard let q = c.resources?.limits?[r], !q.isZero else { return nil }
            return r == "cpu" ? q.milliValue : q.value
        }
        let all = pod.spec.containers + (pod.spec.initContainers ?? [])
        allHaveCPULimit = all.allSatisfy { lim($0, "cpu") != nil }
        allHaveMemoryLimit = all.allSatisfy { lim($0, "memory") != nil }

        for (resource, keyPath) in [("cpu", \PodResources.requestMilliCPU), ("memory", \PodResources.requestMemory)] {
            self[keyPath: keyPath] = PodResources.effective(pod) { req($0, resource) }
        }
        for (resource, keyPath) in [("cpu", \PodResources.limitMilliCPU), ("memory", \PodResources.limitMemory)] {
            self[keyPath: keyPath] = PodResources.effective(pod) { lim($0, resource) ?? 0 }
        }
    }

    static func effective(_ pod: Pod, _ value: (Container) -> Int64) -> Int64 {
        var sidecarsSoFar: Int64 = 0
        var initPeak: Int64 = 0
        for c in pod.spec.initContainers ?? [] {
            if c.isSidecar {
                sidecarsSoFar += value(c)
                initPeak = max(initPeak, sidecarsSoFar)
            } else {
                initPeak = max(initPeak, sidecarsSoFar + value(c))
            }
        }
        let steady = pod.spec.containers.reduce(Int64(0)) { $0 + value($1) } + sidecarsSoFar
        return max(steady, initPeak)
    }
}
