import Foundation
import Yams

/// kubelet.config.k8s.io/v1beta1 KubeletConfiguration: the settings this node supports, with
/// upstream defaults. Unknown fields and invalid values stop start-up, naming the field.
public struct KubeletConfiguration: Sendable, Hashable, Codable {
    public var staticPodPath: String = "/etc/kubernetes/manifests"
    public var containerRuntimeEndpoint: String = "unix:///run/containerd/containerd.sock"
    public var cgroupRoot: String = "/"
    public var cgroupDriver: String = "cgroupfs"
    public var cgroupsPerQOS: Bool = true
    public var clusterDNS: [String] = []
    public var clusterDomain: String = ""
    public var maxPods: Int32 = 110
    public var podPidsLimit: Int64 = -1
    public var evictionHard: [String: String] = KubeletConfiguration.defaultEvictionHard
    public var imageGCHighThresholdPercent: Int32 = 85
    public var imageGCLowThresholdPercent: Int32 = 80
    public var imageMinimumGCAge: GoDuration = GoDuration(seconds: 120)
    public var containerLogMaxSize: String = "10Mi"
    public var containerLogMaxFiles: Int32 = 5
    public var syncFrequency: GoDuration = GoDuration(seconds: 60)
    public var fileCheckFrequency: GoDuration = GoDuration(seconds: 20)
    public var runtimeRequestTimeout: GoDuration = GoDuration(seconds: 120)
    public var nodeStatusUpdateFrequency: GoDuration = GoDuration(seconds: 10)
    public var address: String = "0.0.0.0"
    public var port: Int32 = 10250
    public var readOnlyPort: Int32 = 0
    public var healthzPort: Int32 = 10248
    public var healthzBindAddress: String = "127.0.0.1"
    public var serializeImagePulls: Bool = true
    public var maxParallelImagePulls: Int32?
    public var resolvConf: String = "/etc/resolv.conf"
    public var hairpinMode: String = "promiscuous-bridge"
    public var failSwapOn: Bool = true
    public var enableDebuggingHandlers: Bool = true
    public var shutdownGracePeriod: GoDuration = GoDuration(seconds: 0)
    /// Resources kept for Kubernetes daemons and for the OS (cpu, memory, ephemeral-storage, pid):
    /// allocatable = capacity - kubeReserved - systemReserved - the hard memory eviction threshold.
    public var kubeReserved: [String: String] = [:]
    public var systemReserved: [String: String] = [:]
    /// Which allocatable limits are enforced with cgroups ("pods", or "none"); admission always
    /// uses allocatable.
    public var enforceNodeAllocatable: [String] = ["pods"]
    /// How often running containers' logs are checked against containerLogMaxSize.
    public var containerLogMonitorInterval: GoDuration = GoDuration(seconds: 10)
    // Container and image GC (upstream has these as flags; named after the flags here).
    /// Dead containers kept per (pod, container name), newest first (`--maximum-dead-containers-per-container`).
    /// At least the newest one of a pod that still exists is always kept: its log is "previous".
    public var maximumDeadContainersPerContainer: Int32 = 1
    /// Dead containers kept on the node in all (`--maximum-dead-containers`; -1: no limit).
    public var maximumDeadContainers: Int32 = -1
    /// A dead container younger than this is never removed (`--minimum-container-ttl-duration`).
    public var minimumContainerTTLDuration: GoDuration = GoDuration(seconds: 0)
    /// How often container GC runs (upstream: every minute).
    public var containerGCPeriod: GoDuration = GoDuration(seconds: 60)
    /// How often image GC runs (upstream: every 5 minutes).
    public var imageGCPeriod: GoDuration = GoDuration(seconds: 300)
    /// The sandbox image, never removed by image GC (`--pod-infra-container-image`); the runtime's
    /// own sandbox image (CRI Status info) and pinned images are kept too.
    public var podInfraContainerImage: String = ""
    // The secure API on `port` (see KubeletSecureServer).
    /// Serving certificate and key (PEM); both unset: a self-signed pair under <root-dir>/pki.
    public var tlsCertFile: String = ""
    public var tlsPrivateKeyFile: String = ""
    public var authentication: KubeletAuthentication = KubeletAuthentication()
    public var authorization: KubeletAuthorization = KubeletAuthorization()

