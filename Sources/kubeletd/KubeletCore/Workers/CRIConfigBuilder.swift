import CRIProto
import Foundation

/// Labels and annotations the kubelet puts on CRI objects (upstream's names, so `crictl` and
/// other tools read them the same way).
public enum KubeLabels {
    public static let podName = "io.kubernetes.pod.name"
    public static let podNamespace = "io.kubernetes.pod.namespace"
    public static let podUID = "io.kubernetes.pod.uid"
    public static let containerName = "io.kubernetes.container.name"
    public static let containerHash = "io.kubernetes.container.hash"
    public static let restartCount = "io.kubernetes.container.restartCount"
    public static let terminationGrace = "io.kubernetes.pod.terminationGracePeriod"
    public static let managedBy = "io.swiftlet.kubelet"
}

/// Builds CRI sandbox and container configs from a pod (pure: unit-tested without a runtime).
public struct CRIConfigBuilder: Sendable {
    public var rootDirectory: String
    /// The pod cgroup names; nil (cgroupsPerQOS: false) passes no cgroup parent, like upstream.
    public var cgroupLayout: CgroupLayout?
    /// The kubelet-made pod cgroups (nil with cgroupsPerQOS: false); workers create and remove
    /// a pod's cgroup around its sandbox through it.
    public var podCgroups: PodCgroups?
    /// Ask for `memory.oom.group` on every container (upstream on cgroup v2 unless
    /// singleProcessOOMKill): an OOM kills the whole container, not one process in it.
    public var containerOOMGroup: Bool
    public var clusterDNS: [String]
    public var clusterDomain: String
    public var hostResolvConf: String
    public var nodeIP: String?

    public init(rootDirectory: String, cgroupLayout: CgroupLayout?, podCgroups: PodCgroups? = nil, clusterDNS: [String] = [],
                clusterDomain: String = "", hostResolvConf: String = "/etc/resolv.conf", nodeIP: String? = nil) {
        self.rootDirectory = rootDirectory
        self.cgroupLayout = podCgroups?.layout ?? cgroupLayout
        self.podCgroups = podCgroups
        self.containerOOMGroup = podCgroups?.isUnifiedHierarchy ?? false
        self.clusterDNS = clusterDNS
        self.clusterDomain = clusterDomain
        self.hostResolvConf = hostResolvConf
        self.nodeIP = nodeIP
    }

    public static func logDirectory(_ pod: Pod) -> String {
        logDirectory(namespace: pod.metadata.namespace ?? "default", name: pod.metadata.name ?? "", uid: pod.metadata.uid ?? "")
    }

    /// `/var/log/pods/<namespace>_<name>_<uid>` (upstream's BuildPodLogsDirectory).
    public static func logDirectory(namespace: String, name: String, uid: String) -> String {
        "/var/log/pods/\(namespace)_\(name)_\(uid)"
    }

    /// A container's log file relative to the pod's log directory: `<name>/<attempt>.log`.
    public static func logFile(container: String, attempt: UInt32) -> String { "\(container)/\(attempt).log" }

    public func podDirectory(_ pod: Pod) -> String { "\(rootDirectory)/pods/\(pod.metadata.uid ?? "")" }

    public func volumeDirectory(_ pod: Pod, _ volume: Volume) -> String? {
        if let host = volume.hostPath { return host.path }
        if volume.emptyDir != nil { return "\(podDirectory(pod))/volumes/kubernetes.io~empty-dir/\(volume.name)" }
        return nil
    }

    /// DNS per dnsPolicy: ClusterFirst uses clusterDNS (falls back to Default without it),
    /// Default copies the host's resolv.conf, None uses only dnsConfig; dnsConfig is merged last.
    public func dnsConfig(_ pod: Pod, hostResolvConf: String? = nil) -> Runtime_V1_DNSConfig {
        var dns = Runtime_V1_DNSConfig()
        let policy = pod.spec.dnsPolicy ?? DNSPolicy.clusterFirst.rawValue
        let namespace = pod.metadata.namespace ?? "default"
        let host = CRIConfigBuilder.parseResolvConf(hostResolvConf ?? "")
        var useClusterDNS = (policy == DNSPolicy.clusterFirst.rawValue && pod.spec.hostNetwork != true)
            || policy == DNSPolicy.clusterFirstWithHostNet.rawValue
        if clusterDNS.isEmpty { useClusterDNS = false }
        switch policy {
        case DNSPolicy.none.rawValue:
            break
        default:
            if useClusterDNS {
                dns.servers = clusterDNS
                if !clusterDomain.isEmpty {
                    dns.searches = ["\(namespace).svc.\(clusterDomain)", "svc.\(clusterDomain)", clusterDomain] + host.searches
                } else {
                    dns.searches = host.searches
                }
                dns.options = ["ndots:5"]
            } else {
                dns.servers = host.servers
                dns.searches = host.searches
                dns.options = host.options
            }
        }
        if let config = pod.spec.dnsConfig {
            for server in config.nameservers ?? [] where !dns.servers.contains(server) { dns.servers.append(server) }
            for search in config.searches ?? [] where !dns.searches.contains(search) { dns.searches.append(search) }
            for option in config.options ?? [] {
                guard let name = option.name else { continue }
                dns.options.removeAll { $0 == name || $0.hasPrefix(name + ":") }
                dns.options.append(option.value.map { "\(name):\($0)" } ?? name)
            }
        }
        dns.servers = Array(dns.servers.prefix(3))
        dns.searches = Array(dns.searches.prefix(32))
        return dns
    }

