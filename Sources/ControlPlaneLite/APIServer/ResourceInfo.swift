/// One served resource type: where it lives in the URL space and how it is stored.
public struct ResourceInfo: Sendable, Hashable {
    public var group: String
    public var version: String
    public var kind: String
    public var plural: String
    public var namespaced: Bool
    public var shortNames: [String] = []
    public var subresources: [String] = []
    public var categories: [String] = []

    public var singular: String { kind.lowercased() }
    public var groupVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    public var listKind: String { kind + "List" }
    /// "pods" or "deployments.apps", as Kubernetes names resources in messages.
    public var qualifiedName: String { group.isEmpty ? plural : "\(plural).\(group)" }
    /// The storage key prefix, like kube-apiserver's (`/registry/<resource>/`).
    public var storagePrefix: String {
        let base: String
        switch (group, plural) {
        case ("", "services"): base = "services/specs"
        case ("", "endpoints"): base = "services/endpoints"
        case ("", "nodes"): base = "minions"
        case ("events.k8s.io", "events"): base = "events"  // same objects as core events
        default: base = group.isEmpty || ["apps", "batch", "rbac.authorization.k8s.io", "coordination.k8s.io"].contains(group)
            ? plural : "\(group)/\(plural)"
        }
        return "/registry/\(base)/"
    }

    public func key(namespace: String?, name: String) -> String {
        if namespaced, let namespace { return storagePrefix + namespace + "/" + name }
        return storagePrefix + name
    }

    public func listPrefix(namespace: String?) -> String {
        if namespaced, let namespace { return storagePrefix + namespace + "/" }
        return storagePrefix
    }

    /// Reviews are answered, never stored.
    public var isReview: Bool { group == "authentication.k8s.io" || group == "authorization.k8s.io" }

    public var verbs: [String] {
        if isReview { return ["create"] }
        return ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    }
}

/// The resource types this apiserver serves.
public enum ResourceCatalog {
    static func r(
        _ group: String, _ version: String, _ kind: String, _ plural: String, namespaced: Bool = true,
        short: [String] = [], sub: [String] = [], categories: [String] = []
    ) -> ResourceInfo {
        ResourceInfo(
            group: group, version: version, kind: kind, plural: plural, namespaced: namespaced,
            shortNames: short, subresources: sub, categories: categories)
    }

    public static let all: [ResourceInfo] = [
        r("", "v1", "Namespace", "namespaces", namespaced: false, short: ["ns"], sub: ["status", "finalize"]),
        r("", "v1", "Pod", "pods", short: ["po"], sub: ["status", "binding", "eviction", "log", "exec", "attach", "portforward"], categories: ["all"]),
        r("", "v1", "Node", "nodes", namespaced: false, short: ["no"], sub: ["status"]),
        r("", "v1", "Service", "services", short: ["svc"], sub: ["status"], categories: ["all"]),
        r("", "v1", "Endpoints", "endpoints", short: ["ep"]),
        r("", "v1", "ConfigMap", "configmaps", short: ["cm"]),
        r("", "v1", "Secret", "secrets"),
        r("", "v1", "ServiceAccount", "serviceaccounts", short: ["sa"], sub: ["token"]),
        r("", "v1", "Event", "events", short: ["ev"]),
        r("", "v1", "PersistentVolume", "persistentvolumes", namespaced: false, short: ["pv"], sub: ["status"]),
        r("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short: ["pvc"], sub: ["status"]),
        r("", "v1", "ResourceQuota", "resourcequotas", short: ["quota"], sub: ["status"]),
        r("apps", "v1", "Deployment", "deployments", short: ["deploy"], sub: ["status", "scale"], categories: ["all"]),
        r("apps", "v1", "ReplicaSet", "replicasets", short: ["rs"], sub: ["status", "scale"], categories: ["all"]),
        r("apps", "v1", "DaemonSet", "daemonsets", short: ["ds"], sub: ["status"], categories: ["all"]),
        r("apps", "v1", "StatefulSet", "statefulsets", short: ["sts"], sub: ["status", "scale"], categories: ["all"]),
        r("batch", "v1", "Job", "jobs", sub: ["status"], categories: ["all"]),
        r("batch", "v1", "CronJob", "cronjobs", short: ["cj"], sub: ["status"], categories: ["all"]),
        r("coordination.k8s.io", "v1", "Lease", "leases"),
        r("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
        r("rbac.authorization.k8s.io", "v1", "Role", "roles"),
        r("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
        r("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", namespaced: false),
        r("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", namespaced: false),
        r("events.k8s.io", "v1", "Event", "events", short: ["ev"]),
        r("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", namespaced: false, short: ["pc"]),
        r("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short: ["pdb"], sub: ["status"]),
        r("networking.k8s.io", "v1", "Ingress", "ingresses", short: ["ing"], sub: ["status"]),
        r("networking.k8s.io", "v1", "IngressClass", "ingressclasses", namespaced: false),
        r("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", namespaced: false),
        r("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", namespaced: false),
        r("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", namespaced: false),
        r("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews", namespaced: false),
    ]

    /// Group names in discovery order, each with its one version.
    public static let groups: [(name: String, version: String)] = [
        ("apps", "v1"), ("events.k8s.io", "v1"), ("rbac.authorization.k8s.io", "v1"),
        ("scheduling.k8s.io", "v1"), ("policy", "v1"), ("networking.k8s.io", "v1"),
        ("batch", "v1"), ("coordination.k8s.io", "v1"), ("discovery.k8s.io", "v1"),
        ("authentication.k8s.io", "v1"), ("authorization.k8s.io", "v1"),
    ]

    public static func find(group: String, version: String, plural: String) -> ResourceInfo? {
        all.first { $0.group == group && $0.version == version && $0.plural == plural }
    }

    public static func resources(group: String, version: String) -> [ResourceInfo] {
        all.filter { $0.group == group && $0.version == version }
    }

    public static func byKind(apiVersion: String, kind: String) -> ResourceInfo? {
        all.first { $0.groupVersion == apiVersion && $0.kind == kind }
    }
}
