/// Defaulting, as the built-in types' SetDefaults functions do for the fields users notice.
enum Defaults {
    static func apply(_ r: ResourceInfo, _ object: inout JSONValue, creating: Bool) {
        switch (r.group, r.kind) {
        case ("", "Pod"):
            if var spec = object["spec"], case .object = spec {
                podSpec(&spec)
                object["spec"] = spec
            }
            if creating {
                object["status"] = ["phase": "Pending", "qosClass": .string(qosClass(object["spec"] ?? .null))]
            }
        case ("", "Service"):
            guard case .object? = object["spec"] else { return }
            if object.value(at: ["spec", "type"]) == nil { object.set(["spec", "type"], "ClusterIP") }
            if object.value(at: ["spec", "sessionAffinity"]) == nil { object.set(["spec", "sessionAffinity"], "None") }
            if object.value(at: ["spec", "internalTrafficPolicy"]) == nil { object.set(["spec", "internalTrafficPolicy"], "Cluster") }
            if object.value(at: ["spec", "ipFamilies"]) == nil { object.set(["spec", "ipFamilies"], ["IPv4"]) }
            if object.value(at: ["spec", "ipFamilyPolicy"]) == nil { object.set(["spec", "ipFamilyPolicy"], "SingleStack") }
            if let ports = object.value(at: ["spec", "ports"])?.arrayValue {
                object.set(["spec", "ports"], .array(ports.map { p in
                    guard case .object = p else { return p }
                    var port = p
                    if port["protocol"] == nil { port["protocol"] = "TCP" }
                    if port["targetPort"] == nil, let n = port["port"], let v = n.intValue, (1...65535).contains(v) { port["targetPort"] = n }
                    return port
                }))
            }
            if creating { object["status"] = ["loadBalancer": [:]] }
        case ("", "Namespace"):
            if creating {
                object["spec"] = ["finalizers": ["kubernetes"]]
                object["status"] = ["phase": "Active"]
            }
            if let name = object.value(at: ["metadata", "name"]) {
                object.set(["metadata", "labels", "kubernetes.io/metadata.name"], name)
            }
        case ("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"), ("apps", "DaemonSet"):
            guard case .object? = object["spec"] else { return }
            if r.kind != "DaemonSet", object.value(at: ["spec", "replicas"]) == nil { object.set(["spec", "replicas"], 1) }
            if object.value(at: ["spec", "revisionHistoryLimit"]) == nil { object.set(["spec", "revisionHistoryLimit"], 10) }
            if r.kind == "Deployment" {
                if object.value(at: ["spec", "progressDeadlineSeconds"]) == nil { object.set(["spec", "progressDeadlineSeconds"], 600) }
                if object.value(at: ["spec", "strategy"]) == nil {
                    object.set(["spec", "strategy"], ["type": "RollingUpdate", "rollingUpdate": ["maxUnavailable": "25%", "maxSurge": "25%"]])
                }
            }
            if var spec = object.value(at: ["spec", "template", "spec"]), case .object = spec {
                podSpec(&spec)
                object.set(["spec", "template", "spec"], spec)
            }
            if creating { object["status"] = [:] }
        case ("batch", "Job"), ("batch", "CronJob"):
            if creating { object["status"] = [:] }
        case ("", "PersistentVolumeClaim"):
            if creating { object["status"] = ["phase": "Pending"] }
        case ("", "PersistentVolume"):
            if creating { object["status"] = ["phase": "Pending"] }
        default:
            break
        }
    }

    static func podSpec(_ spec: inout JSONValue) {
        if spec["restartPolicy"] == nil { spec["restartPolicy"] = "Always" }
        if spec["dnsPolicy"] == nil { spec["dnsPolicy"] = "ClusterFirst" }
        if spec["schedulerName"] == nil { spec["schedulerName"] = "default-scheduler" }
        if spec["terminationGracePeriodSeconds"] == nil { spec["terminationGracePeriodSeconds"] = 30 }
        if spec["securityContext"] == nil { spec["securityContext"] = [:] }
        if spec["serviceAccountName"] == nil { spec["serviceAccountName"] = spec["serviceAccount"] ?? "default" }
        if spec["serviceAccount"] == nil { spec["serviceAccount"] = spec["serviceAccountName"] }
        if spec["enableServiceLinks"] == nil { spec["enableServiceLinks"] = true }
        for field in ["containers", "initContainers"] {
            guard let containers = spec[field]?.arrayValue else { continue }
            spec[field] = .array(containers.map { c in
                guard case .object = c else { return c }
                var container = c
                if container["imagePullPolicy"] == nil, let image = container["image"]?.stringValue {
                    let tagless = !(image.split(separator: "/").last ?? "").contains(":") && !image.contains("@")
                    container["imagePullPolicy"] = (tagless || image.hasSuffix(":latest")) ? "Always" : "IfNotPresent"
                }
                if container["terminationMessagePath"] == nil { container["terminationMessagePath"] = "/dev/termination-log" }
                if container["terminationMessagePolicy"] == nil { container["terminationMessagePolicy"] = "File" }
                if container["resources"] == nil { container["resources"] = [:] }
                if let ports = container["ports"]?.arrayValue {
                    container["ports"] = .array(ports.map { p in
                        guard case .object = p, p["protocol"] == nil else { return p }
                        var port = p
                        port["protocol"] = "TCP"
                        return port
                    })
                }
                return container
            })
        }
    }

    static func qosClass(_ spec: JSONValue) -> String {
        let containers = spec["containers"]?.arrayValue ?? []
        var anySet = false
        var guaranteed = !containers.isEmpty
        for c in containers {
            let requests = c.value(at: ["resources", "requests"])?.objectValue ?? [:]
            let limits = c.value(at: ["resources", "limits"])?.objectValue ?? [:]
            if !requests.isEmpty || !limits.isEmpty { anySet = true }
            for res in ["cpu", "memory"] {
                guard let limit = limits[res] else { guaranteed = false; continue }
                if let req = requests[res], req != limit { guaranteed = false }
            }
        }
        if guaranteed { return "Guaranteed" }
        return anySet ? "Burstable" : "BestEffort"
    }

    /// Values the server allocated (ClusterIP, node ports) survive an update that omits them.
    static func keepAllocated(_ r: ResourceInfo, old: JSONValue, new: inout JSONValue) {
        guard r.group.isEmpty, r.kind == "Service" else { return }
        for key in ["clusterIP", "clusterIPs"] where new.value(at: ["spec", key]) == nil || new.value(at: ["spec", key]) == .string("") {
            new.set(["spec", key], old.value(at: ["spec", key]))
        }
        // Node ports only while the service still uses them (a change to ClusterIP releases them).
        let type = new.value(at: ["spec", "type"])?.stringValue ?? "ClusterIP"
        guard type == "NodePort" || type == "LoadBalancer" else { return }
        guard var ports = new.value(at: ["spec", "ports"])?.arrayValue, let oldPorts = old.value(at: ["spec", "ports"])?.arrayValue else { return }
        for i in ports.indices where ports[i]["nodePort"] == nil {
            if let match = oldPorts.first(where: { $0["port"] == ports[i]["port"] && $0["protocol"] == ports[i]["protocol"] }), let np = match["nodePort"] {
                ports[i]["nodePort"] = np
            }
        }
        new.set(["spec", "ports"], .array(ports))
    }
}
