/// Validation: every problem found is reported (422 lists them all), with Kubernetes' field paths.
enum Validation {
    static func isDNS1123Label(_ s: String) -> Bool {
        guard !s.isEmpty, s.count <= 63, let f = s.first, let l = s.last else { return false }
        return s.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") } && f != "-" && l != "-"
    }

    static func isDNS1123Subdomain(_ s: String) -> Bool {
        guard !s.isEmpty, s.count <= 253 else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNS1123Label(String($0)) }
    }

    static func isDNS1035Label(_ s: String) -> Bool { isDNS1123Label(s) && (s.first?.isLetter ?? false) }

    static let labelValueMessage = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"

    static func isLabelValue(_ s: String) -> Bool {
        if s.isEmpty { return true }
        guard s.count <= 63, let f = s.first, let l = s.last, f.isLetter || f.isNumber, l.isLetter || l.isNumber else { return false }
        return s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }

    static func isQualifiedName(_ s: String) -> Bool {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let name = parts.last, !name.isEmpty, isLabelValue(String(name)) else { return false }
        if parts.count == 2 { return isDNS1123Subdomain(String(parts[0])) }
        return true
    }

    static func validate(_ r: ResourceInfo, _ object: JSONValue) -> [FieldCause] {
        var causes = metadata(r, object)
        switch (r.group, r.kind) {
        case ("", "Pod"):
            causes += podSpec(object["spec"], path: "spec")
        case ("", "Service"):
            causes += service(object)
        case ("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"), ("apps", "DaemonSet"):
            causes += workload(r, object)
        case ("", "ConfigMap"), ("", "Secret"):
            for field in ["data", "binaryData", "stringData"] {
                for key in (object[field]?.objectValue ?? [:]).keys where !isConfigKey(key) {
                    causes.append(.invalid("\(field)[\(key)]", .string(key), "a valid config key must consist of alphanumeric characters, '-', '_' or '.'"))
                }
            }
        default: break
        }
        return causes
    }

    static func isConfigKey(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 253 && s != "." && s != ".." && s.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }
    }

    static func metadata(_ r: ResourceInfo, _ object: JSONValue) -> [FieldCause] {
        var causes: [FieldCause] = []
        let meta = object["metadata"] ?? .null
        let name = meta["name"]?.stringValue ?? ""
        if name.isEmpty {
            causes.append(meta["generateName"] == nil ? .required("metadata.name") : .required("metadata.name"))
        } else {
            let dns1035 = r.group.isEmpty && (r.kind == "Service")
            let label = r.group.isEmpty && r.kind == "Namespace"
            let rbac = r.group == "rbac.authorization.k8s.io"
            if rbac {
                if name.contains("/") || name == "." || name == ".." || name.contains("%") {
                    causes.append(.invalid("metadata.name", .string(name), "may not contain '/' or '%'"))
                }
            } else if dns1035 && !isDNS1035Label(name) {
                causes.append(.invalid("metadata.name", .string(name), "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"))
            } else if label && !isDNS1123Label(name) {
                causes.append(.invalid("metadata.name", .string(name), "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"))
            } else if !dns1035 && !label && !isDNS1123Subdomain(name) {
                causes.append(.invalid("metadata.name", .string(name), "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"))
            }
        }
        if let labels = meta["labels"] {
            if let o = labels.objectValue {
                for (k, v) in o {
                    if !isQualifiedName(k) { causes.append(.invalid("metadata.labels", .string(k), "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character")) }
                    if let s = v.stringValue {
                        if !isLabelValue(s) { causes.append(.invalid("metadata.labels", .string(s), labelValueMessage)) }
                    } else {
                        causes.append(.invalid("metadata.labels[\(k)]", v, "label values must be strings"))
                    }
                }
            } else if !labels.isNull {
                causes.append(.invalid("metadata.labels", labels, "must be a map of strings"))
            }
        }
        if let annotations = meta["annotations"], !annotations.isNull {
            if let o = annotations.objectValue {
                for (k, v) in o where v.stringValue == nil { causes.append(.invalid("metadata.annotations[\(k)]", v, "annotation values must be strings")) }
            } else {
                causes.append(.invalid("metadata.annotations", annotations, "must be a map of strings"))
            }
        }
        return causes
    }

    static func podSpec(_ spec: JSONValue?, path: String) -> [FieldCause] {
        guard let spec, case .object = spec else { return [.required(path)] }
        var causes: [FieldCause] = []
        let containers = spec["containers"]?.arrayValue ?? []
        if containers.isEmpty { causes.append(.required("\(path).containers")) }
        var names = Set<String>()
        for (field, list) in [("containers", containers), ("initContainers", spec["initContainers"]?.arrayValue ?? [])] {
            for (i, c) in list.enumerated() {
                let p = "\(path).\(field)[\(i)]"
                let name = c["name"]?.stringValue ?? ""
                if name.isEmpty { causes.append(.required("\(p).name")) } else if !isDNS1123Label(name) {
                    causes.append(.invalid("\(p).name", .string(name), "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character"))
                } else if !names.insert(name).inserted {
                    causes.append(.duplicate("\(p).name", name))
                }
                if (c["image"]?.stringValue ?? "").isEmpty { causes.append(.required("\(p).image")) }
                if let policy = c["imagePullPolicy"]?.stringValue, !["Always", "IfNotPresent", "Never"].contains(policy) {
                    causes.append(.notSupported("\(p).imagePullPolicy", policy, ["Always", "IfNotPresent", "Never"]))
                }
                for (j, port) in (c["ports"]?.arrayValue ?? []).enumerated() {
                    let pp = "\(p).ports[\(j)]"
                    if let n = port["containerPort"] {
                        if let v = n.intValue, v >= 1, v <= 65535 {} else {
                            causes.append(.invalid("\(pp).containerPort", n, "must be between 1 and 65535, inclusive"))
                        }
                    } else {
                        causes.append(.required("\(pp).containerPort"))
                    }
                    if let proto = port["protocol"]?.stringValue, !["TCP", "UDP", "SCTP"].contains(proto) {
                        causes.append(.notSupported("\(pp).protocol", proto, ["SCTP", "TCP", "UDP"]))
                    }
                }
                for (j, env) in (c["env"]?.arrayValue ?? []).enumerated() where (env["name"]?.stringValue ?? "").isEmpty {
                    causes.append(.required("\(p).env[\(j)].name"))
                }
            }
        }
        if let policy = spec["restartPolicy"]?.stringValue, !["Always", "OnFailure", "Never"].contains(policy) {
            causes.append(.notSupported("\(path).restartPolicy", policy, ["Always", "OnFailure", "Never"]))
        }
        if let policy = spec["dnsPolicy"]?.stringValue, !["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"].contains(policy) {
            causes.append(.notSupported("\(path).dnsPolicy", policy, ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"]))
        }
        if let grace = spec["terminationGracePeriodSeconds"], (grace.intValue ?? -1) < 0 {
            causes.append(.invalid("\(path).terminationGracePeriodSeconds", grace, "must be greater than or equal to 0"))
        }
        var volumeNames = Set<String>()
        for (i, v) in (spec["volumes"]?.arrayValue ?? []).enumerated() {
            let name = v["name"]?.stringValue ?? ""
            if name.isEmpty { causes.append(.required("\(path).volumes[\(i)].name")) } else if !volumeNames.insert(name).inserted {
                causes.append(.duplicate("\(path).volumes[\(i)].name", name))
            }
        }
        return causes
    }

    static func service(_ object: JSONValue) -> [FieldCause] {
        guard let spec = object["spec"], case .object = spec else { return [.required("spec")] }
        var causes: [FieldCause] = []
        let type = spec["type"]?.stringValue ?? "ClusterIP"
        let types = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]
        if !types.contains(type) { causes.append(.notSupported("spec.type", type, types)) }
        let ports = spec["ports"]?.arrayValue ?? []
        if ports.isEmpty && type != "ExternalName" && spec["clusterIP"]?.stringValue != "None" {
            causes.append(.required("spec.ports"))
        }
        var seen = Set<String>()
        var names = Set<String>()
        for (i, p) in ports.enumerated() {
            let pp = "spec.ports[\(i)]"
            if let n = p["port"] {
                if let v = n.intValue, v >= 1, v <= 65535 {} else { causes.append(.invalid("\(pp).port", n, "must be between 1 and 65535, inclusive")) }
            } else {
                causes.append(.required("\(pp).port"))
            }
            let proto = p["protocol"]?.stringValue ?? "TCP"
            if !["TCP", "UDP", "SCTP"].contains(proto) { causes.append(.notSupported("\(pp).protocol", proto, ["SCTP", "TCP", "UDP"])) }
            if let key = p["port"]?.intValue.map({ "\($0)/\(proto)" }), !seen.insert(key).inserted {
                causes.append(.duplicate(pp, key))
            }
            if ports.count > 1 && (p["name"]?.stringValue ?? "").isEmpty { causes.append(.required("\(pp).name")) }
            if let name = p["name"]?.stringValue, !name.isEmpty, !names.insert(name).inserted { causes.append(.duplicate("\(pp).name", name)) }
            if let t = p["targetPort"] {
                if let v = t.intValue {
                    if v < 1 || v > 65535 { causes.append(.invalid("\(pp).targetPort", t, "must be between 1 and 65535, inclusive")) }
                } else if let s = t.stringValue {
                    if !isDNS1123Label(s) || s.count > 15 { causes.append(.invalid("\(pp).targetPort", t, "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")) }
                }
            }
            if let np = p["nodePort"] {
                if type == "ClusterIP" { causes.append(.forbidden("\(pp).nodePort", "may not be used when `type` is 'ClusterIP'")) }
                else if let v = np.intValue, v < 30000 || v > 32767 {
                    causes.append(.invalid("\(pp).nodePort", np, "provided port is not in the valid range. The range of valid ports is 30000-32767"))
                }
            }
        }
        if let selector = spec["selector"], !selector.isNull, selector.objectValue == nil {
            causes.append(.invalid("spec.selector", selector, "must be a map of strings"))
        }
        if type == "ExternalName", (spec["externalName"]?.stringValue ?? "").isEmpty { causes.append(.required("spec.externalName")) }
        return causes
    }

    static func workload(_ r: ResourceInfo, _ object: JSONValue) -> [FieldCause] {
        guard let spec = object["spec"], case .object = spec else { return [.required("spec")] }
        var causes: [FieldCause] = []
        if let replicas = spec["replicas"], (replicas.intValue ?? -1) < 0 {
            causes.append(.invalid("spec.replicas", replicas, "must be greater than or equal to 0"))
        }
        let selector = spec["selector"]
        let matchLabels = selector?["matchLabels"]?.objectValue ?? [:]
        let expressions = selector?["matchExpressions"]?.arrayValue ?? []
        if selector == nil || (matchLabels.isEmpty && expressions.isEmpty) {
            causes.append(.required("spec.selector"))
        }
        let templateLabels = spec.value(at: ["template", "metadata", "labels"])?.objectValue ?? [:]
        if let selector, !(matchLabels.isEmpty && expressions.isEmpty) {
            var labels: [String: String] = [:]
            for (k, v) in templateLabels { labels[k] = v.stringValue ?? "" }
            if !LabelSelector(object: selector).matches(labels) {
                causes.append(.invalid("spec.template.metadata.labels", .object(templateLabels), "`selector` does not match template `labels`"))
            }
        }
        if spec["template"] == nil {
            causes.append(.required("spec.template"))
        } else {
            causes += podSpec(spec.value(at: ["template", "spec"]), path: "spec.template.spec")
            if r.kind != "StatefulSet", let policy = spec.value(at: ["template", "spec", "restartPolicy"])?.stringValue, policy != "Always" {
                causes.append(.notSupported("spec.template.spec.restartPolicy", policy, ["Always"]))
            }
        }
        if r.kind == "Deployment", let type = spec.value(at: ["strategy", "type"])?.stringValue, !["Recreate", "RollingUpdate"].contains(type) {
            causes.append(.notSupported("spec.strategy.type", type, ["Recreate", "RollingUpdate"]))
        }
        return causes
    }

    /// Fields that may not change after creation.
    static func validateUpdate(_ r: ResourceInfo, old: JSONValue, new: JSONValue) -> [FieldCause] {
        var causes: [FieldCause] = []
        switch (r.group, r.kind) {
        case ("", "Pod"):
            // Only container images, activeDeadlineSeconds, tolerations additions and the grace period may change.
            var comparable = new["spec"] ?? .null
            var oldSpec = old["spec"] ?? .null
            for field in ["containers", "initContainers"] {
                if let a = comparable[field]?.arrayValue, let b = oldSpec[field]?.arrayValue, a.count == b.count {
                    comparable[field] = .array(zip(a, b).map { n, o in var x = n; x["image"] = o["image"]; return x })
                }
            }
            for field in ["activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"] {
                comparable[field] = nil
                oldSpec[field] = nil
            }
            if comparable != oldSpec {
                causes.append(.forbidden("spec", "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"))
            }
        case ("", "Service"):
            let oldIP = old.value(at: ["spec", "clusterIP"])?.stringValue ?? ""
            let newIP = new.value(at: ["spec", "clusterIP"])?.stringValue ?? ""
            if !oldIP.isEmpty && oldIP != newIP {
                causes.append(.invalid("spec.clusterIPs[0]", .string(newIP), "may not change once set"))
            }
        case ("apps", "Deployment"), ("apps", "ReplicaSet"), ("apps", "StatefulSet"), ("apps", "DaemonSet"):
            if old.value(at: ["spec", "selector"]) != new.value(at: ["spec", "selector"]) {
                causes.append(.invalid("spec.selector", new.value(at: ["spec", "selector"]), "field is immutable"))
            }
        default: break
        }
        return causes
    }
}
