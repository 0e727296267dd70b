/// Validates a pod the way the apiserver would before a node runs it, collecting every failure
/// with its field path. Static pods never pass through an apiserver, so the node must do it.
public enum PodValidation {
    static let restartPolicies = RestartPolicy.allCases.map(\.rawValue)
    static let dnsPolicies = DNSPolicy.allCases.map(\.rawValue)
    static let pullPolicies = ["Always", "IfNotPresent", "Never"]
    static let protocols = ["SCTP", "TCP", "UDP"]
    static let hostPathTypes = ["", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File",
                                "FileOrCreate", "Socket"]
    static let fieldRefPaths = ["metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace",
                                "metadata.uid", "spec.nodeName", "spec.serviceAccountName", "status.hostIP",
                                "status.hostIPs", "status.podIP", "status.podIPs"]
    static let resourceFieldRefs = ["limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu",
                                    "requests.ephemeral-storage", "requests.memory"]
    static let seccompTypes = ["Localhost", "RuntimeDefault", "Unconfined"]

    /// Throws a `ValidationError` listing every problem, or returns.
    public static func validate(_ pod: Pod) throws(ValidationError) {
        let errors = problems(pod)
        if !errors.isEmpty { throw ValidationError(errors) }
    }

    public static func problems(_ pod: Pod) -> [FieldError] {
        var errors: [FieldError] = []
        let meta = FieldPath("metadata")
        if let kind = pod.kind, kind != "Pod" {
            errors.append(FieldError("kind", .unsupported(value: kind, supported: ["Pod"])))
        }
        if let apiVersion = pod.apiVersion, apiVersion != "v1" {
            errors.append(FieldError("apiVersion", .unsupported(value: apiVersion, supported: ["v1"])))
        }
        if let name = pod.metadata.name, !name.isEmpty {
            if let problem = Names.dns1123SubdomainProblem(name) {
                errors.append(FieldError("\(meta / "name")", .invalid(value: name), problem))
            }
        } else {
            errors.append(FieldError("\(meta / "name")", .required, "name or generateName is required"))
        }
        if let ns = pod.metadata.namespace, !ns.isEmpty, let problem = Names.dns1123LabelProblem(ns) {
            errors.append(FieldError("\(meta / "namespace")", .invalid(value: ns), problem))
        }
        errors += specProblems(pod.spec, FieldPath("spec"))
        return errors
    }

