/// A liveness, readiness or startup probe: exactly one handler plus timing.
public struct Probe: Sendable, Hashable, Codable {
    public var exec: ExecAction?
    public var httpGet: HTTPGetAction?
    public var tcpSocket: TCPSocketAction?
    public var grpc: GRPCAction?
    public var initialDelaySeconds: Int32?
    public var timeoutSeconds: Int32?
    public var periodSeconds: Int32?
    public var successThreshold: Int32?
    public var failureThreshold: Int32?
    public var terminationGracePeriodSeconds: Int64?

    public init(exec: ExecAction? = nil, httpGet: HTTPGetAction? = nil, tcpSocket: TCPSocketAction? = nil,
                grpc: GRPCAction? = nil) {
        self.exec = exec
        self.httpGet = httpGet
        self.tcpSocket = tcpSocket
        self.grpc = grpc
    }

    /// Upstream defaults: timeout 1 s, period 10 s, success 1, failure 3, no initial delay.
    public var effectiveTimeoutSeconds: Int32 { timeoutSeconds ?? 1 }
    public var effectivePeriodSeconds: Int32 { periodSeconds ?? 10 }
    public var effectiveSuccessThreshold: Int32 { successThreshold ?? 1 }
    public var effectiveFailureThreshold: Int32 { failureThreshold ?? 3 }
    public var effectiveInitialDelaySeconds: Int32 { initialDelaySeconds ?? 0 }

    /// The handler kinds set, in declaration order (validation wants exactly one).
    public var handlerKinds: [String] {
        var kinds: [String] = []
        if exec != nil { kinds.append("exec") }
        if httpGet != nil { kinds.append("httpGet") }
        if tcpSocket != nil { kinds.append("tcpSocket") }
        if grpc != nil { kinds.append("grpc") }
        return kinds
    }
}

public struct ExecAction: Sendable, Hashable, Codable {
    public var command: [String]?
    public init(command: [String]) { self.command = command }
}

public struct HTTPHeader: Sendable, Hashable, Codable {
    public var name: String
    public var value: String
}

public struct HTTPGetAction: Sendable, Hashable, Codable {
    public var path: String?
    public var port: IntOrString
    public var host: String?
    public var scheme: String?
    public var httpHeaders: [HTTPHeader]?
    public init(path: String? = nil, port: IntOrString, host: String? = nil, scheme: String? = nil) {
        self.path = path
        self.port = port
        self.host = host
        self.scheme = scheme
    }
}

public struct TCPSocketAction: Sendable, Hashable, Codable {
    public var port: IntOrString
    public var host: String?
    public init(port: IntOrString, host: String? = nil) {
        self.port = port
        self.host = host
    }
}

public struct GRPCAction: Sendable, Hashable, Codable {
    public var port: Int
    public var service: String?
    public init(port: Int, service: String? = nil) {
        self.port = port
        self.service = service
    }
}

public struct SleepAction: Sendable, Hashable, Codable {
    public var seconds: Int64
}

/// A postStart or preStop hook: exactly one of exec, httpGet, sleep (tcpSocket is deprecated).
public struct LifecycleHandler: Sendable, Hashable, Codable {
    public var exec: ExecAction?
    public var httpGet: HTTPGetAction?
    public var tcpSocket: TCPSocketAction?
    public var sleep: SleepAction?

    public var handlerKinds: [String] {
        var kinds: [String] = []
        if exec != nil { kinds.append("exec") }
        if httpGet != nil { kinds.append("httpGet") }
        if tcpSocket != nil { kinds.append("tcpSocket") }
        if sleep != nil { kinds.append("sleep") }
        return kinds
    }
}

public struct Lifecycle: Sendable, Hashable, Codable {
    public var postStart: LifecycleHandler?
    public var preStop: LifecycleHandler?
    public var stopSignal: String?
}