    public static let reservableResources: Set<String> = ["cpu", "memory", "ephemeral-storage", "pid"]
    public static let enforceNodeAllocatableValues: Set<String> = ["pods", "system-reserved", "kube-reserved", "none"]

    public static let defaultEvictionHard = ["memory.available": "100Mi", "nodefs.available": "10%",
                                             "nodefs.inodesFree": "5%", "imagefs.available": "15%"]
    public static let apiVersion = "kubelet.config.k8s.io/v1beta1"
    public static let kind = "KubeletConfiguration"
    static let evictionSignals: Set<String> = ["memory.available", "nodefs.available", "nodefs.inodesFree",
                                               "imagefs.available", "imagefs.inodesFree", "pid.available",
                                               "containerfs.available", "containerfs.inodesFree"]

    enum CodingKeys: String, CodingKey, CaseIterable {
        case staticPodPath, containerRuntimeEndpoint, cgroupRoot, cgroupDriver, cgroupsPerQOS, clusterDNS,
             clusterDomain, maxPods, podPidsLimit, evictionHard, imageGCHighThresholdPercent,
             imageGCLowThresholdPercent, imageMinimumGCAge, containerLogMaxSize, containerLogMaxFiles,
             syncFrequency, fileCheckFrequency, runtimeRequestTimeout, nodeStatusUpdateFrequency, address, port,
             readOnlyPort, healthzPort, healthzBindAddress, serializeImagePulls, maxParallelImagePulls, resolvConf,
             hairpinMode, failSwapOn, enableDebuggingHandlers, shutdownGracePeriod, kubeReserved, systemReserved,
             enforceNodeAllocatable, containerLogMonitorInterval, maximumDeadContainersPerContainer,
             maximumDeadContainers, minimumContainerTTLDuration, containerGCPeriod, imageGCPeriod,
             podInfraContainerImage, tlsCertFile, tlsPrivateKeyFile, authentication, authorization
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func take<T: Decodable>(_ key: CodingKeys, _ target: inout T) throws {
            if let value = try c.decodeIfPresent(T.self, forKey: key) { target = value }
        }
        try take(.staticPodPath, &staticPodPath)
        try take(.containerRuntimeEndpoint, &containerRuntimeEndpoint)
        try take(.cgroupRoot, &cgroupRoot)
        try take(.cgroupDriver, &cgroupDriver)
        try take(.cgroupsPerQOS, &cgroupsPerQOS)
        try take(.clusterDNS, &clusterDNS)
        try take(.clusterDomain, &clusterDomain)
        try take(.maxPods, &maxPods)
        try take(.podPidsLimit, &podPidsLimit)
        try take(.evictionHard, &evictionHard)
        try take(.imageGCHighThresholdPercent, &imageGCHighThresholdPercent)
        try take(.imageGCLowThresholdPercent, &imageGCLowThresholdPercent)
        try take(.imageMinimumGCAge, &imageMinimumGCAge)
        try take(.containerLogMaxSize, &containerLogMaxSize)
        try take(.containerLogMaxFiles, &containerLogMaxFiles)
        try take(.syncFrequency, &syncFrequency)
        try take(.fileCheckFrequency, &fileCheckFrequency)
        try take(.runtimeRequestTimeout, &runtimeRequestTimeout)
        try take(.nodeStatusUpdateFrequency, &nodeStatusUpdateFrequency)
        try take(.address, &address)
        try take(.port, &port)
        try take(.readOnlyPort, &readOnlyPort)
        try take(.healthzPort, &healthzPort)
        try take(.healthzBindAddress, &healthzBindAddress)
        try take(.serializeImagePulls, &serializeImagePulls)
        maxParallelImagePulls = try c.decodeIfPresent(Int32.self, forKey: .maxParallelImagePulls)
        try take(.resolvConf, &resolvConf)
        try take(.hairpinMode, &hairpinMode)
        try take(.failSwapOn, &failSwapOn)
        try take(.enableDebuggingHandlers, &enableDebuggingHandlers)
        try take(.shutdownGracePeriod, &shutdownGracePeriod)
        try take(.kubeReserved, &kubeReserved)
        try take(.systemReserved, &systemReserved)
        try take(.enforceNodeAllocatable, &enforceNodeAllocatable)
        try take(.containerLogMonitorInterval, &containerLogMonitorInterval)
        try take(.maximumDeadContainersPerContainer, &maximumDeadContainersPerContainer)
        try take(.maximumDeadContainers, &maximumDeadContainers)
        try take(.minimumContainerTTLDuration, &minimumContainerTTLDuration)
        try take(.containerGCPeriod, &containerGCPeriod)
        try take(.imageGCPeriod, &imageGCPeriod)
        try take(.podInfraContainerImage, &podInfraContainerImage)
        try take(.tlsCertFile, &tlsCertFile)
        try take(.tlsPrivateKeyFile, &tlsPrivateKeyFile)
        try take(.authentication, &authentication)
        try take(.authorization, &authorization)
    }

