import Synchronization

/// Prometheus metrics the kubelet serves on /metrics. Owns the counters; anyone may record.
public final class KubeletMetrics: Sendable {
    /// Upper bounds (seconds) of the pod start latency histogram, like upstream's buckets.
    public static let buckets: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 300, 600]

    struct State {
        var counts = [UInt64](repeating: 0, count: KubeletMetrics.buckets.count)
        var count: UInt64 = 0
        var sum: Double = 0
        var syncs: UInt64 = 0
        var relists: UInt64 = 0
        var relistSeconds: Double = 0
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

    public func relist(seconds: Double) { state.withLock { $0.relists += 1; $0.relistSeconds += seconds } }
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
        out += "# HELP kubelet_pleg_relist_duration_seconds Total time spent relisting.\n# TYPE kubelet_pleg_relist_duration_seconds counter\n"
        out += "kubelet_pleg_relist_duration_seconds \(s.relistSeconds)\n"
        out += "# TYPE kubelet_pleg_relist_total counter\nkubelet_pleg_relist_total \(s.relists)\n"
        out += "# TYPE kubelet_cri_events_total counter\nkubelet_cri_events_total \(s.events)\n"
        out += "# TYPE kubelet_static_pod_manifest_errors_total counter\nkubelet_static_pod_manifest_errors_total \(s.badManifests)\n"
        return out
    }
}
