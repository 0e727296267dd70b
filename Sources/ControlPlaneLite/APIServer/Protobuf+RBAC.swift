/// Protobuf field tables: rbac.authorization.k8s.io/v1; conventions in Protobuf.swift.
extension Protobuf {
    static let rbacKinds: [String: Schema] = [
        "rbac.authorization.k8s.io/v1/Role": role,
        "rbac.authorization.k8s.io/v1/ClusterRole": clusterRole,
        "rbac.authorization.k8s.io/v1/RoleBinding": roleBinding,
        "rbac.authorization.k8s.io/v1/ClusterRoleBinding": clusterRoleBinding,
    ]
    // rbac.v1.AggregationRule
    static let aggregationRule: Schema = [
        1: r("clusterRoleSelectors", .message(labelSelector)),
    ]
    // rbac.v1.ClusterRole
    static let clusterRole: Schema = [
        1: f("metadata", .message(objectMeta)), 2: r("rules", .message(policyRule)),
        3: f("aggregationRule", .message(aggregationRule)),
    ]
    // rbac.v1.ClusterRoleBinding
    static let clusterRoleBinding: Schema = [
        1: f("metadata", .message(objectMeta)), 2: r("subjects", .message(subject)), 3: f("roleRef", .message(roleRef)),
    ]
    // rbac.v1.PolicyRule
    static let policyRule: Schema = [
        1: r("verbs", .string), 2: r("apiGroups", .string), 3: r("resources", .string), 4: r("resourceNames", .string),
        5: r("nonResourceURLs", .string),
    ]
    // rbac.v1.Role
    static let role: Schema = [
        1: f("metadata", .message(objectMeta)), 2: r("rules", .message(policyRule)),
    ]
    // rbac.v1.RoleBinding
    static let roleBinding: Schema = [
        1: f("metadata", .message(objectMeta)), 2: r("subjects", .message(subject)), 3: f("roleRef", .message(roleRef)),
    ]
    // rbac.v1.RoleRef
    static let roleRef: Schema = [
        1: f("apiGroup", .string), 2: f("kind", .string), 3: f("name", .string),
    ]
    // rbac.v1.Subject
    static let subject: Schema = [
        1: f("kind", .string), 2: f("apiGroup", .string), 3: f("name", .string), 4: f("namespace", .string),
    ]
}