    static func specProblems(_ spec: PodSpec, _ path: FieldPath) -> [FieldError] {
        var errors: [FieldError] = []
        // Volumes first: mounts refer to them.
        var volumeNames = Set<String>()
        for (i, volume) in (spec.volumes ?? []).enumerated() {
            let vp = (path / "volumes").index(i)
            if volume.name.isEmpty {
                errors.append(FieldError("\(vp / "name")", .required))
            } else if let problem = Names.dns1123LabelProblem(volume.name) {
                errors.append(FieldError("\(vp / "name")", .invalid(value: volume.name), problem))
            } else if !volumeNames.insert(volume.name).inserted {
                errors.append(FieldError("\(vp / "name")", .duplicate(value: volume.name)))
            }
            let sources = (volume.emptyDir != nil ? 1 : 0) + (volume.hostPath != nil ? 1 : 0) + volume.unsupportedSources.count
            if let unsupported = volume.unsupportedSources.first {
                errors.append(FieldError("\(vp / unsupported)", .forbidden,
                                         "volume type not supported on this node (emptyDir and hostPath are)"))
            } else if sources == 0 {
                errors.append(FieldError("\(vp)", .required, "must specify a volume type"))
            } else if sources > 1 {
                errors.append(FieldError("\(vp)", .forbidden, "may not specify more than 1 volume type"))
            }
            if let hostPath = volume.hostPath {
                let hp = vp / "hostPath"
                if hostPath.path.isEmpty {
                    errors.append(FieldError("\(hp / "path")", .required))
                } else if !hostPath.path.hasPrefix("/") {
                    errors.append(FieldError("\(hp / "path")", .invalid(value: hostPath.path), "must be an absolute path"))
                } else if hostPath.path.split(separator: "/").contains("..") {
                    errors.append(FieldError("\(hp / "path")", .invalid(value: hostPath.path), "must not contain '..'"))
                }
                if let type = hostPath.type, !hostPathTypes.contains(type) {
                    errors.append(FieldError("\(hp / "type")", .unsupported(value: type, supported: hostPathTypes)))
                }
            }
            if let empty = volume.emptyDir, let medium = empty.medium, !["", "Memory"].contains(medium) {
                errors.append(FieldError("\(vp / "emptyDir" / "medium")", .unsupported(value: medium, supported: ["", "Memory"])))
            }
        }

        if spec.containers.isEmpty {
            errors.append(FieldError("\(path / "containers")", .required))
        }
        var containerNames = Set<String>()
        for (i, c) in (spec.initContainers ?? []).enumerated() {
            errors += containerProblems(c, (path / "initContainers").index(i), kind: .initContainer,
                                        names: &containerNames, volumes: volumeNames, hostNetwork: spec.hostNetwork == true)
        }
        for (i, c) in spec.containers.enumerated() {
            errors += containerProblems(c, (path / "containers").index(i), kind: .app,
                                        names: &containerNames, volumes: volumeNames, hostNetwork: spec.hostNetwork == true)
        }

        if let policy = spec.restartPolicy, !restartPolicies.contains(policy) {
            errors.append(FieldError("\(path / "restartPolicy")", .unsupported(value: policy, supported: restartPolicies)))
        }
        if let policy = spec.dnsPolicy, !dnsPolicies.contains(policy) {
            errors.append(FieldError("\(path / "dnsPolicy")", .unsupported(value: policy, supported: dnsPolicies)))
        }
        if spec.dnsPolicy == DNSPolicy.none.rawValue {
            if spec.dnsConfig == nil {
                errors.append(FieldError("\(path / "dnsConfig")", .required, "must provide `dnsConfig` when `dnsPolicy` is None"))
            } else if (spec.dnsConfig?.nameservers ?? []).isEmpty {
                errors.append(FieldError("\(path / "dnsConfig" / "nameservers")", .required,
                                         "must provide at least one DNS nameserver when `dnsPolicy` is None"))
            }
        }
        if let dns = spec.dnsConfig {
            let dp = path / "dnsConfig"
            let servers = dns.nameservers ?? []
            if servers.count > 3 {
                errors.append(FieldError("\(dp / "nameservers")", .invalid(value: servers.joined(separator: ",")),
                                         "must not have more than 3 nameservers"))
            }
            for (i, server) in servers.enumerated() where !IPAddress.isValid(server) {
                errors.append(FieldError("\((dp / "nameservers").index(i))", .invalid(value: server), "must be a valid IP address"))
            }
            if (dns.searches ?? []).count > 32 {
                errors.append(FieldError("\(dp / "searches")", .invalid(value: "\(dns.searches?.count ?? 0)"),
                                         "must not have more than 32 search paths"))
            }
        }
        if let grace = spec.terminationGracePeriodSeconds, grace < 0 {
            errors.append(FieldError("\(path / "terminationGracePeriodSeconds")", .invalid(value: "\(grace)"),
                                     "must be greater than or equal to 0"))
        }
        if let deadline = spec.activeDeadlineSeconds, deadline <= 0 {
            errors.append(FieldError("\(path / "activeDeadlineSeconds")", .invalid(value: "\(deadline)"),
                                     "must be between 1 and 2147483647, inclusive"))
        }
        if let sc = spec.securityContext {
            errors += seccompProblems(sc.seccompProfile, path / "securityContext" / "seccompProfile")
            for (i, sysctl) in (sc.sysctls ?? []).enumerated() where sysctl.name.isEmpty {
                errors.append(FieldError("\(((path / "securityContext" / "sysctls").index(i)) / "name")", .required))
            }
        }
        if spec.shareProcessNamespace == true && spec.hostPID == true {
            errors.append(FieldError("\(path / "securityContext" / "shareProcessNamespace")", .invalid(value: "true"),
                                     "ShareProcessNamespace and HostPID cannot both be enabled"))
        }
        return errors
    }

    enum ContainerKind { case initContainer, app }