    /// Parses a config file's YAML/JSON: checks apiVersion/kind, refuses unknown fields, decodes,
    /// and validates.
    public static func parse(_ text: String, source: String) throws(ConfigError) -> KubeletConfiguration {
        let node: Node?
        do { node = try Yams.compose(yaml: text) } catch {
            throw ConfigError(field: nil, message: "\(source): invalid YAML: \(error)")
        }
        guard let mapping = node?.mapping else {
            throw ConfigError(field: nil, message: "\(source): expected a KubeletConfiguration object")
        }
        let known = Set(CodingKeys.allCases.map(\.rawValue)).union(["apiVersion", "kind"])
        for (key, _) in mapping {
            guard let name = key.string else { continue }
            if !known.contains(name) {
                throw ConfigError(field: name, message: "unknown field (this node supports: \(known.sorted().joined(separator: ", ")))")
            }
        }
        try KubeletAuthentication.checkKnownFields(mapping)
        let apiVersion = mapping["apiVersion"]?.string
        guard apiVersion == apiVersion_ else {
            throw ConfigError(field: "apiVersion", message: "must be \"\(apiVersion_)\", got \"\(apiVersion ?? "")\"")
        }
        let kind = mapping["kind"]?.string
        guard kind == kind_ else {
            throw ConfigError(field: "kind", message: "must be \"\(kind_)\", got \"\(kind ?? "")\"")
        }
        let config: KubeletConfiguration
        do {
            config = try YAMLDecoder().decode(KubeletConfiguration.self, from: text)
        } catch let error as DecodingError {
            let message = ManifestDecoder.describe(error)
            let field = message.split(separator: ":").first.map(String.init)
            throw ConfigError(field: field, message: message.split(separator: ":", maxSplits: 1).dropFirst().first
                .map { $0.trimmingCharacters(in: .whitespaces) } ?? message)
        } catch {
            throw ConfigError(field: nil, message: "\(source): \(error)")
        }
        try config.validate()
        return config
    }

    private static let apiVersion_ = apiVersion
    private static let kind_ = kind

