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
