/// Objects every cluster starts with: system namespaces, the default RBAC roles and bindings,
/// and the `kubernetes` service at the first ClusterIP.
extension APIServer {
    public func bootstrap() async throws {
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            try await ensure(ResourceCatalog.namespaces, nil, ["apiVersion": "v1", "kind": "Namespace", "metadata": ["name": .string(ns)]])
            await ensureDefaultServiceAccount(namespace: ns)
        }
        await resumeNamespaceFinalizers()
        let clusterRoles = ResourceCatalog.find(group: Authorizer.rbac, version: "v1", plural: "clusterroles")!
        let clusterRoleBindings = ResourceCatalog.find(group: Authorizer.rbac, version: "v1", plural: "clusterrolebindings")!
        let bootstrapLabels: JSONValue = ["kubernetes.io/bootstrapping": "rbac-defaults"]
        func role(_ name: String, _ rules: [JSONValue]) -> JSONValue {
            ["apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
             "metadata": ["name": .string(name), "labels": bootstrapLabels, "annotations": ["rbac.authorization.kubernetes.io/autoupdate": "true"]],
             "rules": .array(rules)]
        }
        func rule(_ groups: [String], _ resources: [String], _ verbs: [String]) -> JSONValue {
            ["apiGroups": .array(groups.map { .string($0) }), "resources": .array(resources.map { .string($0) }), "verbs": .array(verbs.map { .string($0) })]
        }
        let read = ["get", "list", "watch"]
        let write = ["create", "delete", "deletecollection", "patch", "update"]
        let workloads = ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "pods/log", "pods/status", "services", "endpoints",
                         "configmaps", "secrets", "serviceaccounts", "persistentvolumeclaims", "events"]
        let apps = ["deployments", "deployments/scale", "replicasets", "replicasets/scale", "statefulsets", "statefulsets/scale", "daemonsets"]
        let roles: [JSONValue] = [
            role("cluster-admin", [rule(["*"], ["*"], ["*"]), ["nonResourceURLs": ["*"], "verbs": ["*"]]]),
            role("admin", [rule([""], workloads, read + write), rule(["apps"], apps, read + write), rule(["batch"], ["jobs", "cronjobs"], read + write),
                           rule([Authorizer.rbac], ["roles", "rolebindings"], read + write), rule(["coordination.k8s.io"], ["leases"], read + write),
                           rule(["discovery.k8s.io"], ["endpointslices"], read)]),
            role("edit", [rule([""], workloads, read + write), rule(["apps"], apps, read + write), rule(["batch"], ["jobs", "cronjobs"], read + write)]),
            role("view", [rule([""], workloads.filter { $0 != "secrets" && !$0.contains("/") }, read), rule(["apps"], apps.filter { !$0.contains("/") }, read),
                          rule(["batch"], ["jobs", "cronjobs"], read)]),
            role("system:discovery", [["nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/readyz", "/openapi", "/openapi/*", "/version", "/version/"], "verbs": ["get"]]]),
            role("system:node", [rule([""], ["nodes", "nodes/status"], read + ["create", "update", "patch"]), rule([""], ["pods"], read + ["create", "delete"]),
                                 rule([""], ["pods/status"], ["patch", "update"]), rule([""], ["events"], ["create", "patch", "update"]),
                                 rule([""], ["services", "endpoints", "configmaps", "secrets"], read), rule(["coordination.k8s.io"], ["leases"], read + ["create", "update", "patch", "delete"])]),
            role("system:kube-scheduler", [rule([""], ["pods", "nodes", "namespaces", "services", "persistentvolumes", "persistentvolumeclaims", "replicationcontrollers"], read),
                                           rule([""], ["pods/binding", "bindings"], ["create"]), rule([""], ["pods/status"], ["patch", "update"]),
                                           rule(["", "events.k8s.io"], ["events"], ["create", "patch", "update"]), rule(["apps"], ["replicasets", "statefulsets"], read),
                                           rule(["coordination.k8s.io"], ["leases"], read + ["create", "update"])]),
            role("system:kube-controller-manager", [rule(["*"], ["*"], read + write)]),
        ]
        for r in roles { try await ensure(clusterRoles, nil, r) }
        func binding(_ name: String, _ role: String, _ subjects: [JSONValue]) -> JSONValue {
            ["apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
             "metadata": ["name": .string(name), "labels": bootstrapLabels, "annotations": ["rbac.authorization.kubernetes.io/autoupdate": "true"]],
             "roleRef": ["apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": .string(role)], "subjects": .array(subjects)]
        }
        let group: (String) -> JSONValue = { ["apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": .string($0)] }
        let user: (String) -> JSONValue = { ["apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": .string($0)] }
        for b in [
            binding("cluster-admin", "cluster-admin", [group("system:masters")]),
            binding("system:discovery", "system:discovery", [group("system:authenticated")]),
            binding("system:kube-scheduler", "system:kube-scheduler", [user("system:kube-scheduler")]),
            binding("system:kube-controller-manager", "system:kube-controller-manager", [user("system:kube-controller-manager")]),
        ] { try await ensure(clusterRoleBindings, nil, b) }
        let services = ResourceCatalog.find(group: "", version: "v1", plural: "services")!
        try await ensure(services, "default", [
            "apiVersion": "v1", "kind": "Service",
            "metadata": ["name": "kubernetes", "labels": ["component": "apiserver", "provider": "kubernetes"]],
            "spec": ["type": "ClusterIP", "clusterIP": .string(await allocator.firstIP),
                     "ports": [["name": "https", "port": 443, "protocol": "TCP", "targetPort": .int(Int64(config.securePort))]]],
        ])
    }

    func ensure(_ r: ResourceInfo, _ namespace: String?, _ object: JSONValue) async throws {
        var o = object
        let name = object.value(at: ["metadata", "name"])?.stringValue
        if try await store.get(r.key(namespace: namespace, name: name ?? "")) != nil { return }
        do {
            _ = try await create(Target(resource: r, namespace: namespace), &o, dryRun: false, request: nil)
        } catch let e as APIError where e.code == 409 {}
    }
}
