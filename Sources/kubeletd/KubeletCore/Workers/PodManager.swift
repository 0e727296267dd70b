import CRIProto
import Foundation
import Logging
import Synchronization
import SystemCore

/// The node's pods: one `PodWorker` per desired pod, fed by the pod sources; the lifecycle event
/// generator (CRI event stream + one shared relist) pokes only the workers whose pod changed.
///
/// Owns the set of workers and the `RuntimeCache`. Each worker syncs on its own task, so one
/// slow pod (a stuck image pull, a runtime call that hangs) never stalls the others or the
/// relist. The relist is one ListPodSandbox and one ListContainers per period for the whole node
/// (like upstream's generic PLEG), each with a deadline: a slow runtime delays it, never a worker.
public actor PodManager {
    let cri: CRIClient
    let builder: CRIConfigBuilder
    let backoffs: BackoffStore
    public let metrics: KubeletMetrics
    let logger: Logger
    let maxPods: Int
    /// maxPods and allocatable (see `add(_:)`).
    let admission: PodAdmission
    let relistInterval: Double
    /// Deadline of each relist call; a relist that misses it is logged and the next one tried.
    let relistTimeout: Duration
    /// The longest a worker waits for another sync when nothing changed (syncFrequency).
    let resyncInterval: Double
    public let cache = RuntimeCache()
    private var workers: [String: PodWorker] = [:]   // uid → worker
    private var wakeups: [String: AsyncStream<Void>.Continuation] = [:]
    private var tasks: [String: Task<Void, Never>] = [:]
    /// Pods refused at admission (maxPods), with the reason, for /pods.
    private var rejected: [String: (Pod, String)] = [:]
    private var terminating: [String: Task<Void, Never>] = [:]

    public init(cri: CRIClient, builder: CRIConfigBuilder, backoffs: BackoffStore, metrics: KubeletMetrics,
                maxPods: Int, admission: PodAdmission? = nil, relistInterval: Double = 1,
                relistTimeout: Duration = .seconds(10), resyncInterval: Double = 60, logger: Logger) {
        self.cri = cri
        self.builder = builder
        self.backoffs = backoffs
        self.metrics = metrics
        self.maxPods = maxPods
        self.admission = admission ?? PodAdmission(maxPods: maxPods)
        self.relistInterval = relistInterval
        self.relistTimeout = relistTimeout
        self.resyncInterval = resyncInterval
        self.logger = logger
    }

    public func handle(_ events: [PodSourceEvent]) async {
        for event in events {
            switch event {
            case .added(let pod): await add(pod)
            case .replaced(let old, let new):
                await remove(old)
                await add(new)
            case .removed(let pod): await remove(pod)
            case .invalid: metrics.badManifest()
            }
        }
    }

    func add(_ pod: Pod) async {
        let uid = pod.metadata.uid ?? ""
        guard workers[uid] == nil else { return }
        // Admission: maxPods, then cpu and memory requests against allocatable, beside the pods
        // already admitted that have not finished (upstream frees a terminal pod's share).
        var admitted: [Pod] = []
        for worker in workers.values {
            if case .completed = await worker.lifecycle { continue }
            admitted.append(await worker.pod)
        }
        guard workers[uid] == nil else { return }
        if let rejection = admission.check(pod, beside: admitted) {
            var refused = pod
            var status = PodStatus(phase: .failed)
            status.reason = rejection.reason
            status.message = rejection.message
            refused.status = status
            rejected[uid] = (refused, rejection.message)
            logger.warning("pod rejected", metadata: ["pod": "\(pod.fullName)", "reason": "\(rejection.reason)",
                                                      "message": "\(rejection.message)"])
            return
        }
        startWorker(pod)
        logger.info("pod added", metadata: ["pod": "\(pod.fullName)", "uid": "\(uid)"])
    }

    /// Makes the pod's worker and its task: a sync per poke (coalesced), and a timer for when the
    /// worker asked to be woken with nothing changed (probes, back-off), at most `resyncInterval`.
    func startWorker(_ pod: Pod) {
        let uid = pod.metadata.uid ?? ""
        let worker = PodWorker(pod: pod, cri: cri, builder: builder, backoffs: backoffs, metrics: metrics, logger: logger,
                               cache: cache)
        workers[uid] = worker
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        wakeups[uid] = continuation
        continuation.yield()
        let resync = resyncInterval
        let metrics = self.metrics
        tasks[uid] = Task {
            var timer: Task<Void, Never>?
            for await _ in stream {
                timer?.cancel()
                metrics.podSync()
                // Each pass runs in a task of its own that ends with it. A task's allocator keeps the
                // high-water mark of its async frames until the task ends (it never shrinks), and
                // one pass through sandbox creation and a gRPC call leaves ~90 KB behind: ~9 MiB
                // at 100 pods if this long-lived loop ran the pass itself.
                let pass = Task { await worker.sync() }
                let delay = min(await pass.value ?? resync, resync)
                timer = Task {
                    try? await Task.sleep(for: .seconds(delay))
                    if !Task.isCancelled { continuation.yield() }
                }
            }
            timer?.cancel()
        }
    }

    func remove(_ pod: Pod) async {
        let uid = pod.metadata.uid ?? ""
        rejected[uid] = nil
        guard let worker = workers.removeValue(forKey: uid) else { return }
        wakeups.removeValue(forKey: uid)?.finish()
        cache.forget(uid: uid)
        let task = tasks.removeValue(forKey: uid)
        // Terminate concurrently: one pod's grace period never delays another pod's change.
        terminating[uid] = Task {
            await task?.value
            await worker.terminate()
            self.finishedTerminating(uid)
        }
    }

    func finishedTerminating(_ uid: String) { terminating[uid] = nil }

    /// Pods still being stopped (for /pods: they show until gone).
    public var terminatingCount: Int { terminating.count }

    /// Wakes one pod's worker (coalesced: many events while it syncs cause one more sync).
    public func poke(uid: String) { wakeups[uid]?.yield() }

    public func pokeAll() { for c in wakeups.values { c.yield() } }

    /// Pods with status, for /pods and the CLI.
    public func pods() async -> [Pod] {
        var out: [Pod] = []
        for worker in workers.values { out.append(await worker.snapshot()) }
        for (pod, reason) in rejected.values {
            var p = pod
            var status = PodStatus(phase: .failed)
            status.reason = pod.status?.reason ?? "OutOfpods"
            status.message = reason
            p.status = status
            out.append(p)
        }
        return out.sorted { $0.fullName < $1.fullName }
    }

    public func worker(namespace: String, name: String) async -> PodWorker? {
        for worker in workers.values {
            let pod = await worker.pod
            if pod.metadata.namespace == namespace && pod.metadata.name == name { return worker }
        }
        return nil
    }

    /// Pods that sandboxes in the runtime belong to but no source wants any more (left over by a
    /// previous run whose manifest was removed while the kubelet was down): stop and remove them.
    public func removeOrphans() async {
        guard let sandboxes = try? await cri.listSandboxes(labels: [KubeLabels.managedBy: "true"]) else { return }
        for sandbox in sandboxes {
            let uid = sandbox.metadata.uid
            guard workers[uid] == nil, rejected[uid] == nil else { continue }
            logger.info("removing orphaned pod", metadata: ["uid": "\(uid)", "pod": "\(sandbox.metadata.name)"])
            for c in (try? await cri.listContainers(labels: [KubeLabels.podUID: uid])) ?? [] {
                try? await cri.stopContainer(c.id, timeout: 2)
                try? await cri.removeContainer(c.id)
            }
            try? await cri.stopSandbox(sandbox.id)
            try? await cri.removeSandbox(sandbox.id)
            backoffs.removePod(uid)
        }
    }

    /// Wakes the workers of these pods.
    public func poke(_ uids: Set<String>) { for uid in uids { wakeups[uid]?.yield() } }

    /// The lifecycle event generator: CRI container events poke their pod's worker at once; a
    /// relist every `relistInterval` pokes the pods whose sandboxes or containers changed
    /// (consistency check, never blocking a worker).
    public nonisolated func runEventGenerator() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { [self] in
                while !Task.isCancelled {
                    do {
                        try await cri.containerEvents { [self] event in
                            metrics.criEvent()
                            let uid = event.podSandboxStatus.metadata.uid
                            if !uid.isEmpty {
                                cache.noteEvent(uid: uid)
                                await poke(uid: uid)
                            } else {
                                await pokeAll()
                            }
                        }
                    } catch {
                        logger.debug("CRI event stream ended", metadata: ["error": "\(error)"])
                    }
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            group.addTask { [self] in
                // When a burst of pod changes has settled (the first relist that sees no change
                // after some did), the allocator's free pages go back to the kernel: starting 100
                // pods frees megabytes that glibc would otherwise keep resident.
                var settled = false
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(relistInterval))
                    if await relist() > 0 {
                        settled = false
                    } else if !settled {
                        settled = true
                        ProcessMemory.releaseFreeMemory()
                    }
                }
            }
        }
    }

    /// One relist: list every sandbox and container of this kubelet once, store the snapshot,
    /// poke the pods that changed. A failed or late call is logged and skipped: the next period
    /// tries again, and workers keep listing their own pod meanwhile (the snapshot goes stale).
    /// Returns how many pods changed (0 when the relist failed).
    @discardableResult
    public nonisolated func relist() async -> Int {
        let started = ContinuousClock.now
        let managed = [KubeLabels.managedBy: "true"]
        do {
            async let sandboxes = cri.listSandboxes(labels: managed, timeout: relistTimeout)
            async let containers = cri.listContainers(labels: managed, timeout: relistTimeout)
            let snapshot = RuntimeSnapshot(taken: started, sandboxes: try await sandboxes, containers: try await containers)
            let changed = cache.update(snapshot)
            if !changed.isEmpty { await poke(changed) }
            metrics.relist(seconds: (ContinuousClock.now - started).seconds, changedPods: changed.count)
            return changed.count
        } catch {
            metrics.relistFailed(seconds: (ContinuousClock.now - started).seconds)
            logger.warning("relist failed; retrying next period", metadata: ["error": "\(error)"])
            return 0
        }
    }

    /// A pod the eviction manager may evict and the directories its disk usage is counted in.
    public struct EvictionPod: Sendable {
        public var candidate: EvictionCandidate
        public var directories: [String]
    }

    /// The pods that may be evicted: admitted, with a worker, not finished, evicted or stopping.
    public func evictionCandidates() async -> [EvictionPod] {
        var out: [EvictionPod] = []
        for (uid, worker) in workers {
            switch await worker.lifecycle {
            case .creatingSandbox, .initializing, .running: break
            default: continue
            }
            let pod = await worker.pod
            let candidate = EvictionCandidate(
                uid: uid, name: pod.fullName, qos: QOSClass(pod: pod), priority: pod.spec.priority ?? 0,
                isStatic: StaticPod.isStaticOrMirror(pod),
                memoryRequest: EvictionCandidate.requests(pod, "memory"),
                storageRequest: EvictionCandidate.requests(pod, "ephemeral-storage"))
            out.append(EvictionPod(candidate: candidate,
                                   directories: ["\(builder.podDirectory(pod))/volumes", CRIConfigBuilder.logDirectory(pod)]))
        }
        return out
    }

    /// Has the pod's worker evict it (on the worker's own task). False if it is gone or finished.
    public func evict(uid: String, message: String) async -> Bool {
        guard let worker = workers[uid], await worker.requestEviction(message: message) else { return false }
        poke(uid: uid)
        return true
    }

    public func isEvicted(uid: String) async -> Bool {
        guard let worker = workers[uid] else { return true }
        return await worker.isEvicted
    }

    public func counts() async -> (pods: Int, containers: Int) {
        var pods = 0, containers = 0
        for worker in workers.values {
            if await worker.sandboxID != nil { pods += 1 }
            containers += await worker.observedContainers().filter { $0.state == .containerRunning }.count
        }
        return (pods, containers)
    }

    /// Stops watching (workers keep their containers running: a restart adopts them).
    public func shutdown() {
        for c in wakeups.values { c.finish() }
        for t in tasks.values { t.cancel() }
    }
}