    /// Upstream-style checks; the first failure names its field.
    public func validate() throws(ConfigError) {
        func fail(_ field: String, _ message: String) -> ConfigError { ConfigError(field: field, message: message) }
        if staticPodPath.isEmpty || !staticPodPath.hasPrefix("/") {
            throw fail("staticPodPath", "must be an absolute path, got \"\(staticPodPath)\"")
        }
        if !containerRuntimeEndpoint.hasPrefix("unix://") && !containerRuntimeEndpoint.hasPrefix("/") {
            throw fail("containerRuntimeEndpoint", "must be a unix socket (unix:///path), got \"\(containerRuntimeEndpoint)\"")
        }
        if !cgroupRoot.hasPrefix("/") { throw fail("cgroupRoot", "must be an absolute cgroup path, got \"\(cgroupRoot)\"") }
        if cgroupDriver != "cgroupfs" {
            throw fail("cgroupDriver", "unsupported value \"\(cgroupDriver)\": this node supports \"cgroupfs\"")
        }
        for (i, ip) in clusterDNS.enumerated() where !IPAddress.isValid(ip) {
            throw fail("clusterDNS[\(i)]", "invalid IP address \"\(ip)\"")
        }
        if !clusterDomain.isEmpty, let problem = Names.dns1123SubdomainProblem(clusterDomain) {
            throw fail("clusterDomain", "invalid value \"\(clusterDomain)\": \(problem)")
        }
        if maxPods < 1 { throw fail("maxPods", "must be greater than 0, got \(maxPods)") }
        if podPidsLimit < -1 || podPidsLimit == 0 { throw fail("podPidsLimit", "must be -1 or positive, got \(podPidsLimit)") }
        for (signal, threshold) in evictionHard.sorted(by: { $0.key < $1.key }) {
            guard KubeletConfiguration.evictionSignals.contains(signal) else {
                throw fail("evictionHard[\(signal)]", "unknown eviction signal")
            }
            if threshold.hasSuffix("%") {
                guard let percent = Double(threshold.dropLast()), (0...100).contains(percent) else {
                    throw fail("evictionHard[\(signal)]", "invalid percentage \"\(threshold)\"")
                }
            } else {
                do { _ = try Quantity(parsing: threshold) } catch {
                    throw fail("evictionHard[\(signal)]", "invalid quantity \"\(threshold)\": \(error)")
                }
            }
        }
        if !(0...100).contains(imageGCHighThresholdPercent) {
            throw fail("imageGCHighThresholdPercent", "must be between 0 and 100, got \(imageGCHighThresholdPercent)")
        }
        if !(0...100).contains(imageGCLowThresholdPercent) {
            throw fail("imageGCLowThresholdPercent", "must be between 0 and 100, got \(imageGCLowThresholdPercent)")
        }
        if imageGCLowThresholdPercent >= imageGCHighThresholdPercent {
            throw fail("imageGCLowThresholdPercent", "must be less than imageGCHighThresholdPercent (\(imageGCLowThresholdPercent) >= \(imageGCHighThresholdPercent))")
        }
        do {
            let size = try Quantity(parsing: containerLogMaxSize)
            if size.value <= 0 { throw fail("containerLogMaxSize", "must be positive, got \"\(containerLogMaxSize)\"") }
        } catch let error as ConfigError {
            throw error
        } catch {
            throw fail("containerLogMaxSize", "invalid quantity \"\(containerLogMaxSize)\"")
        }
        if containerLogMaxFiles < 2 { throw fail("containerLogMaxFiles", "must be at least 2, got \(containerLogMaxFiles)") }
        for (name, d) in [("syncFrequency", syncFrequency), ("fileCheckFrequency", fileCheckFrequency),
                          ("runtimeRequestTimeout", runtimeRequestTimeout),
                          ("nodeStatusUpdateFrequency", nodeStatusUpdateFrequency)] where d.seconds <= 0 {
            throw fail(name, "must be greater than 0, got \(d)")
        }
        if shutdownGracePeriod.seconds < 0 { throw fail("shutdownGracePeriod", "must not be negative") }
        for (name, value) in [("port", port), ("readOnlyPort", readOnlyPort), ("healthzPort", healthzPort)]
        where !(0...65535).contains(value) {
            throw fail(name, "must be between 0 and 65535, got \(value)")
        }
        if port == 0 { throw fail("port", "must be between 1 and 65535, got 0") }
        if !IPAddress.isValid(address) { throw fail("address", "invalid IP address \"\(address)\"") }
        if !IPAddress.isValid(healthzBindAddress) {
            throw fail("healthzBindAddress", "invalid IP address \"\(healthzBindAddress)\"")
        }
        if let parallel = maxParallelImagePulls {
            if parallel < 1 { throw fail("maxParallelImagePulls", "must be positive, got \(parallel)") }
            if serializeImagePulls && parallel > 1 {
                throw fail("maxParallelImagePulls", "must be 1 or unset when serializeImagePulls is true")
            }
        }
        if !["promiscuous-bridge", "hairpin-veth", "none"].contains(hairpinMode) {
            throw fail("hairpinMode", "unsupported value \"\(hairpinMode)\"")
        }
        try validateHousekeeping()
        try validateSecureAPI()
    }

