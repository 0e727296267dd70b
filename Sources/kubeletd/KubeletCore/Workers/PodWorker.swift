import CRIProto
import Foundation
import Logging
import SystemCore

/// Where a pod is in its life, as one value (not a bag of flags). Owned by its `PodWorker`.
public enum PodLifecycle: Sendable, Hashable {
    /// Waiting for a sandbox (first start or after the sandbox died).
    case creatingSandbox
    /// Running init container `index` (regular init containers run one at a time, in order).
    case initializing(index: Int)
    /// Sidecars and app containers started; the worker keeps them per restartPolicy.
    case running
    /// Every app container finished and none will restart.
    case completed(succeeded: Bool)
    /// Killed by the eviction manager (node under resource pressure); stays Failed with reason
    /// Evicted and this message until the pod is replaced or removed: it is not restarted.
    case evicted(message: String)
    /// Stopping: preStop hooks, stop signal, SIGKILL at the grace period's end.
    case terminating
    /// Stopped and removed from the runtime.
    case terminated
}

/// What the worker last observed for one container (from CRI).
public struct ObservedContainer: Sendable {
    public var id: String
    public var name: String
    public var attempt: UInt32
    public var state: Runtime_V1_ContainerState
    public var createdAt: Int64
    public var startedAt: Int64
    public var finishedAt: Int64
    public var exitCode: Int32
    public var reason: String
    public var message: String
    public var image: String
    public var imageRef: String
    public var logPath: String
    /// False while the worker only knows what it asked for (just started, no ContainerStatus yet).
    public var complete: Bool = true
}

/// Failures that wait before retrying (shown as container waiting reasons).
public struct WaitingReason: Sendable, Hashable {
    public var reason: String
    public var message: String
}

