import Foundation

/// `meta.k8s.io/v1` Table responses for `kubectl get`, with the built-in types' columns.
enum Tables {
    struct Column: Sendable {
        var name: String
        var type: String = "string"
        var format: String = ""
        var priority: Int = 0
        var description: String = ""
        var cell: @Sendable (JSONValue) -> JSONValue
    }

    static func table(for r: ResourceInfo, objects: [JSONValue], listMeta: [String: JSONValue], includeObject: String = "Metadata") -> JSONValue {
        let cols = columns(r)
        let rows: [JSONValue] = objects.map { o in
            var row: JSONValue = ["cells": .array(cols.map { $0.cell(o) })]
            switch includeObject {
            case "None": break
            case "Object": row["object"] = o
            default:
                row["object"] = ["kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"] ?? [:]]
            }
            return row
        }
        return [
            "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": .object(listMeta),
            "columnDefinitions": .array(cols.map {
                ["name": .string($0.name), "type": .string($0.type), "format": .string($0.format),
                 "description": .string($0.description.isEmpty ? $0.name : $0.description), "priority": .int(Int64($0.priority))]
            }),
            "rows": .array(rows),
        ]
    }

    static func s(_ o: JSONValue, _ path: String) -> String {
        let v = o.value(at: path.split(separator: ".").map(String.init))
        switch v {
        case .string(let x): return x
        case .int(let i): return String(i)
        case .bool(let b): return b ? "true" : "false"
        default: return ""
        }
    }
    static func i(_ o: JSONValue, _ path: String) -> Int64 { o.value(at: path.split(separator: ".").map(String.init))?.intValue ?? 0 }

    static let name = Column(name: "Name", format: "name", description: "Name must be unique within a namespace.") { .string(s($0, "metadata.name")) }
    static let age = Column(name: "Age", description: "CreationTimestamp is a timestamp representing the server time when this object was created.") { .string(humanAge(s($0, "metadata.creationTimestamp"))) }

    static func columns(_ r: ResourceInfo) -> [Column] {
        switch (r.group, r.kind) {
        case ("", "Pod"):
            return [
                name,
                Column(name: "Ready") { o in
                    let statuses = o.value(at: ["status", "containerStatuses"])?.arrayValue ?? []
                    let total = o.value(at: ["spec", "containers"])?.arrayValue?.count ?? 0
                    return .string("\(statuses.filter { $0["ready"]?.boolValue == true }.count)/\(total)")
                },
                Column(name: "Status") { o in
                    if o.value(at: ["metadata", "deletionTimestamp"]) != nil { return "Terminating" }
                    for c in o.value(at: ["status", "containerStatuses"])?.arrayValue ?? [] {
                        if let reason = c.value(at: ["state", "waiting", "reason"])?.stringValue { return .string(reason) }
                        if let reason = c.value(at: ["state", "terminated", "reason"])?.stringValue { return .string(reason) }
                    }
                    let reason = s(o, "status.reason")
                    return .string(reason.isEmpty ? s(o, "status.phase") : reason)
                },
                Column(name: "Restarts", type: "string") { o in
                    let n = (o.value(at: ["status", "containerStatuses"])?.arrayValue ?? []).reduce(Int64(0)) { $0 + ($1["restartCount"]?.intValue ?? 0) }
                    return .string(String(n))
                },
                age,
                Column(name: "IP", priority: 1) { o in .string(s(o, "status.podIP").isEmpty ? "<none>" : s(o, "status.podIP")) },
                Column(name: "Node", priority: 1) { o in .string(s(o, "spec.nodeName").isEmpty ? "<none>" : s(o, "spec.nodeName")) },
                Column(name: "Nominated Node", priority: 1) { o in .string(s(o, "status.nominatedNodeName").isEmpty ? "<none>" : s(o, "status.nominatedNodeName")) },
                Column(name: "Readiness Gates", priority: 1) { o in .string((o.value(at: ["spec", "readinessGates"])?.arrayValue ?? []).isEmpty ? "<none>" : "\(o.value(at: ["spec", "readinessGates"])!.arrayValue!.count)") },
            ]
        case ("apps", "Deployment"):
            return [
                name,
                Column(name: "Ready") { o in .string("\(i(o, "status.readyReplicas"))/\(i(o, "spec.replicas"))") },
                Column(name: "Up-to-date", type: "integer") { o in .int(i(o, "status.updatedReplicas")) },
                Column(name: "Available", type: "integer") { o in .int(i(o, "status.availableReplicas")) },
                age,
            ] + workloadWide
        case ("apps", "ReplicaSet"), ("apps", "StatefulSet"):
            return [
                name,
                Column(name: "Desired", type: "integer") { o in .int(i(o, "spec.replicas")) },
                Column(name: "Current", type: "integer") { o in .int(i(o, "status.replicas")) },
                Column(name: "Ready", type: "integer") { o in .int(i(o, "status.readyReplicas")) },
                age,
            ] + workloadWide
        case ("", "Service"):
            return [
                name,
                Column(name: "Type") { .string(s($0, "spec.type")) },
                Column(name: "Cluster-IP") { .string(s($0, "spec.clusterIP").isEmpty ? "<none>" : s($0, "spec.clusterIP")) },
                Column(name: "External-IP") { o in
                    let ips = (o.value(at: ["spec", "externalIPs"])?.arrayValue ?? []).compactMap(\.stringValue)
                    if s(o, "spec.type") == "ExternalName" { return .string(s(o, "spec.externalName")) }
                    return .string(ips.isEmpty ? (s(o, "spec.type") == "LoadBalancer" ? "<pending>" : "<none>") : ips.joined(separator: ","))
                },
                Column(name: "Port(s)") { o in
                    let ports = (o.value(at: ["spec", "ports"])?.arrayValue ?? []).map { p -> String in
                        let base = "\(p["port"]?.intValue ?? 0)"
                        let node = p["nodePort"]?.intValue.map { ":\($0)" } ?? ""
                        return base + node + "/" + (p["protocol"]?.stringValue ?? "TCP")
                    }
                    return .string(ports.isEmpty ? "<none>" : ports.joined(separator: ","))
                },
                age,
                Column(name: "Selector", priority: 1) { o in
                    let sel = (o.value(at: ["spec", "selector"])?.objectValue ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.stringValue ?? "")" }
                    return .string(sel.isEmpty ? "<none>" : sel.joined(separator: ","))
                },
            ]
        case ("", "Namespace"):
            return [name, Column(name: "Status") { .string(s($0, "status.phase")) }, age]
        case ("", "Node"):
            return [
                name,
                Column(name: "Status") { o in
                    let ready = (o.value(at: ["status", "conditions"])?.arrayValue ?? []).first { $0["type"]?.stringValue == "Ready" }
                    var status = ready?["status"]?.stringValue == "True" ? "Ready" : "NotReady"
                    if o.value(at: ["spec", "unschedulable"])?.boolValue == true { status += ",SchedulingDisabled" }
                    return .string(status)
                },
                Column(name: "Roles") { o in
                    let roles = (o.value(at: ["metadata", "labels"])?.objectValue ?? [:]).keys
                        .filter { $0.hasPrefix("node-role.kubernetes.io/") }.map { String($0.dropFirst("node-role.kubernetes.io/".count)) }.sorted()
                    return .string(roles.isEmpty ? "<none>" : roles.joined(separator: ","))
                },
                age,
                Column(name: "Version") { .string(s($0, "status.nodeInfo.kubeletVersion")) },
                Column(name: "Internal-IP", priority: 1) { o in
                    let a = (o.value(at: ["status", "addresses"])?.arrayValue ?? []).first { $0["type"]?.stringValue == "InternalIP" }
                    return .string(a?["address"]?.stringValue ?? "<none>")
                },
                Column(name: "OS-Image", priority: 1) { .string(s($0, "status.nodeInfo.osImage")) },
                Column(name: "Kernel-Version", priority: 1) { .string(s($0, "status.nodeInfo.kernelVersion")) },
                Column(name: "Container-Runtime", priority: 1) { .string(s($0, "status.nodeInfo.containerRuntimeVersion")) },
            ]
        case ("", "ConfigMap"):
            return [name, Column(name: "Data", type: "integer") { o in .int(Int64((o["data"]?.objectValue?.count ?? 0) + (o["binaryData"]?.objectValue?.count ?? 0))) }, age]
        case ("", "Secret"):
            return [name, Column(name: "Type") { .string(s($0, "type")) }, Column(name: "Data", type: "integer") { o in .int(Int64(o["data"]?.objectValue?.count ?? 0)) }, age]
        case ("", "ServiceAccount"):
            return [name, Column(name: "Secrets", type: "integer") { o in .int(Int64(o["secrets"]?.arrayValue?.count ?? 0)) }, age]
        case ("", "Event"):
            return [
                Column(name: "Last Seen") { o in .string(humanAge(s(o, "lastTimestamp").isEmpty ? s(o, "metadata.creationTimestamp") : s(o, "lastTimestamp"))) },
                Column(name: "Type") { .string(s($0, "type")) },
                Column(name: "Reason") { .string(s($0, "reason")) },
                Column(name: "Object") { o in .string("\(s(o, "involvedObject.kind").lowercased())/\(s(o, "involvedObject.name"))") },
                Column(name: "Message") { .string(s($0, "message")) },
            ]
        case ("coordination.k8s.io", "Lease"):
            return [name, Column(name: "Holder") { .string(s($0, "spec.holderIdentity")) }, age]
        case ("batch", "Job"):
            return [
                name,
                Column(name: "Status") { o in .string((o.value(at: ["status", "succeeded"])?.intValue ?? 0) > 0 ? "Complete" : "Running") },
                Column(name: "Completions") { o in .string("\(i(o, "status.succeeded"))/\(o.value(at: ["spec", "completions"])?.intValue ?? 1)") },
                age,
            ]
        default:
            return [name, age]
        }
    }

    static let workloadWide: [Column] = [
        Column(name: "Containers", priority: 1) { o in
            .string((o.value(at: ["spec", "template", "spec", "containers"])?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }.joined(separator: ","))
        },
        Column(name: "Images", priority: 1) { o in
            .string((o.value(at: ["spec", "template", "spec", "containers"])?.arrayValue ?? []).compactMap { $0["image"]?.stringValue }.joined(separator: ","))
        },
        Column(name: "Selector", priority: 1) { o in
            let sel = (o.value(at: ["spec", "selector", "matchLabels"])?.objectValue ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.stringValue ?? "")" }
            return .string(sel.joined(separator: ","))
        },
    ]

    /// kubectl's short human durations: 45s, 5m10s, 3h, 2d5h, 400d.
    static func humanAge(_ timestamp: String) -> String {
        guard let date = try? Date(timestamp, strategy: .iso8601) else { return "<unknown>" }
        let seconds = max(0, Int(Date().timeIntervalSince(date)))
        if seconds < 120 { return "\(seconds)s" }
        let minutes = seconds / 60
        if minutes < 10 { return seconds % 60 == 0 ? "\(minutes)m" : "\(minutes)m\(seconds % 60)s" }
        if minutes < 180 { return "\(minutes)m" }
        let hours = minutes / 60
        if hours < 8 { return minutes % 60 == 0 ? "\(hours)h" : "\(hours)h\(minutes % 60)m" }
        if hours < 48 { return "\(hours)h" }
        let days = hours / 24
        if days < 8 { return hours % 24 == 0 ? "\(days)d" : "\(days)d\(hours % 24)h" }
        return "\(days)d"
    }
}