    static func containerProblems(_ c: Container, _ path: FieldPath, kind: ContainerKind, names: inout Set<String>,
                                  volumes: Set<String>, hostNetwork: Bool) -> [FieldError] {
        var errors: [FieldError] = []
        if c.name.isEmpty {
            errors.append(FieldError("\(path / "name")", .required))
        } else if let problem = Names.dns1123LabelProblem(c.name) {
            errors.append(FieldError("\(path / "name")", .invalid(value: c.name), problem))
        } else if !names.insert(c.name).inserted {
            errors.append(FieldError("\(path / "name")", .duplicate(value: c.name)))
        }
        let image = c.image ?? ""
        if image.isEmpty {
            errors.append(FieldError("\(path / "image")", .required))
        } else if image != image.trimmingCharacters(in: .whitespaces) {
            errors.append(FieldError("\(path / "image")", .invalid(value: image), "must not have leading or trailing whitespace"))
        }
        if let policy = c.imagePullPolicy, !pullPolicies.contains(policy) {
            errors.append(FieldError("\(path / "imagePullPolicy")", .unsupported(value: policy, supported: pullPolicies)))
        }
        switch kind {
        case .initContainer:
            if let policy = c.restartPolicy, policy != "Always" {
                errors.append(FieldError("\(path / "restartPolicy")", .unsupported(value: policy, supported: ["Always"])))
            }
        case .app:
            if let policy = c.restartPolicy {
                errors.append(FieldError("\(path / "restartPolicy")", .forbidden,
                                         "may not be set for non-init containers (got \"\(policy)\")"))
            }
        }
        let canProbe = kind == .app || c.isSidecar
        for (name, probe) in [("livenessProbe", c.livenessProbe), ("readinessProbe", c.readinessProbe),
                              ("startupProbe", c.startupProbe)] {
            guard let probe else { continue }
            let pp = path / name
            if !canProbe {
                errors.append(FieldError("\(pp)", .forbidden, "may not be set for init containers without restartPolicy=Always"))
                continue
            }
            errors += probeProblems(probe, pp, requireSuccessOne: name != "readinessProbe")
        }
        if let lifecycle = c.lifecycle {
            let lp = path / "lifecycle"
            if !canProbe {
                errors.append(FieldError("\(lp)", .forbidden, "may not be set for init containers without restartPolicy=Always"))
            } else {
                if let h = lifecycle.postStart { errors += handlerProblems(h, lp / "postStart") }
                if let h = lifecycle.preStop { errors += handlerProblems(h, lp / "preStop") }
            }
        }
        var portNames = Set<String>()
        for (i, port) in (c.ports ?? []).enumerated() {
            let pp = (path / "ports").index(i)
            if !(1...65535).contains(port.containerPort) {
                errors.append(FieldError("\(pp / "containerPort")", .invalid(value: "\(port.containerPort)"),
                                         "must be between 1 and 65535, inclusive"))
            }
            if let hostPort = port.hostPort, hostPort != 0 {
                if !(1...65535).contains(hostPort) {
                    errors.append(FieldError("\(pp / "hostPort")", .invalid(value: "\(hostPort)"),
                                             "must be between 1 and 65535, inclusive"))
                } else if hostNetwork && hostPort != port.containerPort {
                    errors.append(FieldError("\(pp / "hostPort")", .invalid(value: "\(hostPort)"),
                                             "must match `containerPort` when `hostNetwork` is true"))
                }
            }
            if let proto = port.protocol, !protocols.contains(proto) {
                errors.append(FieldError("\(pp / "protocol")", .unsupported(value: proto, supported: protocols)))
            }
            if let name = port.name, !name.isEmpty {
                if let problem = Names.portNameProblem(name) {
                    errors.append(FieldError("\(pp / "name")", .invalid(value: name), problem))
                } else if !portNames.insert(name).inserted {
                    errors.append(FieldError("\(pp / "name")", .duplicate(value: name)))
                }
            }
        }
        for (i, env) in (c.env ?? []).enumerated() {
            let ep = (path / "env").index(i)
            if let problem = Names.envVarNameProblem(env.name) {
                errors.append(env.name.isEmpty ? FieldError("\(ep / "name")", .required)
                                               : FieldError("\(ep / "name")", .invalid(value: env.name), problem))
            }
            guard let from = env.valueFrom else { continue }
            let fp = ep / "valueFrom"
            let sources = [from.fieldRef != nil, from.resourceFieldRef != nil, from.configMapKeyRef != nil,
                           from.secretKeyRef != nil].filter { $0 }.count
            if env.value.map({ !$0.isEmpty }) == true {
                errors.append(FieldError("\(fp)", .invalid(value: ""), "may not be specified when `value` is not empty"))
            }
            if sources == 0 {
                errors.append(FieldError("\(fp)", .invalid(value: ""), "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
            } else if sources > 1 {
                errors.append(FieldError("\(fp)", .invalid(value: ""), "may not have more than one field specified at a time"))
            }
            if let ref = from.fieldRef {
                let path = ref.fieldPath
                let base = path.split(separator: "[").first.map(String.init) ?? path
                if !fieldRefPaths.contains(base) {
                    errors.append(FieldError("\(fp / "fieldRef" / "fieldPath")", .unsupported(value: path, supported: fieldRefPaths)))
                }
            }
            if let ref = from.resourceFieldRef {
                if !resourceFieldRefs.contains(ref.resource) {
                    errors.append(FieldError("\(fp / "resourceFieldRef" / "resource")",
                                             .unsupported(value: ref.resource, supported: resourceFieldRefs)))
                }
                if let divisor = ref.divisor, divisor.amount <= 0 {
                    errors.append(FieldError("\(fp / "resourceFieldRef" / "divisor")", .invalid(value: divisor.text),
                                             "must be greater than zero"))
                }
            }
            if from.configMapKeyRef != nil || from.secretKeyRef != nil {
                errors.append(FieldError("\(fp)", .forbidden, "configMapKeyRef and secretKeyRef need an apiserver; static pods may not use them"))
            }
        }
        if let resources = c.resources {
            errors += resourceProblems(resources, path / "resources")
        }
        var mountPaths = Set<String>()
        for (i, mount) in (c.volumeMounts ?? []).enumerated() {
            let mp = (path / "volumeMounts").index(i)
            if mount.name.isEmpty {
                errors.append(FieldError("\(mp / "name")", .required))
            } else if !volumes.contains(mount.name) {
                errors.append(FieldError("\(mp / "name")", .notFound(value: mount.name)))
            }
            if mount.mountPath.isEmpty {
                errors.append(FieldError("\(mp / "mountPath")", .required))
            } else if !mountPaths.insert(mount.mountPath).inserted {
                errors.append(FieldError("\(mp / "mountPath")", .invalid(value: mount.mountPath), "must be unique"))
            }
            if let sub = mount.subPath, sub.hasPrefix("/") || sub.split(separator: "/").contains("..") {
                errors.append(FieldError("\(mp / "subPath")", .invalid(value: sub), "must be a relative path without '..'"))
            }
        }
        if let sc = c.securityContext {
            let sp = path / "securityContext"
            errors += seccompProblems(sc.seccompProfile, sp / "seccompProfile")
            if sc.privileged == true && sc.allowPrivilegeEscalation == false {
                errors.append(FieldError("\(sp)", .invalid(value: ""),
                                         "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
            }
            if let user = sc.runAsUser, user < 0 {
                errors.append(FieldError("\(sp / "runAsUser")", .invalid(value: "\(user)"), "must be between 0 and 2147483647, inclusive"))
            }
        }
        return errors
    }

    static let supportedResources: Set<String> = ["cpu", "memory", "ephemeral-storage"]

    static func resourceProblems(_ r: ResourceRequirements, _ path: FieldPath) -> [FieldError] {
        var errors: [FieldError] = []
        for (section, values) in [("limits", r.limits ?? [:]), ("requests", r.requests ?? [:])] {
            for (name, q) in values.sorted(by: { $0.key < $1.key }) {
                let fp = (path / section).key(name)
                if !supportedResources.contains(name) && !name.hasPrefix("hugepages-") && !name.contains("/") {
                    errors.append(FieldError("\(fp)", .invalid(value: name), "must be a standard resource type or fully qualified"))
                }
                if q.isNegative {
                    errors.append(FieldError("\(fp)", .invalid(value: q.text), "must be greater than or equal to 0"))
                }
            }
        }
        for (name, request) in (r.requests ?? [:]).sorted(by: { $0.key < $1.key }) {
            if let limit = r.limits?[name], request > limit {
                errors.append(FieldError("\((path / "requests").key(name))", .invalid(value: request.text),
                                         "must be less than or equal to \(name) limit of \(limit.text)"))
            }
        }
        return errors
    }

    static func probeProblems(_ probe: Probe, _ path: FieldPath, requireSuccessOne: Bool) -> [FieldError] {
        var errors: [FieldError] = []
        let kinds = probe.handlerKinds
        if kinds.isEmpty {
            errors.append(FieldError("\(path)", .required, "must specify a handler type"))
        } else if kinds.count > 1 {
            errors.append(FieldError("\(path / kinds[1])", .forbidden, "may not specify more than 1 handler type"))
        }
        errors += actionProblems(exec: probe.exec, httpGet: probe.httpGet, tcpSocket: probe.tcpSocket, path)
        if let grpc = probe.grpc, !(1...65535).contains(grpc.port) {
            errors.append(FieldError("\(path / "grpc" / "port")", .invalid(value: "\(grpc.port)"), "must be between 1 and 65535, inclusive"))
        }
        for (name, value, min) in [("initialDelaySeconds", probe.initialDelaySeconds, Int32(0)),
                                   ("timeoutSeconds", probe.timeoutSeconds, 1), ("periodSeconds", probe.periodSeconds, 1),
                                   ("successThreshold", probe.successThreshold, 1),
                                   ("failureThreshold", probe.failureThreshold, 1)] {
            if let value, value < min {
                errors.append(FieldError("\(path / name)", .invalid(value: "\(value)"), "must be greater than or equal to \(min)"))
            }
        }
        if requireSuccessOne, let s = probe.successThreshold, s != 1 {
            errors.append(FieldError("\(path / "successThreshold")", .invalid(value: "\(s)"), "must be 1"))
        }
        if let grace = probe.terminationGracePeriodSeconds, grace <= 0 {
            errors.append(FieldError("\(path / "terminationGracePeriodSeconds")", .invalid(value: "\(grace)"), "must be greater than 0"))
        }
        return errors
    }

    static func handlerProblems(_ handler: LifecycleHandler, _ path: FieldPath) -> [FieldError] {
        var errors: [FieldError] = []
        let kinds = handler.handlerKinds
        if kinds.isEmpty {
            errors.append(FieldError("\(path)", .required, "must specify a handler type"))
        } else if kinds.count > 1 {
            errors.append(FieldError("\(path / kinds[1])", .forbidden, "may not specify more than 1 handler type"))
        }
        errors += actionProblems(exec: handler.exec, httpGet: handler.httpGet, tcpSocket: handler.tcpSocket, path)
        if let sleep = handler.sleep, sleep.seconds < 0 {
            errors.append(FieldError("\(path / "sleep" / "seconds")", .invalid(value: "\(sleep.seconds)"), "must be non-negative"))
        }
        return errors
    }

    static func actionProblems(exec: ExecAction?, httpGet: HTTPGetAction?, tcpSocket: TCPSocketAction?,
                               _ path: FieldPath) -> [FieldError] {
        var errors: [FieldError] = []
        if let exec, (exec.command ?? []).isEmpty {
            errors.append(FieldError("\(path / "exec" / "command")", .required))
        }
        if let http = httpGet {
            errors += portProblems(http.port, path / "httpGet" / "port")
            if let scheme = http.scheme, !["HTTP", "HTTPS"].contains(scheme) {
                errors.append(FieldError("\(path / "httpGet" / "scheme")", .unsupported(value: scheme, supported: ["HTTP", "HTTPS"])))
            }
        }
        if let tcp = tcpSocket {
            errors += portProblems(tcp.port, path / "tcpSocket" / "port")
        }
        return errors
    }

    static func portProblems(_ port: IntOrString, _ path: FieldPath) -> [FieldError] {
        switch port {
        case .int(let n) where !(1...65535).contains(n):
            return [FieldError("\(path)", .invalid(value: "\(n)"), "must be between 1 and 65535, inclusive")]
        case .string(let name):
            if let problem = Names.portNameProblem(name) {
                return [FieldError("\(path)", .invalid(value: name), problem)]
            }
            return []
        default:
            return []
        }
    }

    static func seccompProblems(_ profile: SeccompProfile?, _ path: FieldPath) -> [FieldError] {
        guard let profile else { return [] }
        var errors: [FieldError] = []
        if !seccompTypes.contains(profile.type) {
            errors.append(FieldError("\(path / "type")", .unsupported(value: profile.type, supported: seccompTypes)))
        }
        if profile.type == "Localhost" && (profile.localhostProfile ?? "").isEmpty {
            errors.append(FieldError("\(path / "localhostProfile")", .required, "must be set when seccomp type is Localhost"))
        }
        if profile.type != "Localhost" && profile.localhostProfile != nil {
            errors.append(FieldError("\(path / "localhostProfile")", .invalid(value: profile.localhostProfile ?? ""),
                                     "can only be set when seccomp type is Localhost"))
        }
        return errors
    }
}
