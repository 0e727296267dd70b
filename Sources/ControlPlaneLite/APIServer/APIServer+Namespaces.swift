import APIStorage
import Foundation

/// Namespace deletion as kube-apiserver and the namespace controller do it: DELETE marks the
/// namespace (deletionTimestamp, phase Terminating) and refuses new content in it; a finalizer
/// task deletes everything in it through the normal delete path (finalizers and graceful pod
/// deletion apply), waits until nothing is left, then removes the `kubernetes` entry from
/// `spec.finalizers`; the namespace goes when no finalizer is left.
extension APIServer {
    func startNamespaceFinalizer(_ name: String) {
        Task { await self.finalizeNamespace(name) }
    }

    /// Resumes the finalizers of namespaces left Terminating by a previous run.
    func resumeNamespaceFinalizers() async {
        guard let page = try? await store.list(prefix: ResourceCatalog.namespaces.listPrefix(namespace: nil), startAfter: nil, limit: nil, revision: nil) else { return }
        for stored in page.items {
            guard let object = try? decode(stored), object.value(at: ["metadata", "deletionTimestamp"]) != nil,
                  let name = object.value(at: ["metadata", "name"])?.stringValue else { continue }
            startNamespaceFinalizer(name)
        }
    }

    /// How many objects are left in the namespace; those not yet being deleted are deleted.
    func deleteNamespaceContentsOnce(_ namespace: String) async -> Int {
        var remaining = 0
        for r in ResourceCatalog.all where r.namespaced && r.group != "events.k8s.io" && !r.isReview {
            guard let page = try? await store.list(prefix: r.listPrefix(namespace: namespace), startAfter: nil, limit: nil, revision: nil) else {
                remaining += 1
                continue
            }
            for stored in page.items {
                remaining += 1
                guard let object = try? decode(stored), object.value(at: ["metadata", "deletionTimestamp"]) == nil else { continue }
                let t = Target(resource: r, namespace: namespace, name: object.value(at: ["metadata", "name"])?.stringValue)
                _ = try? await delete(t, options: DeleteOptions(gracePeriodSeconds: nil), user: nil)
            }
        }
        return remaining
    }

    func finalizeNamespace(_ name: String) async {
        let key = ResourceCatalog.namespaces.key(namespace: nil, name: name)
        while !Task.isCancelled {
            if await deleteNamespaceContentsOnce(name) == 0 { break }
            guard (try? await store.get(key)) != nil else { return }
            try? await Task.sleep(for: .milliseconds(500))
        }
        // Empty: drop the `kubernetes` finalizer; delete the namespace if nothing else holds it.
        for _ in 0..<16 {
            guard let stored = try? await store.get(key), var object = try? decode(stored) else { return }
            let specFinalizers = (object.value(at: ["spec", "finalizers"])?.arrayValue ?? []).filter { $0.stringValue != "kubernetes" }
            object.set(["spec", "finalizers"], .array(specFinalizers))
            let metaFinalizers = object.value(at: ["metadata", "finalizers"])?.arrayValue ?? []
            do {
                if specFinalizers.isEmpty && metaFinalizers.isEmpty {
                    _ = try await store.delete(key, expectedRevision: stored.modRevision)
                } else {
                    _ = try await store.update(key, value: encode(object), expectedRevision: stored.modRevision)
                }
                return
            } catch StorageError.conflict {
                continue
            } catch {
                logger.warning("finalizing namespace failed", metadata: ["namespace": "\(name)", "error": "\(error)"])
                return
            }
        }
    }
}

/// The `finalize` subresource: PUT namespaces/NAME/finalize with a Namespace body replaces
/// `spec.finalizers` and nothing else (labels, annotations and status in the body are ignored),
/// as kube-apiserver's finalize REST does. A Terminating namespace whose finalizers (spec and
/// metadata) are then all gone is deleted; the answer is the namespace as last written.
extension APIServer {
    /// Finalizer names a namespace's spec accepts without a "/" (kube-apiserver's standard set).
    static let standardFinalizers: Set<String> = ["kubernetes", "orphan", "foregroundDeletion"]

    func namespaceFinalize(_ request: APIRequest, _ target: Target) async throws -> APIResponse {
        let r = target.resource
        guard r.group.isEmpty, r.plural == "namespaces", let name = target.name else {
            throw APIError.methodNotAllowed("finalize is only served for namespaces/NAME")
        }
        let body = try parseBody(request, target)
        if let apiVersion = body["apiVersion"]?.stringValue, apiVersion != r.groupVersion {
            throw APIError.badRequest("the API version in the data (\(apiVersion)) does not match the expected API version (\(r.groupVersion))")
        }
        if let kind = body["kind"]?.stringValue, kind != r.kind {
            throw APIError.badRequest("the kind in the data (\(kind)) does not match the expected kind (\(r.kind))")
        }
        let finalizers = try Self.specFinalizers(body, name: name, resource: r)
        let precondition = body.value(at: ["metadata", "resourceVersion"])
        let (object, _) = try await update(target, request: request) { current in
            var next = current
            next.set(["spec", "finalizers"], .array(finalizers.map(JSONValue.string)))
            if let precondition, precondition.stringValue?.isEmpty == false {
                next.set(["metadata", "resourceVersion"], precondition)
            }
            if let bodyName = body.value(at: ["metadata", "name"]) { next.set(["metadata", "name"], bodyName) }
            return next
        }
        return .json(object)
    }

    /// `spec.finalizers` of a finalize body: a list of unique finalizer names, each standard or
    /// qualified ("example.com/cleanup"); every bad entry is named in one 422.
    static func specFinalizers(_ body: JSONValue, name: String, resource: ResourceInfo) throws -> [String] {
        guard let value = body.value(at: ["spec", "finalizers"]), !value.isNull else { return [] }
        guard let items = value.arrayValue else {
            throw APIError.invalid(resource, name, [FieldCause(field: "spec.finalizers", reason: "FieldValueInvalid", message: "must be a list of strings, got \(value.typeName)")])
        }
        var causes: [FieldCause] = []
        var names: [String] = []
        for (i, item) in items.enumerated() {
            let field = "spec.finalizers[\(i)]"
            guard let s = item.stringValue else {
                causes.append(FieldCause(field: field, reason: "FieldValueInvalid", message: "must be a string, got \(item.typeName)"))
                continue
            }
            if s.isEmpty {
                causes.append(FieldCause(field: field, reason: "FieldValueRequired", message: "Required value"))
            } else if !s.contains("/") && !standardFinalizers.contains(s) {
                causes.append(FieldCause(field: field, reason: "FieldValueInvalid", message: "Invalid value: \"\(s)\": name is neither a standard finalizer name nor is it fully qualified"))
            } else if s.split(separator: "/", omittingEmptySubsequences: false).count > 2 || s.hasPrefix("/") || s.hasSuffix("/") {
                causes.append(FieldCause(field: field, reason: "FieldValueInvalid", message: "Invalid value: \"\(s)\": a qualified name must be \"name\" or \"prefix/name\""))
            } else if names.contains(s) {
                causes.append(FieldCause(field: field, reason: "FieldValueDuplicate", message: "Duplicate value: \"\(s)\""))
            } else {
                names.append(s)
            }
        }
        if !causes.isEmpty { throw APIError.invalid(resource, name, causes) }
        return names
    }
}
