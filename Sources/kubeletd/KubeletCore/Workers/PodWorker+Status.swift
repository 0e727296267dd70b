import CRIProto
import Foundation

extension PodWorker {
    static func rfc3339(_ date: Date) -> String { date.formatted(.iso8601) }
    static func rfc3339(nanos: Int64) -> String? {
        nanos > 0 ? rfc3339(Date(timeIntervalSince1970: Double(nanos) / 1e9)) : nil
    }

    /// A dead instance as a terminated state (reason from the runtime, else Completed / Error).
    static func terminated(_ observed: ObservedContainer) -> ContainerStateTerminated {
        var terminated = ContainerStateTerminated(
            exitCode: observed.exitCode,
            reason: observed.reason.isEmpty ? (observed.exitCode == 0 ? "Completed" : "Error") : observed.reason)
        terminated.startedAt = rfc3339(nanos: observed.startedAt)
        terminated.finishedAt = rfc3339(nanos: observed.finishedAt)
        terminated.containerID = observed.id.isEmpty ? nil : "cri://\(observed.id)"
        terminated.message = observed.message.isEmpty ? nil : observed.message
        return terminated
    }

    func containerStatus(_ container: Container) -> ContainerStatus {
        var status = ContainerStatus(name: container.name, image: container.image ?? "")
        let observed = containers[container.name]
        status.restartCount = Int32(observed?.attempt ?? previousContainers[container.name].map { $0.attempt + 1 } ?? 0)
        // Upstream: lastState is the previous instance's termination (the current one's while
        // it waits to be restarted).
        if let previous = previousContainers[container.name], previous.state == .containerExited {
            status.lastState = ContainerState(terminated: Self.terminated(previous))
        }
        if let observed {
            status.containerID = observed.id.isEmpty ? nil : "cri://\(observed.id)"
            status.imageID = observed.imageRef
            switch observed.state {
            case .containerRunning:
                status.state = ContainerState(running: ContainerStateRunning(startedAt: Self.rfc3339(nanos: observed.startedAt)))
                let verdict = probeVerdict(container, observed)
                status.started = verdict.started
                status.ready = verdict.ready
            case .containerExited:
                let terminated = Self.terminated(observed)
                if let wait = waiting[container.name] {
                    status.state = ContainerState(waiting: ContainerStateWaiting(reason: wait.reason, message: wait.message))
                    status.lastState = ContainerState(terminated: terminated)
                } else {
                    status.state = ContainerState(terminated: terminated)
                }
                status.started = false
            default:
                status.state = ContainerState(waiting: ContainerStateWaiting(reason: "ContainerCreating"))
                status.started = false
            }
        } else if let wait = waiting[container.name] {
            status.state = ContainerState(waiting: ContainerStateWaiting(reason: wait.reason, message: wait.message))
        } else {
            status.state = ContainerState(waiting: ContainerStateWaiting(
                reason: sandboxID == nil ? "ContainerCreating" : "PodInitializing"))
        }
        return status
    }

    /// The pod as the API would show it, with status computed from what CRI reported.
    public func snapshot() -> Pod {
        var out = pod
        var status = PodStatus()
        let apps = pod.spec.containers.map(containerStatus)
        let inits = (pod.spec.initContainers ?? []).map(containerStatus)
        status.containerStatuses = apps
        status.initContainerStatuses = inits.isEmpty ? nil : inits
        status.qosClass = QOSClass(pod: pod).rawValue
        status.hostIP = builder.nodeIP
        if let ip = sandboxIP, !ip.isEmpty {
            status.podIP = ip
            status.podIPs = [PodIP(ip: ip)]
        }
        status.startTime = startTime.map(Self.rfc3339)
        let initialized = (pod.spec.initContainers ?? []).allSatisfy { c in
            c.isSidecar ? containers[c.name]?.state == .containerRunning
                : (containers[c.name]?.state == .containerExited && containers[c.name]?.exitCode == 0)
        }
        let containersReady = initialized && apps.allSatisfy(\.ready)
        switch lifecycle {
        case .completed(let succeeded):
            status.phase = succeeded ? PodPhase.succeeded.rawValue : PodPhase.failed.rawValue
        case .terminated:
            status.phase = PodPhase.succeeded.rawValue
        case .evicted(let message):
            status.phase = PodPhase.failed.rawValue
            status.reason = "Evicted"
            status.message = message
        default:
            let started = apps.contains { $0.state?.running != nil || $0.state?.terminated != nil || $0.lastState?.terminated != nil }
            status.phase = (sandboxID != nil && initialized && started) ? PodPhase.running.rawValue : PodPhase.pending.rawValue
        }
        status.conditions = [
            condition("PodReadyToStartContainers", sandboxID != nil),
            condition("Initialized", initialized, reason: initialized ? nil : "ContainersNotInitialized"),
            condition("ContainersReady", containersReady, reason: containersReady ? nil : "ContainersNotReady"),
            condition("Ready", containersReady, reason: containersReady ? nil : "ContainersNotReady"),
        ]
        if case .evicted(let message) = lifecycle {
            // Upstream marks pods the kubelet killed for node pressure with this condition.
            var disruption = condition("DisruptionTarget", true, reason: "TerminationByKubelet")
            disruption.message = message
            status.conditions?.append(disruption)
        }
        out.status = status
        return out
    }

    func condition(_ type: String, _ value: Bool, reason: String? = nil) -> PodCondition {
        let now = Date()
        let time: Date
        if let (previous, at) = conditionTimes[type], previous == value { time = at } else {
            conditionTimes[type] = (value, now)
            time = now
        }
        return PodCondition(type: type, status: value ? "True" : "False", lastTransitionTime: Self.rfc3339(time), reason: reason)
    }

    /// Running container IDs and log paths, for /runningpods and /containerLogs.
    public func observedContainers() -> [ObservedContainer] { Array(containers.values) }

    /// The previous (dead) instance of each container, for `/containerLogs?previous=true`: its
    /// `logPath` is the file to read (attempts need not be consecutive across sandboxes).
    public func previousObservedContainers() -> [ObservedContainer] { Array(previousContainers.values) }
}
