import APIStorage

/// Authorization: system:masters, the Node authorizer (kubelets), then RBAC from the stored
/// roles and bindings. NodeRestriction-style admission lives here too (`admit`).
public struct Authorizer: Sendable {
    let store: any Store

    static let rbac = "rbac.authorization.k8s.io"

    static func nodeName(_ user: UserInfo) -> String? {
        guard user.groups.contains("system:nodes"), user.name.hasPrefix("system:node:") else { return nil }
        let name = String(user.name.dropFirst("system:node:".count))
        return name.isEmpty ? nil : name
    }

    func authorizeNonResource(user: UserInfo, path: String, verb: String) async throws {
        if user.groups.contains("system:masters") || Self.nodeName(user) != nil { return }
        let allowed = try await rbacAllows(user: user, namespace: nil) { rule in
            let verbs = rule["verbs"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let urls = rule["nonResourceURLs"]?.arrayValue?.compactMap(\.stringValue) ?? []
            return (verbs.contains(verb) || verbs.contains("*")) && urls.contains { u in
                u == path || u == "*" || (u.hasSuffix("*") && path.hasPrefix(String(u.dropLast())))
            }
        }
        if allowed { return }
        throw APIError.forbidden("forbidden: User \"\(user.name)\" cannot \(verb) path \"\(path)\"")
    }

    func authorize(user: UserInfo, verb: String, target: Target) async throws {
        if user.groups.contains("system:masters") { return }
        let r = target.resource
        // Asking about oneself is always allowed (kube's system:basic-user).
        if r.isReview && r.plural.hasPrefix("selfsubject") && verb == "create" && !user.isAnonymous { return }
        if let node = Self.nodeName(user), Self.nodeAllows(node: node, verb: verb, target: target) { return }
        let resource = target.subresource.map { "\(r.plural)/\($0)" } ?? r.plural
        if try await rbacAllows(user: user, namespace: target.namespace, { rule in
            let verbs = rule["verbs"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let groups = rule["apiGroups"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let resources = rule["resources"]?.arrayValue?.compactMap(\.stringValue) ?? []
            let names = rule["resourceNames"]?.arrayValue?.compactMap(\.stringValue) ?? []
            guard verbs.contains(verb) || verbs.contains("*") else { return false }
            guard groups.contains(r.group) || groups.contains("*") else { return false }
            guard resources.contains(resource) || resources.contains("*")
                || (target.subresource != nil && resources.contains("*/\(target.subresource!)"))
            else { return false }
            if !names.isEmpty {
                guard let name = target.name, names.contains(name) else { return false }
            }
            return true
        }) { return }
        var message = "\(r.qualifiedName)"
        if let name = target.name { message += " \"\(name)\"" }
        message += " is forbidden: User \"\(user.name)\" cannot \(verb) resource \"\(resource)\" in API group \"\(r.group)\""
        message += target.namespace.map { " in the namespace \"\($0)\"" } ?? " at the cluster scope"
        var e = APIError.forbidden(message)
        e.name = target.name; e.group = r.group; e.kind = r.plural
        throw e
    }

    /// What a kubelet may do (the Node authorizer, simplified: reads of what pods need, writes
    /// to its own Node, its pods' status, events, its lease). Object checks are in `admit`.
    static func nodeAllows(node: String, verb: String, target: Target) -> Bool {
        let r = target.resource
        let read = ["get", "list", "watch"].contains(verb)
        switch (r.group, r.plural, target.subresource) {
        case ("", "nodes", nil), ("", "nodes", "status"): return true
        case ("", "pods", nil): return read || ["create", "delete"].contains(verb)
        case ("", "pods", "status"): return ["get", "update", "patch"].contains(verb)
        case ("", "pods", "eviction"): return verb == "create"
        case ("", "services", nil), ("", "endpoints", nil), ("discovery.k8s.io", "endpointslices", nil), ("", "namespaces", nil):
            return read
        case ("", "configmaps", nil), ("", "secrets", nil), ("", "persistentvolumeclaims", nil), ("", "persistentvolumes", nil):
            return verb == "get" || verb == "watch" || verb == "list"
        case ("", "serviceaccounts", "token"): return verb == "create"
        case ("", "events", nil), ("events.k8s.io", "events", nil): return ["create", "update", "patch"].contains(verb)
        case ("coordination.k8s.io", "leases", nil):
            return target.namespace == "kube-node-lease" && (target.name == nil || target.name == node) && !["deletecollection"].contains(verb)
        default: return false
        }
    }

    func rbacAllows(user: UserInfo, namespace: String?, _ ruleMatches: (JSONValue) -> Bool) async throws -> Bool {
        func subjectMatches(_ binding: JSONValue, bindingNamespace: String?) -> Bool {
            for s in binding["subjects"]?.arrayValue ?? [] {
                let kind = s["kind"]?.stringValue ?? ""
                let name = s["name"]?.stringValue ?? ""
                switch kind {
                case "User": if name == user.name { return true }
                case "Group": if user.groups.contains(name) { return true }
                case "ServiceAccount":
                    let ns = s["namespace"]?.stringValue ?? bindingNamespace ?? ""
                    if user.name == "system:serviceaccount:\(ns):\(name)" { return true }
                default: break
                }
            }
            return false
        }
        func rules(roleRef: JSONValue, namespace: String?) async throws -> [JSONValue] {
            let kind = roleRef["kind"]?.stringValue ?? ""
            let name = roleRef["name"]?.stringValue ?? ""
            let key: String
            if kind == "ClusterRole" { key = "/registry/clusterroles/\(name)" } else if kind == "Role", let namespace {
                key = "/registry/roles/\(namespace)/\(name)"
            } else { return [] }
            guard let stored = try await store.get(key), let role = try? JSONValue.parse(stored.value) else { return [] }
            return role["rules"]?.arrayValue ?? []
        }
        let clusterBindings = try await store.list(prefix: "/registry/clusterrolebindings/", startAfter: nil, limit: nil, revision: nil)
        for stored in clusterBindings.items {
            guard let b = try? JSONValue.parse(stored.value), subjectMatches(b, bindingNamespace: nil) else { continue }
            if try await rules(roleRef: b["roleRef"] ?? .null, namespace: nil).contains(where: ruleMatches) { return true }
        }
        if let namespace {
            let bindings = try await store.list(prefix: "/registry/rolebindings/\(namespace)/", startAfter: nil, limit: nil, revision: nil)
            for stored in bindings.items {
                guard let b = try? JSONValue.parse(stored.value), subjectMatches(b, bindingNamespace: namespace) else { continue }
                if try await rules(roleRef: b["roleRef"] ?? .null, namespace: namespace).contains(where: ruleMatches) { return true }
            }
        }
        return false
    }
}

extension APIServer {
    /// NodeRestriction: a kubelet changes only its own Node and the pods bound to it.
    func admit(_ user: UserInfo?, verb: String, _ target: Target, new: JSONValue?, old: JSONValue?) throws {
        guard let user, let node = Authorizer.nodeName(user), !user.groups.contains("system:masters") else { return }
        let r = target.resource
        func deny(_ why: String) -> APIError {
            APIError.forbidden("\(r.qualifiedName) \"\(target.name ?? new?.value(at: ["metadata", "name"])?.stringValue ?? "")\" is forbidden: node \"\(node)\" \(why)")
        }
        switch (r.group, r.plural) {
        case ("", "nodes"):
            let name = target.name ?? new?.value(at: ["metadata", "name"])?.stringValue ?? ""
            if name != node { throw deny("is not allowed to modify node \"\(name)\"") }
        case ("", "pods"):
            if verb == "create" {
                guard new?.value(at: ["metadata", "annotations", "kubernetes.io/config.mirror"]) != nil else {
                    throw deny("can only create mirror pods")
                }
                if new?.value(at: ["spec", "nodeName"])?.stringValue != node { throw deny("can only create pods with spec.nodeName set to itself") }
            } else {
                if old?.value(at: ["spec", "nodeName"])?.stringValue != node { throw deny("can only modify pods bound to itself") }
                if let new, new.value(at: ["spec", "nodeName"])?.stringValue != node { throw deny("can only modify pods bound to itself") }
            }
        default: break
        }
    }
}
