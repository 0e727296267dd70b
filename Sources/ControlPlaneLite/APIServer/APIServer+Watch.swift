import APIStorage
import Foundation

/// Watch: `{"type":…,"object":…}` lines streamed from the store's revisions, filtered by
/// selectors (an object leaving the selection is a DELETED), with BOOKMARKs and timeouts.
extension APIServer {
    func watch(_ request: APIRequest, _ target: Target) async throws -> APIResponse {
        let r = target.resource
        let labels = try request.query["labelSelector"].map { s throws(APIError) in try LabelSelector(parsing: s) }
        var fields = try request.query["fieldSelector"].map { s throws(APIError) in try FieldSelector(parsing: s) }
        if let name = target.name {
            // GET …/pods/x?watch=1 (the old form) watches one object.
            fields = try FieldSelector(parsing: "metadata.name=\(name)")
        }
        let table = wantsTable(request)
        let includeObject = request.query["includeObject"] ?? "Metadata"
        let bookmarks = request.query["allowWatchBookmarks"] == "true"
        let timeout = Double(request.query["timeoutSeconds"] ?? "") ?? Double(1800 + Int.random(in: 0..<1800))
        let prefix = r.listPrefix(namespace: target.namespace)
        let rvParam = request.query["resourceVersion"] ?? ""
        let sendInitial = request.query["sendInitialEvents"] == "true"

        var initial: [JSONValue] = []
        let startRevision: Int64
        if rvParam.isEmpty || rvParam == "0" || sendInitial {
            let page = try await store.list(prefix: prefix, startAfter: nil, limit: nil, revision: nil)
            startRevision = page.revision
            for stored in page.items {
                let o = try decode(stored)
                if let labels, !labels.matches(object: o) { continue }
                if let fields, !fields.matches(o) { continue }
                initial.append(o)
            }
        } else {
            guard let rv = Int64(rvParam) else { throw APIError.badRequest("invalid resourceVersion \"\(rvParam)\"") }
            startRevision = rv
        }
        let store = self.store
        let server = self
        let initialObjects = initial
        let fromRevision = startRevision
        let fieldSelector = fields
        let stream = AsyncThrowingStream<[UInt8], Error> { continuation in
            let task = Task {
                func emit(_ type: String, _ object: JSONValue) {
                    var payload = object
                    if table && type != "BOOKMARK" && type != "ERROR" {
                        payload = Tables.table(for: r, objects: [object], listMeta: ["resourceVersion": object.value(at: ["metadata", "resourceVersion"]) ?? ""], includeObject: includeObject)
                    }
                    var line = JSONValue.object(["type": .string(type), "object": payload]).serialized()
                    line.append(0x0A)
                    continuation.yield(line)
                }
                for o in initialObjects { emit("ADDED", o) }
                if sendInitial && bookmarks {
                    emit("BOOKMARK", ["kind": .string(r.kind), "apiVersion": .string(r.groupVersion), "metadata": [
                        "resourceVersion": .string(String(fromRevision)), "annotations": ["k8s.io/initial-events-end": "true"]]])
                }
                let raw = !table && labels == nil && fieldSelector == nil
                func emitRaw(_ type: String, _ object: [UInt8]) {
                    var line = Array("{\"type\":\"\(type)\",\"object\":".utf8)
                    line.reserveCapacity(line.count + object.count + 3)
                    line.append(contentsOf: object)
                    line.append(contentsOf: [UInt8(ascii: "}"), 0x0A])
                    continuation.yield(line)
                }
                func matches(_ o: JSONValue) -> Bool {
                    (labels?.matches(object: o) ?? true) && (fieldSelector?.matches(o) ?? true)
                }
                do {
                    for try await event in store.watch(prefix: prefix, afterRevision: fromRevision) {
                        if raw {
                            switch event {
                            case .added(let stored): emitRaw("ADDED", try server.wireBytes(stored))
                            case .modified(let stored, _): emitRaw("MODIFIED", try server.wireBytes(stored))
                            case .deleted(let stored, let revision): emitRaw("DELETED", try server.wireBytes(stored, revision: revision))
                            case .progress(let revision):
                                if bookmarks {
                                    emit("BOOKMARK", ["kind": .string(r.kind), "apiVersion": .string(r.groupVersion), "metadata": ["resourceVersion": .string(String(revision))]])
                                }
                            }
                            continue
                        }
                        switch event {
                        case .added(let stored):
                            let o = try server.decode(stored)
                            if matches(o) { emit("ADDED", o) }
                        case .modified(let stored, let previous):
                            let o = try server.decode(stored)
                            let was = try previous.map { try server.decode($0) }.map(matches)
                            let now = matches(o)
                            if now { emit(was == false ? "ADDED" : "MODIFIED", o) } else if was == true { emit("DELETED", o) }
                        case .deleted(let stored, let revision):
                            var o = try server.decode(stored)
                            o.set(["metadata", "resourceVersion"], .string(String(revision)))
                            if matches(o) { emit("DELETED", o) }
                        case .progress(let revision):
                            if bookmarks {
                                emit("BOOKMARK", ["kind": .string(r.kind), "apiVersion": .string(r.groupVersion), "metadata": ["resourceVersion": .string(String(revision))]])
                            }
                        }
                    }
                } catch StorageError.compacted(let requested, _) {
                    emit("ERROR", APIError.gone("too old resource version: \(requested)").status)
                } catch is CancellationError {
                } catch {
                    emit("ERROR", APIError.internalError("\(error)").status)
                }
                continuation.finish()
            }
            let timer = Task {
                try? await Task.sleep(for: .seconds(timeout))
                task.cancel()
            }
            continuation.onTermination = { _ in
                task.cancel()
                timer.cancel()
            }
        }
        return APIResponse(status: 200, contentType: "application/json", body: .stream(stream))
    }
}
