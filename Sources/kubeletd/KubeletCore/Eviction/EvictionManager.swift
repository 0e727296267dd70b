import CRIProto
import Foundation
import Logging

/// Hard eviction (KubeletConfiguration.evictionHard): every monitoring period it observes the
/// configured signals; while one is below its threshold it sets the node condition
/// (MemoryPressure, DiskPressure, PIDPressure), ranks the active pods for that signal like
/// upstream and evicts one: killed at once, Failed with reason Evicted, not restarted. Critical
/// pods (static and mirror pods, system-critical priority) are never evicted, like upstream.
///
/// Owns the node conditions (published through `KubeletMetrics`); the pods stay owned by their
/// workers, which carry out an eviction on their own task.
public actor EvictionManager {
    let thresholds: [EvictionThreshold]
    let manager: PodManager
    let cri: CRIClient
    let signals: NodeSignals
    let period: Double
    let logger: Logger
    private var conditions: [NodeCondition: Bool] = [:]
    /// Critical pods already reported as not evictable during the current pressure.
    private var reportedCritical: Set<String> = []

    public init(thresholds: [EvictionThreshold], manager: PodManager, cri: CRIClient, signals: NodeSignals,
                period: Double = 10, logger: Logger) {
        self.thresholds = thresholds
        self.manager = manager
        self.cri = cri
        self.signals = signals
        self.period = period
        self.logger = logger
    }

    public func run() async {
        if thresholds.isEmpty { return }
        logger.info("eviction manager started", metadata: [
            "evictionHard": "\(thresholds.map { "\($0.signal.rawValue)<\($0.text)" }.joined(separator: ","))",
            "period": "\(period)s"])
        while !Task.isCancelled {
            await synchronize()
            try? await Task.sleep(for: .seconds(period))
        }
    }

    /// One monitoring pass; evicts at most one pod. Returns the UID evicted, if any.
    @discardableResult
    public func synchronize() async -> String? {
        let observations = await signals.observe(Set(thresholds.map(\.signal)), cri: cri)
        for t in thresholds where observations[t.signal] == nil {
            logger.debug("eviction signal not observed", metadata: ["signal": "\(t.signal.rawValue)"])
        }
        let crossed = EvictionDecision.crossed(thresholds, observations)
        let now = EvictionDecision.conditions(crossed)
        for (condition, on) in now.sorted(by: { $0.key.rawValue < $1.key.rawValue }) where conditions[condition, default: false] != on {
            let why = crossed.filter { $0.signal.condition == condition }.map { t in
                "\(t.signal.rawValue) available \(EvictionDecision.format(observations[t.signal]?.available ?? 0, t.signal)) < \(t.text)"
            }.joined(separator: ", ")
            if on {
                logger.warning("node condition \(condition.rawValue) is now True", metadata: ["why": "\(why)"])
            } else {
                logger.info("node condition \(condition.rawValue) is now False")
            }
        }
        conditions = now
        var published: [String: (available: Double, threshold: Double)] = [:]
        for t in thresholds {
            guard let o = observations[t.signal] else { continue }
            published[t.signal.rawValue] = (o.available, t.amount(capacity: o.capacity))
        }
        manager.metrics.pressure(conditions: Dictionary(uniqueKeysWithValues: now.map { ($0.key.rawValue, $0.value) }),
                                 signals: published)
        guard let threshold = EvictionDecision.first(crossed, observations) else {
            reportedCritical = []
            return nil
        }
        var candidates = await manager.evictionCandidates()
        // Upstream refuses to evict critical pods (static, mirror, system-critical priority) and
        // says so for each; here once per pod while the pressure lasts, not every period.
        for c in candidates where c.candidate.isCritical && !reportedCritical.contains(c.candidate.uid) {
            reportedCritical.insert(c.candidate.uid)
            logger.warning("eviction manager: cannot evict a critical pod", metadata: [
                "pod": "\(c.candidate.name)", "static": "\(c.candidate.isStatic)", "priority": "\(c.candidate.priority)",
                "signal": "\(threshold.signal.rawValue)", "threshold": "\(threshold.text)"])
        }
        candidates = candidates.filter { !$0.candidate.isCritical }
        if candidates.isEmpty {
            logger.debug("node under pressure but no pod may be evicted", metadata: ["signal": "\(threshold.signal.rawValue)"])
            return nil
        }
        candidates = await measure(candidates, for: threshold.signal)
        let ranked = EvictionRanking.rank(candidates.map(\.candidate), for: threshold.signal)
        let message = EvictionDecision.message(threshold, observations[threshold.signal])
        for victim in ranked {
            logger.warning("evicting pod", metadata: [
                "pod": "\(victim.name)", "qos": "\(victim.qos.rawValue)", "signal": "\(threshold.signal.rawValue)",
                "threshold": "\(threshold.text)", "ranking": "\(ranked.map(\.name).joined(separator: ","))"])
            guard await manager.evict(uid: victim.uid, message: message) else { continue }
            manager.metrics.eviction(signal: threshold.signal.rawValue)
            // Upstream waits for the pod's resources to be reclaimed before the next pass.
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline, await !manager.isEvicted(uid: victim.uid) {
                try? await Task.sleep(for: .milliseconds(100))
            }
            return victim.uid
        }
        logger.warning("node under pressure but no pod could be evicted", metadata: ["signal": "\(threshold.signal.rawValue)"])
        return nil
    }

    /// Fills in usage for the signal being acted on: memory and processes from CRI pod sandbox
    /// stats (container stats when those are missing), disk and inodes from the pod's volumes,
    /// logs and container writable layers.
    func measure(_ pods: [PodManager.EvictionPod], for signal: EvictionSignal) async -> [PodManager.EvictionPod] {
        var out = pods
        let managed = [KubeLabels.managedBy: "true"]
        switch signal {
        case .memoryAvailable, .pidAvailable:
            var memory: [String: Double] = [:], processes: [String: Double] = [:]
            if let stats = try? await cri.listSandboxStats(labels: managed, timeout: .seconds(10)) {
                for s in stats {
                    let uid = s.attributes.metadata.uid
                    if s.linux.memory.hasWorkingSetBytes { memory[uid, default: 0] += Double(s.linux.memory.workingSetBytes.value) }
                    if s.linux.process.hasProcessCount { processes[uid, default: 0] += Double(s.linux.process.processCount.value) }
                }
            }
            if memory.isEmpty, let stats = try? await cri.listContainerStats(labels: managed, timeout: .seconds(10)) {
                for s in stats where s.memory.hasWorkingSetBytes {
                    if let uid = s.attributes.labels[KubeLabels.podUID] { memory[uid, default: 0] += Double(s.memory.workingSetBytes.value) }
                }
            }
            for i in out.indices {
                out[i].candidate.memoryUsage = memory[out[i].candidate.uid]
                out[i].candidate.processes = processes[out[i].candidate.uid]
            }
        default:
            var layers: [String: Double] = [:]
            if let stats = try? await cri.listContainerStats(labels: managed, timeout: .seconds(10)) {
                for s in stats where s.writableLayer.hasUsedBytes {
                    if let uid = s.attributes.labels[KubeLabels.podUID] { layers[uid, default: 0] += Double(s.writableLayer.usedBytes.value) }
                }
            }
            for i in out.indices {
                var bytes = layers[out[i].candidate.uid] ?? 0, inodes = 0.0
                for dir in out[i].directories {
                    let u = NodeSignals.usage(dir)
                    bytes += u.bytes
                    inodes += u.inodes
                }
                out[i].candidate.diskUsage = bytes
                out[i].candidate.inodeUsage = inodes
            }
        }
        return out
    }
}