/// Runs one pod against CRI: an explicit state machine advanced by `sync()`, called when a CRI
/// event or the shared relist says the pod changed, and when a timer the worker asked for
/// (probes, back-off, retry) fires. One actor per pod, so a slow pod never holds up another.
///
/// What it observes comes from the shared relist (`RuntimeCache`) when that is newer than the
/// worker's own last change and the pod's last CRI event, else from a ListPodSandbox +
/// ListContainers for this pod alone; ContainerStatus is asked only for containers whose ID or
/// state differs from what the worker already knows.
public actor PodWorker {
    public private(set) var pod: Pod
    public private(set) var lifecycle: PodLifecycle = .creatingSandbox
    public private(set) var sandboxID: String?
    public private(set) var sandboxIP: String?
    public private(set) var containers: [String: ObservedContainer] = [:]
    /// The newest dead instance of each container before the current one (its termination is the
    /// status's lastState; its container and log stay until container GC removes older ones).
    public private(set) var previousContainers: [String: ObservedContainer] = [:]
    /// The highest attempt of each container name in any of the pod's sandboxes (from observe).
    var highestAttempt: [String: UInt32] = [:]
    public private(set) var waiting: [String: WaitingReason] = [:]
    public private(set) var startTime: Date?
    public private(set) var readyAt: Date?
    public private(set) var runningAt: Date?
    let firstSeen: Date
    let cri: CRIClient
    let builder: CRIConfigBuilder
    let backoffs: BackoffStore
    let logger: Logger
    let metrics: KubeletMetrics
    let cache: RuntimeCache
    private var removed = false
    /// When this worker last changed the pod in the runtime (a relist started before that is stale).
    private(set) var lastMutation: ContinuousClock.Instant?
    /// Sandboxes of this pod the runtime holds (ready or not), from the last observation.
    private var sandboxCount = 0
    /// The earliest time (seconds since 1970) something due needs another sync.
    private var wakeAt: Double?
    /// After a failed sync: no step is retried before this time (seconds since 1970).
    private var failedSyncRetryAt: Double?
    /// Set by the eviction manager; carried out by the next sync.
    private var pendingEviction: String?
    /// Transition times of pod conditions.
    var conditionTimes: [String: (Bool, Date)] = [:]
    /// Probe state per "containerID/kind" (a new container instance starts fresh).
    var probes: [String: ProbeState] = [:]

    public init(pod: Pod, cri: CRIClient, builder: CRIConfigBuilder, backoffs: BackoffStore, metrics: KubeletMetrics,
                logger: Logger, cache: RuntimeCache = RuntimeCache(), firstSeen: Date = Date()) {
        self.pod = pod
        self.cri = cri
        self.cache = cache
        self.builder = builder
        self.backoffs = backoffs
        self.metrics = metrics
        self.firstSeen = firstSeen
        var logger = logger
        logger[metadataKey: "pod"] = "\(pod.fullName)"
        self.logger = logger
    }

    var uid: String { pod.metadata.uid ?? "" }

    /// One reconcile pass: observe CRI, then take the next step of the lifecycle. Returns the
    /// seconds until the worker wants to sync again with nothing changed (a probe is due, a
    /// back-off ends, a failed step is retried), nil if only a change should wake it.
    @discardableResult
    public func sync() async -> Double? {
        if removed { return nil }
        wakeAt = nil
        if let message = pendingEviction {
            pendingEviction = nil
            await evict(message: message)
            return nil
        }
        if case .evicted = lifecycle { return nil }
        let now = Date().timeIntervalSince1970
        if let until = failedSyncRetryAt, now < until {
            // Woken during the back-off (by the CRI events of the failed attempt itself, say):
            // refresh what the status shows, change nothing until the back-off ends.
            try? await observe()
            wake(at: until)
            return max(until - now, 0.01)
        }
        failedSyncRetryAt = nil
        do {
            try await observe()
            try await advance()
        } catch {
            // Upstream's pod workers requeue a pod whose sync failed after backOffPeriod (10 s)
            // jittered by up to half of it; other pods are not held up (one worker each).
            let retry = Self.syncErrorRetry()
            logger.warning("pod sync failed", metadata: ["error": "\(error)", "retry_in": "\(Int(retry.rounded()))s"])
            failedSyncRetryAt = now + retry
            wake(after: retry)
        }
        return wakeAt.map { max($0 - Date().timeIntervalSince1970, 0.01) }
    }

    /// Upstream's `backOffPeriod` and `workerBackOffPeriodJitterFactor` (kubelet.go, pod_workers.go).
    static let syncErrorBackoff = 10.0
    static let syncErrorJitter = 0.5

    /// When to retry a failed sync: `wait.Jitter(10s, 0.5)`, i.e. 10 to 15 s.
    static func syncErrorRetry(random: Double = Double.random(in: 0..<1)) -> Double {
        syncErrorBackoff * (1 + syncErrorJitter * random)
    }

    /// Asks for another sync at `time` (seconds since 1970) at the latest.
    func wake(at time: Double) { wakeAt = min(wakeAt ?? time, time) }
    func wake(after seconds: Double) { wake(at: Date().timeIntervalSince1970 + seconds) }

    /// Marks a change this worker made to the pod in the runtime (after the CRI call returned).
    func touched() { lastMutation = .now }

    /// True when the worker must ask ContainerStatus for a listed container: it knows nothing of
    /// it, or only what it asked for, or the listing shows another instance or state.
    static func needsStatus(_ listed: Runtime_V1_Container, known: ObservedContainer?) -> Bool {
        guard let known, known.complete else { return true }
        return known.id != listed.id || known.state != listed.state
    }

    /// Reads the pod's sandbox and containers: from the shared relist when it is fresh enough,
    /// else from the runtime for this pod alone (this is also how a restarted kubelet adopts
    /// running pods: the runtime is the source of truth).
    func observe() async throws {
        let record: PodRecord
        switch cache.lookup(uid: uid, after: lastMutation) {
        case .fresh(let shared):
            record = shared
        case .stale:
            async let sandboxes = cri.listSandboxes(labels: [KubeLabels.podUID: uid])
            async let listed = cri.listContainers(labels: [KubeLabels.podUID: uid])
            record = PodRecord(sandboxes: try await sandboxes, containers: try await listed)
        }
        let selection = Self.select(record, uid: uid)
        sandboxCount = selection.sandboxCount
        if selection.sandboxID != sandboxID { sandboxIP = nil }
        sandboxID = selection.sandboxID
        if let id = sandboxID, (sandboxIP ?? "").isEmpty {
            do {
                sandboxIP = try await cri.sandboxStatus(id).network.ip
            } catch {
                logger.warning("sandbox status failed", metadata: ["sandbox": "\(id)", "error": "\(error)"])
            }
        }
        highestAttempt = selection.highestAttempt
        let known = Array(containers.values) + Array(previousContainers.values)
        containers = try await statuses(selection.current, known: known)
        previousContainers = try await statuses(selection.previous, known: known)
    }

    /// What the worker reads from one pod's listing (`select`).
    struct Selection: Sendable {
        /// The newest ready sandbox this kubelet made for the pod.
        var sandboxID: String?
        /// The pod's sandboxes, ready or not, any maker's (the next sandbox's attempt: runtimes
        /// reserve sandbox names per attempt too).
        var sandboxCount = 0
        /// Per container name, the instance the worker manages: in the current sandbox, a running
        /// (or created) one before any other, then the highest attempt, then the newest.
        var current: [String: Runtime_V1_Container] = [:]
        /// Per container name, the newest dead instance other than `current`, in any of the
        /// pod's sandboxes: its termination is `lastState`, its log is `--previous`.
        var previous: [String: Runtime_V1_Container] = [:]
        /// The highest attempt of each name among every container carrying the pod's UID, ours
        /// or not (a runtime reserves names per attempt: a new one must not collide).
        var highestAttempt: [String: UInt32] = [:]
    }

    /// Picks the pod's sandbox and containers from a listing by pod UID, like upstream's
    /// kuberuntime: only objects whose labels are the ones this kubelet writes count (the pod UID
    /// label, the container-name label matching the container's name, and this kubelet's own
    /// label), so a container or sandbox someone else made with the pod's UID (crictl, a test)
    /// never becomes the pod's, and a running container is kept whatever else exists.
    static func select(_ record: PodRecord, uid: String) -> Selection {
        var out = Selection()
        let sandboxes = record.sandboxes.filter {
            $0.labels[KubeLabels.podUID] == uid && $0.labels[KubeLabels.managedBy] == "true"
        }
        out.sandboxCount = record.sandboxes.count
        out.sandboxID = sandboxes.filter { $0.state == .sandboxReady }.max { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }?.id
        let ourSandboxes = Set(sandboxes.map(\.id))
        var owned: [Runtime_V1_Container] = []
        for c in record.containers where c.labels[KubeLabels.podUID] == uid {
            let name = c.metadata.name
            out.highestAttempt[name] = max(out.highestAttempt[name] ?? 0, c.metadata.attempt)
            if c.labels[KubeLabels.managedBy] == "true", c.labels[KubeLabels.containerName] == name,
               ourSandboxes.contains(c.podSandboxID) {
                owned.append(c)
            }
        }
        func active(_ c: Runtime_V1_Container) -> Bool { c.state == .containerRunning || c.state == .containerCreated }
        func rank(_ c: Runtime_V1_Container) -> (Int, UInt32, Int64, String) { (active(c) ? 1 : 0, c.metadata.attempt, c.createdAt, c.id) }
        for c in owned where c.podSandboxID == out.sandboxID {
            let name = c.metadata.name
            if let have = out.current[name], rank(have) >= rank(c) { continue }
            out.current[name] = c
        }
        for c in owned where !active(c) && out.current[c.metadata.name]?.id != c.id {
            let name = c.metadata.name
            if let have = out.previous[name],
               (have.createdAt, have.metadata.attempt, have.id) >= (c.createdAt, c.metadata.attempt, c.id) { continue }
            out.previous[name] = c
        }
        return out
    }

    /// The observed state of each selected container: what the worker already knows when the
    /// listing shows the same instance in the same state, else ContainerStatus.
    func statuses(_ selected: [String: Runtime_V1_Container], known: [ObservedContainer]) async throws -> [String: ObservedContainer] {
        var out: [String: ObservedContainer] = [:]
        for (name, c) in selected {
            if let have = known.first(where: { $0.id == c.id }), !Self.needsStatus(c, known: have) {
                out[name] = have
                continue
            }
            let status = try await cri.containerStatus(c.id)
            out[name] = ObservedContainer(
                id: c.id, name: name, attempt: c.metadata.attempt, state: status.state, createdAt: status.createdAt,
                startedAt: status.startedAt, finishedAt: status.finishedAt, exitCode: status.exitCode,
                reason: status.reason, message: status.message, image: status.image.image, imageRef: status.imageRef,
                logPath: status.logPath)
        }
        return out
    }

    func advance() async throws {
        switch lifecycle {
        case .terminating, .terminated, .completed, .evicted: return
        default: break
        }
        // The pod cgroup exists before the sandbox (a no-op once made or adopted).
        try builder.podCgroups?.ensure(pod)
        guard let sandbox = sandboxID else {
            try await createSandbox()
            return
        }
        if startTime == nil { startTime = Date() }
        // Init containers, in order; sidecars are started and left running.
        let inits = pod.spec.initContainers ?? []
        for (index, container) in inits.enumerated() {
            let observed = containers[container.name]
            if container.isSidecar {
                if observed?.state != .containerRunning {
                    if observed == nil || mayRestart(container, observed) {
                        lifecycle = .initializing(index: index)
                        try await start(container, sandbox: sandbox, previous: observed)
                        return
                    }
                }
                continue
            }
            switch observed?.state {
            case .containerExited? where observed?.exitCode == 0:
                continue
            case .containerRunning?, .containerCreated?:
                lifecycle = .initializing(index: index)
                return
            case .containerExited?:
                lifecycle = .initializing(index: index)
                if pod.spec.restartPolicy == RestartPolicy.never.rawValue {
                    lifecycle = .completed(succeeded: false)
                    try await stopAll(reason: "init container failed")
                    return
                }
                if mayRestart(container, observed) { try await start(container, sandbox: sandbox, previous: observed) }
                return
            default:
                lifecycle = .initializing(index: index)
                try await start(container, sandbox: sandbox, previous: nil)
                return
            }
        }
        // App containers.
        var anyActive = false
        var allSucceeded = true
        for container in pod.spec.containers {
            let observed = containers[container.name]
            switch observed?.state {
            case .containerRunning?, .containerCreated?:
                anyActive = true
            case .containerExited?:
                if shouldRestart(observed) {
                    anyActive = true
                    if mayRestart(container, observed) { try await start(container, sandbox: sandbox, previous: observed) }
                } else if observed?.exitCode != 0 {
                    allSucceeded = false
                }
            default:
                anyActive = true
                try await start(container, sandbox: sandbox, previous: nil)
            }
        }
        if anyActive {
            if let due = await runProbes() { wake(at: due) }
            lifecycle = .running
            if runningAt == nil, pod.spec.containers.allSatisfy({ containers[$0.name]?.state == .containerRunning }) {
                runningAt = Date()
                metrics.observeStart(seconds: runningAt!.timeIntervalSince(firstSeen))
            }
        } else if case .completed = lifecycle {
        } else {
            lifecycle = .completed(succeeded: allSucceeded)
            // The pod is done: sidecars stop after the app containers.
            for sidecar in pod.spec.sidecars.reversed() {
                if let c = containers[sidecar.name], c.state == .containerRunning {
                    try? await cri.stopContainer(c.id, timeout: pod.spec.terminationGracePeriodSeconds ?? 30)
                    touched()
                }
            }
        }
    }

    /// Runs the probes that are due: startup first, then liveness and readiness. A failed
    /// liveness or startup probe stops the container; restartPolicy then decides. Returns when
    /// (seconds since 1970) the next probe is due, nil if none is configured.
    func runProbes() async -> Double? {
        let now = Date().timeIntervalSince1970
        var nextDue: Double?
        func due(_ time: Double) { nextDue = min(nextDue ?? time, time) }
        for container in pod.spec.containers + pod.spec.sidecars {
            guard let observed = containers[container.name], observed.state == .containerRunning else { continue }
            let started = Double(observed.startedAt) / 1e9
            var kinds: [(String, Probe)] = []
            if let p = container.startupProbe { kinds.append(("startup", p)) }
            let startupDone = container.startupProbe == nil || probes["\(observed.id)/startup"]?.healthy == true
            if startupDone {
                if let p = container.livenessProbe { kinds.append(("liveness", p)) }
                if let p = container.readinessProbe { kinds.append(("readiness", p)) }
            }
            for (kind, probe) in kinds {
                let key = "\(observed.id)/\(kind)"
                var state = probes[key] ?? ProbeState()
                if kind == "startup" && state.healthy == true { continue }
                let period = Double(probe.effectivePeriodSeconds)
                let first = started + Double(probe.effectiveInitialDelaySeconds)
                guard now >= first, now - state.lastRun >= period - 0.05 else {
                    due(max(first, state.lastRun + period))
                    continue
                }
                state.lastRun = now
                due(now + period)
                let result = await Prober.run(probe, container: container, containerID: observed.id, podIP: sandboxIP, cri: cri)
                state.record(result, probe: probe)
                probes[key] = state
                if case .failure(let why) = result {
                    logger.info("probe failed", metadata: ["container": "\(container.name)", "probe": "\(kind)", "reason": "\(why)"])
                }
                if state.healthy == false && (kind == "liveness" || kind == "startup") {
                    logger.info("container failed its \(kind) probe, will be restarted", metadata: ["container": "\(container.name)"])
                    let grace = probe.terminationGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30
                    if let preStop = container.lifecycle?.preStop?.exec {
                        _ = try? await cri.execSync(observed.id, command: preStop.command ?? [], timeout: grace)
                    }
                    try? await cri.stopContainer(observed.id, timeout: grace)
                    touched()
                    probes[key] = nil
                    break
                }
            }
        }
        return nextDue
    }

    /// Ready and started as the probes say (no probe: running means ready/started).
    func probeVerdict(_ container: Container, _ observed: ObservedContainer) -> (ready: Bool, started: Bool) {
        let started = container.startupProbe == nil || probes["\(observed.id)/startup"]?.healthy == true
        let ready = started && (container.readinessProbe == nil || probes["\(observed.id)/readiness"]?.healthy == true)
        return (ready, started)
    }

    func shouldRestart(_ observed: ObservedContainer?) -> Bool {
        guard let observed else { return true }
        switch pod.spec.restartPolicy ?? "Always" {
        case RestartPolicy.always.rawValue: return true
        case RestartPolicy.onFailure.rawValue: return observed.exitCode != 0
        default: return false
        }
    }

    func backoffKey(_ container: Container) -> String { "\(uid)/\(container.name)" }

    /// True when the container's back-off window (from its last exit) is over; otherwise records
    /// CrashLoopBackOff as its waiting reason.
    func mayRestart(_ container: Container, _ observed: ObservedContainer?) -> Bool {
        guard let observed, observed.state == .containerExited else { return true }
        let finished = Double(observed.finishedAt) / 1e9
        let key = backoffKey(container)
        let now = Date().timeIntervalSince1970
        if backoffs.isInBackoff(key, since: finished, now: now) {
            wake(at: finished + backoffs.delay(key) + 0.01)
            let delay = Int(backoffs.delay(key))
            waiting[container.name] = WaitingReason(
                reason: "CrashLoopBackOff",
                message: "back-off \(delay)s restarting failed container=\(container.name) pod=\(pod.metadata.name ?? "")_\(pod.metadata.namespace ?? "")(\(uid))")
            return false
        }
        return true
    }

    func ensureImage(_ container: Container, sandboxConfig: Runtime_V1_PodSandboxConfig) async throws -> Bool {
        let image = container.image ?? ""
        let policy = container.imagePullPolicy ?? PodDefaults.defaultPullPolicy(for: image)
        let present = try await cri.imageRef(image) != nil
        if policy == "Never" {
            if !present {
                waiting[container.name] = WaitingReason(
                    reason: "ErrImageNeverPull",
                    message: "Container image \"\(image)\" is not present with pull policy of Never")
            }
            return present
        }
        if present && policy == "IfNotPresent" { return true }
        let key = "image:\(image)"
        let now = Date().timeIntervalSince1970
        if let last = backoffs.lastUpdate(key), backoffs.isInBackoff(key, since: last, now: now) {
            wake(at: last + backoffs.delay(key) + 0.01)
            waiting[container.name] = WaitingReason(reason: "ImagePullBackOff", message: "Back-off pulling image \"\(image)\"")
            return false
        }
        do {
            _ = try await cri.pullImage(image, sandboxConfig: sandboxConfig)
            backoffs.reset(key)
            return true
        } catch {
            backoffs.next(key, now: now)
            waiting[container.name] = WaitingReason(reason: "ErrImagePull", message: "\(error)")
            logger.warning("image pull failed", metadata: ["image": "\(image)", "error": "\(error)"])
            return false
        }
    }

    func createSandbox() async throws {
        lifecycle = .creatingSandbox
        let attempt = UInt32(sandboxCount)
        let resolv = try? FileSystem.readString(builder.hostResolvConf)
        let config = builder.sandboxConfig(pod, attempt: attempt, hostResolvConf: resolv)
        try FileSystem.createDirectories(config.logDirectory)
        for volume in pod.spec.volumes ?? [] where volume.emptyDir != nil {
            if let dir = builder.volumeDirectory(pod, volume) { try FileSystem.createDirectories(dir) }
        }
        for volume in pod.spec.volumes ?? [] {
            if let host = volume.hostPath, host.type == "DirectoryOrCreate" { try FileSystem.createDirectories(host.path) }
        }
        do {
            defer { touched() }
            sandboxID = try await cri.runSandbox(config)
            sandboxCount += 1
            logger.info("sandbox started", metadata: ["sandbox": "\(sandboxID ?? "")"])
        } catch {
            // Upstream records this as a Warning event (reason FailedCreatePodSandBox) and the
            // containers stay Waiting/ContainerCreating; without an event sink it is this log line.
            logger.warning("Failed to create pod sandbox", metadata: [
                "event": "Warning", "reason": "FailedCreatePodSandBox", "error": "\(error)"])
            throw error
        }
        sandboxIP = try? await cri.sandboxStatus(sandboxID ?? "").network.ip
        // A new sandbox means every container starts over (init containers rerun).
        containers = [:]
        try await advance()
    }

    func environment(_ container: Container) -> [(String, String)] {
        EnvExpansion.environment(container.env ?? []) { source in
            if let ref = source.fieldRef { return fieldValue(ref.fieldPath) }
            if let ref = source.resourceFieldRef { return resourceValue(ref, container) }
            return ""
        }
    }

    func fieldValue(_ path: String) -> String {
        switch path {
        case "metadata.name": return pod.metadata.name ?? ""
        case "metadata.namespace": return pod.metadata.namespace ?? ""
        case "metadata.uid": return uid
        case "spec.nodeName": return pod.spec.nodeName ?? ""
        case "spec.serviceAccountName": return pod.spec.serviceAccountName ?? ""
        case "status.hostIP", "status.hostIPs": return builder.nodeIP ?? ""
        case "status.podIP", "status.podIPs": return sandboxIP ?? ""
        default:
            if path.hasPrefix("metadata.labels['"), path.hasSuffix("']") {
                return pod.metadata.labels?[String(path.dropFirst(17).dropLast(2))] ?? ""
            }
            if path.hasPrefix("metadata.annotations['"), path.hasSuffix("']") {
                return pod.metadata.annotations?[String(path.dropFirst(22).dropLast(2))] ?? ""
            }
            if path == "metadata.labels" {
                return (pod.metadata.labels ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: "\n")
            }
            if path == "metadata.annotations" {
                return (pod.metadata.annotations ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: "\n")
            }
            return ""
        }
    }

    func resourceValue(_ ref: ResourceFieldSelector, _ container: Container) -> String {
        let target = ref.containerName.flatMap { name in
            (pod.spec.containers + (pod.spec.initContainers ?? [])).first { $0.name == name }
        } ?? container
        let parts = ref.resource.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return "" }
        let values = parts[0] == "limits" ? target.resources?.limits : target.resources?.requests
        guard let q = values?[parts[1]] else { return "0" }
        let divisor = ref.divisor?.amount ?? 1
        var result = q.amount / divisor
        var rounded = Decimal()
        NSDecimalRound(&rounded, &result, 0, .up)
        return "\(rounded)"
    }

    func start(_ container: Container, sandbox: String, previous: ObservedContainer?) async throws {
        defer { touched() }
        let resolv = try? FileSystem.readString(builder.hostResolvConf)
        let sandboxConfig = builder.sandboxConfig(pod, attempt: 0, hostResolvConf: resolv)
        guard try await ensureImage(container, sandboxConfig: sandboxConfig) else { return }
        let attempt = max(previous.map { $0.attempt + 1 } ?? 0, highestAttempt[container.name].map { $0 + 1 } ?? 0)
        if previous != nil {
            backoffs.next(backoffKey(container), now: Date().timeIntervalSince1970)
        }
        let config = builder.containerConfig(pod, container, attempt: attempt, environment: environment(container))
        let id: String
        do {
            id = try await cri.createContainer(sandboxID: sandbox, config: config, sandboxConfig: sandboxConfig)
        } catch {
            waiting[container.name] = WaitingReason(reason: "CreateContainerError", message: "\(error)")
            throw error
        }
        do {
            try await cri.startContainer(id)
        } catch {
            waiting[container.name] = WaitingReason(reason: "RunContainerError", message: "\(error)")
            throw error
        }
        waiting[container.name] = nil
        // The dead instance stays (upstream keeps it for lastState and `logs --previous`);
        // container GC removes the older ones.
        if let previous { previousContainers[container.name] = previous }
        logger.info("container started", metadata: ["container": "\(container.name)", "attempt": "\(attempt)"])
        containers[container.name] = ObservedContainer(
            id: id, name: container.name, attempt: attempt, state: .containerRunning, createdAt: 0,
            startedAt: Int64(Date().timeIntervalSince1970 * 1e9), finishedAt: 0, exitCode: 0, reason: "", message: "",
            image: container.image ?? "", imageRef: "", logPath: "", complete: false)
        if let hook = container.lifecycle?.postStart {
            let grace = pod.spec.terminationGracePeriodSeconds ?? 30
            if case .failure(let why) = await runHook(hook, container: container, containerID: id, timeout: grace) {
                // Upstream: a failed postStart hook kills the container; restartPolicy decides.
                logger.warning("postStart hook failed, stopping the container",
                               metadata: ["container": "\(container.name)", "reason": "\(why)"])
                waiting[container.name] = WaitingReason(reason: "PostStartHookError", message: why)
                try? await cri.stopContainer(id, timeout: grace)
            }
        }
    }

    /// Stops every container (preStop first, then CRI StopContainer with the remaining grace),
    /// sidecars after app containers.
    func stopAll(reason: String) async throws {
        let grace = pod.spec.terminationGracePeriodSeconds ?? 30
        let deadline = Date().addingTimeInterval(Double(grace))
        let order = pod.spec.containers + (pod.spec.initContainers ?? []).filter { !$0.isSidecar } + pod.spec.sidecars.reversed()
        let podIP = sandboxIP
        await withTaskGroup(of: Void.self) { group in
            for container in pod.spec.containers {
                guard let c = containers[container.name], c.state == .containerRunning else { continue }
                let cri = self.cri
                group.addTask {
                    if let preStop = container.lifecycle?.preStop {
                        let left = max(Int64(deadline.timeIntervalSinceNow.rounded(.down)), 1)
                        _ = await PodWorker.runHook(preStop, container: container, containerID: c.id, podIP: podIP,
                                                    timeout: left, cri: cri)
                    }
                    let remaining = max(Int64(deadline.timeIntervalSinceNow.rounded(.up)), 1)
                    try? await cri.stopContainer(c.id, timeout: remaining)
                }
            }
        }
        for container in order where !pod.spec.containers.contains(where: { $0.name == container.name }) {
            guard let c = containers[container.name], c.state == .containerRunning else { continue }
            let remaining = max(Int64(deadline.timeIntervalSinceNow.rounded(.up)), 1)
            try? await cri.stopContainer(c.id, timeout: remaining)
        }
        touched()
        logger.info("pod containers stopped", metadata: ["reason": "\(reason)"])
    }

    /// Asks for the pod's eviction; the next sync carries it out (the caller pokes the worker).
    /// False if the pod is already evicted or on its way out.
    public func requestEviction(message: String) -> Bool {
        switch lifecycle {
        case .evicted, .terminating, .terminated, .completed: return false
        default:
            if removed { return false }
            pendingEviction = message
            return true
        }
    }

    /// True once an eviction has been carried out (containers killed, resources removed).
    public private(set) var isEvicted = false

    /// Hard eviction (upstream's grace period override for hard thresholds is immediate): every
    /// container is killed at once (no preStop), the sandbox stopped, containers, sandbox and
    /// emptyDir volumes removed (the space and memory they hold is what the node wants back).
    /// The pod stays Failed/Evicted with its last container states and is not restarted.
    func evict(message: String) async {
        lifecycle = .evicted(message: message)
        logger.warning("killing pod for eviction", metadata: ["message": "\(message)"])
        do {
            let listed = try await cri.listContainers(labels: [KubeLabels.podUID: uid])
            for c in listed where c.state == .containerRunning || c.state == .containerCreated {
                try? await cri.stopContainer(c.id, timeout: 0)
            }
            touched()
            try? await observe()
            for sandbox in try await cri.listSandboxes(labels: [KubeLabels.podUID: uid]) {
                try await retrying("stop sandbox \(sandbox.id)") { try await cri.stopSandbox(sandbox.id) }
            }
            for c in listed {
                try await retrying("remove container \(c.id)") { try await cri.removeContainer(c.id) }
            }
            for sandbox in try await cri.listSandboxes(labels: [KubeLabels.podUID: uid]) {
                try await retrying("remove sandbox \(sandbox.id)") { try await cri.removeSandbox(sandbox.id) }
            }
        } catch {
            logger.warning("pod eviction incomplete", metadata: ["error": "\(error)"])
        }
        touched()
        sandboxID = nil
        for volume in pod.spec.volumes ?? [] where volume.emptyDir != nil {
            if let dir = builder.volumeDirectory(pod, volume) { try? FileSystem.removeTree(dir) }
        }
        isEvicted = true
        logger.info("pod evicted")
    }

    func runHook(_ handler: LifecycleHandler, container: Container, containerID: String, timeout: Int64) async -> ProbeResult {
        await PodWorker.runHook(handler, container: container, containerID: containerID, podIP: sandboxIP, timeout: timeout, cri: cri)
    }

    /// Runs a lifecycle hook: exec through CRI, httpGet to the pod, or sleep.
    static func runHook(_ handler: LifecycleHandler, container: Container, containerID: String, podIP: String?,
                        timeout: Int64, cri: CRIClient) async -> ProbeResult {
        if let sleep = handler.sleep {
            try? await Task.sleep(for: .seconds(Double(min(sleep.seconds, timeout))))
            return .success
        }
        if let exec = handler.exec {
            do {
                let response = try await cri.execSync(containerID, command: exec.command ?? [], timeout: timeout)
                return response.exitCode == 0 ? .success : .failure("exec hook exited \(response.exitCode)")
            } catch {
                return .failure("exec hook: \(error)")
            }
        }
        if let http = handler.httpGet {
            var probe = Probe(httpGet: http)
            probe.timeoutSeconds = Int32(clamping: timeout)
            return await Prober.run(probe, container: container, containerID: containerID, podIP: podIP, cri: cri)
        }
        return .success  // tcpSocket hooks are deprecated no-ops upstream.
    }

    /// Runs a CRI call up to 3 times (a runtime under load may fail transiently), logging failures.
    func retrying(_ what: String, _ body: () async throws -> Void) async throws {
        for attempt in 1...3 {
            do {
                try await body()
                return
            } catch {
                logger.warning("\(what) failed", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                if attempt == 3 { throw error }
                try? await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
    }

    /// Stops and removes the pod from the runtime (manifest removed or replaced).
    public func terminate() async {
        lifecycle = .terminating
        removed = true
        do {
            try await observe()
            try await stopAll(reason: "pod removed")
            for sandbox in try await cri.listSandboxes(labels: [KubeLabels.podUID: uid]) {
                try await retrying("stop sandbox \(sandbox.id)") { try await cri.stopSandbox(sandbox.id) }
            }
            for c in try await cri.listContainers(labels: [KubeLabels.podUID: uid]) {
                try await retrying("remove container \(c.id)") { try await cri.removeContainer(c.id) }
            }
            for sandbox in try await cri.listSandboxes(labels: [KubeLabels.podUID: uid]) {
                try await retrying("remove sandbox \(sandbox.id)") { try await cri.removeSandbox(sandbox.id) }
            }
        } catch {
            logger.warning("pod termination incomplete", metadata: ["error": "\(error)"])
        }
        // After the sandbox: kill strays, remove the pod cgroup (housekeeping retries a failure).
        do { try builder.podCgroups?.remove(pod) } catch { logger.warning("pod cgroup not removed", metadata: ["error": "\(error)"]) }
        try? FileSystem.removeTree(builder.podDirectory(pod))
        try? FileSystem.removeTree(CRIConfigBuilder.logDirectory(pod))
        backoffs.removePod(uid)
        lifecycle = .terminated
        logger.info("pod terminated")
    }
}
