import APIStorage
import Foundation
import Yams

/// scale, binding, eviction, serviceaccounts/token and server-side apply.
extension APIServer {
    // MARK: scale

    func scaleObject(_ object: JSONValue, _ r: ResourceInfo) -> JSONValue {
        var meta: [String: JSONValue] = [:]
        for key in ["name", "namespace", "uid", "resourceVersion", "creationTimestamp"] {
            meta[key] = object.value(at: ["metadata", key])
        }
        var selector = ""
        if let s = object.value(at: ["spec", "selector"]) {
            let labels = (s["matchLabels"]?.objectValue ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.stringValue ?? "")" }
            selector = labels.joined(separator: ",")
        }
        return [
            "kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": .object(meta),
            "spec": ["replicas": .int(object.value(at: ["spec", "replicas"])?.intValue ?? 1)],
            "status": ["replicas": .int(object.value(at: ["status", "replicas"])?.intValue ?? 0), "selector": .string(selector)],
        ]
    }

    func scale(_ request: APIRequest, _ target: Target, verb: String) async throws -> APIResponse {
        let r = target.resource
        if verb == "get" { return .json(scaleObject(try await get(target), r)) }
        guard verb == "update" || verb == "patch" else {
            throw APIError.methodNotAllowed("\(verb) is not supported on \(r.plural)/scale")
        }
        let type = (request.header("Content-Type") ?? "application/json").split(separator: ";").first.map(String.init) ?? ""
        let body: JSONValue
        do { body = try JSONValue.parse(request.body) } catch { throw APIError.badRequest("the body of the request could not be decoded as JSON: \(error)") }
        var mainTarget = target
        mainTarget.subresource = nil
        let (object, _) = try await update(mainTarget, request: request) { current in
            let currentScale = self.scaleObject(current, r)
            let desired = verb == "update" ? body : try Self.applyPatch(type, currentScale, body)
            if let kind = desired["kind"]?.stringValue, kind != "Scale" {
                throw APIError.badRequest("the kind in the data (\(kind)) does not match the expected kind (Scale)")
            }
            guard let replicas = desired.value(at: ["spec", "replicas"]) else {
                throw APIError.invalid(r, target.name ?? "", [.required("spec.replicas")])
            }
            guard let n = replicas.intValue, n >= 0, n <= Int64(Int32.max) else {
                var e = APIError.invalid(r, target.name ?? "", [.invalid("spec.replicas", replicas, "must be greater than or equal to 0")])
                e.kind = "Scale"; e.group = "autoscaling"
                throw e
            }
            var next = current
            next.set(["spec", "replicas"], .int(n))
            let rv = desired.value(at: ["metadata", "resourceVersion"])?.stringValue ?? ""
            next.set(["metadata", "resourceVersion"], rv.isEmpty ? nil : .string(rv))
            return next
        }
        return .json(scaleObject(object, r))
    }

    // MARK: pods/binding, pods/eviction