    /// Reservations, allocatable enforcement, GC and log rotation settings.
    func validateHousekeeping() throws(ConfigError) {
        func fail(_ field: String, _ message: String) -> ConfigError { ConfigError(field: field, message: message) }
        for (name, reserved) in [("kubeReserved", kubeReserved), ("systemReserved", systemReserved)] {
            for (resource, value) in reserved.sorted(by: { $0.key < $1.key }) {
                guard KubeletConfiguration.reservableResources.contains(resource) else {
                    throw fail("\(name)[\(resource)]", "unsupported resource (want one of: \(KubeletConfiguration.reservableResources.sorted().joined(separator: ", ")))")
                }
                let quantity: Quantity
                do { quantity = try Quantity(parsing: value) } catch {
                    throw fail("\(name)[\(resource)]", "invalid quantity \"\(value)\": \(error)")
                }
                if quantity.amount < 0 { throw fail("\(name)[\(resource)]", "must not be negative, got \"\(value)\"") }
            }
        }
        for (i, value) in enforceNodeAllocatable.enumerated() {
            guard KubeletConfiguration.enforceNodeAllocatableValues.contains(value) else {
                throw fail("enforceNodeAllocatable[\(i)]", "unsupported value \"\(value)\" (want pods, system-reserved, kube-reserved or none)")
            }
            if value == "none" && enforceNodeAllocatable.count > 1 {
                throw fail("enforceNodeAllocatable[\(i)]", "\"none\" cannot be combined with other values")
            }
            if value == "system-reserved" || value == "kube-reserved" {
                let cgroupField = value == "system-reserved" ? "systemReservedCgroup" : "kubeReservedCgroup"
                throw fail("enforceNodeAllocatable[\(i)]", "\"\(value)\" needs \(cgroupField), which this node does not support")
            }
        }
        if maximumDeadContainersPerContainer < -1 {
            throw fail("maximumDeadContainersPerContainer", "must be -1 (no limit) or at least 0, got \(maximumDeadContainersPerContainer)")
        }
        if maximumDeadContainers < -1 {
            throw fail("maximumDeadContainers", "must be -1 (no limit) or at least 0, got \(maximumDeadContainers)")
        }
        if minimumContainerTTLDuration.seconds < 0 { throw fail("minimumContainerTTLDuration", "must not be negative") }
        if imageMinimumGCAge.seconds < 0 { throw fail("imageMinimumGCAge", "must not be negative") }
        for (name, d) in [("containerGCPeriod", containerGCPeriod), ("imageGCPeriod", imageGCPeriod),
                          ("containerLogMonitorInterval", containerLogMonitorInterval)] where d.seconds <= 0 {
            throw fail(name, "must be greater than 0, got \(d)")
        }
        if containerLogMonitorInterval.seconds < 1 {
            // Rotated files are named by the second: two rotations in one second would collide.
            throw fail("containerLogMonitorInterval", "must be at least 1s, got \(containerLogMonitorInterval)")
        }
    }

    /// The runtime socket path (`unix:///run/x.sock` → `/run/x.sock`).
    public var runtimeSocketPath: String {
        containerRuntimeEndpoint.hasPrefix("unix://") ? String(containerRuntimeEndpoint.dropFirst(7)) : containerRuntimeEndpoint
    }
}

