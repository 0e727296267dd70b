/// The status a node reports for a pod (core/v1 PodStatus).
public struct PodStatus: Sendable, Hashable, Codable {
    public var phase: String?
    public var conditions: [PodCondition]?
    public var message: String?
    public var reason: String?
    public var hostIP: String?
    public var podIP: String?
    public var podIPs: [PodIP]?
    public var startTime: String?
    public var qosClass: String?
    public var initContainerStatuses: [ContainerStatus]?
    public var containerStatuses: [ContainerStatus]?

    public init(phase: PodPhase? = nil) { self.phase = phase?.rawValue }
}

public enum PodPhase: String, Sendable, Hashable, Codable {
    case pending = "Pending", running = "Running", succeeded = "Succeeded", failed = "Failed", unknown = "Unknown"
}

public struct PodIP: Sendable, Hashable, Codable {
    public var ip: String
}

public struct PodCondition: Sendable, Hashable, Codable {
    public var type: String
    public var status: String
    public var lastProbeTime: String?
    public var lastTransitionTime: String?
    public var reason: String?
    public var message: String?
    public init(type: String, status: String, lastTransitionTime: String? = nil, reason: String? = nil) {
        self.type = type
        self.status = status
        self.lastTransitionTime = lastTransitionTime
        self.reason = reason
    }
}

public struct ContainerStatus: Sendable, Hashable, Codable {
    public var name: String
    public var state: ContainerState?
    public var lastState: ContainerState?
    public var ready: Bool
    public var restartCount: Int32
    public var image: String
    public var imageID: String
    public var containerID: String?
    public var started: Bool?

    public init(name: String, image: String, state: ContainerState? = nil) {
        self.name = name
        self.image = image
        self.imageID = ""
        self.ready = false
        self.restartCount = 0
        self.state = state
    }
}

/// At most one of waiting, running, terminated is set.
public struct ContainerState: Sendable, Hashable, Codable {
    public var waiting: ContainerStateWaiting?
    public var running: ContainerStateRunning?
    public var terminated: ContainerStateTerminated?
    public init(waiting: ContainerStateWaiting? = nil, running: ContainerStateRunning? = nil,
                terminated: ContainerStateTerminated? = nil) {
        self.waiting = waiting
        self.running = running
        self.terminated = terminated
    }
}

public struct ContainerStateWaiting: Sendable, Hashable, Codable {
    public var reason: String?
    public var message: String?
    public init(reason: String?, message: String? = nil) {
        self.reason = reason
        self.message = message
    }
}

public struct ContainerStateRunning: Sendable, Hashable, Codable {
    public var startedAt: String?
    public init(startedAt: String?) { self.startedAt = startedAt }
}

public struct ContainerStateTerminated: Sendable, Hashable, Codable {
    public var exitCode: Int32
    public var signal: Int32?
    public var reason: String?
    public var message: String?
    public var startedAt: String?
    public var finishedAt: String?
    public var containerID: String?
    public init(exitCode: Int32, reason: String? = nil) {
        self.exitCode = exitCode
        self.reason = reason
    }
}
