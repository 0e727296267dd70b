import CRIProto
import Foundation
import Logging

/// Container GC settings (upstream's `GCPolicy`).
public struct ContainerGCPolicy: Sendable, Hashable {
    /// Dead containers younger than this are kept (seconds).
    public var minAge: Double
    /// Dead containers kept per (pod, container name); -1: no limit. The newest dead container of
    /// a pod that still exists is always kept, whatever this says: its log is "previous".
    public var maxPerPodContainer: Int
    /// Dead containers kept on the node; -1: no limit.
    public var maxContainers: Int

    public init(minAge: Double = 0, maxPerPodContainer: Int = 1, maxContainers: Int = -1) {
        self.minAge = minAge
        self.maxPerPodContainer = maxPerPodContainer
        self.maxContainers = maxContainers
    }

    public init(config: KubeletConfiguration) {
        self.init(minAge: config.minimumContainerTTLDuration.seconds,
                  maxPerPodContainer: Int(config.maximumDeadContainersPerContainer),
                  maxContainers: Int(config.maximumDeadContainers))
    }
}

/// What container GC needs to know about one container (from CRI ListContainers).
public struct GCContainer: Sendable, Hashable {
    public var id: String
    public var podUID: String
    public var name: String
    public var sandboxID: String
    public var state: Runtime_V1_ContainerState
    /// Seconds since the epoch.
    public var createdAt: Double

    public init(id: String, podUID: String, name: String, sandboxID: String, state: Runtime_V1_ContainerState, createdAt: Double) {
        self.id = id
        self.podUID = podUID
        self.name = name
        self.sandboxID = sandboxID
        self.state = state
        self.createdAt = createdAt
    }

    init(_ c: Runtime_V1_Container) {
        self.init(id: c.id, podUID: c.labels[KubeLabels.podUID] ?? c.metadata.name, name: c.metadata.name,
                  sandboxID: c.podSandboxID, state: c.state, createdAt: Double(c.createdAt) / 1e9)
    }
}

public struct GCSandbox: Sendable, Hashable {
    public var id: String
    public var podUID: String
    public var ready: Bool
    public var createdAt: Double

    public init(id: String, podUID: String, ready: Bool, createdAt: Double) {
        self.id = id
        self.podUID = podUID
        self.ready = ready
        self.createdAt = createdAt
    }

    init(_ s: Runtime_V1_PodSandbox) {
        self.init(id: s.id, podUID: s.metadata.uid, ready: s.state == .sandboxReady, createdAt: Double(s.createdAt) / 1e9)
    }
}

/// Which dead containers and sandboxes to remove, as upstream's kuberuntime container GC decides:
/// containers are grouped by (pod UID, container name), newest first; a pod that no longer
/// exists (once every pod source has reported) loses all of them; otherwise each group keeps
/// `maxPerPodContainer` (at least 1), then the node keeps `maxContainers`. Sandboxes that are
/// not ready and hold no container go; a pod that still exists keeps its newest sandbox.
public enum ContainerGC {
    /// A container that was created but never started is left alone this long (the pod worker
    /// starts it right after creating it).
    static let createdGrace = 60.0

    /// Dead = exited or unknown (or created and never started for a minute), and older than minAge.
    static func isEvictable(_ c: GCContainer, policy: ContainerGCPolicy, now: Double) -> Bool {
        switch c.state {
        case .containerRunning: return false
        case .containerCreated: if now - c.createdAt < max(createdGrace, policy.minAge) { return false }
        default: break
        }
        return now - c.createdAt >= policy.minAge
    }