/// A configuration problem that stops start-up; `field` names the setting.
public struct ConfigError: Error, Sendable, CustomStringConvertible, Equatable {
    public let field: String?
    public let message: String
    public init(field: String?, message: String) {
        self.field = field
        self.message = message
    }
    public var description: String { field.map { "\($0): \(message)" } ?? message }
}

/// `authentication` of the secure API (kubelet.config.k8s.io/v1beta1 KubeletAuthentication).
public struct KubeletAuthentication: Sendable, Hashable, Codable {
    public struct X509: Sendable, Hashable, Codable {
        /// Client certificates signed by this CA (PEM bundle) authenticate: user = CN, groups = O.
        public var clientCAFile: String = ""
        public init() {}
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            clientCAFile = try c.decodeIfPresent(String.self, forKey: .clientCAFile) ?? ""
        }
        enum CodingKeys: String, CodingKey, CaseIterable { case clientCAFile }
    }
    public struct Webhook: Sendable, Hashable, Codable {
        /// Bearer tokens checked with TokenReview at the API server (needs --kubeconfig).
        public var enabled: Bool = false
        public var cacheTTL: GoDuration = GoDuration(seconds: 120)
        public init() {}
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? false
            cacheTTL = try c.decodeIfPresent(GoDuration.self, forKey: .cacheTTL) ?? GoDuration(seconds: 120)
        }
        enum CodingKeys: String, CodingKey, CaseIterable { case enabled, cacheTTL }
    }
    public struct Anonymous: Sendable, Hashable, Codable {
        /// Requests without a client certificate run as system:anonymous (else 401).
        public var enabled: Bool = false
        public init() {}
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? false
        }
        enum CodingKeys: String, CodingKey, CaseIterable { case enabled }
    }
    public var x509 = X509()
    public var webhook = Webhook()
    public var anonymous = Anonymous()
    public init() {}
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        x509 = try c.decodeIfPresent(X509.self, forKey: .x509) ?? X509()
        webhook = try c.decodeIfPresent(Webhook.self, forKey: .webhook) ?? Webhook()
        anonymous = try c.decodeIfPresent(Anonymous.self, forKey: .anonymous) ?? Anonymous()
    }
    enum CodingKeys: String, CodingKey, CaseIterable { case x509, webhook, anonymous }

    /// Unknown keys inside `authentication` and `authorization` stop start-up like top-level ones.
    static func checkKnownFields(_ top: Node.Mapping) throws(ConfigError) {
        func check(_ node: Node?, _ path: String, _ known: [String]) throws(ConfigError) -> Node.Mapping? {
            guard let node else { return nil }
            guard let mapping = node.mapping else { throw ConfigError(field: path, message: "expected an object") }
            for (key, _) in mapping {
                guard let name = key.string, known.contains(name) else {
                    throw ConfigError(field: "\(path).\(key.string ?? "?")", message: "unknown field (this node supports: \(known.sorted().joined(separator: ", ")))")
                }
            }
            return mapping
        }
        if let authn = try check(top["authentication"], "authentication", CodingKeys.allCases.map(\.rawValue)) {
            _ = try check(authn["x509"], "authentication.x509", X509.CodingKeys.allCases.map(\.rawValue))
            _ = try check(authn["webhook"], "authentication.webhook", Webhook.CodingKeys.allCases.map(\.rawValue))
            _ = try check(authn["anonymous"], "authentication.anonymous", Anonymous.CodingKeys.allCases.map(\.rawValue))
        }
        if let authz = try check(top["authorization"], "authorization", KubeletAuthorization.CodingKeys.allCases.map(\.rawValue)) {
            _ = try check(authz["webhook"], "authorization.webhook", KubeletAuthorization.Webhook.CodingKeys.allCases.map(\.rawValue))
        }
    }
}