    static func parseResolvConf(_ text: String) -> (servers: [String], searches: [String], options: [String]) {
        var servers: [String] = [], searches: [String] = [], options: [String] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            guard let key = fields.first, !key.hasPrefix("#"), !key.hasPrefix(";") else { continue }
            switch key {
            case "nameserver": if fields.count > 1 { servers.append(fields[1]) }
            case "search", "domain": searches = Array(fields.dropFirst())
            case "options": options += fields.dropFirst()
            default: break
            }
        }
        return (servers, searches, options)
    }

    public func sandboxConfig(_ pod: Pod, attempt: UInt32, hostResolvConf: String? = nil) -> Runtime_V1_PodSandboxConfig {
        var config = Runtime_V1_PodSandboxConfig()
        config.metadata.name = pod.metadata.name ?? ""
        config.metadata.namespace = pod.metadata.namespace ?? "default"
        config.metadata.uid = pod.metadata.uid ?? ""
        config.metadata.attempt = attempt
        let hostname = pod.spec.hostname ?? String((pod.metadata.name ?? "").prefix(63))
        config.hostname = pod.spec.hostNetwork == true ? ProcessInfo.processInfo.hostName : hostname
        config.logDirectory = CRIConfigBuilder.logDirectory(pod)
        config.dnsConfig = dnsConfig(pod, hostResolvConf: hostResolvConf)
        var labels = pod.metadata.labels ?? [:]
        labels[KubeLabels.podName] = pod.metadata.name ?? ""
        labels[KubeLabels.podNamespace] = pod.metadata.namespace ?? "default"
        labels[KubeLabels.podUID] = pod.metadata.uid ?? ""
        labels[KubeLabels.managedBy] = "true"
        config.labels = labels
        config.annotations = pod.metadata.annotations ?? [:]
        for container in pod.spec.containers {
            for port in container.ports ?? [] where (port.hostPort ?? 0) > 0 {
                var mapping = Runtime_V1_PortMapping()
                mapping.containerPort = Int32(port.containerPort)
                mapping.hostPort = Int32(port.hostPort ?? 0)
                mapping.hostIp = port.hostIP ?? ""
                mapping.protocol = port.protocol == "UDP" ? .udp : port.protocol == "SCTP" ? .sctp : .tcp
                config.portMappings.append(mapping)
            }
        }
        let qos = QOSClass(pod: pod)
        if let cgroupLayout { config.linux.cgroupParent = cgroupLayout.pod(uid: pod.metadata.uid ?? "", qos: qos) }
        var ns = Runtime_V1_NamespaceOption()
        ns.network = pod.spec.hostNetwork == true ? .node : .pod
        ns.pid = pod.spec.hostPID == true ? .node : (pod.spec.shareProcessNamespace == true ? .pod : .container)
        ns.ipc = pod.spec.hostIPC == true ? .node : .pod
        config.linux.securityContext.namespaceOptions = ns
        if let sc = pod.spec.securityContext {
            if let uid = sc.runAsUser { config.linux.securityContext.runAsUser.value = uid }
            if let gid = sc.runAsGroup { config.linux.securityContext.runAsGroup.value = gid }
            config.linux.securityContext.supplementalGroups = sc.supplementalGroups ?? []
            for sysctl in sc.sysctls ?? [] { config.linux.sysctls[sysctl.name] = sysctl.value }
        }
        let podValues = CgroupResources(pod: pod)
        var resources = Runtime_V1_LinuxContainerResources()
        resources.cpuShares = Int64(CgroupResources.shares(milliCPU: PodResources(pod: pod).requestMilliCPU))
        resources.cpuPeriod = Int64(podValues.cpuPeriod)
        resources.cpuQuota = podValues.cpuQuota ?? 0
        resources.memoryLimitInBytes = podValues.memoryMax ?? 0
        config.linux.resources = resources
        return config
    }

    /// A container's CRI config. `environment` is the container's resolved env in order.
    public func containerConfig(_ pod: Pod, _ container: Container, attempt: UInt32,
                                environment: [(String, String)]) -> Runtime_V1_ContainerConfig {
        var config = Runtime_V1_ContainerConfig()
        config.metadata.name = container.name
        config.metadata.attempt = attempt
        config.image.image = container.image ?? ""
        let env = Dictionary(environment, uniquingKeysWith: { _, last in last })
        let argv = ProcessArgs.criCommandAndArgs(container, environment: env)
        config.command = argv.command
        config.args = argv.args
        config.workingDir = container.workingDir ?? ""
        config.envs = environment.map { name, value in
            var kv = Runtime_V1_KeyValue()
            kv.key = name
            kv.value = Data(value.utf8)
            return kv
        }
        config.labels = [KubeLabels.podName: pod.metadata.name ?? "", KubeLabels.podNamespace: pod.metadata.namespace ?? "default",
                         KubeLabels.podUID: pod.metadata.uid ?? "", KubeLabels.containerName: container.name,
                         KubeLabels.managedBy: "true"]
        config.annotations = [KubeLabels.restartCount: String(attempt),
                              KubeLabels.terminationGrace: String(pod.spec.terminationGracePeriodSeconds ?? 30)]
        config.logPath = CRIConfigBuilder.logFile(container: container.name, attempt: attempt)
        config.stdin = container.stdin ?? false
        config.tty = container.tty ?? false
        for mount in container.volumeMounts ?? [] {
            guard let volume = pod.spec.volumes?.first(where: { $0.name == mount.name }),
                  let hostPath = volumeDirectory(pod, volume) else { continue }
            var m = Runtime_V1_Mount()
            m.containerPath = mount.mountPath
            m.hostPath = mount.subPath.map { "\(hostPath)/\($0)" } ?? hostPath
            m.readonly = mount.readOnly ?? false
            config.mounts.append(m)
        }
        let values = CgroupResources(container: container)
        var resources = Runtime_V1_LinuxContainerResources()
        resources.cpuShares = Int64(CgroupResources.shares(milliCPU: container.resources?.requests?["cpu"]?.milliValue ?? 0))
        resources.cpuPeriod = Int64(values.cpuPeriod)
        resources.cpuQuota = values.cpuQuota ?? 0
        resources.memoryLimitInBytes = values.memoryMax ?? 0
        if containerOOMGroup { resources.unified["memory.oom.group"] = "1" }
        config.linux.resources = resources
        let podSC = pod.spec.securityContext
        let sc = container.securityContext
        var lsc = Runtime_V1_LinuxContainerSecurityContext()
        lsc.privileged = sc?.privileged ?? false
        if let uid = sc?.runAsUser ?? podSC?.runAsUser { lsc.runAsUser.value = uid }
        if let gid = sc?.runAsGroup ?? podSC?.runAsGroup { lsc.runAsGroup.value = gid }
        lsc.supplementalGroups = podSC?.supplementalGroups ?? []
        lsc.readonlyRootfs = sc?.readOnlyRootFilesystem ?? false
        lsc.noNewPrivs = sc?.allowPrivilegeEscalation == false
        lsc.capabilities.addCapabilities = sc?.capabilities?.add ?? []
        lsc.capabilities.dropCapabilities = sc?.capabilities?.drop ?? []
        let seccomp = sc?.seccompProfile ?? podSC?.seccompProfile
        switch seccomp?.type {
        case "Unconfined": lsc.seccomp.profileType = .unconfined
        case "Localhost":
            lsc.seccomp.profileType = .localhost
            lsc.seccomp.localhostRef = seccomp?.localhostProfile ?? ""
        default: lsc.seccomp.profileType = .runtimeDefault
        }
        var ns = Runtime_V1_NamespaceOption()
        ns.network = pod.spec.hostNetwork == true ? .node : .pod
        ns.pid = pod.spec.hostPID == true ? .node : (pod.spec.shareProcessNamespace == true ? .pod : .container)
        ns.ipc = pod.spec.hostIPC == true ? .node : .pod
        lsc.namespaceOptions = ns
        config.linux.securityContext = lsc
        return config
    }
}