    public static func containersToRemove(_ containers: [GCContainer], policy: ContainerGCPolicy, now: Double,
                                          podExists: (String) -> Bool, sourcesReady: Bool) -> [GCContainer] {
        struct Unit: Hashable { let uid: String; let name: String }
        var units: [Unit: [GCContainer]] = [:]
        for c in containers where isEvictable(c, policy: policy, now: now) {
            units[Unit(uid: c.podUID, name: c.name), default: []].append(c)
        }
        var remove: [GCContainer] = []
        // Newest first within a unit.
        for key in Array(units.keys) {
            units[key]?.sort { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
        }
        if sourcesReady {
            for (key, unit) in units where !podExists(key.uid) {
                remove += unit
                units[key] = nil
            }
        }
        // The newest dead container of each remaining unit is never removed.
        let keepPerUnit = policy.maxPerPodContainer < 0 ? Int.max : max(policy.maxPerPodContainer, 1)
        for (key, unit) in units where unit.count > keepPerUnit {
            remove += unit[keepPerUnit...]
            units[key] = Array(unit.prefix(keepPerUnit))
        }
        if policy.maxContainers >= 0 {
            var total = units.values.reduce(0) { $0 + $1.count }
            if total > policy.maxContainers, !units.isEmpty {
                let perUnit = max(policy.maxContainers / units.count, 1)
                for (key, unit) in units where unit.count > perUnit {
                    remove += unit[perUnit...]
                    units[key] = Array(unit.prefix(perUnit))
                }
                total = units.values.reduce(0) { $0 + $1.count }
                if total > policy.maxContainers {
                    // Oldest first, never a unit's newest (protected above).
                    let candidates = units.values.flatMap { $0.dropFirst() }.sorted { $0.createdAt < $1.createdAt }
                    remove += candidates.prefix(total - policy.maxContainers)
                }
            }
        }
        return remove.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    /// Sandboxes to remove, given the containers that remain after container GC.
    public static func sandboxesToRemove(_ sandboxes: [GCSandbox], remaining containers: [GCContainer],
                                         podExists: (String) -> Bool, sourcesReady: Bool) -> [GCSandbox] {
        let withContainers = Set(containers.map(\.sandboxID))
        var byPod: [String: [GCSandbox]] = [:]
        for s in sandboxes { byPod[s.podUID, default: []].append(s) }
        var remove: [GCSandbox] = []
        for (uid, group) in byPod {
            let newestFirst = group.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
            let keep = sourcesReady && !podExists(uid) ? 0 : 1
            for s in newestFirst.dropFirst(keep) where !s.ready && !withContainers.contains(s.id) {
                remove.append(s)
            }
        }
        return remove.sorted { $0.createdAt < $1.createdAt }
    }
}

/// Runs container GC against the runtime: lists, decides (`ContainerGC`), removes containers
/// (and their log files, unless a remaining container writes the same path), then sandboxes.
public struct ContainerCollector: Sendable {
    let cri: CRIClient
    let policy: ContainerGCPolicy
    let logger: Logger

    public init(cri: CRIClient, policy: ContainerGCPolicy, logger: Logger) {
        self.cri = cri
        self.policy = policy
        self.logger = logger
    }

    public struct Outcome: Sendable, Equatable {
        public var containers: [String] = []
        public var sandboxes: [String] = []
    }

    /// One GC pass. `podExists` answers for pods the kubelet still runs; `sourcesReady` is false
    /// until every pod source has reported once (before that, no pod counts as gone).
    public func collect(podExists: @Sendable (String) -> Bool, sourcesReady: Bool, now: Double = Date().timeIntervalSince1970) async throws -> Outcome {
        var outcome = Outcome()
        let managed = [KubeLabels.managedBy: "true"]
        // Only what this kubelet made: containers in sandboxes labelled as ours.
        let ours = Set(try await cri.listSandboxes(labels: managed).map(\.id))
        let all = try await cri.listContainers().filter { ours.contains($0.podSandboxID) }.map(GCContainer.init)
        let doomed = ContainerGC.containersToRemove(all, policy: policy, now: now, podExists: podExists, sourcesReady: sourcesReady)
        let doomedIDs = Set(doomed.map(\.id))
        // Log paths a remaining container writes (a new sandbox starts attempts at 0 again, so a
        // dead container in an old sandbox may share its path with a live one). Only asked for
        // when something is to be removed: an idle pass makes list calls only.
        var keptLogs = Set<String>()
        for c in all where !doomed.isEmpty && !doomedIDs.contains(c.id) {
            if let path = try? await cri.containerStatus(c.id).logPath, !path.isEmpty { keptLogs.insert(path) }
        }
        for c in doomed {
            let logPath = (try? await cri.containerStatus(c.id).logPath) ?? ""
            do {
                try await cri.removeContainer(c.id)
            } catch {
                logger.warning("container GC: remove failed", metadata: ["container": "\(c.id)", "error": "\(error)"])
                continue
            }
            outcome.containers.append(c.id)
            logger.info("container GC: removed dead container", metadata: [
                "container": "\(c.id)", "name": "\(c.name)", "pod_uid": "\(c.podUID)"])
            if !logPath.isEmpty && !keptLogs.contains(logPath) { LogRotation.removeLogFiles(logPath) }
        }
        let remaining = try await cri.listContainers().filter { ours.contains($0.podSandboxID) }.map(GCContainer.init)
        let sandboxes = try await cri.listSandboxes(labels: managed).map(GCSandbox.init)
        for s in ContainerGC.sandboxesToRemove(sandboxes, remaining: remaining, podExists: podExists, sourcesReady: sourcesReady) {
            do {
                try await cri.stopSandbox(s.id)
                try await cri.removeSandbox(s.id)
            } catch {
                logger.warning("container GC: sandbox removal failed", metadata: ["sandbox": "\(s.id)", "error": "\(error)"])
                continue
            }
            outcome.sandboxes.append(s.id)
            logger.info("container GC: removed dead sandbox", metadata: ["sandbox": "\(s.id)", "pod_uid": "\(s.podUID)"])
        }
        return outcome
    }
}
