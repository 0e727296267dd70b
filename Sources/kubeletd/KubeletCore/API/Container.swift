/// A container in a pod spec: app, init, or sidecar (an init container with `restartPolicy: Always`).
public struct Container: Sendable, Hashable, Codable {
    public var name: String
    public var image: String?
    public var command: [String]?
    public var args: [String]?
    public var workingDir: String?
    public var ports: [ContainerPort]?
    public var env: [EnvVar]?
    public var resources: ResourceRequirements?
    /// Only `Always`, only on init containers: makes it a sidecar.
    public var restartPolicy: String?
    public var volumeMounts: [VolumeMount]?
    public var livenessProbe: Probe?
    public var readinessProbe: Probe?
    public var startupProbe: Probe?
    public var lifecycle: Lifecycle?
    public var terminationMessagePath: String?
    public var terminationMessagePolicy: String?
    public var imagePullPolicy: String?
    public var securityContext: SecurityContext?
    public var stdin: Bool?
    public var tty: Bool?

    public init(name: String, image: String? = nil, command: [String]? = nil, args: [String]? = nil) {
        self.name = name
        self.image = image
        self.command = command
        self.args = args
    }

    enum CodingKeys: String, CodingKey {
        case name, image, command, args, workingDir, ports, env, resources, restartPolicy, volumeMounts,
             livenessProbe, readinessProbe, startupProbe, lifecycle, terminationMessagePath,
             terminationMessagePolicy, imagePullPolicy, securityContext, stdin, tty
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
        image = try c.decodeIfPresent(String.self, forKey: .image)
        command = try c.decodeIfPresent([String].self, forKey: .command)
        args = try c.decodeIfPresent([String].self, forKey: .args)
        workingDir = try c.decodeIfPresent(String.self, forKey: .workingDir)
        ports = try c.decodeIfPresent([ContainerPort].self, forKey: .ports)
        env = try c.decodeIfPresent([EnvVar].self, forKey: .env)
        resources = try c.decodeIfPresent(ResourceRequirements.self, forKey: .resources)
        restartPolicy = try c.decodeIfPresent(String.self, forKey: .restartPolicy)
        volumeMounts = try c.decodeIfPresent([VolumeMount].self, forKey: .volumeMounts)
        livenessProbe = try c.decodeIfPresent(Probe.self, forKey: .livenessProbe)
        readinessProbe = try c.decodeIfPresent(Probe.self, forKey: .readinessProbe)
        startupProbe = try c.decodeIfPresent(Probe.self, forKey: .startupProbe)
        lifecycle = try c.decodeIfPresent(Lifecycle.self, forKey: .lifecycle)
        terminationMessagePath = try c.decodeIfPresent(String.self, forKey: .terminationMessagePath)
        terminationMessagePolicy = try c.decodeIfPresent(String.self, forKey: .terminationMessagePolicy)
        imagePullPolicy = try c.decodeIfPresent(String.self, forKey: .imagePullPolicy)
        securityContext = try c.decodeIfPresent(SecurityContext.self, forKey: .securityContext)
        stdin = try c.decodeIfPresent(Bool.self, forKey: .stdin)
        tty = try c.decodeIfPresent(Bool.self, forKey: .tty)
    }

    public var isSidecar: Bool { restartPolicy == "Always" }
}

public struct ContainerPort: Sendable, Hashable, Codable {
    public var name: String?
    public var containerPort: Int
    public var hostPort: Int?
    public var hostIP: String?
    public var `protocol`: String?
}

public struct VolumeMount: Sendable, Hashable, Codable {
    public var name: String
    public var mountPath: String
    public var readOnly: Bool?
    public var subPath: String?
    public init(name: String, mountPath: String, readOnly: Bool? = nil) {
        self.name = name
        self.mountPath = mountPath
        self.readOnly = readOnly
    }
}

public struct EnvVar: Sendable, Hashable, Codable {
    public var name: String
    public var value: String?
    public var valueFrom: EnvVarSource?
    public init(name: String, value: String? = nil, valueFrom: EnvVarSource? = nil) {
        self.name = name
        self.value = value
        self.valueFrom = valueFrom
    }
}

public struct EnvVarSource: Sendable, Hashable, Codable {
    public var fieldRef: ObjectFieldSelector?
    public var resourceFieldRef: ResourceFieldSelector?
    public var configMapKeyRef: KeySelector?
    public var secretKeyRef: KeySelector?
    public init(fieldRef: ObjectFieldSelector? = nil, resourceFieldRef: ResourceFieldSelector? = nil) {
        self.fieldRef = fieldRef
        self.resourceFieldRef = resourceFieldRef
    }
}

public struct ObjectFieldSelector: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var fieldPath: String
    public init(fieldPath: String) { self.fieldPath = fieldPath }
}

public struct ResourceFieldSelector: Sendable, Hashable, Codable {
    public var containerName: String?
    public var resource: String
    public var divisor: Quantity?
    public init(containerName: String? = nil, resource: String, divisor: Quantity? = nil) {
        self.containerName = containerName
        self.resource = resource
        self.divisor = divisor
    }
}

public struct KeySelector: Sendable, Hashable, Codable {
    public var name: String?
    public var key: String
    public var optional: Bool?
}

public struct ResourceRequirements: Sendable, Hashable, Codable {
    public var limits: [String: Quantity]?
    public var requests: [String: Quantity]?
    public init(limits: [String: Quantity]? = nil, requests: [String: Quantity]? = nil) {
        self.limits = limits
        self.requests = requests
    }
}

public struct Capabilities: Sendable, Hashable, Codable {
    public var add: [String]?
    public var drop: [String]?
}

public struct SeccompProfile: Sendable, Hashable, Codable {
    public var type: String
    public var localhostProfile: String?
}

public struct SELinuxOptions: Sendable, Hashable, Codable {
    public var user: String?
    public var role: String?
    public var type: String?
    public var level: String?
}

public struct SecurityContext: Sendable, Hashable, Codable {
    public var capabilities: Capabilities?
    public var privileged: Bool?
    public var runAsUser: Int64?
    public var runAsGroup: Int64?
    public var runAsNonRoot: Bool?
    public var readOnlyRootFilesystem: Bool?
    public var allowPrivilegeEscalation: Bool?
    public var procMount: String?
    public var seccompProfile: SeccompProfile?
    public var seLinuxOptions: SELinuxOptions?
}

public struct PodSecurityContext: Sendable, Hashable, Codable {
    public var runAsUser: Int64?
    public var runAsGroup: Int64?
    public var runAsNonRoot: Bool?
    public var supplementalGroups: [Int64]?
    public var fsGroup: Int64?
    public var sysctls: [Sysctl]?
    public var seccompProfile: SeccompProfile?
    public var seLinuxOptions: SELinuxOptions?
}

public struct Sysctl: Sendable, Hashable, Codable {
    public var name: String
    public var value: String
}
