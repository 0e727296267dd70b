import Synchronization

/// Prometheus metrics the kubelet serves on /metrics. Owns the counters; anyone may record.
public final class KubeletMetrics: Sendable {
    /// Upper bounds (seconds) of the pod start latency histogram, like upstream's buckets.
    public static let buckets: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 300, 600]
    /// Prometheus' default buckets, which upstream's PLEG relist histograms use.
    public static let relistBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// A cumulative histogram.
    struct Histogram {
        let bounds: [Double]
        var counts: [UInt64]
        var count: UInt64 = 0
        var sum: Double = 0
        init(_ bounds: [Double]) {
            self.bounds = bounds
            counts = [UInt64](repeating: 0, count: bounds.count)
        }
        mutating func observe(_ value: Double) {
            for (i, bound) in bounds.enumerated() where value <= bound { counts[i] += 1 }
            count += 1
            sum += value
        }
        func render(_ name: String, help: String) -> String {
            var out = "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
            for (i, bound) in bounds.enumerated() { out += "\(name)_bucket{le=\"\(bound)\"} \(counts[i])\n" }
            out += "\(name)_bucket{le=\"+Inf\"} \(count)\n\(name)_sum \(sum)\n\(name)_count \(count)\n"
            return out
        }
    }

    struct State {
        var counts = [UInt64](repeating: 0, count: KubeletMetrics.buckets.count)
        var count: UInt64 = 0
        var sum: Double = 0
        var syncs: UInt64 = 0
        var relistDuration = Histogram(KubeletMetrics.relistBuckets)
        var relistFailures: UInt64 = 0
        var relistChangedPods: UInt64 = 0
        var podSyncs: UInt64 = 0
        var runtimeOperations: [String: UInt64] = [:]
        var runtimeErrors: [String: UInt64] = [:]
        var evictions: [String: UInt64] = [:]
        var conditions: [String: Bool] = ["MemoryPressure": false, "DiskPressure": false, "PIDPressure": false]
        var signals: [String: (available: Double, threshold: Double)] = [:]
        var events: UInt64 = 0
        var badManifests: UInt64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func observeStart(seconds: Double) {
        state.withLock { s in
            for (i, bound) in KubeletMetrics.buckets.enumerated() where seconds <= bound { s.counts[i] += 1 }
            s.count += 1
            s.sum += seconds
        }
    }

    public func relist(seconds: Double, changedPods: Int) {
        state.withLock { $0.relistDuration.observe(seconds); $0.relistChangedPods += UInt64(changedPods) }
    }
    public func relistFailed(seconds: Double) {
        state.withLock { $0.relistDuration.observe(seconds); $0.relistFailures += 1 }
    }
    public func podSync() { state.withLock { $0.podSyncs += 1 } }
    /// One CRI call (`operation` as upstream names them: list_podsandbox, container_status, ...).
    public func runtimeOperation(_ operation: String, failed: Bool) {
        state.withLock { s in
            s.runtimeOperations[operation, default: 0] += 1
            if failed { s.runtimeErrors[operation, default: 0] += 1 }
        }
    }
    public func eviction(signal: String) { state.withLock { $0.evictions[signal, default: 0] += 1 } }
    /// The node's pressure conditions and each configured eviction signal's observation (bytes or pids).
    public func pressure(conditions: [String: Bool], signals: [String: (available: Double, threshold: Double)]) {
        state.withLock { s in
            for (k, v) in conditions { s.conditions[k] = v }
            s.signals = signals
        }
    }
    public var conditions: [String: Bool] { state.withLock { $0.conditions } }
    public func criEvent() { state.withLock { $0.events += 1 } }
    public func badManifest() { state.withLock { $0.badManifests += 1 } }

    /// Prometheus text exposition (version 0.0.4).
    public func render(runningPods: Int, runningContainers: Int) -> String {
        let s = state.withLock { $0 }
        var out = "# HELP kubelet_pod_start_duration_seconds Duration in seconds from the kubelet seeing a pod until all its containers run.\n"
        out += "# TYPE kubelet_pod_start_duration_seconds histogram\n"
        for (i, bound) in KubeletMetrics.buckets.enumerated() {
            out += "kubelet_pod_start_duration_seconds_bucket{le=\"\(bound)\"} \(s.counts[i])\n"
        }
        out += "kubelet_pod_start_duration_seconds_bucket{le=\"+Inf\"} \(s.count)\n"
        out += "kubelet_pod_start_duration_seconds_sum \(s.sum)\n"
        out += "kubelet_pod_start_duration_seconds_count \(s.count)\n"
        out += "# HELP kubelet_running_pods Number of pods that have a running pod sandbox.\n# TYPE kubelet_running_pods gauge\n"
        out += "kubelet_running_pods \(runningPods)\n"
        out += "# HELP kubelet_running_containers Number of running containers.\n# TYPE kubelet_running_containers gauge\n"
        out += "kubelet_running_containers{container_state=\"running\"} \(runningContainers)\n"
        out += s.relistDuration.render("kubelet_pleg_relist_duration_seconds",
                                       help: "Duration in seconds for relisting pods in PLEG (one ListPodSandbox + one ListContainers).")
        out += "# TYPE kubelet_pleg_relist_total counter\nkubelet_pleg_relist_total \(s.relistDuration.count)\n"
        out += "# TYPE kubelet_pleg_relist_errors_total counter\nkubelet_pleg_relist_errors_total \(s.relistFailures)\n"
        out += "# HELP kubelet_pleg_changed_pods_total Pods a relist found changed (their workers were woken).\n"
        out += "# TYPE kubelet_pleg_changed_pods_total counter\nkubelet_pleg_changed_pods_total \(s.relistChangedPods)\n"
        out += "# TYPE kubelet_pod_worker_syncs_total counter\nkubelet_pod_worker_syncs_total \(s.podSyncs)\n"
        out += family("kubelet_runtime_operations_total", type: "counter", label: "operation_type", s.runtimeOperations,
                      help: "Cumulative number of runtime operations by operation type.")
        out += family("kubelet_runtime_operations_errors_total", type: "counter", label: "operation_type", s.runtimeErrors)
        out += family("kubelet_evictions", type: "counter", label: "eviction_signal", s.evictions,
                      help: "Cumulative number of pod evictions by eviction signal.")
        out += family("kubelet_node_condition", type: "gauge", label: "condition", s.conditions.mapValues { $0 ? 1 : 0 },
                      help: "Node pressure conditions (1 = True) from the eviction manager.")
        out += family("kubelet_eviction_signal_available", type: "gauge", label: "eviction_signal", s.signals.mapValues(\.available),
                      help: "Observed value of each configured eviction signal (bytes, inodes or pids).")
        out += family("kubelet_eviction_signal_threshold", type: "gauge", label: "eviction_signal", s.signals.mapValues(\.threshold))
        out += "# TYPE kubelet_cri_events_total counter\nkubelet_cri_events_total \(s.events)\n"
        out += "# TYPE kubelet_static_pod_manifest_errors_total counter\nkubelet_static_pod_manifest_errors_total \(s.badManifests)\n"
        return out
    }
}

extension KubeletMetrics {
    /// One labelled metric family in the Prometheus text format, samples sorted by label value.
    func family<V>(_ name: String, type: String, label: String, _ samples: [String: V], help: String? = nil) -> String {
        var out = help.map { "# HELP \(name) \($0)\n" } ?? ""
        out += "# TYPE \(name) \(type)\n"
        for (value, sample) in samples.sorted(by: { $0.key < $1.key }) {
            out += "\(name){\(label)=\"\(value)\"} \(sample)\n"
        }
        return out
    }
}
