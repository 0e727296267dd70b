/// A Pod (core/v1), as read from a manifest and reported back with its status.
public struct Pod: Sendable, Hashable, Codable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: PodSpec
    public var status: PodStatus?

    public init(apiVersion: String? = "v1", kind: String? = "Pod", metadata: ObjectMeta, spec: PodSpec,
                status: PodStatus? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    enum CodingKeys: String, CodingKey { case apiVersion, kind, metadata, spec, status }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try c.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try c.decodeIfPresent(String.self, forKey: .kind)
        metadata = try c.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        spec = try c.decodeIfPresent(PodSpec.self, forKey: .spec) ?? PodSpec()
        status = try c.decodeIfPresent(PodStatus.self, forKey: .status)
    }

    /// `namespace/name`, the key a node uses for a pod.
    public var fullName: String { "\(metadata.namespace ?? "default")/\(metadata.name ?? "")" }
}

public enum RestartPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    case always = "Always", onFailure = "OnFailure", never = "Never"
}

public enum DNSPolicy: String, Sendable, Hashable, Codable, CaseIterable {
    case clusterFirst = "ClusterFirst", clusterFirstWithHostNet = "ClusterFirstWithHostNet"
    case `default` = "Default", none = "None"
}

public struct PodSpec: Sendable, Hashable, Codable {
    public var initContainers: [Container]?
    public var containers: [Container]
    public var volumes: [Volume]?
    public var restartPolicy: String?
    public var terminationGracePeriodSeconds: Int64?
    public var activeDeadlineSeconds: Int64?
    public var dnsPolicy: String?
    public var dnsConfig: PodDNSConfig?
    public var nodeName: String?
    public var hostNetwork: Bool?
    public var hostPID: Bool?
    public var hostIPC: Bool?
    public var hostname: String?
    public var subdomain: String?
    public var securityContext: PodSecurityContext?
    public var priority: Int32?
    public var priorityClassName: String?
    public var schedulerName: String?
    public var serviceAccountName: String?
    public var automountServiceAccountToken: Bool?
    public var enableServiceLinks: Bool?
    public var shareProcessNamespace: Bool?
    public var hostAliases: [HostAlias]?
    public var nodeSelector: [String: String]?

    public init(containers: [Container] = [], initContainers: [Container]? = nil) {
        self.containers = containers
        self.initContainers = initContainers
    }

    enum CodingKeys: String, CodingKey {
        case initContainers, containers, volumes, restartPolicy, terminationGracePeriodSeconds,
             activeDeadlineSeconds, dnsPolicy, dnsConfig, nodeName, hostNetwork, hostPID, hostIPC, hostname,
             subdomain, securityContext, priority, priorityClassName, schedulerName, serviceAccountName,
             automountServiceAccountToken, enableServiceLinks, shareProcessNamespace, hostAliases, nodeSelector
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        initContainers = try c.decodeIfPresent([Container].self, forKey: .initContainers)
        containers = try c.decodeIfPresent([Container].self, forKey: .containers) ?? []
        volumes = try c.decodeIfPresent([Volume].self, forKey: .volumes)
        restartPolicy = try c.decodeIfPresent(String.self, forKey: .restartPolicy)
        terminationGracePeriodSeconds = try c.decodeIfPresent(Int64.self, forKey: .terminationGracePeriodSeconds)
        activeDeadlineSeconds = try c.decodeIfPresent(Int64.self, forKey: .activeDeadlineSeconds)
        dnsPolicy = try c.decodeIfPresent(String.self, forKey: .dnsPolicy)
        dnsConfig = try c.decodeIfPresent(PodDNSConfig.self, forKey: .dnsConfig)
        nodeName = try c.decodeIfPresent(String.self, forKey: .nodeName)
        hostNetwork = try c.decodeIfPresent(Bool.self, forKey: .hostNetwork)
        hostPID = try c.decodeIfPresent(Bool.self, forKey: .hostPID)
        hostIPC = try c.decodeIfPresent(Bool.self, forKey: .hostIPC)
        hostname = try c.decodeIfPresent(String.self, forKey: .hostname)
        subdomain = try c.decodeIfPresent(String.self, forKey: .subdomain)
        securityContext = try c.decodeIfPresent(PodSecurityContext.self, forKey: .securityContext)
        priority = try c.decodeIfPresent(Int32.self, forKey: .priority)
        priorityClassName = try c.decodeIfPresent(String.self, forKey: .priorityClassName)
        schedulerName = try c.decodeIfPresent(String.self, forKey: .schedulerName)
        serviceAccountName = try c.decodeIfPresent(String.self, forKey: .serviceAccountName)
        automountServiceAccountToken = try c.decodeIfPresent(Bool.self, forKey: .automountServiceAccountToken)
        enableServiceLinks = try c.decodeIfPresent(Bool.self, forKey: .enableServiceLinks)
        shareProcessNamespace = try c.decodeIfPresent(Bool.self, forKey: .shareProcessNamespace)
        hostAliases = try c.decodeIfPresent([HostAlias].self, forKey: .hostAliases)
        nodeSelector = try c.decodeIfPresent([String: String].self, forKey: .nodeSelector)
    }

    /// Init containers that keep running beside the app containers (`restartPolicy: Always`).
    public var sidecars: [Container] { (initContainers ?? []).filter(\.isSidecar) }
}

public struct HostAlias: Sendable, Hashable, Codable {
    public var ip: String?
    public var hostnames: [String]?
}

public struct PodDNSConfig: Sendable, Hashable, Codable {
    public var nameservers: [String]?
    public var searches: [String]?
    public var options: [PodDNSConfigOption]?
    public init(nameservers: [String]? = nil, searches: [String]? = nil, options: [PodDNSConfigOption]? = nil) {
        self.nameservers = nameservers
        self.searches = searches
        self.options = options
    }
}

public struct PodDNSConfigOption: Sendable, Hashable, Codable {
    public var name: String?
    public var value: String?
}