/// `authorization` of the secure API: AlwaysAllow (standalone) or Webhook (SubjectAccessReview at
/// the API server; needs --kubeconfig).
public struct KubeletAuthorization: Sendable, Hashable, Codable {
    public struct Webhook: Sendable, Hashable, Codable {
        public var cacheAuthorizedTTL: GoDuration = GoDuration(seconds: 300)
        public var cacheUnauthorizedTTL: GoDuration = GoDuration(seconds: 30)
        public init() {}
        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            cacheAuthorizedTTL = try c.decodeIfPresent(GoDuration.self, forKey: .cacheAuthorizedTTL) ?? GoDuration(seconds: 300)
            cacheUnauthorizedTTL = try c.decodeIfPresent(GoDuration.self, forKey: .cacheUnauthorizedTTL) ?? GoDuration(seconds: 30)
        }
        enum CodingKeys: String, CodingKey, CaseIterable { case cacheAuthorizedTTL, cacheUnauthorizedTTL }
    }
    /// "" means the default: AlwaysAllow without --kubeconfig.
    public var mode: String = ""
    public var webhook = Webhook()
    public init() {}
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        mode = try c.decodeIfPresent(String.self, forKey: .mode) ?? ""
        webhook = try c.decodeIfPresent(Webhook.self, forKey: .webhook) ?? Webhook()
    }
    enum CodingKeys: String, CodingKey, CaseIterable { case mode, webhook }
}

extension KubeletConfiguration {
    /// The secure API's TLS and auth settings (file contents are checked when the server starts).
    func validateSecureAPI() throws(ConfigError) {
        func fail(_ field: String, _ message: String) -> ConfigError { ConfigError(field: field, message: message) }
        if tlsCertFile.isEmpty != tlsPrivateKeyFile.isEmpty {
            throw fail(tlsCertFile.isEmpty ? "tlsCertFile" : "tlsPrivateKeyFile",
                       "tlsCertFile and tlsPrivateKeyFile go together (set both, or neither for a self-signed certificate)")
        }
        for (name, path) in [("tlsCertFile", tlsCertFile), ("tlsPrivateKeyFile", tlsPrivateKeyFile),
                             ("authentication.x509.clientCAFile", authentication.x509.clientCAFile)] where !path.isEmpty {
            if !path.hasPrefix("/") { throw fail(name, "must be an absolute path, got \"\(path)\"") }
        }
        if !["", "AlwaysAllow", "Webhook"].contains(authorization.mode) {
            throw fail("authorization.mode", "unsupported value \"\(authorization.mode)\" (want AlwaysAllow or Webhook)")
        }
        for (name, d) in [("authentication.webhook.cacheTTL", authentication.webhook.cacheTTL),
                          ("authorization.webhook.cacheAuthorizedTTL", authorization.webhook.cacheAuthorizedTTL),
                          ("authorization.webhook.cacheUnauthorizedTTL", authorization.webhook.cacheUnauthorizedTTL)] where d.seconds < 0 {
            throw fail(name, "must not be negative, got \(d)")
        }
    }

    /// The authorization mode in effect, checked against the flags: Webhook (and webhook
    /// authentication) need an API server, which standalone mode does not have.
    public func effectiveAuthorizationMode(kubeconfig: String?) throws(ConfigError) -> String {
        if authentication.webhook.enabled {
            throw ConfigError(field: "authentication.webhook.enabled", message: kubeconfig == nil
                ? "needs an API server (--kubeconfig); a standalone node authenticates with authentication.x509.clientCAFile"
                : "TokenReview authentication is not supported yet (cluster mode is not built); use authentication.x509.clientCAFile")
        }
        switch authorization.mode {
        case "Webhook":
            throw ConfigError(field: "authorization.mode", message: kubeconfig == nil
                ? "Webhook needs an API server (--kubeconfig); a standalone node supports AlwaysAllow"
                : "Webhook (SubjectAccessReview) is not supported yet (cluster mode is not built); use AlwaysAllow")
        default:
            return "AlwaysAllow"
        }
    }
}
