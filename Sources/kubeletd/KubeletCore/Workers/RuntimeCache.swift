import CRIProto
import Synchronization

/// One pod's slice of a relist: its sandboxes and containers as ListPodSandbox / ListContainers
/// reported them.
public struct PodRecord: Sendable {
    public var sandboxes: [Runtime_V1_PodSandbox]
    public var containers: [Runtime_V1_Container]

    public init(sandboxes: [Runtime_V1_PodSandbox] = [], containers: [Runtime_V1_Container] = []) {
        self.sandboxes = sandboxes
        self.containers = containers
    }

    /// What a relist compares between two snapshots: each sandbox's and container's ID and state
    /// (a new attempt is a new ID). Exit codes and times only change with the state.
    struct Fingerprint: Hashable {
        var sandboxes: [String: Int]
        var containers: [String: Int]
    }

    var fingerprint: Fingerprint {
        Fingerprint(sandboxes: Dictionary(sandboxes.map { ($0.id, $0.state.rawValue) }, uniquingKeysWith: { a, _ in a }),
                    containers: Dictionary(containers.map { ($0.id, $0.state.rawValue) }, uniquingKeysWith: { a, _ in a }))
    }
}

/// One relist: every sandbox and container this kubelet manages, grouped by pod UID, and when
/// the listing started (anything that finished before then is in it).
public struct RuntimeSnapshot: Sendable {
    public var taken: ContinuousClock.Instant
    public var pods: [String: PodRecord]

    public init(taken: ContinuousClock.Instant, pods: [String: PodRecord]) {
        self.taken = taken
        self.pods = pods
    }

    /// Groups one ListPodSandbox and one ListContainers answer by pod UID: the
    /// `io.kubernetes.pod.uid` label of each, the same selection a worker's own listing makes
    /// (a sandbox whose metadata names the pod but which lacks the label is not the pod's).
    public init(taken: ContinuousClock.Instant, sandboxes: [Runtime_V1_PodSandbox], containers: [Runtime_V1_Container]) {
        var pods: [String: PodRecord] = [:]
        for sandbox in sandboxes {
            guard let uid = sandbox.labels[KubeLabels.podUID] else { continue }
            pods[uid, default: PodRecord()].sandboxes.append(sandbox)
        }
        for container in containers {
            guard let uid = container.labels[KubeLabels.podUID] else { continue }
            pods[uid, default: PodRecord()].containers.append(container)
        }
        self.init(taken: taken, pods: pods)
    }

    /// The pods whose sandboxes or containers differ between two relists: new ones, ones with a
    /// sandbox or container added, gone or in another state, and ones gone from the runtime.
    public static func changedPods(from old: [String: PodRecord], to new: [String: PodRecord]) -> Set<String> {
        var changed = Set<String>()
        for (uid, record) in new where old[uid]?.fingerprint != record.fingerprint { changed.insert(uid) }
        for uid in old.keys where new[uid] == nil { changed.insert(uid) }
        return changed
    }
}

/// The lifecycle event generator's shared view of the runtime: the latest relist and, per pod,
/// when a CRI event last said it changed. Owner: `PodManager` (its relist task writes it, the
/// event stream marks pods); pod workers only read their own slice.
public final class RuntimeCache: Sendable {
    public enum Lookup: Sendable {
        /// The pod as the latest relist saw it (empty if the runtime has nothing of it).
        case fresh(PodRecord)
        /// No relist since `after` or since the pod's last CRI event: list the pod itself.
        case stale
    }

    struct State {
        var snapshot: RuntimeSnapshot?
        var events: [String: ContinuousClock.Instant] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Stores a relist and returns the pods that changed since the previous one (all pods the
    /// runtime holds on the first relist).
    @discardableResult
    public func update(_ snapshot: RuntimeSnapshot) -> Set<String> {
        state.withLock { s in
            let changed = RuntimeSnapshot.changedPods(from: s.snapshot?.pods ?? [:], to: snapshot.pods)
            s.snapshot = snapshot
            // Events older than the snapshot are in it.
            s.events = s.events.filter { $0.value >= snapshot.taken }
            return changed
        }
    }

    /// A CRI event said this pod changed: the snapshot no longer speaks for it until the next relist.
    public func noteEvent(uid: String, at instant: ContinuousClock.Instant = .now) {
        state.withLock { $0.events[uid] = instant }
    }

    public func forget(uid: String) {
        _ = state.withLock { $0.events.removeValue(forKey: uid) }
    }

    /// The pod's slice of the latest relist, if that relist started after `after` (the worker's
    /// last change to the pod) and after the pod's last CRI event.
    public func lookup(uid: String, after: ContinuousClock.Instant?) -> Lookup {
        state.withLock { s in
            guard let snapshot = s.snapshot else { return .stale }
            if let after, snapshot.taken <= after { return .stale }
            if let event = s.events[uid], snapshot.taken <= event { return .stale }
            return .fresh(snapshot.pods[uid] ?? PodRecord())
        }
    }

    /// When the latest relist started (nil before the first).
    public var lastRelist: ContinuousClock.Instant? { state.withLock { $0.snapshot?.taken } }
}

extension Duration {
    /// The duration in seconds, for metrics.
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
