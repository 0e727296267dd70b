import Foundation

/// A pod the eviction manager may evict, with what it requests and uses.
public struct EvictionCandidate: Sendable, Hashable {
    public var uid: String
    public var name: String
    public var qos: QOSClass
    public var priority: Int32
    /// Sums of the containers' requests (bytes); 0 when none.
    public var memoryRequest: Double
    public var storageRequest: Double
    /// Observed usage; nil when the runtime reported none.
    public var memoryUsage: Double?
    public var diskUsage: Double?
    public var inodeUsage: Double?
    public var processes: Double?

    /// A static or mirror pod (upstream's IsStaticPod / IsMirrorPod): critical, never evicted.
    public var isStatic: Bool

    public init(uid: String, name: String, qos: QOSClass, priority: Int32 = 0, isStatic: Bool = false,
                memoryRequest: Double = 0, storageRequest: Double = 0, memoryUsage: Double? = nil,
                diskUsage: Double? = nil, inodeUsage: Double? = nil, processes: Double? = nil) {
        self.uid = uid
        self.name = name
        self.qos = qos
        self.priority = priority
        self.isStatic = isStatic
        self.memoryRequest = memoryRequest
        self.storageRequest = storageRequest
        self.memoryUsage = memoryUsage
        self.diskUsage = diskUsage
        self.inodeUsage = inodeUsage
        self.processes = processes
    }

    /// Requests summed over app containers and sidecars, against the largest regular init
    /// container (init containers run one at a time), like upstream's PodRequests.
    public static func requests(_ pod: Pod, _ resource: String) -> Double {
        func value(_ c: Container) -> Double {
            (c.resources?.requests?[resource]).map { NSDecimalNumber(decimal: $0.amount).doubleValue } ?? 0
        }
        let running = (pod.spec.containers + pod.spec.sidecars).map(value).reduce(0, +)
        let initPeak = (pod.spec.initContainers ?? []).filter { !$0.isSidecar }.map(value).max() ?? 0
        return max(running, initPeak)
    }

    /// Upstream's SystemCriticalPriority.
    public static let criticalPriority: Int32 = 2_000_000_000
    /// Upstream's IsCriticalPod: a static or mirror pod, or one of system-critical priority.
    /// The eviction manager never evicts those (on a standalone node: every pod, since all come
    /// from manifest files; pressure is then reported, not relieved).
    public var isCritical: Bool { isStatic || priority >= EvictionCandidate.criticalPriority }
}

/// Orders eviction candidates for a signal like upstream's rankers: for memory, pods using more
/// than they request first (BestEffort pods request nothing, so any use counts), then lower
/// priority, then usage above requests; for disk the same with ephemeral-storage; for inodes by
/// inodes used; for pids by priority, then process count.
public enum EvictionRanking {
    public static func rank(_ pods: [EvictionCandidate], for signal: EvictionSignal) -> [EvictionCandidate] {
        let eligible = pods.filter { !$0.isCritical }
        switch signal {
        case .memoryAvailable:
            return eligible.sorted(by: ordered(
                { exceeds($0.memoryUsage, $0.memoryRequest) },
                { c in c.memoryUsage.map { $0 - c.memoryRequest } ?? -c.memoryRequest }))
        case .nodeFsAvailable, .imageFsAvailable, .containerFsAvailable:
            return eligible.sorted(by: ordered(
                { exceeds($0.diskUsage, $0.storageRequest) },
                { c in c.diskUsage.map { $0 - c.storageRequest } ?? -c.storageRequest }))
        case .nodeFsInodesFree, .imageFsInodesFree, .containerFsInodesFree:
            return eligible.sorted(by: ordered({ _ in true }, { $0.inodeUsage ?? 0 }))
        case .pidAvailable:
            return eligible.sorted(by: ordered({ _ in true }, { $0.processes ?? 0 }))
        }
    }

    static func exceeds(_ usage: Double?, _ request: Double) -> Bool {
        guard let usage else { return false }
        return usage > request
    }

    /// exceeds-requests first, then lower priority, then larger `usage`, then name (stable).
    static func ordered(_ exceeds: @escaping (EvictionCandidate) -> Bool,
                        _ usage: @escaping (EvictionCandidate) -> Double) -> (EvictionCandidate, EvictionCandidate) -> Bool {
        { a, b in
            let (ea, eb) = (exceeds(a), exceeds(b))
            if ea != eb { return ea }
            if a.priority != b.priority { return a.priority < b.priority }
            let (ua, ub) = (usage(a), usage(b))
            if ua != ub { return ua > ub }
            return a.name < b.name
        }
    }
}
