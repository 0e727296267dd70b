/// The defaults the apiserver's scheme would apply to a pod (static pods never meet an apiserver).
public enum PodDefaults {
    public static func apply(_ pod: inout Pod) {
        if (pod.metadata.namespace ?? "").isEmpty { pod.metadata.namespace = "default" }
        var spec = pod.spec
        if spec.restartPolicy == nil { spec.restartPolicy = RestartPolicy.always.rawValue }
        if spec.dnsPolicy == nil { spec.dnsPolicy = DNSPolicy.clusterFirst.rawValue }
        if spec.terminationGracePeriodSeconds == nil { spec.terminationGracePeriodSeconds = 30 }
        if spec.schedulerName == nil { spec.schedulerName = "default-scheduler" }
        if spec.securityContext == nil { spec.securityContext = PodSecurityContext() }
        if spec.enableServiceLinks == nil { spec.enableServiceLinks = true }
        spec.containers = spec.containers.map(defaulted)
        spec.initContainers = spec.initContainers?.map(defaulted)
        if let volumes = spec.volumes {
            spec.volumes = volumes.map { volume in
                var v = volume
                if v.hostPath != nil, v.hostPath?.type == nil { v.hostPath?.type = "" }
                return v
            }
        }
        pod.spec = spec
    }

    /// The image pull policy upstream defaults to: Always for `:latest` or no tag, else IfNotPresent.
    public static func defaultPullPolicy(for image: String) -> String {
        if image.contains("@") { return "IfNotPresent" }
        let lastComponent = image.split(separator: "/").last.map(String.init) ?? image
        guard let colon = lastComponent.lastIndex(of: ":") else { return "Always" }
        return lastComponent[lastComponent.index(after: colon)...] == "latest" ? "Always" : "IfNotPresent"
    }

    static func defaulted(_ container: Container) -> Container {
        var c = container
        if c.imagePullPolicy == nil, let image = c.image { c.imagePullPolicy = defaultPullPolicy(for: image) }
        if c.terminationMessagePath == nil { c.terminationMessagePath = "/dev/termination-log" }
        if c.terminationMessagePolicy == nil { c.terminationMessagePolicy = "File" }
        c.ports = c.ports?.map { port in
            var p = port
            if p.protocol == nil { p.protocol = "TCP" }
            return p
        }
        // Requests default to limits for every resource that has a limit and no request.
        if var resources = c.resources, let limits = resources.limits, !limits.isEmpty {
            var requests = resources.requests ?? [:]
            for (name, limit) in limits where requests[name] == nil { requests[name] = limit }
            resources.requests = requests
            c.resources = resources
        }
        c.livenessProbe = c.livenessProbe.map(defaulted)
        c.readinessProbe = c.readinessProbe.map(defaulted)
        c.startupProbe = c.startupProbe.map(defaulted)
        if let lifecycle = c.lifecycle {
            var l = lifecycle
            l.postStart = l.postStart.map(defaulted)
            l.preStop = l.preStop.map(defaulted)
            c.lifecycle = l
        }
        return c
    }

    static func defaulted(_ probe: Probe) -> Probe {
        var p = probe
        if p.timeoutSeconds == nil { p.timeoutSeconds = 1 }
        if p.periodSeconds == nil { p.periodSeconds = 10 }
        if p.successThreshold == nil { p.successThreshold = 1 }
        if p.failureThreshold == nil { p.failureThreshold = 3 }
        if p.initialDelaySeconds == nil { p.initialDelaySeconds = 0 }
        if var http = p.httpGet {
            if http.path == nil { http.path = "/" }
            if http.scheme == nil { http.scheme = "HTTP" }
            p.httpGet = http
        }
        if var grpc = p.grpc, grpc.service == nil {
            grpc.service = ""
            p.grpc = grpc
        }
        return p
    }

    static func defaulted(_ handler: LifecycleHandler) -> LifecycleHandler {
        var h = handler
        if var http = h.httpGet {
            if http.path == nil { http.path = "/" }
            if http.scheme == nil { http.scheme = "HTTP" }
            h.httpGet = http
        }
        return h
    }
}