    func bind(_ request: APIRequest, _ target: Target) async throws -> APIResponse {
        guard let body = try? JSONValue.parse(request.body), let node = body.value(at: ["target", "name"])?.stringValue, !node.isEmpty else {
            throw APIError.invalid(ResourceInfo(group: "", version: "v1", kind: "Binding", plural: "bindings", namespaced: true), target.name ?? "", [.required("target.name")])
        }
        var mainTarget = target
        mainTarget.subresource = "status"
        var bindTarget = target
        bindTarget.subresource = nil
        _ = try await updateRaw(bindTarget) { current in
            if let existing = current.value(at: ["spec", "nodeName"])?.stringValue, !existing.isEmpty {
                throw APIError.conflict(target.resource, target.name ?? "", "pod \(target.name ?? "") is already assigned to node \"\(existing)\"")
            }
            if current.value(at: ["metadata", "deletionTimestamp"]) != nil {
                throw APIError.conflict(target.resource, target.name ?? "", "pod \(target.name ?? "") is being deleted, cannot be assigned to a host")
            }
            var next = current
            next.set(["spec", "nodeName"], .string(node))
            var conditions = (next.value(at: ["status", "conditions"])?.arrayValue ?? []).filter { $0["type"]?.stringValue != "PodScheduled" }
            conditions.append(["type": "PodScheduled", "status": "True", "lastProbeTime": nil, "lastTransitionTime": .string(Self.now())])
            next.set(["status", "conditions"], .array(conditions))
            return next
        }
        return .json(["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "code": 201], status: 201)
    }

    /// A write without the generic update rules (the server's own changes).
    func updateRaw(_ target: Target, _ mutate: (JSONValue) throws -> JSONValue) async throws -> JSONValue {
        for _ in 0..<16 {
            guard let stored = try await store.get(target.key) else { throw APIError.notFound(target.resource, target.name ?? "") }
            let next = try mutate(try decode(stored))
            do {
                return try decode(try await store.update(target.key, value: encode(next), expectedRevision: stored.modRevision))
            } catch StorageError.conflict { continue }
        }
        throw APIError.conflict(target.resource, target.name ?? "", "too many concurrent writers; try again")
    }

    func evict(_ request: APIRequest, _ target: Target) async throws -> APIResponse {
        var options = DeleteOptions()
        if let body = try? JSONValue.parse(request.body) {
            options.gracePeriodSeconds = body.value(at: ["deleteOptions", "gracePeriodSeconds"])?.intValue
            options.dryRun = body.value(at: ["deleteOptions", "dryRun"])?.arrayValue?.contains("All") ?? false
        }
        var podTarget = target
        podTarget.subresource = nil
        _ = try await delete(podTarget, options: options, user: request.user)
        return .json(["kind": "Status", "apiVersion": "v1", "metadata": [:], "status": "Success", "code": 201], status: 201)
    }

    // MARK: serviceaccounts/token

    func tokenRequest(_ request: APIRequest, _ target: Target) async throws -> APIResponse {
        guard let signer = authenticator.serviceAccounts else {
            throw APIError.unavailable("no service account signing key configured (--service-account-key-file)")
        }
        let sa = try await get(Target(resource: target.resource, namespace: target.namespace, name: target.name))
        let body = (try? parseBody(request, Target(resource: ResourceInfo(group: "authentication.k8s.io", version: "v1", kind: "TokenRequest", plural: "token", namespaced: true), subresource: "token"))) ?? .object([:])
        var expiration = body.value(at: ["spec", "expirationSeconds"])?.intValue ?? 3600
        if expiration < 600 {
            throw APIError.invalid(
                ResourceInfo(group: "authentication.k8s.io", version: "v1", kind: "TokenRequest", plural: "tokenrequests", namespaced: true),
                target.name ?? "", [.invalid("spec.expirationSeconds", .int(expiration), "may not specify a duration less than 10 minutes")])
        }
        expiration = min(expiration, 48 * 3600)
        let audiences = (body.value(at: ["spec", "audiences"])?.arrayValue ?? []).compactMap(\.stringValue)
        let token = try signer.sign(
            namespace: target.namespace ?? "default", name: target.name ?? "",
            uid: sa.value(at: ["metadata", "uid"])?.stringValue ?? "",
            audiences: audiences.isEmpty ? [ServiceAccountTokens.issuer] : audiences, expiration: expiration,
            boundObject: body.value(at: ["spec", "boundObjectRef"]))
        var response = body
        response["kind"] = "TokenRequest"
        response["apiVersion"] = "authentication.k8s.io/v1"
        response.set(["metadata", "name"], .string(target.name ?? ""))
        response.set(["metadata", "namespace"], .string(target.namespace ?? ""))
        response.set(["metadata", "creationTimestamp"], nil)
        response.set(["spec", "expirationSeconds"], .int(expiration))
        response.set(["spec", "audiences"], .array((audiences.isEmpty ? [ServiceAccountTokens.issuer] : audiences).map { .string($0) }))
        response["status"] = [
            "token": .string(token),
            "expirationTimestamp": .string(Self.timestamp(Date().addingTimeInterval(Double(expiration)))),
        ]
        return .json(response, status: 201)
    }

    // MARK: server-side apply

    /// Server-side apply: create from the applied configuration, or merge it into the live
    /// object; fields another manager set to a different value are a 409 Conflict unless forced.
    func serverSideApply(_ request: APIRequest, _ target: Target) async throws -> APIResponse {
        guard let manager = request.query["fieldManager"], !manager.isEmpty else {
            throw APIError.badRequest("PATCH, application/apply-patch+yaml requests must set fieldManager")
        }
        let force = request.query["force"] == "true"
        var applied: JSONValue
        do { applied = try YAMLSupport.parse(String(decoding: request.body, as: UTF8.self)) } catch {
            throw APIError.badRequest("error decoding YAML: \(error)")
        }
        applied = try checkKind(applied, target)
        if let n = applied.value(at: ["metadata", "name"])?.stringValue, n != target.name {
            throw APIError.badRequest("the name of the object (\(n)) does not match the name on the URL (\(target.name ?? ""))")
        }
        applied.set(["metadata", "name"], .string(target.name ?? ""))
        if try await store.get(target.key) == nil {
            var object = applied
            var created = try await create(target, &object, dryRun: isDryRun(request), request: nil)
            created.set(["metadata", "managedFields"], ManagedFields.entry(manager: manager, operation: "Apply", object: applied, time: Self.now()))
            if !isDryRun(request) {
                created = try await updateRaw(Target(resource: target.resource, namespace: target.namespace, name: target.name)) { current in
                    var c = current
                    c.set(["metadata", "managedFields"], created.value(at: ["metadata", "managedFields"]))
                    return c
                }
            }
            return .json(created, status: 201)
        }
        let (object, _) = try await update(target, request: request) { current in
            let conflicts = ManagedFields.conflicts(current: current, applied: applied, manager: manager)
            if !conflicts.isEmpty && !force {
                var e = APIError(code: 409, reason: "Conflict", message: "Apply failed with \(conflicts.count) conflict\(conflicts.count == 1 ? "" : "s"): " + conflicts.map { "conflict with \"\($0.manager)\": \($0.path)" }.joined(separator: "; "))
                e.causes = conflicts.map { FieldCause(field: $0.path, reason: "FieldManagerConflict", message: "conflict with \"\($0.manager)\"") }
                throw e
            }
            var base = current
            // Fields this manager applied before and no longer applies are removed.
            for path in ManagedFields.ownedPaths(current, manager: manager, operation: "Apply") where ManagedFields.lookup(applied, path) == nil {
                ManagedFields.remove(&base, path)
            }
            var next = try Patch.strategicMerge(base, applied)
            next.set(["metadata", "resourceVersion"], applied.value(at: ["metadata", "resourceVersion"]))
            var fields = ManagedFields.removeOwnership(current.value(at: ["metadata", "managedFields"]), of: ManagedFields.leafPaths(applied), except: manager, force: force)
            fields = ManagedFields.set(fields, manager: manager, operation: "Apply", object: applied, time: Self.now())
            next.set(["metadata", "managedFields"], fields)
            return next
        }
        return .json(object)
    }
}

extension APIServer {
    /// TokenReview, SelfSubjectReview, SelfSubjectAccessReview and SubjectAccessReview.
    func review(_ request: APIRequest, _ target: Target) async throws -> APIResponse {
        let r = target.resource
        var body = try parseBody(request, target)
        func userJSON(_ u: UserInfo) -> JSONValue {
            ["username": .string(u.name), "uid": .string(u.uid), "groups": .array(u.groups.map { .string($0) })]
        }
        switch r.plural {
        case "selfsubjectreviews":
            body["status"] = ["userInfo": userJSON(request.user)]
        case "tokenreviews":
            let token = body.value(at: ["spec", "token"])?.stringValue ?? ""
            let probe = APIRequest(method: "GET", uri: "/", headers: [("Authorization", "Bearer \(token)")], body: [], user: .anonymous)
            if let user = try? authenticator.authenticate(probe, certificate: nil), !user.isAnonymous {
                body["status"] = ["authenticated": true, "user": userJSON(user)]
            } else {
                body["status"] = ["authenticated": false, "error": "invalid bearer token"]
            }
        default:
            var subject = request.user
            if r.plural == "subjectaccessreviews" {
                let groups = (body.value(at: ["spec", "groups"])?.arrayValue ?? []).compactMap(\.stringValue)
                subject = UserInfo(name: body.value(at: ["spec", "user"])?.stringValue ?? "", uid: body.value(at: ["spec", "uid"])?.stringValue ?? "", groups: groups)
            }
            var allowed = false
            if let attrs = body.value(at: ["spec", "resourceAttributes"]) {
                let group = attrs["group"]?.stringValue ?? ""
                let plural = attrs["resource"]?.stringValue ?? ""
                let resource = ResourceCatalog.all.first { $0.group == group && $0.plural == plural }
                    ?? ResourceInfo(group: group, version: attrs["version"]?.stringValue ?? "v1", kind: plural, plural: plural, namespaced: true)
                let ns = attrs["namespace"]?.stringValue ?? ""
                let sub = attrs["subresource"]?.stringValue ?? ""
                let name = attrs["name"]?.stringValue ?? ""
                let t = Target(resource: resource, namespace: ns.isEmpty ? nil : ns, name: name.isEmpty ? nil : name, subresource: sub.isEmpty ? nil : sub)
                do { try await authorizer.authorize(user: subject, verb: attrs["verb"]?.stringValue ?? "", target: t); allowed = true } catch is APIError {}
            } else if let attrs = body.value(at: ["spec", "nonResourceAttributes"]) {
                do {
                    try await authorizer.authorizeNonResource(user: subject, path: attrs["path"]?.stringValue ?? "", verb: attrs["verb"]?.stringValue ?? "")
                    allowed = true
                } catch is APIError {}
            } else {
                throw APIError.invalid(r, "", [.required("spec.resourceAttributes")])
            }
            // Like kube's RBAC authorizer, a denial carries no reason (kubectl prints "no").
            body["status"] = ["allowed": .bool(allowed)]
        }
        body.set(["metadata", "creationTimestamp"], nil)
        return .json(body, status: 201)
    }
}

enum YAMLSupport {
    static func parse(_ text: String) throws -> JSONValue {
        JSONValue.fromAny(try Yams.load(yaml: text))
    }
}
